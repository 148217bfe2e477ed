"""Lint settings from ``[tool.traitlab.lint]`` in ``pyproject.toml``: a team's CI gate in one place.

    [tool.traitlab.lint]
    max-prevalence = 0.2          # gate threshold for LLM features (and pre-scan findings)
    prescan-max = 0.3             # separate threshold for pre-scan findings (1 = off)
    level = "strict"              # feature level compared
    gate = "lower"                # compare the interval's lower bound, not the estimate
    allow = ["opening_short_answer*"]   # finding ids never gated (a house style)
    baseline = "lint-baseline.json"     # accepted findings (`lint check --write-baseline`)
    allow-malformed = false
    unit = "reply"
    turns = "assistant"
    sample = 200
    clusters = true
    fields = { messages = "conversations" }

Options given on the command line win. The file is the nearest ``pyproject.toml`` at or above
the working directory; relative paths in it (baseline) are relative to that file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from traitlab.errors import InputError

KEYS: dict[str, type | tuple[type, ...]] = {
    "max_prevalence": (float, int),
    "prescan_max": (float, int),
    "level": str,
    "gate": str,
    "allow": list,
    "baseline": str,
    "allow_malformed": bool,
    "unit": str,
    "turns": str,
    "sample": (int, str),
    "clusters": bool,
    "fields": dict,
}


def find_pyproject(start: Path | None = None) -> Path | None:
    directory = (start or Path.cwd()).absolute()
    for candidate in (directory, *directory.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def load_settings(path: Path | None = None) -> dict[str, Any]:
    """The ``[tool.traitlab.lint]`` table with snake_case keys, checked; {} when absent."""
    path = path or find_pyproject()
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as ex:
        raise InputError(f"cannot read settings ({ex})", path=path) from None
    table = data.get("tool", {}).get("traitlab", {}).get("lint", {})
    if not isinstance(table, dict):
        raise InputError("[tool.traitlab.lint] must be a table", path=path)
    settings: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in KEYS:
            known = ", ".join(k.replace("_", "-") for k in KEYS)
            raise InputError(
                f"[tool.traitlab.lint]: unknown setting '{key}' (known: {known})", path=path
            )
        expected = KEYS[name]
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise InputError(f"[tool.traitlab.lint]: '{key}' has the wrong type", path=path)
        settings[name] = value
    if "baseline" in settings:
        settings["baseline"] = str(path.parent / settings["baseline"])
    if "allow" in settings:
        settings["allow"] = [str(v) for v in settings["allow"]]
    if "fields" in settings:
        settings["fields"] = {str(k): str(v) for k, v in settings["fields"].items()}
    return settings
