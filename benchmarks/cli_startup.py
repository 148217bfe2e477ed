"""How fast the `traitlab` command answers, and how `traits show` scales with a long paragraph.

    python benchmarks/cli_startup.py [--runs 7] [--paragraph-mb 1 8 50]

Targets: `traitlab --help` under 0.5 s (the main command imports no part until it runs);
`traits show` on one paragraph of 50 MB in seconds, growing linearly with its size (it was
superlinear: 8 MB took 34 s, 50 MB over 10 minutes). Each figure is the median of `--runs` fresh
processes, after one warm-up run that fills the file cache.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAITLAB = str(Path(sys.executable).parent / "traitlab")
HELP_COMMANDS = [
    ["--help"],
    ["--version"],
    ["traits", "show"],
    ["traits", "--help"],
    ["lint", "--help"],
    ["generate", "--help"],
    ["train", "--help"],
    ["report", "--help"],
]


def seconds(args: list[str], runs: int) -> float:
    """Median wall time of `traitlab ARGS` over `runs` fresh processes (after one warm-up)."""
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([TRAITLAB, *args], capture_output=True, check=True)
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def paragraph_document(path: Path, megabytes: float) -> Path:
    """A traits document with one trait whose statement is a single paragraph of that size."""
    sentence = "An answer shaped by what the listener wants carries no information at all. "
    body = sentence * int(megabytes * 1e6 / len(sentence))
    path.write_text(f"# Traits\n\n## Honesty\n\n{body}\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--paragraph-mb", type=float, nargs="*", default=[1, 8, 50])
    args = parser.parse_args()
    for command in HELP_COMMANDS:
        label = "traitlab " + " ".join(command)
        target = "  (target < 0.5 s)" if command == ["--help"] else ""
        print(f"{label:<28} {seconds(command, args.runs):6.2f} s{target}")
    with tempfile.TemporaryDirectory() as tmp:
        for megabytes in args.paragraph_mb:
            document = paragraph_document(Path(tmp) / f"p{megabytes}.md", megabytes)
            elapsed = seconds(["traits", "show", str(document)], 1)
            print(f"traits show, {megabytes:g} MB paragraph {elapsed:6.2f} s")


if __name__ == "__main__":
    main()
