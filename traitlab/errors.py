"""Errors that the CLI turns into one clear line instead of a traceback.

Anything a user can cause with bad input (a missing file, a malformed JSONL line, a traits
document without traits, a bad config) raises a subclass of `TraitlabError` whose message
already names the file and, where there is one, the line: `path:line: reason`.
"""

from __future__ import annotations

from pathlib import Path


class TraitlabError(Exception):
    """A user-facing error whose message is complete on one line."""


class InputError(TraitlabError, ValueError):
    """Bad input data: unreadable file, invalid record, malformed document."""

    def __init__(self, reason: str, *, path: str | Path | None = None, line: int | None = None):
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(located(reason, path=path, line=line))


def located(reason: str, *, path: str | Path | None = None, line: int | None = None) -> str:
    """Format `path:line: reason` (omitting whatever is unknown)."""
    if path is None:
        return reason
    return f"{path}:{line}: {reason}" if line is not None else f"{path}: {reason}"


def read_user_text(path: str | Path, what: str) -> str:
    """A user's UTF-8 text file, or a one-line `InputError` saying which file and why not."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=path) from None
    except (OSError, UnicodeDecodeError) as ex:
        raise InputError(f"cannot read {what} ({ex})", path=path) from None
