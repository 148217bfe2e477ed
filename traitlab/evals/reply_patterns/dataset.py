"""Short everyday prompts: a pattern a model learned from its SFT data shows in its first words.

Long or loaded prompts (the smoke task's questions about a trait) make a small model ramble and
rarely elicit a learned opener or closer; short requests like those in typical SFT sets do.
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai.dataset import MemoryDataset, Sample
from pydantic import BaseModel

from traitlab.jsonl import read_jsonl

PROMPTS = Path(__file__).parent / "prompts.jsonl"


class ShortPrompt(BaseModel):
    """One user request, asked with no system prompt."""

    id: str
    prompt: str


def prompt_dataset(path: str | Path | None = None) -> MemoryDataset:
    """Prompts from a JSONL file of ``{"id", "prompt"}`` (the 30 bundled ones by default)."""
    path = Path(path) if path is not None else PROMPTS
    prompts = read_jsonl(path, ShortPrompt, strict=True)
    samples = [Sample(id=p.id, input=p.prompt) for p in prompts]
    return MemoryDataset(samples, name="reply_patterns", location=str(path))
