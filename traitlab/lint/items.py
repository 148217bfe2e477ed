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

import codecs
import glob
import hashlib
import itertools
import json
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import weakref
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, overload

import numpy as np
from pydantic import ValidationError
from rich.progress import Progress

from traitlab.errors import InputError
from traitlab.jsonl import validation_reason
from traitlab.lint.results import SourceInfo
from traitlab.records import RECORD_TYPES, record_kind

Turns = Literal["assistant", "user", "transcript"]
Unit = Literal["reply", "record"]
STDIN = "-"
# What a directory is searched for; other files are left alone (and counted in a note).
SUFFIXES = (".jsonl", ".eval", ".parquet")
# Fields a column mapping may rename (`--field messages=conversations --field role=from`).
MAPPABLE = ("id", "messages", "text", "prompt", "chosen", "rejected", "role", "content")
_ROLE_ALIASES = {"human": "user", "gpt": "assistant", "model": "assistant", "bot": "assistant"}


class LintItem:
    """One linted unit: the selected turns (segments), with where it came from.

    `source` indexes `ItemSet.sources`; `line` is the JSONL line or the table row (1-based);
    `turn` is which selected turn of the record this item is (unit ``reply``), else None.
    An item handed out by an `ItemStore` reads its text again from the input when first asked
    for it, so that a million items cost their places, not their text.
    """

    __slots__ = ("index", "id", "line", "source", "turn", "_segments", "_context", "_store")

    def __init__(
        self,
        index: int,
        id: str,
        segments: list[str] | None = None,
        line: int | None = None,
        context: str | None = None,
        source: int = 0,
        turn: int | None = None,
        *,
        store: ItemStore | None = None,
    ) -> None:
        if segments is None and store is None:
            raise ValueError("a LintItem needs its segments or a store to read them from")
        self.index, self.id, self.line, self.source, self.turn = index, id, line, source, turn
        self._segments, self._context, self._store = segments, context, store

    @property
    def segments(self) -> list[str]:
        if self._segments is None:
            self._load()
        return self._segments  # type: ignore[return-value]

    @property
    def context(self) -> str | None:
        if self._segments is None:
            self._load()
        return self._context

    @property
    def text(self) -> str:
        segments = self.segments
        return segments[0] if len(segments) == 1 else "\n\n".join(segments)

    def _load(self) -> None:
        assert self._store is not None
        self._segments, self._context = self._store.read(self)

    def __repr__(self) -> str:
        return (
            f"LintItem(index={self.index}, id={self.id!r}, source={self.source}, line={self.line})"
        )


@dataclass
class ItemSet:
    """The items of every input, with the problems met while reading them."""

    sources: list[SourceInfo]
    items: Sequence[LintItem]
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


def check_fields(fields: dict[str, str] | None) -> dict[str, str]:
    mapping = dict(fields or {})
    unknown = sorted(set(mapping) - set(MAPPABLE))
    if unknown:
        raise InputError(f"--field: cannot map {unknown} (mappable: {', '.join(MAPPABLE)})")
    for key, value in mapping.items():
        if not isinstance(value, str) or not value:
            raise InputError(f"--field {key}=COLUMN needs a column name")
    return mapping


class Scan(Protocol):
    """What is computed over the items while they are read (the pre-scan): it sees a seeded
    sample of records first, then tallies every item in chunks (in worker processes too) and
    merges the tallies in input order."""

    sample_records: int
    seed: int

    def plan(self, sample: list[LintItem], complete: bool) -> None: ...

    def tally(self) -> Tally: ...

    def merge(self, tally: Tally) -> None: ...


class Tally(Protocol):
    """A picklable accumulator over one chunk's items (indices are positions in the chunk)."""

    def add(self, item: LintItem) -> None: ...


def read_items(
    paths: str | Path | Sequence[str | Path],
    *,
    turns: Turns = "assistant",
    turn: int | None = None,
    unit: Unit = "reply",
    strict: bool = False,
    fields: dict[str, str] | None = None,
    scan: Scan | None = None,
    workers: int = 1,
    chunk_bytes: int = 8 << 20,
    progress: Progress | None = None,
) -> ItemSet:
    """Read every input into items (see the module docstring for inputs and units).

    Each row is parsed and validated once; an item keeps its place and id, and its text is read
    again only when asked for (`ItemStore`), so memory grows with the number of items, not with
    their text. JSONL files larger than `chunk_bytes` are read in chunks by `workers` processes.

    Args:
        paths: Files, directories, glob patterns or ``-``.
        turns: For chats: lint the assistant turns, the user turns, or the whole transcript.
        turn: For chats: only this turn of the selected role (0 = first, -1 = last).
        unit: ``reply``: one item per selected turn; ``record``: one item per record.
        strict: Fail on the first malformed line instead of reporting and skipping it.
        fields: Column mapping, our name -> the data's (``{"messages": "conversations"}``).
        scan: Computed over the items as they are read (the pre-scan).
        workers: Processes for large JSONL files (1: none).
        chunk_bytes: Bytes of JSONL per chunk of work.
        progress: Shows records read, with an ETA.

    Raises:
        InputError: unreadable, empty or mixed-schema input, or records with unknown fields.
    """
    if unit not in ("reply", "record"):
        raise InputError(f"unit must be 'reply' or 'record', not '{unit}'")
    options = _Options(
        turns=turns, turn=turn, unit=unit, strict=strict, fields=check_fields(fields)
    )
    inputs = [source for path in expand_inputs(paths) for source in _open(path)]
    opened = [_opened(index, source, options) for index, source in enumerate(inputs)]
    store = ItemStore([o.rows for o in opened], [o.handler for o in opened])
    item_set = ItemSet(sources=[o.info for o in opened], items=store, unit=unit)
    if scan is not None:
        sample, complete = _sample(opened, scan.sample_records, scan.seed, progress)
        scan.plan(sample, complete)
    total = sum(len(o.rows) for o in opened)
    task = progress.add_task("reading", total=total) if progress is not None else None
    chunked = [_tasks(o, chunk_bytes, scan) for o in opened]
    pool = None
    if workers > 1 and any(len(tasks) > 1 for tasks in chunked) and _FORK is not None:
        pool = _FORK.Pool(
            workers, initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN)
        )
    try:
        for source, tasks in zip(opened, chunked, strict=True):
            results = (
                pool.imap(_run, tasks) if pool is not None and len(tasks) > 1 else map(_run, tasks)
            )
            for chunk in results:
                _merge(item_set, source, chunk, scan)
                if progress is not None and task is not None:
                    progress.advance(task, chunk.rows)
    finally:
        if pool is not None:
            pool.terminate()
    if not len(store):
        reason = "no items to lint"
        if item_set.errors:
            reason += f" ({len(item_set.errors)} bad lines, first: {item_set.errors[0]})"
        elif item_set.skipped:
            reason += f" ({item_set.skipped} records lack the selected turn)"
        raise InputError(reason, path=item_set.source)
    return item_set


# Worker processes are forked: they inherit the loaded modules (a fresh interpreter would spend
# seconds importing them) and need nothing from the parent's threads.
_FORK = multiprocessing.get_context("fork") if sys.platform == "linux" else None


@dataclass(frozen=True)
class _Options:
    turns: Turns
    turn: int | None
    unit: Unit
    strict: bool
    fields: dict[str, str]


@dataclass(frozen=True)
class _Handler:
    """Turns one input's rows into items: mapping, kind check, validation, units (picklable)."""

    name: str
    source: int
    kind: str
    kind_line: int
    columnar: bool
    options: _Options

    def record(self, number: int, obj: Any) -> dict[str, Any] | InputError:
        """The validated record, or the reason it is malformed; raises InputError when reading
        must stop (another record type, an unknown field)."""
        if isinstance(obj, InputError):
            return obj
        if isinstance(obj, dict) and (self.options.fields or self.columnar):
            obj = _mapped(obj, self.options.fields, self.columnar)
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

    def run(self, rows: Iterable[tuple[int, Any]], tally: Tally | None) -> _Chunk:
        """Read rows in order into a chunk; stops at the first error that ends the reading."""
        chunk = _Chunk(tally=tally)
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


@dataclass
class _Chunk:
    """What reading one chunk of rows gave (sent back from a worker process)."""

    tally: Tally | None
    rows: int = 0
    records: int = 0
    skipped: int = 0
    ids: list[str] = field(default_factory=list)
    lines: array[int] = field(default_factory=lambda: array("q"))
    turns: array[int] = field(default_factory=lambda: array("i"))
    errors: list[str] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)
    fatal: tuple[str, str | None, int | None] | None = None


class ItemStore(Sequence[LintItem]):
    """Every item's place (input, line, turn) and id; its text is read again when asked for."""

    def __init__(self, rows: list[_Rows], handlers: list[_Handler]) -> None:
        self._rows, self._handlers = rows, handlers
        self.ids: list[str] = []
        self.sources = array("i")
        self.lines = array("q")
        self.turns = array("i")  # -1: the item is the whole record

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> LintItem: ...

    @overload
    def __getitem__(self, index: slice) -> list[LintItem]: ...

    def __getitem__(self, index: int | slice) -> LintItem | list[LintItem]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        turn = self.turns[index]
        return LintItem(
            index,
            self.ids[index],
            line=self.lines[index],
            source=self.sources[index],
            turn=None if turn < 0 else turn,
            store=self,
        )

    def read(self, item: LintItem) -> tuple[list[str], str | None]:
        """An item's segments and context, from its input."""
        assert item.line is not None
        obj = self._rows[item.source].read(item.line)
        return self._handlers[item.source].segments(obj, item.turn)

    def extend(self, source: int, chunk: _Chunk) -> None:
        self.ids += chunk.ids
        self.sources.extend(array("i", [source]) * len(chunk.ids))
        self.lines += chunk.lines
        self.turns += chunk.turns


class _Rows(Protocol):
    """One input's rows: numbered from 1, read in order or again by number."""

    def __len__(self) -> int: ...

    def read(self, number: int) -> Any: ...

    def select(self, numbers: Iterable[int]) -> Iterator[tuple[int, Any]]: ...


@dataclass
class _JsonlRows:
    """A JSONL file (or standard input, spooled to a file) indexed by line offsets."""

    name: str
    path: str
    bounds: np.ndarray  # line n is bytes bounds[n - 1]:bounds[n]

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def read(self, number: int) -> Any:
        return next(self.select([number]), (number, None))[1]

    def select(self, numbers: Iterable[int]) -> Iterator[tuple[int, Any]]:
        """The rows at `numbers` (blank lines left out); a JSON error is an InputError value."""
        with open(self.path, "rb") as handle:
            for number in numbers:
                start = int(self.bounds[number - 1])
                handle.seek(start)
                obj = _parse_line(handle.read(int(self.bounds[number]) - start), number, self.name)
                if obj is not None:
                    yield number, obj

    def ranges(self, chunk_bytes: int) -> list[tuple[_Range, int]]:
        """Consecutive runs of whole lines of about `chunk_bytes` each, with their line counts."""
        lines = len(self)
        cuts = np.searchsorted(self.bounds, np.arange(chunk_bytes, self.bounds[-1], chunk_bytes))
        edges = sorted({0, lines, *(int(c) for c in cuts if 0 < c < lines)})
        return [
            (_Range(self.name, self.path, int(self.bounds[a]), int(self.bounds[b]), a + 1), b - a)
            for a, b in itertools.pairwise(edges)
        ]


@dataclass(frozen=True)
class _Range:
    """Lines of a JSONL file from byte `start` to `end`, the first numbered `first` (picklable)."""

    name: str
    path: str
    start: int
    end: int
    first: int

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        with open(self.path, "rb") as handle:
            handle.seek(self.start)
            data = handle.read(self.end - self.start)
        pieces = data.split(b"\n")
        if data.endswith(b"\n"):
            pieces.pop()  # what follows the last newline is not a line
        for number, raw in enumerate(pieces, start=self.first):
            obj = _parse_line(raw, number, self.name)
            if obj is not None:
                yield number, obj


def _parse_line(raw: bytes, number: int, name: str) -> Any:
    """One JSONL line: the object, an InputError value for invalid JSON, or None when blank."""
    if number == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[3:]  # a byte-order mark is not part of the first record
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", path=name) from None
    if not line.strip():
        return None
    try:
        return json.loads(line)
    except json.JSONDecodeError as ex:
        return InputError(f"invalid JSON ({ex.msg})", path=name, line=number)


@dataclass
class _MemoryRows:
    """Rows already in memory: a Parquet table or saved dataset as dicts, an Inspect log's
    samples as chat records."""

    name: str
    rows: list[Any]

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, number: int) -> Any:
        return self.rows[number - 1]

    def select(self, numbers: Iterable[int]) -> Iterator[tuple[int, Any]]:
        return ((number, self.rows[number - 1]) for number in numbers)


@dataclass
class _Input:
    """One input opened: its rows, content hash, and what kind of rows they are."""

    rows: _JsonlRows | _MemoryRows
    sha256: str
    columnar: bool = False
    kind: str | None = None  # known up front for Inspect logs; else found in the rows


@dataclass
class _Opened:
    info: SourceInfo
    rows: _JsonlRows | _MemoryRows
    handler: _Handler


@dataclass(frozen=True)
class _Task:
    """One chunk of work: rows, how to read them, and a fresh tally (picklable)."""

    handler: _Handler
    rows: Iterable[tuple[int, Any]]
    lines: int
    tally: Tally | None


def _run(task: _Task) -> _Chunk:
    chunk = task.handler.run(task.rows, task.tally)
    chunk.rows = task.lines
    return chunk


def _tasks(opened: _Opened, chunk_bytes: int, scan: Scan | None) -> list[_Task]:
    rows = opened.rows

    def tally() -> Tally | None:
        return scan.tally() if scan is not None else None

    if isinstance(rows, _JsonlRows):
        return [_Task(opened.handler, r, n, tally()) for r, n in rows.ranges(chunk_bytes)]
    every = rows.select(range(1, len(rows) + 1))
    return [_Task(opened.handler, every, len(rows), tally())]


def _merge(item_set: ItemSet, opened: _Opened, chunk: _Chunk, scan: Scan | None) -> None:
    """Add one chunk (in input order) to the item set, or raise the error that stopped it."""
    if chunk.fatal is not None:
        reason, path, line = chunk.fatal
        raise InputError(reason, path=path, line=line)
    assert isinstance(item_set.items, ItemStore)
    item_set.items.extend(opened.handler.source, chunk)
    info = opened.info
    info.records += chunk.records
    info.items += len(chunk.ids)
    info.errors += len(chunk.errors)
    info.bad_lines += chunk.bad_lines
    item_set.errors += chunk.errors
    item_set.skipped += chunk.skipped
    if scan is not None and chunk.tally is not None:
        scan.merge(chunk.tally)


def _sample(
    opened: list[_Opened], size: int, seed: int, progress: Progress | None
) -> tuple[list[LintItem], bool]:
    """The items of a seeded sample of `size` rows over every input (all rows when there are no
    more), and whether that was all of them. Malformed rows are left out here; the full pass
    reports them."""
    counts = [len(o.rows) for o in opened]
    total = sum(counts)
    complete = total <= size
    picks = range(total) if complete else sorted(random.Random(seed).sample(range(total), size))
    task = progress.add_task("sample", total=len(picks)) if progress is not None else None
    items: list[LintItem] = []
    offset = 0
    for source, count in zip(opened, counts, strict=True):
        low, high = bisect_left(picks, offset), bisect_left(picks, offset + count)
        numbers = (picks[i] - offset + 1 for i in range(low, high))
        for done, (number, obj) in enumerate(source.rows.select(numbers), start=1):
            if progress is not None and task is not None and done % 1024 == 0:
                progress.advance(task, 1024)
            try:
                record = source.handler.record(number, obj)
            except InputError:
                continue
            if not isinstance(record, InputError):
                items += source.handler.items(number, record, len(items))
        offset += count
    if progress is not None and task is not None:
        progress.update(task, completed=len(picks))
    return items, complete


def _open(path: str) -> list[_Input]:
    """Open one input (a saved dataset dict is one input per split)."""
    if path == STDIN:
        return [_open_jsonl(STDIN, _spool(sys.stdin.buffer))]
    p = Path(path)
    if is_saved_dataset(p):
        return _open_saved_dataset(p)
    if p.suffix == ".eval":
        return [_open_eval_log(p)]
    if p.suffix == ".parquet":
        return [_open_parquet(p)]
    return [_open_jsonl(path, path)]


def _spool(stream: BinaryIO) -> str:
    """Standard input copied to a temporary file, so that items can be read again later."""
    with tempfile.NamedTemporaryFile(
        prefix="traitlab-stdin-", suffix=".jsonl", delete=False
    ) as out:
        shutil.copyfileobj(stream, out, 1 << 22)
    return out.name


def _open_jsonl(name: str, path: str) -> _Input:
    """Hash the file and index its lines in one read of fixed-size blocks."""
    digest = hashlib.sha256()
    starts = [np.zeros(1, dtype=np.int64)]
    size = 0
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
                newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
                starts.append(newlines + (size + 1))
                size += len(block)
    except IsADirectoryError:
        raise InputError("is a directory with nothing to lint", path=name) from None
    except OSError as ex:
        raise InputError(f"cannot read file ({ex.strerror or ex})", path=name) from None
    bounds = np.concatenate(starts)
    if bounds[-1] != size:  # the last line has no newline
        bounds = np.append(bounds, size)
    rows = _JsonlRows(name, path, bounds)
    if path != name:  # a spooled copy of standard input, removed with its rows
        weakref.finalize(rows, os.unlink, path)
    return _Input(rows, digest.hexdigest())


def _open_parquet(path: Path) -> _Input:
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
    return _Input(_MemoryRows(str(path), _table_rows(table)), file_sha256(path), columnar=True)


def _open_saved_dataset(path: Path) -> list[_Input]:
    splits = path / "dataset_dict.json"
    if splits.is_file():
        try:
            names = json.loads(splits.read_text(encoding="utf-8"))["splits"]
        except (ValueError, KeyError, TypeError):
            raise InputError("invalid dataset_dict.json", path=splits) from None
        return [opened for name in names for opened in _open_saved_dataset(path / name)]
    try:
        import pyarrow as pa
    except ImportError:
        raise InputError(
            "reading a saved dataset needs pyarrow: pip install 'traitlab[train]'", path=path
        ) from None
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        rows: list[Any] = []
        for entry in state["_data_files"]:
            with pa.memory_map(str(path / entry["filename"])) as source:
                rows += _table_rows(pa.ipc.open_stream(source).read_all())
    except Exception as ex:
        raise InputError(f"cannot read saved dataset ({_first_line(ex)})", path=path) from None
    return [_Input(_MemoryRows(str(path), rows), file_sha256(path), columnar=True)]


def _open_eval_log(path: Path) -> _Input:
    """Every sample as a chat record of its messages (the output when no reply is in them)."""
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(str(path))
    except Exception as ex:  # Inspect raises several types for a corrupt or foreign file.
        raise InputError(f"cannot read Inspect log ({_first_line(ex)})", path=path) from None
    records = []
    for sample in log.samples or []:
        messages = [
            {"role": m.role, "content": m.text}
            for m in sample.messages
            if m.role in ("system", "user", "assistant", "tool")
        ]
        if not any(m["role"] == "assistant" and m["content"].strip() for m in messages):
            completion = sample.output.completion if sample.output else ""
            if completion.strip():
                messages.append({"role": "assistant", "content": completion})
        records.append({"id": f"{sample.id}@{sample.epoch}", "messages": messages})
    return _Input(_MemoryRows(str(path), records), file_sha256(path), kind="eval")


def _opened(index: int, source: _Input, options: _Options) -> _Opened:
    """An input with its record kind: the first recognisable row's (mixed kinds are found while
    reading)."""
    name = source.rows.name
    kind, kind_line = source.kind, 1
    if kind is None:
        for number, obj in source.rows.select(range(1, len(source.rows) + 1)):
            if isinstance(obj, dict):
                if options.fields or source.columnar:
                    obj = _mapped(obj, options.fields, source.columnar)
                kind, kind_line = record_kind(obj), number
                if kind is not None:
                    break
    if kind is None:
        hint = (
            "; map other column names with --field, e.g. messages=COLUMN" if source.columnar else ""
        )
        raise InputError(
            f"no records found (expected objects with 'messages', 'text' or 'chosen'{hint})",
            path=name,
        )
    info = SourceInfo(path=name, sha256=source.sha256, kind=kind)
    return _Opened(
        info, source.rows, _Handler(name, index, kind, kind_line, source.columnar, options)
    )


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


def _table_rows(table: Any) -> list[Any]:
    return [row for batch in table.to_batches(max_chunksize=4096) for row in batch.to_pylist()]


def _first_line(ex: BaseException) -> str:
    text = " ".join(str(ex).split()) or type(ex).__name__
    return text[:300]
