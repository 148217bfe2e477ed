"""What a generation run is configured with: which model runs each stage, and the options.

Every stage's model is settable. By default the generating stages use ``--model`` and the
critical ones (critiques, refinement, rewrite, autorater) use ``--critic-model``, because in
practice the best model is best spent where it judges and rewrites.

Inspect is imported only where a model is resolved: the CLI reads the options' help from here
and should not wait for Inspect to load to print it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, Field

from traitlab.errors import InputError, TraitlabError, plain_message

Kind = Literal["sft", "preference", "midtrain"]

# Stage -> which default model runs it.
STAGES: dict[str, Literal["model", "critic"]] = {
    "variety": "model",
    "scenario": "model",
    "user_prompt": "model",
    "default_response": "model",
    "prompt_critique": "critic",
    "answer": "model",
    "refine": "critic",
    "autorate": "critic",
    "rejected": "model",
    "rejected_critique": "critic",
    "brainstorm": "model",
    "draft": "model",
    "doc_critique": "critic",
    "rewrite": "critic",
}

if TYPE_CHECKING:
    from inspect_ai.model import Model

ModelLike: TypeAlias = "str | Model"


class GenerateOptions(BaseModel):
    """Options of a generation run (the CLI's flags map onto these one to one)."""

    n: int = Field(ge=1, description="Items to attempt; filters drop some of them.")
    seed: int = Field(default=0, description="Seeds the variety draws and the record ids.")
    variety: Literal["brainstorm", "bundled"] = Field(
        default="brainstorm",
        description="Draw settings and document types from a brainstorm per trait (one call "
        "each, the bundled lists as examples) or from the bundled lists only.",
    )
    trait_ids: list[str] | None = Field(default=None, description="Traits to use (default: all).")
    chunk_by: Literal["trait", "section"] = Field(
        default="trait", description="One trait per prompt, or one section's traits."
    )
    negative_share: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Share of SFT prompts in which the trait should not fire.",
    )
    max_revisions: int = Field(
        default=2, ge=0, description="Prompt revisions before a prompt is dropped."
    )
    max_regenerations: int = Field(
        default=2, ge=0, description="Rejected-reply regenerations before a pair is dropped."
    )
    min_rating: int = Field(
        default=4, ge=1, le=5, description="Lowest autorater realism and quality (1-5) kept."
    )
    dedup_threshold: float = Field(
        default=0.92,
        gt=0.0,
        le=1.0,
        description="Cosine similarity at which prompts (documents) are near-duplicates.",
    )
    concurrency: int = Field(default=16, ge=1, description="Items in flight at once.")
    batch: bool = Field(
        default=False,
        description="Send requests through the provider's batch API where it has one (OpenAI, "
        "Anthropic, Google, Together, Grok: about half the price, answers within hours; raise "
        "--concurrency so batches fill).",
    )
    batch_size: int | None = Field(
        default=None, ge=1, description="Requests per batch (implies --batch)."
    )
    prompts: Path | None = Field(
        default=None,
        description="A folder of prompt files, each replacing the bundled stage prompt of the "
        "same name (draft.md, refine.md, ...: the files in traitlab/datasets/synth/prompts/).",
    )
    show_progress: bool = True

    @property
    def batch_config(self) -> bool | int | None:
        """Inspect's `GenerateConfig.batch`: None (off), True (provider defaults) or a size."""
        if self.batch_size is not None:
            return self.batch_size
        return True if self.batch else None


def stage_models(
    model: ModelLike,
    critic_model: ModelLike | None = None,
    overrides: Mapping[str, ModelLike] | None = None,
) -> dict[str, Model]:
    """The model for every stage: defaults from `model`/`critic_model`, then `overrides`.

    Every name is resolved here, before any call is made, so an unknown provider or a missing
    API key is a one-line `InputError`, not a traceback after the first stages were paid for.
    """
    from inspect_ai.model import Model

    resolved: dict[str, Model] = {}

    def load(spec: ModelLike, setting: str) -> Model:
        if isinstance(spec, Model):
            return spec
        if spec not in resolved:
            resolved[spec] = load_model(spec, setting=setting)
        return resolved[spec]

    base = {"model": load(model, "model")}
    base["critic"] = base["model"] if critic_model is None else load(critic_model, "critic model")
    models = {stage: base[default] for stage, default in STAGES.items()}
    for stage, spec in (overrides or {}).items():
        if stage not in STAGES:
            raise InputError(f"unknown stage '{stage}' (stages: {', '.join(STAGES)})")
        models[stage] = load(spec, f"stage model {stage}")
    return models


def load_model(name: str, args: Mapping[str, Any] | None = None, *, setting: str) -> Model:
    """`get_model(name, **args)`, or a one-line `InputError` naming the setting and the reason
    (an unknown provider, a missing API key or package)."""
    from inspect_ai.model import get_model

    try:
        return get_model(name, **dict(args or {}))
    except TraitlabError:
        raise
    except Exception as ex:  # providers raise ValueError, PrerequisiteError, ImportError, ...
        raise InputError(f"{setting} {name}: {plain_message(ex)}") from None
