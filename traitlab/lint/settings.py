"""Lint settings from ``[tool.traitlab.lint]`` in ``pyproject.toml``: a team's CI gate in one place.

    [tool.traitlab.lint]
    max-prevalence = 0.2          # gate threshold for LLM features (and pre-scan findings)
    prescan-max = 0.3             # separate threshold for pre-scan findings (1 = off)
    level = "strict"              # feature level compared
    gate = "lower"                # compare the interval's lower bound, not the estimate
    allow = ["opening_short_answer*"]   # finding ids never gated (a house style)
    baseline = "lint-baseline.json"     # accepted findings (`lint check --write-baseline`)
    reference-model = "openai/gpt-4.1"  # measures the rater's error (see the README)

Any option of `CheckOptions` may be set here (kebab case), except those that describe a single
run (`NOT_SETTINGS`). Options given on the command line win. The file is the nearest
``pyproject.toml`` at or above the working directory; relative paths in it (baseline) are
relative to that file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from traitlab.errors import InputError
from traitlab.lint.options import NOT_SETTINGS, CheckOptions, build

TABLE = "[tool.traitlab.lint]"


def find_pyproject(start: Path | None = None) -> Path | None:
    directory = (start or Path.cwd()).absolute()
    for candidate in (directory, *directory.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def load_settings(path: Path | None = None) -> dict[str, Any]:
    """The ``[tool.traitlab.lint]`` table with snake_case keys, checked against `CheckOptions`;
    {} when absent. Only the keys the file sets are returned (defaults stay with the model)."""
    path = path or find_pyproject()
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as ex:
        raise InputError(f"cannot read settings ({ex})", path=path) from None
    table = data.get("tool", {}).get("traitlab", {}).get("lint", {})
    if not isinstance(table, dict):
        raise InputError(f"{TABLE} must be a table", path=path)
    settings = {key.replace("-", "_"): value for key, value in table.items()}
    known = [name for name in CheckOptions.model_fields if name not in NOT_SETTINGS]
    for key in table:
        if key.replace("-", "_") not in known:
            listed = ", ".join(k.replace("_", "-") for k in known)
            raise InputError(f"{TABLE}: unknown setting '{key}' (known: {listed})", path=path)
    try:
        build(CheckOptions, settings, where=f"{TABLE}: ")
    except InputError as ex:
        raise InputError(ex.reason, path=path) from None
    if "baseline" in settings:
        settings["baseline"] = path.parent / settings["baseline"]
    return settings
