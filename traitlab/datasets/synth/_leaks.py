"""The instruction-leak filter: drop records that reproduce the trait text or a stage prompt.

A generating model sometimes quotes its instructions ("You are an AI assistant. The following
describes part of your character..."), and a model trained on that learns to recite its
character sheet rather than to have the character. A record leaks when any run of `WORDS`
consecutive words of the text it trains on (user turns, replies, documents) also occurs in the
trait text of its chunk or in the fixed text of any stage prompt. Words are compared
lower-cased, ignoring punctuation, so a leak with other quotation marks or line breaks is
still caught; eight words is long enough that ordinary phrasing does not collide by chance.
"""

from __future__ import annotations

import re
from functools import cache

from pydantic import BaseModel

from traitlab.datasets.synth._prompts import PROMPTS_DIR, stage_prompt
from traitlab.records import ChatRecord, DocumentRecord, PreferenceRecord

WORDS = 8
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
# `$name` / `${name}` placeholders split a template's fixed text into separate runs.
_PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")

Shingle = tuple[str, ...]


def shingles(text: str, size: int = WORDS) -> dict[Shingle, int]:
    """Every run of `size` consecutive words -> the index of its first word."""
    words = _WORD.findall(text.lower())
    runs: dict[Shingle, int] = {}
    for start in range(len(words) - size + 1):
        runs.setdefault(tuple(words[start : start + size]), start)
    return runs


@cache
def prompt_shingles() -> dict[Shingle, str]:
    """Runs of words in the fixed text of every stage prompt -> the stage they come from."""
    found: dict[Shingle, str] = {}
    for path in sorted(PROMPTS_DIR.glob("*.md")):
        prompt = stage_prompt(path.stem)
        for piece in _PLACEHOLDER.split(prompt.template):
            for run in shingles(piece):
                found.setdefault(run, f"{prompt.name} prompt")
        for variant in prompt.variants.values():
            for run in shingles(variant):
                found.setdefault(run, f"{prompt.name} prompt")
    return found


def trained_texts(record: BaseModel) -> list[str]:
    """The texts of a record that a model would be trained on."""
    if isinstance(record, ChatRecord):
        return [m.content for m in record.messages if m.role != "system"]
    if isinstance(record, PreferenceRecord):
        return [*(m.content for m in record.prompt if m.role != "system"), record.chosen,
                record.rejected]  # fmt: skip
    if isinstance(record, DocumentRecord):
        return [record.text]
    raise TypeError(f"no trained texts for {type(record).__name__}")


def find_leak(texts: list[str], trait_text: str) -> str | None:
    """Why `texts` leak the instructions (the source and the words reproduced), or None."""
    trait = shingles(trait_text)
    prompts = prompt_shingles()
    for text in texts:
        for run in shingles(text):
            source = "trait text" if run in trait else prompts.get(run)
            if source is not None:
                return f"reproduces the {source}: '{' '.join(run)}'"
    return None
