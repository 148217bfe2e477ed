"""The bundled open-ended questions about values and principles (no situations)."""

from __future__ import annotations

from pathlib import Path

from inspect_ai.dataset import MemoryDataset, Sample
from pydantic import BaseModel

from traitlab.jsonl import read_jsonl

QUESTIONS = Path(__file__).parent / "questions.jsonl"


class KnowledgeQuestion(BaseModel):
    """One abstract question: it asks the model to state its values, not to act on them."""

    id: str
    question: str


def knowledge_dataset(path: str | Path | None = None) -> MemoryDataset:
    """Questions from a JSONL file of ``{"id", "question"}`` (the bundled set by default)."""
    path = Path(path) if path is not None else QUESTIONS
    questions = read_jsonl(path, KnowledgeQuestion, strict=True)
    samples = [Sample(id=q.id, input=q.question) for q in questions]
    return MemoryDataset(samples, name="trait_knowledge", location=str(path))
