"""Stage prompts and variety axes, read from the data files beside this module.

Each stage prompt is a markdown file in ``prompts/`` with YAML front matter (its stage, why the
stage exists, an optional sampling temperature and named variants) and a body that is a
`string.Template` (``$name`` placeholders, so JSON braces in prompts need no escaping). The
variety axes (who is writing, document types) and the aim descriptions live in ``data/``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template
from typing import Any

import yaml
from pydantic import BaseModel, Field

from traitlab.frontmatter import split_front_matter

PROMPTS_DIR = Path(__file__).parent / "prompts"
DATA_DIR = Path(__file__).parent / "data"


class StagePrompt(BaseModel):
    """One stage's prompt template."""

    stage: str
    purpose: str = Field(description="Why the stage exists (documentation only).")
    temperature: float | None = None
    variants: dict[str, str] = Field(default_factory=dict)
    template: str

    def render(self, *, variant: str | None = None, **values: Any) -> str:
        """Fill the template; a missing value is an error, not an empty string."""
        if variant is not None:
            values["variant"] = self.variants[variant]
        return Template(self.template).substitute({k: str(v) for k, v in values.items()})


class DocType(BaseModel):
    name: str
    description: str


@cache
def stage_prompt(stage: str) -> StagePrompt:
    """The prompt for `stage`, parsed from ``prompts/<stage>.md``."""
    path = PROMPTS_DIR / f"{stage}.md"
    front = split_front_matter(path.read_text(encoding="utf-8"), path, missing="no front matter")
    return StagePrompt(**front.fields, template=front.body.strip())


def stage_temperature(stage: str) -> float | None:
    """The sampling temperature a stage's prompt file asks for (None: the provider default).

    Stages without a prompt file (a bare user message, as for the default reply) use the
    provider default.
    """
    if not (PROMPTS_DIR / f"{stage}.md").exists():
        return None
    return stage_prompt(stage).temperature


@cache
def _data(name: str) -> Any:
    return yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))


def settings() -> list[str]:
    """Who is writing: one is drawn per item."""
    return list(_data("settings.yaml"))


def styles() -> list[str]:
    """How the user writes: one is drawn per chat item."""
    return list(_data("styles.yaml"))


def doc_types() -> list[DocType]:
    """Kinds of midtraining documents: one is drawn per item."""
    return [DocType.model_validate(entry) for entry in _data("doc_types.yaml")]


def aim(fires: bool) -> str:
    """How an item's aim (trait fires, or stays in the background) is described to critics."""
    return str(_data("aims.yaml")["fires" if fires else "quiet"])
