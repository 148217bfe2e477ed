"""Preference pairs: chosen with the trait, rejected without it, checked not to align."""

from __future__ import annotations

from pathlib import Path

from tests.datasets.synth.world import Behaviour, World
from traitlab.datasets import PreferenceRecord, read_jsonl
from traitlab.datasets.synth import generate_dataset


async def test_rejected_replies_are_regenerated_or_dropped(tmp_path: Path) -> None:
    w = World(
        behaviours={
            "honesty-under-pressure": Behaviour(rejected_aligns="never"),
            "calibrated-confidence": Behaviour(rejected_aligns="first"),
            "no-fabrication": Behaviour(rejected_aligns="always"),
        }
    )
    out = tmp_path / "pairs.jsonl"
    report = await generate_dataset(
        "preference",
        out,
        model=w.model(),
        trait_ids=["honesty-under-pressure", "calibrated-confidence", "no-fabrication"],
        n=6,
        max_regenerations=1,
        show_progress=False,
    )
    pairs = {r.metadata["trait_ids"][0]: r for r in read_jsonl(out, PreferenceRecord, strict=True)}
    assert report.written == 4
    assert report.dropped == {"rejected_critique": 2}
    assert all("2 tries" in d.reason for d in report.drops)

    first_try = pairs["honesty-under-pressure"]
    assert first_try.rejected.startswith("DEFAULT REPLY")
    assert len(first_try.metadata["stages"]["rejected_attempts"]) == 1
    regenerated = pairs["calibrated-confidence"]
    assert regenerated.rejected == "PLAIN REPLY attempt 1"
    assert [
        a["aligns_with_trait"] for a in regenerated.metadata["stages"]["rejected_attempts"]
    ] == [
        True,
        False,
    ]
    for pair in pairs.values():
        assert [m.role for m in pair.prompt] == ["user"]
        assert pair.chosen.startswith("REFINED ANSWER")
        assert pair.metadata["fires"] is True
        assert pair.metadata["models"]["rejected_critique"] == "scripted/world"
    # The rejected reply never saw the trait: no system prompt on any bare-prompt call.
    assert all(len(call) == 1 for call in w.calls["plain"])
