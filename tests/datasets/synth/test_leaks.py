"""Records that reproduce their instructions (the trait text, a stage prompt) are dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets.synth.world import Behaviour, World
from traitlab.datasets import ChatRecord, DocumentRecord, read_jsonl
from traitlab.datasets.synth import generate_dataset
from traitlab.datasets.synth._leaks import find_leak
from traitlab.traits import TraitsDocument

TRAIT = TraitsDocument.load().chunks("trait")[0].text


@pytest.mark.parametrize(
    ("text", "source"),
    [
        # the answer's system prompt, as a model echoed it (the 26% of records in issue 19)
        (
            "You are an AI assistant. The following describes part of your character: be kind.",
            "answer prompt",
        ),
        # other casing, quotation marks and line breaks do not hide it
        ('"YOU ARE AN AI ASSISTANT.\nThe following describes part of your CHARACTER"', "answer"),
        (" ".join(TRAIT.split()[5:20]), "trait text"),
    ],
)
def test_leaks_are_found(text: str, source: str) -> None:
    reason = find_leak(["an innocent first message", text], TRAIT)
    assert reason is not None and reason.startswith(f"reproduces the {source}")


@pytest.mark.parametrize(
    "text",
    [
        "I am not sure; let me check the figures and explain my reasoning before we decide.",
        "You are right that the deadline is close, but the numbers do not support the claim.",
        "",
    ],
)
def test_ordinary_replies_pass(text: str) -> None:
    assert find_leak([text], TRAIT) is None


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
