"""Overhead of the lint's LLM stages with a zero-latency scripted model, and autorate calls.

    PYTHONPATH=. python benchmarks/lint_pipeline.py -n 10000

Every stage runs (scan, cluster, merge, autorate of every item) with a scripted model that
answers instantly (tests/lint/helpers.py), so the time is the pipeline's own: prompt building,
Inspect's model layer, parsing, embedding the scanned patterns, metering. Targets: <= 60 s of
overhead for 10,000 records; autorate calls <= 1.1 x the sample.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from inspect_ai.model import get_model

from tests.lint.helpers import LintPolicy, planted_chats
from traitlab.embeddings import load_encoder
from traitlab.lint import lint_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    load_encoder()  # model load is a one-off, not pipeline overhead
    model = get_model("scripted/bench", policy=LintPolicy(), memoize=False)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        planted_chats(data, args.n, opening=0.3, closing=0.4)
        options = {"clusters": False, "show_progress": False}
        start = time.perf_counter()
        lint_dataset(data, **options)
        prescan = time.perf_counter() - start
        start = time.perf_counter()
        report = lint_dataset(
            data,
            model=model,
            sample=None,
            cache=False,
            concurrency=args.concurrency,
            out_dir=Path(tmp) / "report",
            **options,
        )
        total = time.perf_counter() - start
    calls = {row.stage: row.calls for row in report.usage}
    print(f"records: {report.n_items:,}, features: {len(report.features)}, calls: {calls}")
    print(f"autorate calls / sample: {calls['autorate'] / report.rated:.3f} (target <= 1.1)")
    print(f"LLM stages + report overhead: {total - prescan:.1f} s (target <= 60 s)")
    for result in report.features:
        print(f"  {result.feature.name}: {result.strict.format()}")


if __name__ == "__main__":
    main()
