"""What each trait's items are drawn from: brainstormed settings and document types.

Fixed lists make every trait's data look alike: the same dozen document types and the same
thirty people, whatever the trait. As in the false-facts pipeline, a run first asks the model,
once per chunk, for settings (who is writing) and document types that fit that trait, showing
the bundled lists (``data/``) as examples; each item then draws from its chunk's lists. A chunk
whose brainstorm gives nothing usable (after the retries `ask_judge` makes) draws from the
bundled lists, and the run says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, Field, field_validator

from traitlab.datasets.synth._prompts import DocType, doc_types, settings

T = TypeVar("T")

# Fewer distinct entries than this would give less variety than the bundled lists: retried.
MIN_ENTRIES = 5


class Variety(BaseModel):
    """The lists one chunk's items are drawn from (distinct entries, in the model's order)."""

    settings: list[str] = Field(description="who is writing: a short phrase per person")
    doc_types: list[DocType] = Field(description="kinds of documents, each a name and description")

    @field_validator("settings")
    @classmethod
    def _distinct_settings(cls, values: list[str]) -> list[str]:
        return _distinct([value.strip() for value in values], key=str)

    @field_validator("doc_types")
    @classmethod
    def _distinct_doc_types(cls, values: list[DocType]) -> list[DocType]:
        cleaned = [DocType(name=d.name.strip(), description=d.description.strip()) for d in values]
        return _distinct([d for d in cleaned if d.description], key=lambda d: d.name)

    def problem(self) -> str | None:
        """Too short a list is sent back to the model, as an unparseable reply would be."""
        short = [
            f"{len(values)} distinct {name}"
            for name, values in (("settings", self.settings), ("doc_types", self.doc_types))
            if len(values) < MIN_ENTRIES
        ]
        return f"only {' and '.join(short)}; give at least {MIN_ENTRIES} of each" if short else None


def bundled() -> Variety:
    """The bundled lists: the examples shown to the brainstorm, and its fallback."""
    return Variety(settings=settings(), doc_types=doc_types())


def examples() -> dict[str, str]:
    """The bundled lists as the brainstorm prompt shows them."""
    lists = bundled()
    return {
        "example_settings": "\n".join(f"- {setting}" for setting in lists.settings),
        "example_doc_types": "\n".join(f"- {d.name}: {d.description}" for d in lists.doc_types),
    }


def _distinct(values: list[T], *, key: Callable[[T], str]) -> list[T]:
    """`values` without blanks and repeats (compared case- and spacing-insensitively)."""
    seen: set[str] = set()
    kept = []
    for value in values:
        name = " ".join(key(value).split()).lower()
        if name and name not in seen:
            seen.add(name)
            kept.append(value)
    return kept
