"""Blockwise near-duplicate removal gives exactly the greedy result of the old O(n^2) loop."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmarks.dedup import naive, vectors
from traitlab.embeddings import near_duplicate_matches, near_duplicates


@pytest.mark.slow
@pytest.mark.parametrize("screen", ["bfloat16", "none"])
@pytest.mark.parametrize(
    ("n", "block", "tile"),
    [(300, 64, 4096), (1000, 128, 100), (1000, 4096, 4096), (200, 1, 7), (257, 16, 1)],
)
def test_blockwise_is_the_greedy_result(
    n: int, block: int, tile: int, screen: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if screen == "none":  # as without torch installed: every row is compared in float32
        monkeypatch.setitem(sys.modules, "torch", None)
    data = vectors(n, duplicate_share=0.3, seed=n + block)
    matches = near_duplicate_matches(data, 0.92, block=block, tile=tile)
    assert sorted(matches) == naive(data, 0.92) and len(matches) > n // 10
    assert near_duplicates(data, 0.92) == sorted(matches)
    # Each dropped row names the kept row before it that it is most similar to.
    kept = np.array([i for i in range(n) if i not in matches])
    for dropped, match in matches.items():
        earlier = kept[kept < dropped]
        sims = data[earlier] @ data[dropped]
        assert match == earlier[sims.argmax()] and sims.max() >= 0.92


def test_chains_are_resolved_in_order() -> None:
    """b is close to a and c to b, but not c to a: a kept, b dropped, so c is kept."""
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([np.cos(0.3), np.sin(0.3), 0.0])
    c = np.array([np.cos(0.6), np.sin(0.6), 0.0])
    for block in (1, 2, 3):
        assert near_duplicate_matches(np.stack([a, b, c]), 0.95, block=block) == {1: 0}
