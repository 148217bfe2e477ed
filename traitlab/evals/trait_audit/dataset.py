"""One sample per trait: the input names the trait, then gives its text and its context."""

from __future__ import annotations

from inspect_ai.dataset import MemoryDataset, Sample

from traitlab.traits import Trait, TraitsDocument


def trait_input(trait: Trait) -> str:
    """The trait as its author wrote it, its name first, then the document's context.

    The name leads so that `inspect view`'s sample list, which shows the start of each input,
    reads as the list of audited traits.
    """
    if not trait.context:
        return trait.render()
    return f"{trait.render()}\n\n## Context from the traits document\n\n{trait.context}"


def trait_dataset(document: TraitsDocument, trait_ids: str | None = None) -> MemoryDataset:
    """The audited traits; the input briefs the auditor and the judge, never the target."""
    samples = [
        Sample(
            id=trait.id,
            input=trait_input(trait),
            metadata={"trait_id": trait.id, "trait_name": trait.name},
        )
        for trait in document.select(trait_ids)
    ]
    return MemoryDataset(samples, name="trait_audit")
