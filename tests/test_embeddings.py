from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")

from traitlab.embeddings import embed, near_duplicates  # noqa: E402


def test_embeddings_are_offline_normalised_and_semantic(no_network: None) -> None:
    vectors = embed(
        ["The cat sat on the mat.", "A cat was sitting on the mat.", "Quarterly revenue rose 4%."]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.7 > similarity[0, 2]


def test_near_duplicates_keep_the_first() -> None:
    vectors = np.array([[1.0, 0.0], [0.999, 0.0447], [0.0, 1.0]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert near_duplicates(vectors, threshold=0.95) == [1]
    assert near_duplicates(vectors, threshold=0.9999) == []
