"""The lint's options, written once: the library (`lint_dataset`, `check_dataset`), the command
line (its help comes from the field descriptions) and ``[tool.traitlab.lint]`` all read these.

`LintOptions` configures a lint run; `CheckOptions` adds the gate's thresholds. The command line
passes only what the user gave; the settings file fills in the rest; the defaults here fill in
what neither names. A settings file holds the same names in kebab case:

    [tool.traitlab.lint]
    max-prevalence = 0.2
    gate = "lower"
    reference-model = "openai/gpt-4.1"
    reference-model-args = { temperature = 0 }

This module imports only pydantic: `traitlab lint --help` reads it without loading Inspect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from traitlab.errors import InputError

Turns = Literal["assistant", "user", "transcript"]
Unit = Literal["reply", "record"]
Level = Literal["broad", "strict"]
Gate = Literal["estimate", "lower"]

# A model given by name (any Inspect provider) or as an `inspect_ai.model.Model`.
ModelSpec = Any


class LintOptions(BaseModel):
    """Options of one lint run (`traitlab lint DATA`; `lint_dataset`)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    model: ModelSpec = Field(
        default=None,
        description="Model for the LLM stages (any Inspect provider); none runs the offline "
        "pre-scan only.",
    )
    model_args: dict[str, Any] = Field(
        default_factory=dict, description="Model args for --model KEY=VALUE, as in Inspect."
    )
    reference_model: ModelSpec = Field(
        default=None,
        description="An independent model that rates a subsample again, to measure the rater's "
        "sensitivity and specificity and correct the prevalences for them.",
    )
    reference_model_args: dict[str, Any] = Field(
        default_factory=dict, description="Model args for --reference-model KEY=VALUE."
    )
    reference_sample: int = Field(
        default=60,
        ge=1,
        description="Rated items the reference model rates too (seeded; more narrows the "
        "corrected intervals).",
    )
    hand_labels: Path | None = Field(
        default=None,
        description='JSONL of your own labels for some items ({"id": ITEM ID, "labels": '
        "{FEATURE: none|broad|strict}}): the rater's error is measured against them.",
    )
    features: Any = Field(
        default=None,
        description="features.json or a rubric file: autorate these instead of scanning.",
    )
    out_dir: Path | None = Field(default=None, description="Report directory.")
    turns: Turns = Field(
        default="assistant", description="Chats: lint 'assistant', 'user' or 'transcript' turns."
    )
    turn: int | None = Field(
        default=None, description="Chats: only this turn of that role (0 first, -1 last)."
    )
    unit: Unit = Field(
        default="reply", description="What a prevalence counts: each 'reply' or each 'record'."
    )
    fields: dict[str, str] | None = Field(
        default=None,
        description="Column mapping OURS=THEIRS, e.g. messages=conversations (repeatable).",
    )
    sample: int | None = Field(
        default=200,
        ge=1,
        description="Items to autorate (seeded), or 'all'.",
    )
    seed: int = Field(default=0, description="Seed of the autorate sample.")
    strict: bool = Field(default=False, description="Fail on the first malformed line.")
    clusters: bool = Field(
        default=True, description="Cluster opening sentences (an embedding model, offline)."
    )
    min_scans: int = Field(default=2, ge=1, description="Keep patterns seen in this many scans.")
    max_batches: int = Field(
        default=20,
        ge=1,
        description="At most this many scan calls (more lowers the detection floor).",
    )
    batch_tokens: int = Field(default=6000, ge=200, description="Token budget of a scan batch.")
    concurrency: int = Field(default=16, ge=1, description="Model calls in flight.")
    cache: bool = Field(default=True, description="Use Inspect's model cache.")
    recheck: int = Field(
        default=40,
        ge=0,
        description="Rated items the rater rates again: its consistency (not its accuracy; "
        "that needs --reference-model or --hand-labels).",
    )
    probe: bool = Field(
        default=True, description="Label the unrated items with probes distilled from the ratings."
    )
    scan_prompt: str | Path | None = Field(
        default=None, description="Prompt file replacing the scan prompt (lint/prompts/scan.md)."
    )
    merge_prompt: str | Path | None = Field(
        default=None, description="Prompt file replacing the merge prompt (lint/prompts/merge.md)."
    )
    rating_prompt: str | Path | None = Field(
        default=None,
        description="Prompt file replacing the rating prompt (lint/prompts/rating.md).",
    )
    show_progress: bool = Field(default=True, description="Show progress on stderr.")

    @field_validator("sample", mode="before")
    @classmethod
    def _all(cls, value: object) -> object:
        """'all' (the command line's and the settings file's word) means every item."""
        if isinstance(value, str):
            return None if value.strip().lower() == "all" else value
        return value


DEFAULTS = LintOptions()
"""The defaults, for the library functions whose keyword arguments are these options."""


class CheckOptions(LintOptions):
    """A lint run and its gate (`traitlab lint check DATA`; `check_dataset`)."""

    max_prevalence: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Fail when a pattern's prevalence exceeds this share.",
    )
    prescan_max: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Threshold for pre-scan findings (default: --max-prevalence; 1 = off).",
    )
    level: Level = Field(default="strict", description="Feature level compared: strict or broad.")
    gate: Gate = Field(
        default="estimate",
        description="Compare the 'estimate' or the interval's 'lower' bound.",
    )
    allow: list[str] = Field(
        default_factory=list, description="Finding id (or glob) never gated (repeatable)."
    )
    baseline: Path | None = Field(default=None, description="Baseline file of accepted findings.")
    allow_malformed: bool = Field(default=False, description="Do not fail on malformed lines.")


# Options that describe one run, not a team's standing settings.
NOT_SETTINGS = frozenset({"show_progress", "out_dir", "features", "hand_labels"})


def help_text(options: type[BaseModel], name: str) -> str:
    """A field's description with its default, for the command line's help."""
    field = options.model_fields[name]
    default = field.get_default(call_default_factory=True)
    if isinstance(default, bool) or default in (None, {}, []):
        return field.description or ""
    return f"{field.description} [default: {default}]"


def build(options: type[BaseModel], values: dict[str, Any], *, where: str = "") -> Any:
    """`options(**values)`, or a one-line `InputError` naming the option and what it takes.

    `where` prefixes the message ("--" for command-line options, the settings table's name)."""
    try:
        return options(**values)
    except ValidationError as ex:
        error = ex.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden":
            raise TypeError(f"{options.__name__}: unknown option '{name}'") from None
        shown = name.replace("_", "-") if where else name
        given = values.get(name)
        raise InputError(f"{where}{shown}: {error['msg']} (got {given!r})") from None
