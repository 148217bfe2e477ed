"""The items: each one's place (input, line, turn) and id, its text read again when asked for."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, overload

from traitlab.lint.items._inputs import combined_sha256
from traitlab.lint.options import Unit
from traitlab.lint.results import SourceInfo


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
    unit: Unit
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


class ItemStore(Sequence[LintItem]):
    """Every item's place (input, line, turn) and id; its text is read again when asked for."""

    def __init__(self, rows: list[Rows], handlers: list[Reader]) -> None:
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

    def extend(self, source: int, chunk: Chunk) -> None:
        self.ids += chunk.ids
        self.sources.extend(array("i", [source]) * len(chunk.ids))
        self.lines += chunk.lines
        self.turns += chunk.turns


@dataclass
class Chunk:
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


class Rows(Protocol):
    """One input's rows: numbered from 1, read in order or again by number (one reader per
    input format)."""

    name: str

    def __len__(self) -> int: ...

    def read(self, number: int) -> Any: ...

    def select(self, numbers: Iterable[int]) -> Iterator[tuple[int, Any]]: ...


class Scan(Protocol):
    """What is computed over the items while they are read (the pre-scan): it plans on a
    seeded sample of records, tallies every item in chunks (in worker processes too, which may
    start before the plan and receive what it returns) and merges the tallies in input order."""

    sample_records: int
    seed: int

    def plan(self, sample: list[LintItem], complete: bool) -> Any: ...

    def tally(self) -> Tally: ...

    def merge(self, tally: Tally) -> None: ...


class Tally(Protocol):
    """A picklable accumulator over one chunk's items (indices are positions in the chunk)."""

    def add(self, item: LintItem) -> None: ...

    def count(self) -> None:
        """Tally the items added (at the end of the chunk, before the plan may be known)."""

    def complete(self, plan: Any) -> None:
        """Finish what needed the scan's plan (a tally made before it)."""


class Reader(Protocol):
    """What turns an input's row back into an item's text (picklable)."""

    def segments(self, obj: Any, turn: int | None) -> tuple[list[str], str | None]: ...


@dataclass
class Input:
    """One input opened: its rows, content hash, and what kind of rows they are."""

    rows: Rows
    sha256: str
    columnar: bool = False
    kind: str | None = None  # known up front for Inspect logs; else found in the rows
