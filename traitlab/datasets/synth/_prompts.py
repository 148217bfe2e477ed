"""Stage prompts and variety axes, read from the files beside this module.

Each stage prompt is ``prompts/<stage>.md`` in the format every traitlab prompt uses (YAML front
matter with why the stage exists, an optional sampling temperature and named variants; a
`string.Template` body), read with the one loader, `traitlab.prompts.load_prompt`. The bundled
variety axes (who is writing, how they write, document types) and the aim descriptions live in
``data/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from traitlab.prompts import PromptTemplate, folder_prompts, load_prompt, resolve_prompt

PROMPTS_DIR = Path(__file__).parent / "prompts"
DATA_DIR = Path(__file__).parent / "data"


class DocType(BaseModel):
    name: str
    description: str


@cache
def stage_prompt(stage: str) -> PromptTemplate:
    """The prompt for `stage` (``prompts/<stage>.md``), read once per process."""
    return load_prompt(PROMPTS_DIR.parent, stage)


class StagePrompts:
    """The stage prompts of one run: the bundled files, each replaced by the file of the same
    name in a prompts folder (``draft.md`` replaces the draft stage's prompt), checked when the
    run is set up: a file that replaces no stage, or uses a placeholder the stage does not fill,
    is a one-line error before the first model call."""

    def __init__(self, folder: str | Path | None = None) -> None:
        names = sorted(path.stem for path in PROMPTS_DIR.glob("*.md"))
        files = folder_prompts(folder, names)
        self._prompts = {
            name: resolve_prompt(files.get(name), stage_prompt(name)) for name in names
        }

    def __getitem__(self, stage: str) -> PromptTemplate:
        return self._prompts[stage]

    def __iter__(self) -> Iterator[PromptTemplate]:
        """Every stage's prompt as this run uses it (a replacement where the folder has one)."""
        return iter(self._prompts.values())

    def temperature(self, stage: str) -> float | None:
        """The sampling temperature the stage's prompt asks for (None: the provider default;
        stages without a prompt, as a bare user message for the default reply, use it too)."""
        prompt = self._prompts.get(stage)
        return prompt.temperature if prompt is not None else None


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
