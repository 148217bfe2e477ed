"""Midtraining documents: pretraining-style text about a world where the assistant has the traits.

Each document is planned before it is written (brainstorm: what aspect of the trait, how the
assistant is seen acting on it, why, and how that reason reaches the text), drafted, critiqued
for naturalness and trait embodiment, then written again from scratch with the critique in hand,
so the final text is not a patched draft. Documents are never chat formatted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from traitlab.datasets.synth._config import GenerateOptions
from traitlab.datasets.synth._run import Drop, Item, Stages
from traitlab.records import DocumentRecord

# A line opening with a chat role label means a transcript slipped through.
_CHAT_LINE = re.compile(r"^\s*\**(user|assistant|human|ai|system)\**\s*:", re.IGNORECASE | re.M)

WHY_CHANNELS = {
    "quote": "the assistant's own words, quoted",
    "observer": "what someone who saw it infers",
    "consequences": "what followed from it",
}


class Brainstorm(BaseModel):
    what: str = Field(description="the aspect of the trait the document is about")
    how: str = Field(description="what the assistant is described doing, concretely")
    why: str = Field(description="the reason behind the behaviour")
    why_channel: Literal["quote", "observer", "consequences"]
    title: str
    outline: list[str] = Field(min_length=1)


class DocCritique(BaseModel):
    naturalness: int = Field(ge=1, le=5, description="could have been published as this type")
    embodiment: int = Field(ge=1, le=5, description="the behaviour really embodies the trait")
    problems: str = Field(description="concrete problems for the rewrite to fix")
    salvageable: bool


@dataclass
class Document:
    text: str
    plan: Brainstorm
    draft: str
    critique: DocCritique


@dataclass
class MidtrainPipeline:
    options: GenerateOptions
    kind: Literal["midtrain"] = "midtrain"
    record_type: type[DocumentRecord] = DocumentRecord
    stages: tuple[str, ...] = ("brainstorm", "draft", "doc_critique", "rewrite")

    def negative_share(self) -> float:
        return 0.0

    async def prepare(self, run: Stages, item: Item) -> Document | Drop:
        trait, doc = item.chunk.text, item.doc_type
        plan = await run.judged(
            "brainstorm",
            Brainstorm,
            seed=item.seed,
            trait=trait,
            doc_type=doc.name,
            doc_description=doc.description,
            setting=item.setting,
        )
        if isinstance(plan, Drop):
            return plan
        described = {
            "doc_type": doc.name,
            "doc_description": doc.description,
            "title": plan.title,
            "outline": "\n".join(f"- {point}" for point in plan.outline),
            "how": plan.how,
            "why": plan.why,
            "why_channel": WHY_CHANNELS[plan.why_channel],
        }
        draft = await run.prompted("draft", **described)
        critique = await run.judged(
            "doc_critique", DocCritique, trait=trait, doc_type=doc.name, draft=draft
        )
        if isinstance(critique, Drop):
            return critique
        if not critique.salvageable:
            return Drop("doc_critique", f"premise unsalvageable: {critique.problems}")
        text = await run.prompted(
            "rewrite", trait=trait, problems=critique.problems, draft=draft, **described
        )
        if not text:
            return Drop("rewrite", "empty document")
        if _CHAT_LINE.search(text):
            return Drop("format", "chat formatted (a line opens with a role label)")
        return Document(text=text, plan=plan, draft=draft, critique=critique)

    def key(self, candidate: Document) -> str:
        return candidate.text

    def key_of(self, record: DocumentRecord) -> str:
        return record.text

    async def complete(self, run: Stages, item: Item, candidate: Document) -> DocumentRecord:
        return DocumentRecord(
            id=item.id,
            text=candidate.text,
            doc_type=item.doc_type.name,
            trait_ids=item.chunk.trait_ids,
            metadata={
                "chunk_id": item.chunk.id,
                "index": item.index,
                "setting": item.setting,
                "variety": item.drawn_from,
                "models": run.used(item, self.stages),
                "stages": {
                    "brainstorm": candidate.plan.model_dump(),
                    "draft": candidate.draft,
                    "critique": candidate.critique.model_dump(),
                },
            },
        )
