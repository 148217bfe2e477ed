"""The instruction-leak filter: drop records that reproduce or name their instructions.

A generating model sometimes quotes its instructions ("You are an AI assistant. The following
describes part of your character..."), echoes the trait's wording, or names the trait ("as
someone with calibrated confidence, ..."); a model trained on that learns to recite its
character sheet rather than to have the character. A record leaks when the text it trains on
(user turns, replies, documents) holds

* the name or id of one of its traits, if it has two words or more ("Honesty under pressure",
  ``no-fabrication``); one-word names ("Directness") are ordinary words and are not looked for;
* a distinctive phrase of its trait text: `PHRASE` words in a row of which at least `CONTENT`
  are not function words ("a reassuring error can cost", not "what I believe to be true");
* `WORDS` words in a row of the trait text or of the fixed text of any stage prompt the run
  uses (a file of a ``--prompts`` folder in place of the bundled one it replaces).

Texts are compared as words after `traitlab.text.normalise`: case, punctuation, line
breaks, curly and straight quotation marks and apostrophes, and dashes do not hide a leak.
What it cannot see: a paraphrase, a translation, a one-word name, or a phrase shorter than the
runs above (`COVERAGE` says so in the run summary).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel

from traitlab.datasets.synth._prompts import StagePrompts
from traitlab.records import ChatRecord, DocumentRecord, PreferenceRecord
from traitlab.text import words

WORDS = 8
PHRASE = 5
CONTENT = 3

COVERAGE = (
    f"leak filter: drops records holding a trait's name or id (2+ words), {PHRASE} words in a "
    f"row of its trait text with {CONTENT}+ content words, or {WORDS} words in a row of a stage "
    "prompt, whatever the case, punctuation, quote marks or dashes; it cannot see paraphrases, "
    "translations or one-word names"
)

# Function words: a run made mostly of these is ordinary phrasing, whatever text it came from.
_FUNCTION_WORDS = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either else
    even ever every few for from further get gets got had has have having he her here hers him
    his how i i'd i'll i'm i've if in into is it it's its just let like may me might more most
    much must my no nor not now of off on once one only or other our ours out over own same
    she should so some such than that that's the their them then there these they this those
    through to too under until up upon us very was we were what when where which while who whom
    why will with would yet you your yours"""
_FUNCTION = frozenset(_FUNCTION_WORDS.split())

Shingle = tuple[str, ...]
# `$name` / `${name}` placeholders split a template's fixed text into separate runs.
_PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def shingles(text: str | list[str], size: int = WORDS) -> dict[Shingle, int]:
    """Every run of `size` consecutive words -> the index of its first word."""
    found = words(text) if isinstance(text, str) else text
    runs: dict[Shingle, int] = {}
    for start in range(len(found) - size + 1):
        runs.setdefault(tuple(found[start : start + size]), start)
    return runs


def distinctive(run: Shingle) -> bool:
    """A run that ordinary phrasing is unlikely to produce: `CONTENT` or more content words."""
    return sum(word not in _FUNCTION for word in run) >= CONTENT


def prompt_shingles(prompts: StagePrompts) -> dict[Shingle, str]:
    """Runs of words in the fixed text of the run's stage prompts -> the stage they come from."""
    found: dict[Shingle, str] = {}
    for prompt in prompts:
        for piece in (*_PLACEHOLDER.split(prompt.template), *prompt.variants.values()):
            for run in shingles(piece):
                found.setdefault(run, f"{prompt.name} prompt")
    return found


@dataclass(frozen=True)
class LeakFilter:
    """What one chunk's records must not hold: its names, its phrases, its and the prompts'
    long runs (`find`)."""

    names: dict[Shingle, str]
    phrases: frozenset[Shingle]
    runs: frozenset[Shingle]
    prompt_runs: dict[Shingle, str]

    @classmethod
    def of(
        cls, trait_text: str, names: Iterable[str], prompt_runs: dict[Shingle, str]
    ) -> LeakFilter:
        """The filter for a chunk's text, its traits' names and ids, and the run's prompts
        (`prompt_shingles`, computed once per run)."""
        named = {}
        for name in names:
            key = tuple(words(name))
            if len(key) >= 2:
                named.setdefault(key, name)
        trait_words = words(trait_text)
        return cls(
            names=named,
            phrases=frozenset(r for r in shingles(trait_words, PHRASE) if distinctive(r)),
            runs=frozenset(shingles(trait_words)),
            prompt_runs=prompt_runs,
        )

    def find(self, texts: list[str]) -> str | None:
        """Why `texts` leak the instructions (what they hold, and from where), or None."""
        for text in texts:
            found = words(text)
            for run in shingles(found):
                source = "trait text" if run in self.runs else self.prompt_runs.get(run)
                if source is not None:
                    return f"reproduces the {source}: '{' '.join(run)}'"
            for size in sorted({len(name) for name in self.names}):
                for run in shingles(found, size):
                    if run in self.names:
                        return f"names the trait: '{self.names[run]}'"
            for run in shingles(found, PHRASE):
                if run in self.phrases:
                    return f"reproduces a phrase of the trait text: '{' '.join(run)}'"
        return None


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


def find_leak(
    texts: list[str],
    trait_text: str,
    names: Iterable[str] = (),
    prompts: StagePrompts | None = None,
) -> str | None:
    """Why `texts` leak the instructions of `trait_text` (with its traits' `names`, under the
    run's `prompts`, the bundled ones by default), or None."""
    runs = prompt_shingles(prompts or StagePrompts())
    return LeakFilter.of(trait_text, names, runs).find(texts)
