"""Rows into items: column mapping, record kinds, validation, and the unit (reply or record)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from traitlab.errors import InputError
from traitlab.jsonl import validation_reason
from traitlab.lint.items._store import Chunk, LintItem, Tally
from traitlab.lint.options import Turns, Unit
from traitlab.records import RECORD_TYPES, record_kind

# Fields a column mapping may rename (`--field messages=conversations --field role=from`).
MAPPABLE = ("id", "messages", "text", "prompt", "chosen", "rejected", "role", "content")
_ROLE_ALIASES = {"human": "user", "gpt": "assistant", "model": "assistant", "bot": "assistant"}


def check_fields(fields: dict[str, str] | None) -> dict[str, str]:
    mapping = dict(fields or {})
    unknown = sorted(set(mapping) - set(MAPPABLE))
    if unknown:
        raise InputError(f"--field: cannot map {unknown} (mappable: {', '.join(MAPPABLE)})")
    for key, value in mapping.items():
        if not isinstance(value, str) or not value:
            raise InputError(f"--field {key}=COLUMN needs a column name")
    return mapping


@dataclass(frozen=True)
class Options:
    turns: Turns
    turn: int | None
    unit: Unit
    strict: bool
    fields: dict[str, str]


@dataclass(frozen=True)
class Handler:
    """Turns one input's rows into items: mapping, kind check, validation, units (picklable)."""

    name: str
    source: int
    kind: str
    kind_line: int
    columnar: bool
    options: Options

    def record(self, number: int, obj: Any) -> dict[str, Any] | InputError:
        """The validated record, or the reason it is malformed; raises InputError when reading
        must stop (another record type, an unknown field)."""
        if isinstance(obj, InputError):
            return obj
        if isinstance(obj, dict) and (self.options.fields or self.columnar):
            obj = mapped(obj, self.options.fields, self.columnar)
        if self.kind == "eval":  # built from the log's samples, not read from user JSON
            return obj  # type: ignore[no-any-return]
        found = record_kind(obj) if isinstance(obj, dict) else None
        if found is not None and found != self.kind:
            raise InputError(
                f"mixed record types in one file ({self.kind} from line {self.kind_line}, "
                f"{found} from line {number})",
                path=self.name,
            )
        try:
            return _validate(self.kind, obj)
        except ValidationError as ex:
            reason = validation_reason(ex)
            error = InputError(reason, path=self.name, line=number)
            if reason.startswith("unknown field '"):
                raise error from None  # a schema mistake (a typo, the wrong file), not one bad line
            return error

    def items(self, number: int, record: dict[str, Any], first: int) -> list[LintItem]:
        """The record's items, indexed from `first`."""
        kind = "chat" if self.kind == "eval" else self.kind
        units = _units(record, kind, self.options.turns, self.options.turn)
        if not units:
            return []
        record_id = record.get("id") or f"line-{number}"
        if self.options.unit == "record" or kind != "chat" or self.options.turns == "transcript":
            segments = [text for _, text, _ in units]
            return [LintItem(first, record_id, segments, number, units[0][2], self.source)]
        return [
            LintItem(
                first + k,
                record_id if len(units) == 1 else f"{record_id}#{position}",
                [text],
                number,
                context,
                self.source,
                position,
            )
            for k, (position, text, context) in enumerate(units)
        ]

    def segments(self, obj: Any, turn: int | None) -> tuple[list[str], str | None]:
        """An item's segments and context, read again from its record."""
        record = self.record(0, obj)
        assert not isinstance(record, InputError), "a record that was read has changed"
        kind = "chat" if self.kind == "eval" else self.kind
        units = _units(record, kind, self.options.turns, self.options.turn)
        if turn is None:
            return [text for _, text, _ in units], units[0][2]
        [(_, text, context)] = [unit for unit in units if unit[0] == turn]
        return [text], context

    def run(self, rows: Iterable[tuple[int, Any]], tally: Tally | None) -> Chunk:
        """Read rows in order into a chunk; stops at the first error that ends the reading."""
        chunk = Chunk(tally=tally)
        try:
            for number, obj in rows:
                record = self.record(number, obj)
                if isinstance(record, InputError):
                    if self.options.strict:
                        raise record
                    chunk.errors.append(str(record))
                    chunk.bad_lines.append(number)
                    continue
                chunk.records += 1
                items = self.items(number, record, len(chunk.ids))
                if not items:
                    chunk.skipped += 1
                for item in items:
                    chunk.ids.append(item.id)
                    chunk.lines.append(number)
                    chunk.turns.append(-1 if item.turn is None else item.turn)
                    if tally is not None:
                        tally.add(item)
        except InputError as ex:
            chunk.fatal = (ex.reason, ex.path, ex.line)
        return chunk


def _units(
    record: dict[str, Any], kind: str, turns: Turns, turn: int | None
) -> list[tuple[int, str, str | None]]:
    """(position, text, context) of each selected turn; context is the user turn it answers."""
    if kind == "document":
        return [(0, record["text"], None)]
    if kind == "preference":
        users = [m["content"] for m in record["prompt"] if m["role"] == "user"]
        return [(0, record["chosen"], users[-1] if users else None)]
    messages = record["messages"]
    if turns == "transcript":
        body = "\n\n".join(
            f"{m['role']}: {m['content']}" for m in messages if m["role"] != "system"
        )
        return [(0, body, None)] if body.strip() else []
    wanted: int | None = None  # with `turn`, the position of the one turn selected
    if turn is not None:
        count = sum(m["role"] == turns for m in messages)
        if not -count <= turn < count:
            return []
        wanted = range(count)[turn]
    units = []
    last_user: str | None = None
    position = 0  # of the message among the selected role's
    for message in messages:
        role, content = message["role"], message["content"]
        if role == turns:
            if wanted in (None, position) and content and not content.isspace():
                units.append((position, content, last_user if turns == "assistant" else None))
            position += 1
        if role == "user":
            last_user = content
    return units


_MESSAGE_KEYS = {"role", "content"}
_CHAT_KEYS = frozenset(("id", "messages", "metadata"))
_ROLES = frozenset(("system", "user", "assistant", "tool"))


def _validate(kind: str, obj: Any) -> dict[str, Any]:
    """The record as a plain dict, validated against its schema (a fast path for the common,
    well-formed chat; anything else goes through pydantic, which gives the reason)."""
    if kind == "chat" and type(obj) is dict and obj.keys() <= _CHAT_KEYS:
        messages = obj.get("messages")
        record_id = obj.get("id")
        if (
            type(messages) is list
            and messages
            and (record_id is None or type(record_id) is str)
            and type(obj.get("metadata", {})) is dict
            and all(_plain_message(m) for m in messages)
        ):
            return obj
    return RECORD_TYPES[kind].model_validate(obj).model_dump()  # type: ignore[attr-defined]


def _plain_message(m: Any) -> bool:
    return (
        type(m) is dict
        and m.keys() == _MESSAGE_KEYS
        and type(m["content"]) is str
        and type(m["role"]) is str
        and m["role"] in _ROLES
    )


def mapped(obj: dict[str, Any], fields: dict[str, str], columnar: bool) -> dict[str, Any]:
    """Rename mapped columns; for tables, drop other columns and nulls (tables carry extras)."""
    top = {key: column for key, column in fields.items() if key not in ("role", "content")}
    out = dict(obj)
    for key, column in top.items():
        if column in out:
            out[key] = out.pop(column)
    role, content = fields.get("role", "role"), fields.get("content", "content")
    if columnar:
        known = {"id", "messages", "text", "prompt", "chosen", "rejected", "metadata"}
        out = {k: v for k, v in out.items() if k in known and v is not None}
        if "id" in out and not isinstance(out["id"], str):
            out["id"] = str(out["id"])
    for key in ("messages", "prompt"):
        value = out.get(key)
        if isinstance(value, list) and (columnar or "role" in fields or "content" in fields):
            out[key] = [_mapped_message(m, role, content, columnar) for m in value]
    return out


def _mapped_message(message: Any, role: str, content: str, columnar: bool) -> Any:
    if not isinstance(message, dict):
        return message
    out = dict(message)
    if role in out:
        value = out.pop(role)
        out["role"] = _ROLE_ALIASES.get(value, value) if isinstance(value, str) else value
    if content in out:
        out["content"] = out.pop(content)
    if columnar:
        out = {k: v for k, v in out.items() if k in _MESSAGE_KEYS}
        if out.get("content") is None:
            out["content"] = ""
    return out
