"""`generate_dataset`, the library entry point: check, resolve the models, run the pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from traitlab.datasets.synth._chat import PreferencePipeline, SFTPipeline
from traitlab.datasets.synth._config import GenerateOptions, Kind, ModelLike, stage_models
from traitlab.datasets.synth._midtrain import MidtrainPipeline
from traitlab.datasets.synth._run import (
    GenerationReport,
    RunIdentity,
    check_output,
    run_pipeline,
    start_or_resume,
)
from traitlab.traits import TraitsDocument

PIPELINES = {"sft": SFTPipeline, "preference": PreferencePipeline, "midtrain": MidtrainPipeline}


async def generate_dataset(
    kind: Kind,
    output: str | Path,
    *,
    model: ModelLike,
    traits: TraitsDocument | str | Path | None = None,
    critic_model: ModelLike | None = None,
    stage_overrides: Mapping[str, ModelLike] | None = None,
    options: GenerateOptions | None = None,
    overwrite: bool = False,
    **option_values: Any,
) -> GenerationReport:
    """Generate `kind` records from a traits document into `output` (JSONL).

    Args:
        kind: "sft" (chats), "preference" (pairs for DPO/BDPO) or "midtrain" (documents).
        output: The JSONL file to write; ``OUTPUT.partial`` holds progress until the run ends,
            and a rerun after a crash resumes from it.
        model: Model (or name) for the generating stages.
        traits: A traits document or its path (default: the bundled example).
        critic_model: Model for critiques, refinement, rewrites and the autorater
            (default: `model`).
        stage_overrides: Stage name -> model, for any stage in `STAGES`.
        options: Run options; or pass them as keyword arguments (`n=...`, `seed=...`).
        overwrite: Replace `output` if it exists (otherwise an existing output is an error),
            and discard the records of an unfinished run instead of resuming it.

    The output path, the traits document and every stage's model are checked before the first
    model call; each problem is a one-line `InputError`. So is a partial file that another run
    (another traits document, model, model args or option) left: it is resumed only by the
    same run.
    """
    if options is None:
        options = GenerateOptions(**option_values)
    elif option_values:
        raise TypeError("pass either options or option keyword arguments, not both")
    output = Path(output)
    check_output(output, overwrite=overwrite)
    document = traits if isinstance(traits, TraitsDocument) else TraitsDocument.load(traits)
    models = stage_models(model, critic_model, stage_overrides)
    start_or_resume(output, RunIdentity.of(kind, document, models, options), overwrite=overwrite)
    pipeline = PIPELINES[kind](options)
    return await run_pipeline(pipeline, document, output, models, options)
