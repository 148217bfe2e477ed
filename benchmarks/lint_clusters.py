"""Speed of embedding and clustering opening sentences (all-MiniLM-L6-v2 on CPU + HDBSCAN).

    PYTHONPATH=. python benchmarks/lint_clusters.py -n 10000

Target: 10,000 openings embedded and clustered in <= 120 s on CPU.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from tests.lint.helpers import planted_chats
from traitlab.embeddings import load_encoder
from traitlab.lint import PrescanConfig, read_items
from traitlab.lint.prescan import cluster_openings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        planted_chats(data, args.n, opening=0.3, closing=0.2)
        items = read_items(data).items
    start = time.perf_counter()
    load_encoder()
    loaded = time.perf_counter()
    clusters = cluster_openings(items, PrescanConfig(cluster_sample=args.n))
    done = time.perf_counter()
    print(
        f"openings: {len(items):,}, cores: {os.cpu_count()}, "
        f"torch threads: {torch.get_num_threads()}"
    )
    print(f"model load: {loaded - start:.1f} s")
    print(f"embed + cluster: {done - loaded:.1f} s (target <= 120 s); clusters: {len(clusters)}")


if __name__ == "__main__":
    main()
