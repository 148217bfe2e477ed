"""The closed loop's result: OUT/summary.json and OUT/closed_loop.png (the last step of run.sh).

    python examples/closed_loop/summarize.py OUT

`before` is the model trained on the full SFT set, `after` the one trained on the filtered set:
each the share of its replies that open with the planted sentence (the lint's strict rubric,
`validating_opener_strict_rate` of traitlab/reply_patterns) with its 95% interval, clustered by
prompt, and n replies. `data` holds the share of chats that carry the sentence in each training
set, from the records' own `planted` labels.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from traitlab.report import read_run  # noqa: E402

FEATURE = "validating_opener"
METRIC = f"{FEATURE}_strict_rate"
SFT = Path(__file__).with_name("sft.jsonl")


def model_rate(log_dir: Path) -> dict[str, Any]:
    """The pattern rate of the one eval log in `log_dir`."""
    [log] = sorted(log_dir.glob("*.eval"))
    metric = read_run(log).metric(METRIC)
    if metric is None:
        sys.exit(f"{log}: no {METRIC} (did the eval fail?)")
    return {
        "rate": metric.estimate,
        "low": metric.low,
        "high": metric.high,
        "n": metric.n,
        "log": str(log),
    }


def data_share(path: Path) -> dict[str, Any]:
    """How many chats of a training set carry the planted opener."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    planted = sum(FEATURE in r["metadata"]["planted"] for r in records)
    return {"share": planted / len(records), "planted": planted, "records": len(records)}


def plot(summary: dict[str, Any], path: Path) -> None:
    """Share of the opener in each training set (bars) and in each model's replies (dots)."""
    fig, ax = plt.subplots(figsize=(5, 3.8))
    labels = ["full data (before)", "filtered data (after)"]
    for i, (key, data) in enumerate((("before", "full"), ("after", "filtered"))):
        rate = summary[key]
        first = i == 0
        ax.bar(
            i,
            summary["data"][data]["share"],
            width=0.5,
            color="#d5dde8",
            label="share of training chats with the opener" if first else None,
        )
        ax.errorbar(
            [i],
            [rate["rate"]],
            yerr=[[rate["rate"] - rate["low"]], [rate["high"] - rate["rate"]]],
            fmt="o",
            capsize=5,
            color="#2c6fbb",
            label="share of the model's replies (95% CI)" if first else None,
        )
        ax.annotate(f"{rate['rate']:.0%}", (i + 0.08, rate["rate"] + 0.01), fontsize=9)
    ax.set_xticks(range(2), labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("opens with the planted sentence")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Filtering the opener out of SFT data", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(out: Path) -> None:
    summary = {
        "metric": METRIC,
        "before": model_rate(out / "logs" / "full"),
        "after": model_rate(out / "logs" / "filtered"),
        "data": {"full": data_share(SFT), "filtered": data_share(out / "filtered.jsonl")},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    plot(summary, out / "closed_loop.png")
    for key in ("before", "after"):
        r = summary[key]
        print(f"{key:>6}: {r['rate']:.1%} [{r['low']:.1%}, {r['high']:.1%}] of {r['n']} replies")
    print(f"wrote {out / 'summary.json'} and {out / 'closed_loop.png'}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/closed_loop/summarize.py OUT")
    main(Path(sys.argv[1]))
