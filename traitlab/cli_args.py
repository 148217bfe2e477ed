"""Parsing of repeatable ``KEY=VALUE`` command-line options, the one way every command does it.

Values are read as YAML scalars, as Inspect's own ``-M``/``-T`` do, so ``-M temperature=0.2`` is a
float, ``-M cache=false`` a bool and ``-M replies=judge.jsonl`` stays a string.
"""

from __future__ import annotations

from typing import Any

import yaml

from traitlab.errors import InputError


def parse_key_values(
    specs: list[str] | None, *, option: str, form: str = "KEY=VALUE", typed: bool = True
) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``; a malformed spec is a one-line error.

    ``typed=False`` keeps values as stripped strings (for model names such as ``STAGE=MODEL``).
    """
    parsed: dict[str, Any] = {}
    for spec in specs or []:
        key, sep, value = spec.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or (not typed and not value):
            raise InputError(f"{option} expects {form}, got '{spec}'")
        parsed[key] = _scalar(value) if typed else value
    return parsed


def _scalar(value: str) -> Any:
    try:
        loaded = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    # Only scalars are converted; YAML lists or maps in a value are kept as the text given.
    return loaded if isinstance(loaded, str | int | float | bool) or loaded is None else value
