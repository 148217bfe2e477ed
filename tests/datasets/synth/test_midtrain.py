"""Midtraining documents: brainstorm, draft, critique, rewrite from scratch; never chats."""

from __future__ import annotations

from pathlib import Path

from tests.datasets.synth.world import TRAIT_NAMES, Behaviour, World
from traitlab.datasets import DocumentRecord, read_jsonl
from traitlab.datasets.synth import generate_dataset


async def test_documents_flow_through_every_stage(tmp_path: Path) -> None:
    w = World(
        behaviours={
            "no-fabrication": Behaviour(salvageable=False),
            "steady-under-pushback": Behaviour(chat_formatted=True),
            "calibrated-confidence": Behaviour(duplicate=True),
        }
    )
    out = tmp_path / "docs.jsonl"
    report = await generate_dataset(
        "midtrain",
        out,
        model=w.model("writer"),
        critic_model=w.model("critic"),
        trait_ids=[
            "honesty-under-pressure",
            "calibrated-confidence",
            "no-fabrication",
            "steady-under-pushback",
        ],
        n=8,
        show_progress=False,
    )
    docs = list(read_jsonl(out, DocumentRecord, strict=True))
    assert report.written == len(docs) == 3
    assert report.dropped == {"doc_critique": 2, "format": 2, "near_duplicate": 1}
    assert {d.trait_ids[0] for d in docs} == {"honesty-under-pressure", "calibrated-confidence"}

    for doc in docs:
        assert doc.text.startswith("A document about")
        stages = doc.metadata["stages"]
        assert stages["draft"].startswith("DRAFT Title")
        assert stages["critique"]["problems"] == "reads like an advert"
        # Generating stages ran on the writer, critical ones on the critic.
        assert doc.metadata["models"] == {
            "variety": "scripted/writer",
            "brainstorm": "scripted/writer",
            "draft": "scripted/writer",
            "doc_critique": "scripted/critic",
            "rewrite": "scripted/critic",
        }
    # The plan reached the draft; the critique and the draft reached the rewrite.
    assert "the assistant did" in w.calls["draft"][0][-1].text
    rewrite_prompt = w.calls["rewrite"][0][-1].text
    assert "reads like an advert" in rewrite_prompt and "DRAFT Title" in rewrite_prompt
    # Each document's type comes from its own trait's brainstorm, not from the bundled list.
    for doc in docs:
        assert doc.metadata["variety"] == "brainstormed"
        assert doc.doc_type.endswith(f"gazette ({TRAIT_NAMES[doc.trait_ids[0]]})")
    assert len(w.calls["variety"]) == 4  # one brainstorm per trait, not per document
