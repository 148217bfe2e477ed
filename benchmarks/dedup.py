"""Near-duplicate removal speed (the dedup step of `traitlab generate` and the lint).

    python benchmarks/dedup.py                  # 2k, 8k, 32k, 100k vectors
    python benchmarks/dedup.py --sizes 100000 --naive-up-to 8000

Vectors are 384-d unit vectors (all-MiniLM-L6-v2's size) with a planted share of
near-duplicates (a copy plus small noise), so both the kept and the dropped paths are timed.
The greedy result is checked against the naive O(n^2) loop (it was `near_duplicates` before
issue 19) up to `--naive-up-to` vectors. Embedding the texts is not timed here: it is the
encoder's cost, the same for any dedup method. The load average is printed with each size:
on a shared machine the same run varies by 2x with it. Peak RSS is the process's so far (sizes
run in increasing order, so each row's figure is that size's peak).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from traitlab.embeddings import near_duplicate_matches


def naive(vectors: np.ndarray, threshold: float) -> list[int]:
    kept: list[int] = []
    dropped: list[int] = []
    for index in range(len(vectors)):
        if kept and float(np.max(vectors[kept] @ vectors[index])) >= threshold:
            dropped.append(index)
        else:
            kept.append(index)
    return dropped


def vectors(n: int, duplicate_share: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 384)).astype(np.float32)
    copies = rng.random(n) < duplicate_share
    sources = rng.integers(0, n, size=n)
    noisy = base[sources] + 0.2 * rng.standard_normal((n, 384)).astype(np.float32)
    base[copies] = noisy[copies]
    return base / np.linalg.norm(base, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 32000, 100000])
    parser.add_argument("--threshold", type=float, default=0.92)
    parser.add_argument("--naive-up-to", type=int, default=8000)
    args = parser.parse_args()
    print(f"{'n':>7} {'dropped':>8} {'blockwise s':>12} {'naive s':>8}  same  load  peak RSS")
    for n in args.sizes:
        data = vectors(n)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        matches = near_duplicate_matches(data, args.threshold)
        fast = time.perf_counter() - start
        slow, same = "-", "-"
        if n <= args.naive_up_to:
            start = time.perf_counter()
            expected = naive(data, args.threshold)
            slow = f"{time.perf_counter() - start:.2f}"
            same = str(sorted(matches) == expected)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{n:>7} {len(matches):>8} {fast:>12.2f} {slow:>8}  {same:5} {load:4.1f} {peak:6.0f} MB"
        )


if __name__ == "__main__":
    main()
