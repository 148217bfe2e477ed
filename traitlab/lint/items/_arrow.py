"""Arrow tables (Parquet row groups, a saved dataset's files), read a few thousand rows at a time.

A table becomes Python rows one batch at a time, and only the part being read is loaded, so a
large Parquet file or saved dataset costs one part and one batch, not a list of every row.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate
from typing import Any

BATCH = 4096


class ArrowRows:
    """Rows numbered from 1 across parts (each an Arrow table, loaded when first needed)."""

    def __init__(self, name: str, lengths: list[int], load: Callable[[int], Any]) -> None:
        self.name = name
        self._load = load
        self._starts = [0, *accumulate(lengths)]
        self._part: tuple[int, Any] | None = None
        self._batch: tuple[int, int, list[Any]] | None = None

    def __len__(self) -> int:
        return self._starts[-1]

    def read(self, number: int) -> Any:
        return next(self.select([number]))[1]

    def select(self, numbers: Iterable[int]) -> Iterator[tuple[int, Any]]:
        for number in numbers:
            part = bisect_right(self._starts, number - 1) - 1
            offset = number - 1 - self._starts[part]
            batch = offset // BATCH
            if self._batch is None or self._batch[:2] != (part, batch):
                self._batch = (part, batch, self._rows(part, batch))
            yield number, self._batch[2][offset - batch * BATCH]

    def _rows(self, part: int, batch: int) -> list[Any]:
        if self._part is None or self._part[0] != part:
            self._part = None  # the old part is let go before the next one is loaded
            self._part = (part, self._load(part))
        return self._part[1].slice(batch * BATCH, BATCH).to_pylist()  # type: ignore[no-any-return]
