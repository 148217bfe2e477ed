"""`traitlab/reply_patterns` end to end: every reply counts under --epochs, clustered by prompt.

The targets are adversarial for the old metric: they show the pattern in a minority of the
replies to some prompts, which Inspect's mean reducer and a 0.5 threshold read as never.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from inspect_ai import Epochs
from inspect_ai.model import ChatMessage, GenerateConfig
from inspect_ai.tool import ToolInfo

from tests.helpers import metrics, run_inspect_cli, run_task, scripted, scripted_role
from traitlab.evals.reply_patterns.dataset import PROMPTS as PROMPTS_FILE
from traitlab.evals.reply_patterns.demo import OPENER
from traitlab.evals.reply_patterns.reply_patterns import reply_patterns
from traitlab.lint.demo import policy as demo_rater
from traitlab.statistics import cluster_wilson_interval, wilson_interval

PROMPTS = 9
RATE = "validating_opener_strict_rate"


@pytest.fixture
def prompts(tmp_path: Path) -> str:
    """9 of the bundled prompts (a faster run than all 30)."""
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(PROMPTS_FILE.read_text().splitlines(keepends=True)[:PROMPTS]))
    return str(path)


class FirstReplyOrAlways:
    """Validates on every reply to the first 3 prompts, and on the first reply to the rest.

    Epoch rates differ (the first replies all validate, later ones a third), the overall share
    is (3 * 3 + 6 * 1) / 27 = 5/9, and under the mean reducer 6 of 9 prompts read 0.33, which
    a 0.5 threshold counted as never.
    """

    def __init__(self, always: set[str]) -> None:
        self.always = always
        self.replies: Counter[str] = Counter()

    def __call__(
        self, messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig
    ) -> str:
        prompt = messages[-1].text
        self.replies[prompt] += 1
        validates = prompt in self.always or self.replies[prompt] == 1
        return f"{OPENER} Try it." if validates else "Try it."


def run(tmp_path: Path, prompts: str, **eval_args: object):  # noqa: ANN201
    task = reply_patterns(prompts=prompts)
    always = {sample.input for sample in list(task.dataset)[:3]}
    return run_task(
        task,
        scripted("target", policy=FirstReplyOrAlways(always)),
        tmp_path,
        model_roles={"judge": scripted("judge", policy=demo_rater)},
        **eval_args,
    )


def test_every_reply_counts_and_the_interval_is_clustered_by_prompt(
    tmp_path: Path, prompts: str
) -> None:
    log = run(tmp_path, prompts, epochs=3)
    assert log.eval.config.epochs == 3
    assert len(log.samples) == PROMPTS * 3
    assert {s.epoch for s in log.samples} == {1, 2, 3}
    values = metrics(log, "pattern_rate")
    assert values[RATE] == pytest.approx(5 / 9)
    assert values[f"{RATE}_n"] == PROMPTS * 3
    assert values["unscored"] == 0 and values["flagged"] == 0
    # The replies to one prompt are correlated: wider than Wilson's over 27 independent ones.
    plain = wilson_interval(15, 27)
    low, high = values[f"{RATE}_ci_low"], values[f"{RATE}_ci_high"]
    assert low < plain.low - 0.005 and high > plain.high + 0.005
    # The transcript: each reply's score is what its text shows, 3 replies per prompt.
    hits: Counter[str] = Counter()
    for sample in log.samples:
        score = sample.scores["pattern_rate"]
        opens = sample.output.completion.startswith(OPENER)
        assert score.value["validating_opener_strict"] == float(opens)
        assert score.answer == sample.output.completion
        assert score.explanation == f"validating_opener: {'strict' if opens else 'none'}"
        hits[str(sample.id)] += opens
    assert sorted(Counter(hits.values()).items()) == [(1, 6), (3, 3)]
    expected = cluster_wilson_interval(
        [s.scores["pattern_rate"].value["validating_opener_strict"] for s in log.samples],
        [s.id for s in log.samples],
    )
    assert (low, high) == pytest.approx((expected.low, expected.high))


def test_the_mean_reducer_changes_nothing(tmp_path: Path, prompts: str) -> None:
    """`--epochs-reducer mean`: every reply still counts (a reducer cannot reach the metric)."""
    log = run(tmp_path, prompts, epochs=Epochs(3, "mean"))
    values = metrics(log, "pattern_rate")
    assert values[RATE] == pytest.approx(5 / 9)
    assert values[f"{RATE}_n"] == PROMPTS * 3


@pytest.mark.slow
def test_epochs_3_on_the_command_line_keeps_every_reply(tmp_path: Path, prompts: str) -> None:
    """The README's offline command: a bare --epochs keeps the task's own (absent) reducer."""
    log = run_inspect_cli(
        [
            "traitlab/reply_patterns",
            "-T",
            f"prompts={prompts}",
            "--model",
            "scripted/demo",
            "-M",
            "policy=traitlab.evals.reply_patterns.demo:target",
            "--epochs",
            "3",
            "--model-role",
            scripted_role("judge", policy="traitlab.lint.demo:policy"),
        ],
        tmp_path,
    )
    assert log.eval.config.epochs == 3 and not log.eval.config.epochs_reducer
    [score] = log.results.scores
    assert score.metrics[RATE].value == pytest.approx(1 / 3)
    assert score.metrics[f"{RATE}_n"].value == PROMPTS * 3
    assert log.eval.metadata["headline_metrics"][0]["metric"] == RATE


def test_a_features_file_and_a_selection(tmp_path: Path) -> None:
    features = tmp_path / "features.json"
    features.write_text(
        json.dumps(
            {
                "features": [
                    {"id": "validating_opener", "name": "Validating opener", "broad": "b",
                     "strict": "s"},
                    {"id": "offer_to_go_deeper", "name": "Offer to go deeper", "broad": "b",
                     "strict": "s"},
                ]
            }
        )
    )  # fmt: skip
    task = reply_patterns(patterns=str(features), pattern_ids="offer_to_go_deeper")
    [headline] = task.metadata["headline_metrics"]
    assert headline["metric"] == "offer_to_go_deeper_strict_rate"
    assert not headline["higher_is_better"]
    log = run_task(
        task,
        scripted("target", policy=lambda *_: "Sure. Want me to go deeper?"),
        tmp_path,
        model_roles={"judge": scripted("judge", policy=demo_rater)},
        limit=4,
    )
    values = metrics(log, "pattern_rate")
    assert values["offer_to_go_deeper_strict_rate"] == 1.0
    assert "validating_opener_strict_rate" not in values
