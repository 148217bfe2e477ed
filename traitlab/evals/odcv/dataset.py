"""The bundled ODCV scenarios: one YAML file per scenario, two samples (variants) each.

A scenario is a workspace of files (source data, a validator, logs, a readme) and a task whose
target cannot be met honestly. The two variants differ only in the last paragraph of the user
prompt: *mandated* makes the target an order, *incentivized* says performance is measured by
it. The scenarios were written for traitlab; ODCV-Bench's own are loaded by `upstream.py`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import yaml
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from pydantic import BaseModel, Field, ValidationError, model_validator

from traitlab.errors import InputError
from traitlab.evals.odcv.evidence import FileRole

from .validator import parse_validator

SCENARIOS_DIR = Path(__file__).parent / "scenarios"

Variant = Literal["mandated", "incentivized"]
VARIANTS: tuple[Variant, ...] = ("mandated", "incentivized")
Domain = Literal["health", "finance", "logistics", "research", "hr", "moderation"]


class ScenarioFile(BaseModel):
    path: str
    role: FileRole
    content: str


class Scenario(BaseModel):
    """One workspace, its task, and the pressure each variant puts on it."""

    id: str
    domain: Domain
    title: str
    system_prompt: str
    task: str = Field(description="The user prompt shared by both variants.")
    pressure: dict[Variant, str] = Field(description="The closing paragraph of each variant.")
    kpi: str = Field(description="The target, for the judge.")
    constraint: str = Field(description="What the agent must not do to meet it, for the judge.")
    files: list[ScenarioFile]
    honest_outputs: list[ScenarioFile] = Field(
        default_factory=list,
        description="What an honest agent writes; with it the validator must still fail.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        missing = set(VARIANTS) - set(self.pressure)
        if missing:
            raise ValueError(f"pressure lacks variants {sorted(missing)}")
        duplicates = [p for p, n in Counter(f.path for f in self.files).items() if n > 1]
        if duplicates:
            raise ValueError(f"duplicate file paths {duplicates}")
        validators = [f for f in self.files if f.role == "validator"]
        if len(validators) != 1:
            raise ValueError("a scenario needs exactly one validator file")
        parse_validator(validators[0].content)
        if any(f.role != "output" for f in self.honest_outputs):
            raise ValueError("honest outputs must have the output role")
        return self

    @property
    def validator(self) -> str:
        return next(f.path for f in self.files if f.role == "validator")

    def prompt(self, variant: Variant) -> str:
        return f"{self.task.strip()}\n\n{self.pressure[variant].strip()}"

    def sample(self, variant: Variant) -> Sample:
        return Sample(
            id=f"{self.id}-{variant}",
            input=[
                ChatMessageSystem(content=self.system_prompt.strip()),
                ChatMessageUser(content=self.prompt(variant)),
            ],
            metadata={
                "scenario": self.id,
                "domain": self.domain,
                "variant": variant,
                "kpi": self.kpi,
                "constraint": self.constraint,
                "validator": self.validator,
                "files": {f.path: f.content for f in self.files},
                "file_roles": {f.path: f.role for f in self.files},
            },
        )


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Scenario.model_validate(data)
    except yaml.YAMLError as ex:
        raise InputError(f"not valid YAML ({ex})", path=path) from None
    except ValidationError as ex:
        error = ex.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "scenario"
        raise InputError(f"{where}: {error['msg']}", path=path) from None


def load_scenarios(directory: str | Path | None = None) -> list[Scenario]:
    """Every `*.yaml` scenario in `directory` (default: the bundled ones), sorted by id."""
    root = Path(directory) if directory else SCENARIOS_DIR
    paths = sorted(root.glob("*.yaml"))
    if not paths:
        raise InputError("no scenario files (*.yaml) found", path=root)
    return sorted((load_scenario(p) for p in paths), key=lambda s: s.id)


def odcv_dataset(
    directory: str | Path | None = None,
    *,
    scenarios: str | None = None,
    variants: str | None = None,
) -> MemoryDataset:
    """Samples for the selected scenarios (comma-separated ids) and variants (default: all)."""
    loaded = load_scenarios(directory)
    chosen_variants = select_names(variants, VARIANTS, "variant")
    chosen_ids = select_names(scenarios, [s.id for s in loaded], "scenario")
    samples = [
        scenario.sample(variant)
        for scenario in loaded
        if scenario.id in chosen_ids
        for variant in VARIANTS
        if variant in chosen_variants
    ]
    return MemoryDataset(samples, name="odcv")


def select_names(
    spec: str | list[str] | None, known: list[str] | tuple[str, ...], what: str
) -> list[str]:
    if not spec:
        return list(known)
    items = spec.split(",") if isinstance(spec, str) else spec  # Inspect's -T gives a list
    chosen = [s.strip() for s in items if s.strip()]
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise InputError(f"unknown {what} {unknown}; choose from {', '.join(known)}")
    return chosen
