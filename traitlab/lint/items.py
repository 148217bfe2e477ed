"""What the lint reads: items made of the turns being linted, from every input people have.

Inputs are JSONL files (chats, documents or preference pairs), Parquet files, Hugging Face
datasets saved with ``save_to_disk``, Inspect logs (``.eval``), directories of any of these,
glob patterns, and ``-`` (standard input). Each line (row) is parsed and validated once.

The *unit* is what a prevalence counts. ``reply`` (the default) makes each selected turn of a
chat its own item, so "opens with 'here are some'" is a share of replies, which is what a
researcher means by "how often does the model do this"; ``record`` makes each record one item
(its selected turns are the item's segments), so the share is of conversations. Documents and
preference pairs are one item per record either way (the text; the chosen reply). Inspect logs
are linted on every target reply in ``sample.messages``, like chats.

Each item keeps its source and line (row), so that `filter` drops exactly the records labelled.
"""

from __future__ import annotations

import glob
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from traitlab.datasets.records import RECORD_TYPES, record_kind
from traitlab.errors import InputError

Turns = Literal["assistant", "user", "transcript"]
Unit = Literal["reply", "record"]
STDIN = "-"
# What a directory is searched for; other files are left alone (and counted in a note).
SUFFIXES = (".jsonl", ".eval", ".parquet")
# Fields a column mapping may rename (`--field messages=conversations --field role=from`).
MAPPABLE = ("id", "messages", "text", "prompt", "chosen", "rejected", "role", "content")
_ROLE_ALIASES = {"human": "user", "gpt": "assistant", "model": "assistant", "bot": "assistant"}


@dataclass(slots=True)
class LintItem:
    """One linted unit: the selected turns (segments), with where it came from.

    `source` indexes `ItemSet.sources`; `line` is the JSONL line or the table row (1-based);
    `turn` is which selected turn of the record this item is (unit ``reply``), else None.
    """

    index: int
    id: str
    segments: list[str]
    line: int | None = None
    context: str | None = None
    source: int = 0
    turn: int | None = None

    @property
    def text(self) -> str:
        return self.segments[0] if len(self.segments) == 1 else "\n\n".join(self.segments)


@dataclass
class SourceFile:
    """One input read: its path (or ``-``), content hash, record kind and counts."""

    path: str
    sha256: str
    kind: str
    records: int = 0
    items: int = 0
    errors: int = 0
    bad_lines: list[int] = field(default_factory=list)


@dataclass
class ItemSet:
    """The items of every input, with the problems met while reading them."""

    sources: list[SourceFile]
    items: list[LintItem]
    unit: Unit = "reply"
    errors: list[str] = field(default_factory=list)
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def source(self) -> str:
        """A display name: the one input, or how many."""
        if len(self.sources) == 1:
            return self.sources[0].path
        return f"{len(self.sources)} inputs ({', '.join(s.path for s in self.sources[:3])}" + (
            ", ...)" if len(self.sources) > 3 else ")"
        )

    @property
    def sha256(self) -> str:
        return combined_sha256(s.sha256 for s in self.sources)

    @property
    def kind(self) -> str:
        return "+".join(sorted({s.kind for s in self.sources}))

    @property
    def records(self) -> int:
        return sum(s.records for s in self.sources)


def combined_sha256(digests: Iterable[str]) -> str:
    """One digest for a set of inputs (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()


def file_sha256(path: str | Path) -> str:
    """Content hash of a file (or of a saved dataset's data files), tying labels to the data."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def expand_inputs(paths: str | Path | Sequence[str | Path]) -> list[str]:
    """Files to read, from paths, directories, glob patterns and ``-`` (in a stable order).

    Raises:
        InputError: a path that does not exist, a pattern or directory with nothing to lint.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    if not paths:
        raise InputError("no input given")
    found: list[str] = []
    for raw in paths:
        text = str(raw)
        if text == STDIN:
            found.append(STDIN)
            continue
        path = Path(text)
        if not path.exists() and glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise InputError("the pattern matches no file", path=text)
            found += [m for match in matches for m in _expand_path(Path(match), explicit=False)]
            continue
        if not path.exists():
            raise InputError("file not found", path=path)
        found += _expand_path(path, explicit=True)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise InputError(f"nothing to lint (looked for {', '.join(SUFFIXES)} and saved datasets)")
    return unique


def is_saved_dataset(path: Path) -> bool:
    """A Hugging Face dataset (or dataset dict) written by ``save_to_disk``."""
    return path.is_dir() and (
        (path / "state.json").is_file() or (path / "dataset_dict.json").is_file()
    )


def _expand_path(path: Path, *, explicit: bool) -> list[str]:
    if path.is_file():
        return [str(path)] if explicit or path.suffix in SUFFIXES else []
    if not path.is_dir():
        return []
    if is_saved_dataset(path):
        return [str(path)]
    found: list[str] = []
    for child in sorted(path.iterdir()):
        if child.name.startswith("."):
            continue
        found += _expand_path(child, explicit=False)
    if explicit and not found:
        raise InputError(
            f"no {', '.join(SUFFIXES)} files or saved datasets in this directory", path=path
        )
    return found


def read_items(
    paths: str | Path | Sequence[str | Path],
    *,
    turns: Turns = "assistant",
    turn: int | None = None,
    unit: Unit = "reply",
    strict: bool = False,
    fields: dict[str, str] | None = None,
) -> ItemSet:
    """Read every input into items (see the module docstring for inputs and units).

    Args:
        paths: Files, directories, glob patterns or ``-``.
        turns: For chats: lint the assistant turns, the user turns, or the whole transcript.
        turn: For chats: only this turn of the selected role (0 = first, -1 = last).
        unit: ``reply``: one item per selected turn; ``record``: one item per record.
        strict: Fail on the first malformed line instead of reporting and skipping it.
        fields: Column mapping, our name -> the data's (``{"messages": "conversations"}``).

    Raises:
        InputError: unreadable, empty or mixed-schema input, or records with unknown fields.
    """
    if unit not in ("reply", "record"):
        raise InputError(f"unit must be 'reply' or 'record', not '{unit}'")
    mapping = check_fields(fields)
    item_set = ItemSet(sources=[], items=[], unit=unit)
    reader = _Reader(item_set, turns=turns, turn=turn, unit=unit, strict=strict, fields=mapping)
    for path in expand_inputs(paths):
        reader.read(path)
    if not item_set.items:
        reason = "no items to lint"
        if item_set.errors:
            reason += f" ({len(item_set.errors)} bad lines, first: {item_set.errors[0]})"
        elif item_set.skipped:
            reason += f" ({item_set.skipped} records lack the selected turn)"
        raise InputError(reason, path=item_set.source)
    return item_set


def check_fields(fields: dict[str, str] | None) -> dict[str, str]:
    mapping = dict(fields or {})
    unknown = sorted(set(mapping) - set(MAPPABLE))
    if unknown:
        raise InputError(f"--field: cannot map {unknown} (mappable: {', '.join(MAPPABLE)})")
    for key, value in mapping.items():
        if not isinstance(value, str) or not value:
            raise InputError(f"--field {key}=COLUMN needs a column name")
    return mapping


class _Reader:
    """Reads one input after another into one `ItemSet`."""

    def __init__(
        self,
        item_set: ItemSet,
        *,
        turns: Turns,
        turn: int | None,
        unit: Unit,
        strict: bool,
        fields: dict[str, str],
    ) -> None:
        self.item_set = item_set
        self.turns, self.turn, self.unit, self.strict = turns, turn, unit, strict
        self.fields = fields

    def read(self, path: str) -> None:
        if path == STDIN:
            data = sys.stdin.buffer.read()
            self._read_jsonl(STDIN, data, hashlib.sha256(data).hexdigest())
            return
        p = Path(path)
        if is_saved_dataset(p):
            self._read_saved_dataset(p)
        elif p.suffix == ".eval":
            self._read_eval_log(p)
        elif p.suffix == ".parquet":
            self._read_parquet(p)
        else:
            try:
                data = p.read_bytes()
            except IsADirectoryError:
                raise InputError("is a directory with nothing to lint", path=p) from None
            except OSError as ex:
                raise InputError(f"cannot read file ({ex.strerror or ex})", path=p) from None
            self._read_jsonl(path, data, hashlib.sha256(data).hexdigest())

    # -- record sources ----------------------------------------------------------------------

    def _read_jsonl(self, name: str, data: bytes, digest: str) -> None:
        try:
            text = data.decode("utf-8-sig")  # a byte-order mark is not part of the first record
        except UnicodeDecodeError:
            raise InputError("not a UTF-8 text file", path=name) from None

        def rows() -> Iterator[tuple[int, Any]]:
            # Split on newlines only: str.splitlines also breaks at U+2028 and other separators
            # that JSON strings may hold raw, which would tear a record in two.
            for number, line in enumerate(text.split("\n"), start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as ex:
                    yield number, InputError(f"invalid JSON ({ex.msg})", path=name, line=number)

        self._read_rows(name, digest, rows(), columnar=False)

    def _read_parquet(self, path: Path) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                "reading Parquet needs pyarrow: pip install 'traitlab[train]'", path=path
            ) from None
        try:
            table = pq.read_table(path)
        except Exception as ex:  # pyarrow raises several types for a corrupt or foreign file
            raise InputError(f"cannot read Parquet ({_first_line(ex)})", path=path) from None
        self._read_rows(str(path), file_sha256(path), _table_rows(table), columnar=True)

    def _read_saved_dataset(self, path: Path) -> None:
        splits = path / "dataset_dict.json"
        if splits.is_file():
            try:
                names = json.loads(splits.read_text(encoding="utf-8"))["splits"]
            except (ValueError, KeyError, TypeError):
                raise InputError("invalid dataset_dict.json", path=splits) from None
            for name in names:
                self._read_saved_dataset(path / name)
            return
        try:
            import pyarrow as pa
        except ImportError:
            raise InputError(
                "reading a saved dataset needs pyarrow: pip install 'traitlab[train]'", path=path
            ) from None
        try:
            state = json.loads((path / "state.json").read_text(encoding="utf-8"))
            files = [path / entry["filename"] for entry in state["_data_files"]]
            tables = []
            for file in files:
                with pa.memory_map(str(file)) as source:
                    tables.append(pa.ipc.open_stream(source).read_all())
        except Exception as ex:
            raise InputError(f"cannot read saved dataset ({_first_line(ex)})", path=path) from None
        rows = (row for table in tables for row in _table_rows(table))
        self._read_rows(str(path), file_sha256(path), _renumber(rows), columnar=True)

    def _read_rows(
        self, name: str, digest: str, rows: Iterable[tuple[int, Any]], *, columnar: bool
    ) -> None:
        """Validate each row once (detecting the kind from the first recognisable one)."""
        source = SourceFile(path=name, sha256=digest, kind="")
        index = len(self.item_set.sources)
        self.item_set.sources.append(source)
        pending: list[tuple[int, Any]] = []
        kind_line: int | None = None
        for number, obj in rows:
            if isinstance(obj, dict) and (self.fields or columnar):
                obj = _mapped(obj, self.fields, columnar)
            kind = record_kind(obj) if isinstance(obj, dict) else None
            if kind is not None and not source.kind:
                source.kind, kind_line = kind, number
                for early in pending:
                    self._add(source, index, *early)
                pending = []
            elif kind is not None and kind != source.kind:
                raise InputError(
                    f"mixed record types in one file ({source.kind} from line {kind_line}, "
                    f"{kind} from line {number})",
                    path=name,
                )
            if not source.kind:
                pending.append((number, obj))
            else:
                self._add(source, index, number, obj)
        if not source.kind:
            hint = "; map other column names with --field, e.g. messages=COLUMN" if columnar else ""
            raise InputError(
                f"no records found (expected objects with 'messages', 'text' or 'chosen'{hint})",
                path=name,
            )

    def _add(self, source: SourceFile, index: int, number: int, obj: Any) -> None:
        error = obj if isinstance(obj, InputError) else None
        record = None
        if error is None:
            try:
                record = _validate(source.kind, obj)
            except ValidationError as ex:
                reason = _reason(ex)
                error = InputError(reason, path=source.path, line=number)
                if reason.startswith("unknown field '"):
                    # A schema mistake (a typo, the wrong file), not one bad line.
                    raise error from None
        if error is not None:
            if self.strict:
                raise error
            source.errors += 1
            source.bad_lines.append(number)
            self.item_set.errors.append(str(error))
            return
        source.records += 1
        record_id = record.get("id") or f"line-{number}"
        added = self._add_item_units(record, source.kind, record_id, index, number)
        source.items += added
        if not added:
            self.item_set.skipped += 1

    def _add_item_units(
        self, record: dict[str, Any], kind: str, record_id: str, source: int, line: int | None
    ) -> int:
        items = self.item_set.items
        units = _units(record, kind, self.turns, self.turn)
        if not units:
            return 0
        if self.unit == "record" or kind != "chat" or self.turns == "transcript":
            items.append(
                LintItem(
                    len(items),
                    record_id,
                    [text for _, text, _ in units],
                    line=line,
                    context=units[0][2],
                    source=source,
                )
            )
            return 1
        for position, text, context in units:
            items.append(
                LintItem(
                    len(items),
                    record_id if len(units) == 1 else f"{record_id}#{position}",
                    [text],
                    line=line,
                    context=context,
                    source=source,
                    turn=position,
                )
            )
        return len(units)

    def _read_eval_log(self, path: Path) -> None:
        from inspect_ai.log import read_eval_log

        try:
            log = read_eval_log(str(path))
        except Exception as ex:  # Inspect raises several types for a corrupt or foreign file.
            raise InputError(f"cannot read Inspect log ({_first_line(ex)})", path=path) from None
        source = SourceFile(path=str(path), sha256=file_sha256(path), kind="eval")
        index = len(self.item_set.sources)
        self.item_set.sources.append(source)
        for number, sample in enumerate(log.samples or [], start=1):
            messages = [
                {"role": m.role, "content": m.text}
                for m in sample.messages
                if m.role in ("system", "user", "assistant", "tool")
            ]
            if not any(m["role"] == "assistant" and m["content"].strip() for m in messages):
                completion = sample.output.completion if sample.output else ""
                if completion.strip():
                    messages.append({"role": "assistant", "content": completion})
            source.records += 1
            record = {"id": f"{sample.id}@{sample.epoch}", "messages": messages}
            added = self._add_item_units(record, "chat", record["id"], index, number)
            source.items += added
            if not added:
                self.item_set.skipped += 1


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
    selected = [i for i, m in enumerate(messages) if m["role"] == turns]
    positions = list(range(len(selected)))
    if turn is not None:
        if not -len(selected) <= turn < len(selected):
            return []
        positions = [positions[turn]]
    units = []
    last_user: str | None = None
    chosen = {selected[p]: p for p in positions}
    for i, message in enumerate(messages):
        if i in chosen and message["content"].strip():
            context = last_user if turns == "assistant" else None
            units.append((chosen[i], message["content"], context))
        if message["role"] == "user":
            last_user = message["content"]
    return units


_MESSAGE_KEYS = {"role", "content"}


def _validate(kind: str, obj: Any) -> dict[str, Any]:
    """The record as a plain dict, validated against its schema (a fast path for the common,
    well-formed chat; anything else goes through pydantic, which gives the reason)."""
    if kind == "chat" and type(obj) is dict and obj.keys() <= {"id", "messages", "metadata"}:
        messages = obj.get("messages")
        record_id = obj.get("id")
        if (
            type(messages) is list
            and messages
            and (record_id is None or type(record_id) is str)
            and type(obj.get("metadata", {})) is dict
            and all(
                type(m) is dict
                and m.keys() == _MESSAGE_KEYS
                and type(m["content"]) is str
                and m["role"] in ("system", "user", "assistant", "tool")
                for m in messages
            )
        ):
            return obj
    return RECORD_TYPES[kind].model_validate(obj).model_dump()  # type: ignore[attr-defined]


def _mapped(obj: dict[str, Any], fields: dict[str, str], columnar: bool) -> dict[str, Any]:
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


def _table_rows(table: Any) -> Iterator[tuple[int, Any]]:
    number = 0
    for batch in table.to_batches(max_chunksize=4096):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _renumber(rows: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    for number, (_, row) in enumerate(rows, start=1):
        yield number, row


def _reason(ex: ValidationError) -> str:
    error = ex.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    extra = f" (and {ex.error_count() - 1} more)" if ex.error_count() > 1 else ""
    if error["type"] == "extra_forbidden":
        return f"unknown field '{where}'{extra}"
    return f"{where or 'record'}: {error['msg']}{extra}"


def _first_line(ex: BaseException) -> str:
    text = " ".join(str(ex).split()) or type(ex).__name__
    return text[:300]
