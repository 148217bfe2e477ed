"""What the lint reads: one item per record, made of the turns being linted.

Chat records are linted on their assistant turns by default (the behaviour SFT teaches), or on
their user turns, one given turn, or the whole transcript. Documents are linted on their text,
preference pairs on the chosen reply, and Inspect `.eval` logs on the target's final outputs (so
a checkpoint's eval outputs can be linted like training data). Each item keeps its JSONL line so
that `filter` can drop exactly the records that were labelled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from traitlab.datasets import ChatRecord, DocumentRecord, PreferenceRecord, read_records
from traitlab.datasets.jsonl import detect_kind
from traitlab.errors import InputError

Turns = Literal["assistant", "user", "transcript"]


@dataclass(slots=True)
class LintItem:
    """One linted unit: the selected turns of one record (segments), with where it came from."""

    index: int
    id: str
    segments: list[str]
    line: int | None = None
    context: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.segments)


@dataclass
class ItemSet:
    """The items of one input file, with the problems met while reading it."""

    source: str
    kind: str
    items: list[LintItem]
    sha256: str
    errors: list[str] = field(default_factory=list)
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.items)


def file_sha256(path: str | Path) -> str:
    """Content hash of a file, tying labels to the exact data they were made from."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_items(
    path: str | Path,
    *,
    turns: Turns = "assistant",
    turn: int | None = None,
    strict: bool = False,
) -> ItemSet:
    """Read `path` (chat/document/preference JSONL or an Inspect .eval log) into items.

    Args:
        path: The dataset.
        turns: For chats: lint the assistant turns, the user turns, or the whole transcript.
        turn: For chats: only this turn of the selected role (0 = first, -1 = last).
        strict: Fail on the first malformed line instead of reporting and skipping it.

    Raises:
        InputError: unreadable, empty or mixed-schema input, or records with unknown fields.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.suffix == ".eval":
        item_set = _read_eval_log(path)
    else:
        item_set = _read_jsonl(path, turns=turns, turn=turn, strict=strict)
    if not item_set.items:
        reason = "no items to lint"
        if item_set.errors:
            reason += f" ({len(item_set.errors)} bad lines, first: {item_set.errors[0]})"
        elif item_set.skipped:
            reason += f" ({item_set.skipped} records lack the selected turn)"
        raise InputError(reason, path=path)
    return item_set


def _read_jsonl(path: Path, *, turns: Turns, turn: int | None, strict: bool) -> ItemSet:
    kind = detect_kind(path)
    result = read_records(path, kind, strict=strict)
    # An unknown field is a schema mistake (a typo, the wrong file), not one bad line.
    for error in result.errors:
        if ": unknown field '" in error:
            raise InputError(error)
    items: list[LintItem] = []
    skipped = 0
    for line, record in result.records:
        segments, context = _segments(record, turns, turn)
        if not segments:
            skipped += 1
            continue
        record_id = getattr(record, "id", None) or f"line-{line}"
        items.append(LintItem(len(items), record_id, segments, line=line, context=context))
    return ItemSet(str(path), kind, items, file_sha256(path), result.errors, skipped)


def _segments(record: Any, turns: Turns, turn: int | None) -> tuple[list[str], str | None]:
    """The texts to lint in one record, and the user turn they answer (for autorate)."""
    if isinstance(record, DocumentRecord):
        return [record.text], None
    if isinstance(record, PreferenceRecord):
        users = [m.content for m in record.prompt if m.role == "user"]
        return [record.chosen], users[-1] if users else None
    assert isinstance(record, ChatRecord)
    if turns == "transcript":
        body = "\n\n".join(f"{m.role}: {m.content}" for m in record.messages if m.role != "system")
        return ([body] if body else []), None
    selected = [(i, m.content) for i, m in enumerate(record.messages) if m.role == turns]
    if turn is not None:
        if not -len(selected) <= turn < len(selected):
            return [], None
        selected = [selected[turn]]
    context = None
    if turns == "assistant" and selected:
        before = [m.content for m in record.messages[: selected[0][0]] if m.role == "user"]
        context = before[-1] if before else None
    return [text for _, text in selected if text.strip()], context


def _read_eval_log(path: Path) -> ItemSet:
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(str(path))
    except Exception as ex:  # Inspect raises several types for a corrupt or foreign file.
        raise InputError(f"cannot read Inspect log ({ex})", path=path) from None
    items: list[LintItem] = []
    skipped = 0
    for sample in log.samples or []:
        text = sample.output.completion if sample.output else ""
        if not text.strip():
            skipped += 1
            continue
        if isinstance(sample.input, str):
            context = sample.input
        else:
            users = [m.text for m in sample.input if m.role == "user"]
            context = users[-1] if users else None
        item_id = f"{sample.id}@{sample.epoch}"
        items.append(LintItem(len(items), item_id, [text], context=context))
    return ItemSet(str(path), "eval", items, file_sha256(path), skipped=skipped)
