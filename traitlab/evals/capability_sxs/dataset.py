"""The bundled everyday prompts: writing, coding, maths, advice and facts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from inspect_ai.dataset import MemoryDataset, Sample
from pydantic import BaseModel

from traitlab.jsonl import read_jsonl

PROMPTS = Path(__file__).parent / "prompts.jsonl"

Category = Literal["writing", "coding", "maths", "advice", "facts"]


class EverydayPrompt(BaseModel):
    """One ordinary request: what a capable assistant should simply do well."""

    id: str
    category: Category
    prompt: str


def sxs_dataset(path: str | Path | None = None) -> MemoryDataset:
    """Prompts from a JSONL file of ``{"id", "category", "prompt"}`` (the bundled set)."""
    path = Path(path) if path is not None else PROMPTS
    prompts = read_jsonl(path, EverydayPrompt, strict=True)
    samples = [Sample(id=p.id, input=p.prompt, metadata={"category": p.category}) for p in prompts]
    return MemoryDataset(samples, name="capability_sxs", location=str(path))
