"""Variety: settings and document types brainstormed per trait, the bundled lists as examples
and as the fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets.synth.world import TRAIT_NAMES, Behaviour, World
from traitlab.datasets import ChatRecord, read_jsonl
from traitlab.datasets.synth import generate_dataset
from traitlab.datasets.synth._prompts import DocType, settings
from traitlab.datasets.synth._variety import MIN_ENTRIES, Variety

TRAITS = ["honesty-under-pressure", "calibrated-confidence"]


async def run(w: World, out: Path, **options: object):
    return await generate_dataset(
        "sft", out, model=w.model(), trait_ids=TRAITS, n=8, show_progress=False, **options
    )


async def test_items_draw_from_their_traits_brainstorm(tmp_path: Path) -> None:
    w = World()
    report = await run(w, tmp_path / "sft.jsonl")
    records = list(read_jsonl(tmp_path / "sft.jsonl", ChatRecord, strict=True))
    assert len(records) == 8
    # One brainstorm per trait, shown the bundled lists as examples.
    assert len(w.calls["variety"]) == 2
    assert settings()[0] in w.calls["variety"][0][-1].text
    for record in records:
        name = TRAIT_NAMES[record.metadata["trait_ids"][0]]
        assert record.metadata["setting"].endswith(f"keeper ({name})")
        assert record.metadata["variety"] == "brainstormed"
        assert record.metadata["models"]["variety"] == "scripted/world"
    # The drawn setting reached the scenario prompt.
    setting = records[0].metadata["setting"]
    assert any(setting in call[-1].text for call in w.calls["scenario"])
    assert report.variety_line() == "variety: brainstormed for 2 of 2 chunks"


async def test_a_useless_brainstorm_falls_back_to_the_bundled_lists(tmp_path: Path) -> None:
    w = World(behaviours={"calibrated-confidence": Behaviour(variety="short")})
    report = await run(w, tmp_path / "sft.jsonl")
    records = list(read_jsonl(tmp_path / "sft.jsonl", ChatRecord, strict=True))
    by_trait = {r.metadata["trait_ids"][0]: r for r in records}
    fallback = by_trait["calibrated-confidence"].metadata
    assert fallback["variety"] == "bundled" and fallback["setting"] in settings()
    assert "variety" not in fallback["models"]
    assert by_trait["honesty-under-pressure"].metadata["variety"] == "brainstormed"
    # The short list was sent back with the reason (2 retries), then the run said so.
    assert len(w.calls["variety"]) == 2 + 2
    assert "only 2 distinct settings" in w.calls["variety"][-1][-1].text
    line = report.variety_line()
    assert line.startswith("variety: brainstormed for 1 of 2 chunks; bundled lists for 1 (")
    assert "calibrated-confidence" in line


async def test_bundled_variety_makes_no_brainstorm_call(tmp_path: Path) -> None:
    w = World()
    report = await run(w, tmp_path / "sft.jsonl", variety="bundled")
    records = list(read_jsonl(tmp_path / "sft.jsonl", ChatRecord, strict=True))
    assert not w.calls["variety"] and report.variety_line() is None
    assert all(r.metadata["setting"] in settings() for r in records)


@pytest.mark.parametrize(
    ("listed", "problem"),
    [
        (["a", "b", "c", "d", "e"], None),
        (["a", "A ", " a", "b", "c", "d"], "only 4 distinct settings"),  # repeats count once
        (["a", "b", "", "  ", "c", "d"], "only 4 distinct settings"),  # blanks do not count
    ],
)
def test_variety_lists_are_distinct_and_long_enough(listed: list[str], problem: str) -> None:
    docs = [DocType(name=f"type {i}", description="d") for i in range(MIN_ENTRIES)]
    variety = Variety(settings=listed, doc_types=docs)
    assert len(set(map(str.lower, variety.settings))) == len(variety.settings)
    found = variety.problem()
    assert found == problem if problem is None else problem in found
