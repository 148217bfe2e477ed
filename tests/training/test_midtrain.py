"""Midtraining keeps every token: long documents are split into `max_length` pieces (TRL would
cut them off), and the run card says how many tokens were kept and dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("trl")

from tests.training.conftest import CORPUS, config_dict, write_config, write_jsonl  # noqa: E402
from traitlab.training import train  # noqa: E402
from traitlab.training.data import chunk_documents  # noqa: E402

LONG = " ".join(CORPUS * 6)


def test_chunks_cover_every_token_in_order(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = [{"text": LONG}, {"text": "short"}]
    chunks, counts = chunk_documents(rows, tokenizer, 32)
    ids = tokenizer(LONG)["input_ids"] + [tokenizer.eos_token_id]
    assert counts.total == counts.kept == len(ids) + len(tokenizer("short")["input_ids"]) + 1
    assert counts.dropped == 0 and counts.documents_split == 1
    assert all(len(c["input_ids"]) <= 32 for c in chunks)
    assert [t for c in chunks[:-1] for t in c["input_ids"]] == ids
    assert counts.sequences == len(chunks) == -(-len(ids) // 32) + 1


@pytest.mark.parametrize("packing", [True, False])
def test_midtraining_trains_on_every_token(packing: bool, tiny_model: Path, tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "docs.jsonl",
        [{"id": f"d{i}", "text": LONG, "doc_type": "blog"} for i in range(4)],
    )
    config = config_dict("midtrain", tiny_model, tmp_path, tmp_path / "out")
    config["data"] = {"documents": [str(tmp_path / "docs.jsonl")]}
    config["training"].update(max_length=32, packing=packing, max_steps=2)
    card = train("midtrain", write_config(tmp_path / "c.yaml", config))
    assert card.tokens is not None
    assert card.tokens.dropped == 0 and card.tokens.kept == card.tokens.total
    assert card.tokens.documents_split == 4 and card.tokens.sequences > 4 * 10
    assert card.losses.final is not None
