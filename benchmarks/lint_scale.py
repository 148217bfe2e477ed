"""The lint pre-scan (no embeddings) and `lint filter` against a floor, with peak memory, at scale.

    PYTHONPATH=. python benchmarks/lint_scale.py -n 100000     # ratio to the floor (target <= 5x)
    PYTHONPATH=. python benchmarks/lint_scale.py -n 1000000    # peak RSS (target < 2,048 MB)

Two kinds of data, each measured: `random` (replies of random words, few repeated phrases) and
`templated` (replies built from a few dozen sentence templates, as synthetic SFT data is, with
planted openers and closers: many candidate phrases). The floor is one pass that reads the file,
parses each line and counts the first and last words of each reply: no lint can be faster. The
lint runs as a user runs it, from the shell: `traitlab lint FILE --no-clusters -o DIR` (start-up,
read, validate, pre-scan, report and labels.jsonl written), on every core; then
`traitlab lint filter` drops the records of one finding. Each runs in its own child process, side
by side in one run, so that its time and peak RSS are its own; the machine's load is printed
with them, since other work on a shared machine slows both (the lint more, as it uses every
core), and so are the CPU seconds of each (the lint's include its workers'), which load moves
less than wall time.

Measured results (command, figures, load) are in the README's lint "Speed and memory" paragraph.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Peak RSS from /proc (VmHWM: this program's own); ru_maxrss would also count the parent's
# memory that a forked child held before exec (Linux keeps that high-water mark across exec).
MEASURE = """
import re, resource, sys, time
start, cpu = time.perf_counter(), time.process_time()
count = run(sys.argv[1])
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
try:
    with open("/proc/self/status") as status:
        peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) / 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(elapsed, cpu, peak, count)
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


def measure(code: str, path: Path) -> tuple[float, float, float, int]:
    """Seconds, CPU seconds, peak RSS (MB) and replies counted by the floor, in a child
    process."""
    child = subprocess.run(
        [sys.executable, "-c", code + MEASURE, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed, cpu, rss, count = child.stdout.split()
    return float(elapsed), float(cpu), float(rss), int(count)


def command(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (the command and its workers) and peak RSS (MB, the largest
    process: the command or one of its workers) of a `traitlab` command, started as from the
    shell."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [str(Path(sys.executable).with_name("traitlab")), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if status:
        raise SystemExit(f"traitlab {' '.join(args)} failed:\n{child.stderr.read().decode()}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def run(kind: str, n: int, sentences: int, tmp: Path) -> None:
    data, out = tmp / f"{kind}.jsonl", tmp / f"{kind}-report"
    # Made in a child process, so that this one stays small: a command's peak RSS counts the
    # memory of the process it was started from (Linux keeps the high-water mark across exec).
    maker = (
        "tests.lint.helpers import "
        + ("planted_chats" if kind == "random" else "templated_chats")
        + " as make"
    )
    subprocess.run(
        [sys.executable, "-c", f"from {maker}; from pathlib import Path; "
         f"make(Path({str(data)!r}), {n}, opening=0.3, closing=0.2, sentences={sentences})"],
        check=True,
    )  # fmt: skip
    size = data.stat().st_size / 1e6
    floor_s, floor_cpu, floor_rss, replies = measure(FLOOR, data)
    lint_s, lint_cpu, lint_rss = command(["lint", str(data), "--no-clusters", "-o", str(out)])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["n_items"] == replies, (report["n_items"], replies)
    feature = report["findings"][0]["id"]
    filter_s, _, filter_rss = command(
        ["lint", "filter", str(data), "--report", str(out), "-o", str(tmp / "kept.jsonl"),
         "--feature", feature]
    )  # fmt: skip
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{kind}] records: {n:,} ({size:,.0f} MB), items: {replies:,}; load {load}")
    print(
        f"  floor (parse + first/last words): {floor_s:.2f} s ({floor_cpu:.2f} s CPU), "
        f"peak RSS {floor_rss:,.0f} MB"
    )
    print(
        f"  traitlab lint --no-clusters: {lint_s:.2f} s ({lint_cpu:.2f} s CPU on "
        f"{os.cpu_count()} cores), peak RSS {lint_rss:,.0f} MB"
    )
    print(
        f"  ratio to the floor: {lint_s / floor_s:.1f}x (target <= 5x); "
        f"CPU ratio {lint_cpu / floor_cpu:.1f}x"
    )
    print(f"  traitlab lint filter ({feature}): {filter_s:.2f} s, peak RSS {filter_rss:,.0f} MB")
    for path in (data, tmp / "kept.jsonl"):
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="Chat records.")
    parser.add_argument("--sentences", type=int, default=8, help="Sentences per reply.")
    parser.add_argument(
        "--data", choices=["random", "templated", "both"], default="both", help="Kind of data."
    )
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; targets: lint <= 5x the floor, peak RSS < 2,048 MB")
    kinds = ["random", "templated"] if args.data == "both" else [args.data]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            run(kind, args.n, args.sentences, Path(tmp))


if __name__ == "__main__":
    main()
