"""One sample per trait: the input is the trait as its author wrote it, with its context."""

from __future__ import annotations

from inspect_ai.dataset import MemoryDataset, Sample

from traitlab.traits import TraitsDocument


def trait_dataset(document: TraitsDocument, trait_ids: str | None = None) -> MemoryDataset:
    """The audited traits; the input briefs the auditor and the judge, never the target."""
    samples = [
        Sample(
            id=trait.id,
            input=trait.render(with_context=True),
            metadata={"trait_id": trait.id, "trait_name": trait.name},
        )
        for trait in document.select(trait_ids)
    ]
    return MemoryDataset(samples, name="trait_audit")
