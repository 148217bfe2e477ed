"""labels.jsonl: one row per item, with the pre-scan findings, ratings and probe labels it has.

The rows are built one at a time when read or written, never all held at once: a million
`ItemLabels` models cost over a gigabyte, which the findings, ratings and probe labels they are
made from do not.
"""

from __future__ import annotations

import itertools
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

from traitlab.lint.items import ItemStore, LintItem
from traitlab.lint.results import Finding, ItemLabels


class LabelRows(Sequence[ItemLabels]):
    """Every item's labels.jsonl row, each built when it is read; `json_lines` gives the file's
    lines without building a model per row."""

    def __init__(
        self,
        items: Sequence[LintItem],
        findings: Iterable[Finding],
        ratings: Mapping[int, Mapping[str, str]],
        probe: Mapping[int, Mapping[str, str]],
    ) -> None:
        self._items, self._ratings, self._probe = items, ratings, probe
        findings = list(findings)
        # Item index -> finding ids, as two columns sorted by (item, finding order) and
        # searched by bisection; sorted in numpy (millions of members at a million items).
        members = [np.asarray(f.members, dtype=np.int64) for f in findings]
        indices = np.concatenate([np.zeros(0, np.int64), *members])
        orders = np.repeat(np.arange(len(members)), [len(m) for m in members])
        by_item = np.lexsort((orders, indices))
        names = [f.id for f in findings]
        self._member_items: list[int] = indices[by_item].tolist()
        self._member_ids = [names[order] for order in orders[by_item].tolist()]
        self._encoded: dict[tuple[str, ...], str] = {}  # see `_line`

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, position: int) -> ItemLabels: ...

    @overload
    def __getitem__(self, position: slice) -> list[ItemLabels]: ...

    def __getitem__(self, position: int | slice) -> ItemLabels | list[ItemLabels]:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        item = self._items[position]
        return _item_labels(self._row(item.index, item.id, item.source, item.line, item.turn))

    def __iter__(self) -> Iterator[ItemLabels]:
        return map(_item_labels, self.rows())

    def rows(self) -> Iterator[dict[str, Any]]:
        """Each row as a plain dict (None fields left out, as in labels.jsonl)."""
        for place in self._places():
            yield self._row(*place)

    def json_lines(self, start: int = 0, stop: int | None = None) -> Iterator[str]:
        """labels.jsonl's lines (newline included) for rows `start` to `stop`: each row's JSON
        as `_row` would encode it, written from its parts (building and encoding a dict per row
        was most of writing the report)."""
        items = self._items
        if isinstance(items, ItemStore) and not self._ratings and not self._probe:
            yield from self._plain_lines(items, start, len(items) if stop is None else stop)
            return
        for place in itertools.islice(self._places(), start, stop):
            yield self._line(*place)

    def _plain_lines(self, items: ItemStore, start: int, stop: int) -> Iterator[str]:
        """`_line` for rows `start` to `stop` of a store when nothing is rated or probed (the
        offline lint): each row's findings found by one search in numpy, and ids quoted
        without the encoder when none needs escaping."""
        stop = min(stop, len(items))
        if start >= stop:
            return
        rows = np.arange(start, stop)
        member_items = np.asarray(self._member_items, dtype=np.int64)
        lows = np.searchsorted(member_items, rows, "left").tolist()
        highs = np.searchsorted(member_items, rows, "right").tolist()
        ids = items.ids[start:stop]
        quoted = (
            [f'"{id}"' for id in ids] if _ESCAPED.search("".join(ids)) is None else map(_dumps, ids)
        )
        member_ids, encoded = self._member_ids, self._encoded
        for index, id, source, line, turn, low, high in zip(
            range(start, stop),
            quoted,
            items.sources[start:stop],
            items.lines[start:stop],
            items.turns[start:stop],
            lows,
            highs,
            strict=True,
        ):
            if low == high:
                labels = "{}"
            else:
                found = tuple(member_ids[low:high])
                labels = encoded.get(found)  # type: ignore[assignment]
                if labels is None:
                    labels = _dumps(dict.fromkeys(found, "strict"))
                    if len(encoded) < _ENCODED_MAX:
                        encoded[found] = labels
            yield (
                f'{{"index":{index},"id":{id},"source":{source},"line":{line}'
                + ("" if turn < 0 else f',"turn":{turn}')
                + f',"rated":false,"labels":{labels},"probe":{{}}}}\n'
            )

    def _places(self) -> Iterator[tuple[int, str, int, int | None, int | None]]:
        items = self._items
        if isinstance(items, ItemStore):
            places: Iterable[tuple[int, str, int, int | None, int | None]] = zip(
                range(len(items)),
                items.ids,
                items.sources,
                items.lines,
                (None if turn < 0 else turn for turn in items.turns),
                strict=True,
            )
        else:
            places = ((i.index, i.id, i.source, i.line, i.turn) for i in items)
        return iter(places)

    def _row(
        self, index: int, id: str, source: int, line: int | None, turn: int | None
    ) -> dict[str, Any]:
        low = bisect_left(self._member_items, index)
        high = bisect_right(self._member_items, index, low)
        labels = dict.fromkeys(self._member_ids[low:high], "strict")
        rated = self._ratings.get(index)
        if rated is not None:
            labels.update({fid: level for fid, level in rated.items() if level != "none"})
        row: dict[str, Any] = {"index": index, "id": id, "source": source}
        if line is not None:
            row["line"] = line
        if turn is not None:
            row["turn"] = turn
        row["rated"] = rated is not None
        row["labels"] = labels
        row["probe"] = dict(self._probe.get(index, {}))
        return row

    def _line(self, index: int, id: str, source: int, line: int | None, turn: int | None) -> str:
        low = bisect_left(self._member_items, index)
        high = bisect_right(self._member_items, index, low)
        rated = self._ratings.get(index)
        probe = self._probe.get(index)
        if rated is None:  # the labels are the findings': few combinations, each encoded once
            found = tuple(self._member_ids[low:high])
            labels = self._encoded.get(found)
            if labels is None:
                labels = _dumps(dict.fromkeys(found, "strict"))
                if len(self._encoded) < _ENCODED_MAX:
                    self._encoded[found] = labels
        else:
            labels = _dumps(self._row(index, id, source, line, turn)["labels"])
        return (
            f'{{"index":{index},"id":{_dumps(id)},"source":{source}'
            + ("" if line is None else f',"line":{line}')
            + ("" if turn is None else f',"turn":{turn}')
            + f',"rated":{"false" if rated is None else "true"},"labels":{labels}'
            + f',"probe":{"{}" if not probe else _dumps(dict(probe))}}}\n'
        )


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# What the encoder escapes in a string (without ensure_ascii): anything else is written as is.
_ESCAPED = re.compile(r'[\x00-\x1f"\\]')
# Combinations of findings whose labels are kept encoded (each is a short string).
_ENCODED_MAX = 100_000


def _item_labels(row: dict[str, Any]) -> ItemLabels:
    # Built from values already checked: validating them again costs seconds a million.
    return ItemLabels.model_construct(**row)


def label_lines(rows: Iterable[ItemLabels]) -> Iterator[str]:
    """labels.jsonl's lines (newline included) for `rows`."""
    if isinstance(rows, LabelRows):
        yield from rows.json_lines()
        return
    for row in rows:
        yield row.model_dump_json(exclude_none=True) + "\n"
