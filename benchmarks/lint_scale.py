"""The lint pre-scan (no embeddings) against a floor, and its peak memory, at dataset scale.

    PYTHONPATH=. python benchmarks/lint_scale.py -n 100000            # time vs floor
    PYTHONPATH=. python benchmarks/lint_scale.py -n 1000000 --rss     # peak RSS of the lint

The floor is one pass that reads the file, parses each line and counts the first and last words
of each reply: no lint can be faster. Targets (issue 18): the lint end to end (read, validate,
pre-scan, labels) within 5x the floor at 100k records, measured side by side in one run; a
1M-record file linted with peak RSS under 2 GB. The lint runs in a child process so that its
peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.lint.helpers import planted_chats

CHILD = """
import sys, time, resource
from traitlab.lint import PrescanConfig, lint_dataset
start = time.perf_counter()
report = lint_dataset(sys.argv[1], prescan_config=PrescanConfig(cluster=False), show_progress=False)
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(elapsed, rss, report.n_items)
"""


def floor(path: Path) -> float:
    start = time.perf_counter()
    first: Counter[str] = Counter()
    last: Counter[str] = Counter()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            for message in json.loads(line)["messages"]:
                if message["role"] == "assistant":
                    words = message["content"].split()
                    first[" ".join(words[:3])] += 1
                    last[" ".join(words[-3:])] += 1
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--sentences", type=int, default=8)
    parser.add_argument("--rss", action="store_true", help="Only the lint's peak RSS.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        planted_chats(data, args.n, opening=0.3, closing=0.2, sentences=args.sentences)
        size = data.stat().st_size / 1e6
        floor_s = None if args.rss else floor(data)
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(data)], capture_output=True, text=True, check=True
        )
        elapsed, rss, items = child.stdout.split()
    print(f"records: {args.n:,} ({size:.0f} MB), items: {int(items):,}")
    print(
        f"lint pre-scan end to end: {float(elapsed):.1f} s, peak RSS {float(rss):,.0f} MB "
        "(target at 1M: < 2,048 MB)"
    )
    if floor_s is not None:
        ratio = float(elapsed) / floor_s
        print(
            f"floor (parse + first/last words): {floor_s:.2f} s; ratio {ratio:.1f}x (target <= 5x)"
        )


if __name__ == "__main__":
    main()
