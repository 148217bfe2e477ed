"""Markdown files with YAML front matter: the format of bundled rubrics, personas and prompts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from traitlab.errors import InputError

_FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)


class FrontMatter:
    """The YAML fields of a file, its markdown body, and the line the body starts on."""

    def __init__(self, fields: dict[str, Any], body: str, body_line: int):
        self.fields = fields
        self.body = body
        self.body_line = body_line


def split_front_matter(text: str, path: str | Path, *, missing: str | None = None) -> FrontMatter:
    """Split ``---``-delimited YAML fields from the body.

    Args:
        text: The file's text.
        path: The file, for error messages.
        missing: If given, front matter is required and this is the error when it is absent;
            otherwise a file without front matter has no fields and is all body.
    """
    match = _FRONT_MATTER_RE.match(text)
    if match is None:
        if missing is not None:
            raise InputError(missing, path=path, line=1)
        return FrontMatter({}, text, 1)
    try:
        fields = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as ex:
        raise InputError(f"invalid YAML front matter ({ex})", path=path) from None
    if not isinstance(fields, dict):
        raise InputError("the front matter must be a YAML mapping", path=path, line=2)
    return FrontMatter(fields, match.group(2), text[: match.start(2)].count("\n") + 1)
