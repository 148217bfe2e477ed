"""Reading and writing JSONL records without ever losing or corrupting data.

* Reading validates each line; a bad line is reported as ``file:line: reason`` and skipped, or
  raises under ``strict``. The input file is never modified.
* `write_jsonl` writes to a temporary file in the same directory and renames it into place, so a
  crash leaves either the old file or the new one, never half of one; the file gets the mode a
  plain ``open`` would give it (the umask decides who may read it).
* `ResumableWriter` appends records one by one to ``OUT.partial`` (flushed per record), skips ids
  already written when a pipeline restarts, and renames to ``OUT`` when the run completes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from traitlab.errors import InputError
from traitlab.files import write_atomically
from traitlab.records import RECORD_TYPES, RecordKind, record_kind

T = TypeVar("T", bound=BaseModel)


@dataclass
class ReadResult(Generic[T]):
    """Valid records with their line numbers, and one `file:line: reason` per bad line."""

    records: list[tuple[int, T]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[T]:
        return (record for _, record in self.records)

    def __len__(self) -> int:
        return len(self.records)


def iter_json_lines(path: str | Path) -> Iterator[tuple[int, Any | InputError]]:
    """(line number, parsed object or the error) for each non-blank line.

    A byte-order mark (which Windows editors write) is not part of the first record.
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except OSError as ex:
        raise InputError(f"cannot read file ({ex.strerror or ex})", path=path) from None
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as ex:
                    yield number, InputError(f"invalid JSON ({ex.msg})", path=path, line=number)
        except UnicodeDecodeError:
            raise InputError("not a UTF-8 text file", path=path) from None


def read_jsonl(path: str | Path, schema: type[T], *, strict: bool = False) -> ReadResult[T]:
    """Read and validate every line of `path` as `schema`."""
    result: ReadResult[T] = ReadResult()
    for number, obj in iter_json_lines(path):
        error = obj if isinstance(obj, InputError) else None
        if error is None:
            try:
                result.records.append((number, schema.model_validate(obj)))
                continue
            except ValidationError as ex:
                error = InputError(validation_reason(ex), path=path, line=number)
        if strict:
            raise error
        result.errors.append(str(error))
    return result


def detect_kind(path: str | Path) -> RecordKind:
    """The record kind of a file, from its lines; a mixed or unrecognised file is an error."""
    kinds: dict[RecordKind, int] = {}
    for number, obj in iter_json_lines(path):
        if not isinstance(obj, dict):
            continue
        kind = record_kind(obj)
        if kind is not None:
            kinds.setdefault(kind, number)
    if not kinds:
        raise InputError(
            "no records found (expected objects with 'messages', 'text' or 'chosen')", path=path
        )
    if len(kinds) > 1:
        where = ", ".join(f"{kind} from line {line}" for kind, line in kinds.items())
        raise InputError(f"mixed record types in one file ({where})", path=path)
    return next(iter(kinds))


def read_records(
    path: str | Path, kind: RecordKind | None = None, *, strict: bool = False
) -> ReadResult[Any]:
    """Read a chat, document or preference file, detecting the kind when not given."""
    return read_jsonl(path, RECORD_TYPES[kind or detect_kind(path)], strict=strict)


def validation_reason(ex: ValidationError) -> str:
    """Why a record failed its schema, on one line: the first error's place and message (an
    unknown field named as such), and how many more there are."""
    error = ex.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    extra = f" (and {ex.error_count() - 1} more)" if ex.error_count() > 1 else ""
    if error["type"] == "extra_forbidden":
        return f"unknown field '{where}'{extra}"
    return f"{where or 'record'}: {error['msg']}{extra}"


def _dump(record: BaseModel | dict[str, Any]) -> str:
    if isinstance(record, BaseModel):
        return record.model_dump_json(exclude_none=True)
    return json.dumps(record, ensure_ascii=False)


def write_jsonl(path: str | Path, records: Iterable[BaseModel | dict[str, Any]]) -> int:
    """Write records atomically (temp file + rename, umask honoured); returns how many."""
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        for record in records:
            yield _dump(record) + "\n"
            count += 1

    write_atomically(path, lines())
    return count


class ResumableWriter(Generic[T]):
    """Append records to ``OUT.partial`` as they are made; resume by id; finish atomically.

    A pipeline asks `done(id)` before producing a record, calls `write` for each new one, and
    `finish()` at the end, which renames the partial file to its final name. After a crash or
    Ctrl-C, a new writer on the same path reads the partial file (ignoring a torn last line)
    and the pipeline skips what is already there: nothing is produced or written twice.
    """

    def __init__(self, path: str | Path, schema: type[T]):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.schema = schema
        self.records: dict[str, T] = {}
        if self.partial.exists():
            self._recover()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.partial.open("a", encoding="utf-8")

    def _recover(self) -> None:
        valid: list[str] = []
        for _, obj in iter_json_lines(self.partial):
            if isinstance(obj, InputError):
                continue  # a line torn by the crash; its record is produced again
            try:
                record = self.schema.model_validate(obj)
            except ValidationError:
                continue
            record_id = getattr(record, "id", None)
            if record_id is not None and record_id not in self.records:
                self.records[record_id] = record
                valid.append(_dump(record))
        # Rewrite the partial file without torn lines before appending to it.
        write_jsonl(self.partial, (json.loads(line) for line in valid))

    def done(self, record_id: str) -> bool:
        return record_id in self.records

    def write(self, record: T) -> None:
        record_id = getattr(record, "id", None)
        if record_id is None:
            raise ValueError("ResumableWriter needs records with an id")
        if record_id in self.records:
            return
        self._handle.write(_dump(record) + "\n")
        self._handle.flush()
        self.records[record_id] = record

    def finish(self, order: list[str] | None = None) -> Path:
        """Write the final file atomically (in `order` of ids if given) and drop the partial."""
        self._handle.close()
        ids = order if order is not None else list(self.records)
        write_jsonl(self.path, (self.records[i] for i in ids if i in self.records))
        self.partial.unlink(missing_ok=True)
        return self.path

    def close(self) -> None:
        """Stop without finishing (the partial file stays for a later resume)."""
        self._handle.close()
