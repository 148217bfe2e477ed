"""Reading every input into items, in chunks (in worker processes for large JSONL files), with
the pre-scan's tallies computed on the way."""

from __future__ import annotations

import os
import pickle
import random
import signal
import sys
import tempfile
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress

from traitlab.errors import InputError
from traitlab.lint.forking import FORK
from traitlab.lint.items._evallog import open_eval_log
from traitlab.lint.items._inputs import STDIN, expand_inputs, is_saved_dataset
from traitlab.lint.items._jsonl import JsonlRows, open_jsonl, spool
from traitlab.lint.items._parquet import open_parquet
from traitlab.lint.items._records import Handler, Options, check_fields, mapped
from traitlab.lint.items._saved import open_saved_dataset
from traitlab.lint.items._store import (
    Chunk,
    Input,
    ItemSet,
    ItemStore,
    LintItem,
    Rows,
    Scan,
    Tally,
)
from traitlab.lint.options import DEFAULTS, Turns, Unit
from traitlab.lint.results import SourceInfo
from traitlab.records import record_kind


def read_items(
    paths: str | Path | Sequence[str | Path],
    *,
    turns: Turns = DEFAULTS.turns,
    turn: int | None = DEFAULTS.turn,
    unit: Unit = DEFAULTS.unit,
    strict: bool = DEFAULTS.strict,
    fields: dict[str, str] | None = None,
    scan: Scan | None = None,
    workers: int = 1,
    chunk_bytes: int = 4 << 20,
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
    options = Options(turns=turns, turn=turn, unit=unit, strict=strict, fields=check_fields(fields))
    inputs = [source for path in expand_inputs(paths) for source in _open(path)]
    opened = [_opened(index, source, options) for index, source in enumerate(inputs)]
    store = ItemStore([o.rows for o in opened], [o.handler for o in opened])
    item_set = ItemSet(sources=[o.info for o in opened], items=store, unit=unit)
    total = sum(len(o.rows) for o in opened)
    ranges = [_ranges(o, chunk_bytes) for o in opened]
    pool, plan, results = None, None, [None] * len(opened)
    if workers > 1 and any(len(r) > 1 for r in ranges) and FORK is not None:
        # The workers start reading before the sample is planned, so that planning (seconds
        # on phrase-heavy data) overlaps the reading. A chunk counted before the candidate
        # phrases are published (`_Plan`) is sent back with what they need, and completed
        # here on merging: a worker never waits for the plan with a core idle.
        plan = _Plan()
        pool = FORK.Pool(workers, initializer=_start_worker, initargs=(plan,))
    try:
        if pool is not None:
            results = [
                pool.imap(_run, _tasks(o, r, scan)) if len(r) > 1 else None
                for o, r in zip(opened, ranges, strict=True)
            ]
        if scan is not None:
            sample, complete = _sample(opened, scan.sample_records, scan.seed, progress)
            phrases = scan.plan(sample, complete)
            if plan is not None:
                plan.publish(phrases)
        task = progress.add_task("reading", total=total) if progress is not None else None
        for source, rows, chunks in zip(opened, ranges, results, strict=True):
            for chunk in chunks if chunks is not None else map(_run, _tasks(source, rows, scan)):
                _merge(item_set, source, chunk, scan)
                if progress is not None and task is not None:
                    progress.advance(task, chunk.rows)
    finally:
        if pool is not None:
            pool.terminate()
        if plan is not None:
            plan.close()
    if not len(store):
        reason = "no items to lint"
        if item_set.errors:
            reason += f" ({len(item_set.errors)} bad lines, first: {item_set.errors[0]})"
        elif item_set.skipped:
            reason += f" ({item_set.skipped} records lack the selected turn)"
        raise InputError(reason, path=item_set.source)
    return item_set


@dataclass
class _Opened:
    info: SourceInfo
    rows: Rows
    handler: Handler


@dataclass(frozen=True)
class _Task:
    """One chunk of work: rows, how to read them, and a fresh tally (picklable)."""

    handler: Handler
    rows: Iterable[tuple[int, Any]]
    lines: int
    tally: Tally | None


class _Plan:
    """What the scan's tallies need from its plan, published by the main process to workers
    forked before it was made: written to a file, then signalled."""

    def __init__(self) -> None:
        assert FORK is not None
        self.ready = FORK.Event()
        handle, self.path = tempfile.mkstemp(prefix="traitlab-plan-")
        os.close(handle)
        self.known = False
        self.value: Any = None

    def publish(self, value: Any) -> None:
        Path(self.path).write_bytes(pickle.dumps(value))
        self.known, self.value = True, value
        self.ready.set()

    def get(self) -> Any:
        """The plan (in a worker), or None while it is not published."""
        if not self.known and self.ready.is_set():
            self.known, self.value = True, pickle.loads(Path(self.path).read_bytes())
        return self.value

    def close(self) -> None:
        Path(self.path).unlink(missing_ok=True)


_plan: _Plan | None = None  # in a worker process: where the plan is published


def _start_worker(plan: _Plan) -> None:
    global _plan
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    _plan = plan


def _run(task: _Task) -> Chunk:
    chunk = task.handler.run(task.rows, task.tally)
    chunk.rows = task.lines
    if task.tally is not None:
        task.tally.count()
        if _plan is not None and (plan := _plan.get()) is not None:
            task.tally.complete(plan)
    return chunk


def _ranges(opened: _Opened, chunk_bytes: int) -> list[tuple[Iterable[tuple[int, Any]], int]]:
    """The input's chunks of work: its rows and their number (one chunk unless JSONL)."""
    rows = opened.rows
    if isinstance(rows, JsonlRows):
        return list(rows.ranges(chunk_bytes))
    return [(rows.select(range(1, len(rows) + 1)), len(rows))]


def _tasks(
    opened: _Opened, ranges: list[tuple[Iterable[tuple[int, Any]], int]], scan: Scan | None
) -> list[_Task]:
    return [
        _Task(opened.handler, rows, lines, scan.tally() if scan is not None else None)
        for rows, lines in ranges
    ]


def _merge(item_set: ItemSet, opened: _Opened, chunk: Chunk, scan: Scan | None) -> None:
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


def _open(path: str) -> list[Input]:
    """Open one input (a saved dataset dict is one input per split)."""
    if path == STDIN:
        return [open_jsonl(STDIN, spool(sys.stdin.buffer))]
    p = Path(path)
    if is_saved_dataset(p):
        return open_saved_dataset(p)
    if p.suffix == ".eval":
        return [open_eval_log(p)]
    if p.suffix == ".parquet":
        return [open_parquet(p)]
    return [open_jsonl(path, path)]


def _opened(index: int, source: Input, options: Options) -> _Opened:
    """An input with its record kind: the first recognisable row's (mixed kinds are found while
    reading)."""
    name = source.rows.name
    kind, kind_line = source.kind, 1
    if kind is None:
        for number, obj in source.rows.select(range(1, len(source.rows) + 1)):
            if isinstance(obj, dict):
                if options.fields or source.columnar:
                    obj = mapped(obj, options.fields, source.columnar)
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
        info, source.rows, Handler(name, index, kind, kind_line, source.columnar, options)
    )
