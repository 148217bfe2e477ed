"""Synthetic training data from a traits document: SFT chats, preference pairs, documents.

`generate_dataset` is the library entry point (`traitlab generate` is a thin layer over it).
Every stage's model is settable; each record keeps its provenance (trait ids, stage outputs,
models) in metadata; runs are concurrent, metered, resumable and write atomically.

The pipelines load Inspect, so their names are imported on first use (PEP 562): the options and
stage names are all that `traitlab generate --help` needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from traitlab.datasets.synth._config import (
    STAGES,
    GenerateOptions,
    Kind,
    load_model,
    stage_models,
)
from traitlab.lazy import lazy_exports

if TYPE_CHECKING:
    from traitlab.datasets.synth._generate import PIPELINES, generate_dataset
    from traitlab.datasets.synth._run import Drop, GenerationReport

__getattr__ = lazy_exports(
    __name__,
    {
        "PIPELINES": "traitlab.datasets.synth._generate",
        "generate_dataset": "traitlab.datasets.synth._generate",
        "Drop": "traitlab.datasets.synth._run",
        "GenerationReport": "traitlab.datasets.synth._run",
    },
)


__all__ = [
    "PIPELINES",
    "STAGES",
    "Drop",
    "GenerateOptions",
    "GenerationReport",
    "Kind",
    "generate_dataset",
    "load_model",
    "stage_models",
]
