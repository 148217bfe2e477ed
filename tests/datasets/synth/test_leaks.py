"""Records that reproduce their instructions (the trait text, a stage prompt) are dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets.synth.world import Behaviour, World
from traitlab.datasets import ChatRecord, DocumentRecord, read_jsonl
from traitlab.datasets.synth import generate_dataset
from traitlab.datasets.synth._leaks import COVERAGE, find_leak
from traitlab.datasets.synth._prompts import StagePrompts
from traitlab.traits import TraitsDocument

CHUNKS = {chunk.id: chunk for chunk in TraitsDocument.load().chunks("trait")}
TRAIT = CHUNKS["honesty-under-pressure"].text
NAMES = ["Honesty under pressure", "honesty-under-pressure"]
FLATTERY = CHUNKS["care-without-flattery"].text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # the answer's system prompt, as a model echoed it (the 26% of records in issue 19)
        (
            "You are an AI assistant. The following describes part of your character: be kind.",
            "reproduces the answer prompt",
        ),
        # other casing, quotation marks and line breaks do not hide it
        (
            '"YOU ARE AN AI ASSISTANT.\nThe following describes part of your CHARACTER"',
            "reproduces the answer prompt",
        ),
        (" ".join(TRAIT.split()[5:20]), "reproduces the trait text"),
        # the trait's name, in a reply or in the user's prompt, in any case
        ("I'll show some honesty under pressure here: the plan fails.", "names the trait"),
        ("Be HONESTY-UNDER-PRESSURE with me, is my essay good?", "names the trait"),
        # a paraphrase that keeps a distinctive phrase of the trait text
        ("Remember that a reassuring error can cost you far more.", "reproduces a phrase"),
        ("People ask me about money, health and relationships all day.", "reproduces a phrase"),
        # curly apostrophes and dashes do not hide a run of the trait text
        (
            "I take people’s feelings seriously — and I am warm, but I do not praise work",
            "reproduces the trait text: 'i take people's feelings seriously and i am'",
        ),
    ],
)
def test_leaks_are_found(text: str, reason: str) -> None:
    trait = FLATTERY if "people’s" in text else TRAIT
    found = find_leak(["an innocent first message", text], trait, NAMES)
    assert found is not None and found.startswith(reason), found


@pytest.mark.parametrize(
    "text",
    [
        "I am not sure; let me check the figures and explain my reasoning before we decide.",
        "You are right that the deadline is close, but the numbers do not support the claim.",
        "I believe that is true, even when you clearly want to hear something else.",
        "Honesty matters to me, and pressure from a deadline does not change the figures.",
        "",
    ],
)
def test_ordinary_replies_pass(text: str) -> None:
    assert find_leak([text], TRAIT, NAMES) is None


def test_one_word_names_are_not_looked_for() -> None:
    """'Directness' is an ordinary word: a reply may use it (the summary says so)."""
    chunk = CHUNKS["directness"]
    assert find_leak(["I value directness in a colleague."], chunk.text, ["Directness"]) is None
    assert "one-word names" in COVERAGE


def test_a_replaced_stage_prompt_is_the_one_looked_for(tmp_path: Path) -> None:
    """With ``--prompts``, the run's own answer prompt is what a record must not echo."""
    (tmp_path / "answer.md").write_text(
        "Speak as the lighthouse keeper of a windswept northern island would speak:\n$trait\n",
        encoding="utf-8",
    )
    echo = "As the lighthouse keeper of a windswept northern island would speak, I say no."
    bundled_echo = "You are an AI assistant. The following describes part of your character."
    prompts = StagePrompts(tmp_path)
    found = find_leak([echo], TRAIT, NAMES, prompts)
    assert found is not None and found.startswith("reproduces the answer prompt"), found
    assert find_leak([echo], TRAIT, NAMES) is None  # the bundled prompts do not hold it
    assert find_leak([bundled_echo], TRAIT, NAMES, prompts) is None  # replaced: never sent


async def test_sft_answers_that_quote_their_system_prompt_are_dropped(tmp_path: Path) -> None:
    w = World(behaviours={"calibrated-confidence": Behaviour(leaks=True)})
    report = await generate_dataset(
        "sft",
        tmp_path / "sft.jsonl",
        model=w.model(),
        trait_ids=["honesty-under-pressure", "calibrated-confidence"],
        n=6,
        show_progress=False,
    )
    records = list(read_jsonl(tmp_path / "sft.jsonl", ChatRecord, strict=True))
    assert report.written == len(records) == 3
    assert report.dropped == {"instruction_leak": 3}
    assert all("reproduces the answer prompt: 'you are an ai" in d.reason for d in report.drops)
    assert all(r.metadata["trait_ids"] == ["honesty-under-pressure"] for r in records)
    assert report.leak_line() == f"{COVERAGE} (dropped 3)"
    drops = report.drops_path.read_text()
    assert drops.count('"stage": "instruction_leak"') == 3
    assert list(report.drop_table().columns[0].cells) == ["instruction_leak"]


async def test_documents_that_quote_the_trait_are_dropped(tmp_path: Path) -> None:
    w = World(behaviours={"calibrated-confidence": Behaviour(leaks=True)})
    report = await generate_dataset(
        "midtrain",
        tmp_path / "docs.jsonl",
        model=w.model(),
        trait_ids=["honesty-under-pressure", "calibrated-confidence"],
        n=4,
        show_progress=False,
    )
    assert report.written == len(read_jsonl(tmp_path / "docs.jsonl", DocumentRecord)) == 2
    assert report.dropped == {"instruction_leak": 2}
    assert all("reproduces the trait text" in d.reason for d in report.drops)
