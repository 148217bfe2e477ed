"""Speed of the lint's statistical pre-scan (no embeddings) on a large chat dataset.

    PYTHONPATH=. python benchmarks/lint_prescan.py -n 100000

Target: >= 100,000 chat records in <= 60 s on 2 cores (reading, validating, and every
pre-scan finding: openings, closings, phrases, formatting habits, labels).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tests.lint.helpers import planted_chats
from traitlab.lint import lint_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--sentences", type=int, default=8, help="Sentences per reply.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        planted_chats(data, args.n, opening=0.3, closing=0.2, sentences=args.sentences)
        size = data.stat().st_size / 1e6
        start = time.perf_counter()
        report = lint_dataset(data, clusters=False)
        elapsed = time.perf_counter() - start
    print(f"records: {report.n_items:,} ({size:.0f} MB), cores: {os.cpu_count()}")
    print(f"pre-scan (read + findings + labels): {elapsed:.1f} s (target <= 60 s)")
    for text, rate in report.top_patterns(3):
        print(f"  {text}: {rate.format()}")


if __name__ == "__main__":
    main()
