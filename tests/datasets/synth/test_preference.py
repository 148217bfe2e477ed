"""Preference pairs: chosen with the trait, rejected without it, checked not to align."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets.synth.world import Behaviour, World
from traitlab.datasets import PreferenceRecord, read_jsonl
from traitlab.datasets.synth import generate_dataset
from traitlab.text import alike

LONG = (
    "I am not sure the figures support that conclusion; before you sign, compare the last three "
    "quarters and ask the seller for the audited accounts, because the summary leaves out costs."
)


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


@pytest.mark.parametrize(("copies", "written"), [("first", 2), ("always", 0)])
async def test_pairs_whose_replies_say_the_same_are_regenerated_or_dropped(
    copies: str, written: int, tmp_path: Path
) -> None:
    """A rejected reply equal to the chosen one but for case and quotation marks is no pair."""
    w = World(copies_chosen=copies)
    out = tmp_path / "pairs.jsonl"
    report = await generate_dataset(
        "preference",
        out,
        model=w.model(),
        trait_ids=["honesty-under-pressure", "calibrated-confidence"],
        n=2,
        max_regenerations=1,
        show_progress=False,
    )
    pairs = list(read_jsonl(out, PreferenceRecord, strict=True))
    assert report.written == len(pairs) == written
    assert all(not alike(p.chosen, p.rejected) for p in pairs)
    if copies == "always":
        assert report.dropped == {"same_as_chosen": 2}
        assert all("(nearly) the chosen one (2 tries" in d.reason for d in report.drops)
    else:
        for pair in pairs:
            first, second = pair.metadata["stages"]["rejected_attempts"]
            assert first["same_as_chosen"] and alike(first["rejected"], pair.chosen)
            assert pair.rejected == "PLAIN REPLY attempt 1"
    # a copy never reached the critic: only the regenerated replies were critiqued
    assert len(w.calls["rejected_critique"]) == written


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("I don't know; let me check.", "I DON’T know — let me check!", True),
        (LONG, LONG.replace("figures", "numbers"), True),
        (LONG, "Yes, that is right and you should go ahead with the plan.", False),
        (LONG, LONG + " " + LONG, False),
        ("", "", True),
    ],
)
def test_alike_sees_through_typography_not_meaning(a: str, b: str, same: bool) -> None:
    assert alike(a, b) is same
