"""Errors that the CLI turns into one clear line instead of a traceback.

Anything a user can cause with bad input (a missing file, a malformed JSONL line, a traits
document without traits, a bad config) raises a subclass of `TraitlabError` whose message
already names the file and, where there is one, the line: `path:line: reason`. Ctrl-C is
reported the same way: a command says what it leaves behind with `on_interrupt`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click


class TraitlabError(Exception):
    """A user-facing error whose message is complete on one line."""


class InputError(TraitlabError, ValueError):
    """Bad input data: unreadable file, invalid record, malformed document."""

    def __init__(self, reason: str, *, path: str | Path | None = None, line: int | None = None):
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(located(reason, path=path, line=line))


class TaskArgumentError(InputError, click.ClickException):
    """A task argument (`-T KEY=VALUE`) that the task cannot take, found when it is built.

    Also a click exception because that is the one kind of error Inspect's command line prints
    as a single ``Error: ...`` line; anything else raised while it builds a task ends in a
    traceback of some 250 lines. From Python (`inspect_ai.eval`) it is an `InputError`.
    """

    exit_code = 2

    def __init__(self, reason: str) -> None:
        InputError.__init__(self, reason)
        click.ClickException.__init__(self, reason)


def located(reason: str, *, path: str | Path | None = None, line: int | None = None) -> str:
    """Format `path:line: reason` (omitting whatever is unknown)."""
    if path is None:
        return reason
    return f"{path}:{line}: {reason}" if line is not None else f"{path}: {reason}"


def read_user_text(path: str | Path, what: str) -> str:
    """A user's UTF-8 text file, or a one-line `InputError` saying which file and why not.

    A byte-order mark (which Windows editors write) is dropped: left in, it would hide the first
    line's markup, such as a document's title heading.
    """
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=path) from None
    except UnicodeDecodeError as ex:
        reason = f"not UTF-8 text: byte {ex.object[ex.start]:#x} at offset {ex.start}"
        raise InputError(f"cannot read {what} ({reason})", path=path) from None
    except OSError as ex:  # the path is already named: the reason alone, not str(ex)
        raise InputError(f"cannot read {what} ({ex.strerror or ex})", path=path) from None


_MARKUP_RE = re.compile(r"\[/?[a-z ]+\]")


def plain_message(ex: BaseException) -> str:
    """An exception's message on one line, without rich markup or an 'ERROR:' prefix.

    Inspect's errors carry Rich markup (``[bold]``) meant for its own panels; printed as a plain
    line it would show the tags.
    """
    text = " ".join(_MARKUP_RE.sub("", str(ex)).split())
    text = re.sub(r"^ERROR:\s*", "", text)
    return text or type(ex).__name__


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, carrying one line that says what was kept and how to resume.

    A `KeyboardInterrupt` still, so code that cleans up on Ctrl-C sees it as one; the `traitlab`
    command prints the line and exits with status 130.
    """


@contextmanager
def on_interrupt(kept: str | Callable[[], str]) -> Iterator[None]:
    """Say what Ctrl-C inside this block leaves behind: ``with on_interrupt("..."):`` or as a
    decorator.

    `kept` is the line itself or a function that writes it when Ctrl-C comes (for counts that
    change as the work goes on: "kept 120 records in out.jsonl.partial; run the same command to
    resume"). The innermost block wins: it knows the most about the state.
    """
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(kept() if callable(kept) else kept) from None
