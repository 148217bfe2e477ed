"""Blockwise near-duplicate removal gives exactly the greedy result of the old O(n^2) loop."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.dedup import naive, vectors
from traitlab.embeddings import _Products, near_duplicate_matches, near_duplicates


@pytest.mark.parametrize("torch_screen", [True, False])
@pytest.mark.parametrize(("n", "block"), [(300, 64), (1000, 128), (1000, 4096)])
def test_blockwise_is_the_greedy_result(
    n: int, block: int, torch_screen: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not torch_screen:
        original = _Products.__init__

        def without_torch(self: _Products, data: np.ndarray) -> None:
            original(self, data)
            self.torch = None

        monkeypatch.setattr(_Products, "__init__", without_torch)
    data = vectors(n, duplicate_share=0.3, seed=n)
    matches = near_duplicate_matches(data, 0.92, block=block)
    assert sorted(matches) == naive(data, 0.92) and len(matches) > n // 10
    for dropped, kept in matches.items():
        assert kept < dropped and kept not in matches
        assert float(data[dropped] @ data[kept]) >= 0.92
    assert near_duplicates(data, 0.92) == sorted(matches)
