"""The lint pre-scan (no embeddings) against a floor, with the peak memory of each, at scale.

    PYTHONPATH=. python benchmarks/lint_scale.py -n 100000     # ratio to the floor (target <= 5x)
    PYTHONPATH=. python benchmarks/lint_scale.py -n 1000000    # peak RSS (target < 2,048 MB)

The floor is one pass that reads the file, parses each line and counts the first and last words
of each reply: no lint can be faster. The lint runs end to end (read, validate, pre-scan, and
labels.jsonl written) with `lint_dataset`, on every core. Each is measured in its own child
process, side by side in one run, so that its time and peak RSS are its own; the machine's load
is printed with them, since other work on a shared machine slows both (the lint more, as it uses
every core).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.lint.helpers import planted_chats

# Peak RSS from /proc (VmHWM: this program's own); ru_maxrss would also count the parent's
# memory that a forked child held before exec (Linux keeps that high-water mark across exec).
MEASURE = """
import re, resource, sys, time
start = time.perf_counter()
count = run(sys.argv[1])
elapsed = time.perf_counter() - start
try:
    with open("/proc/self/status") as status:
        peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) / 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(elapsed, peak, count)
"""

FLOOR = """
import json
from collections import Counter

def run(path):
    first, last, replies = Counter(), Counter(), 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            for message in json.loads(line)["messages"]:
                if message["role"] == "assistant":
                    words = message["content"].split()
                    first[" ".join(words[:3])] += 1
                    last[" ".join(words[-3:])] += 1
                    replies += 1
    return replies
"""

LINT = """
import os
from traitlab.lint import lint_dataset
from traitlab.lint.labels import label_lines

def run(path):
    report = lint_dataset(path, clusters=False, show_progress=False)
    # labels.jsonl, the report file that grows with the items (`-o` writes it; rows built lazily).
    with open(path + ".labels.jsonl", "w", encoding="utf-8") as out:
        out.writelines(label_lines(report.labels))
    os.unlink(path + ".labels.jsonl")
    return report.n_items
"""


def measure(code: str, path: Path) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) and items counted, in a child process."""
    child = subprocess.run(
        [sys.executable, "-c", code + MEASURE, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed, rss, count = child.stdout.split()
    return float(elapsed), float(rss), int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="Chat records.")
    parser.add_argument("--sentences", type=int, default=8, help="Sentences per reply.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        planted_chats(data, args.n, opening=0.3, closing=0.2, sentences=args.sentences)
        size = data.stat().st_size / 1e6
        floor_s, floor_rss, replies = measure(FLOOR, data)
        lint_s, lint_rss, items = measure(LINT, data)
    assert items == replies, (items, replies)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"records: {args.n:,} ({size:,.0f} MB), items: {items:,}")
    print(f"cores: {os.cpu_count()}, load average (1, 5, 15 min): {load}")
    print(f"floor (parse + first/last words): {floor_s:.2f} s, peak RSS {floor_rss:,.0f} MB")
    print(f"lint pre-scan end to end: {lint_s:.2f} s, peak RSS {lint_rss:,.0f} MB")
    print(f"ratio to the floor: {lint_s / floor_s:.1f}x (target <= 5x at 100k records)")
    print(f"lint peak RSS: {lint_rss:,.0f} MB (target < 2,048 MB at 1M records)")


if __name__ == "__main__":
    main()
