"""JSONL files and standard input: lines indexed by byte offset, read in ranges by workers."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from traitlab.errors import InputError
from traitlab.lint.items._store import Input


@dataclass
class JsonlRows:
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
        try:  # decoded at once (a newline byte is only ever a newline in UTF-8)
            pieces: list[str] | list[bytes] = data.decode("utf-8").split("\n")
        except UnicodeDecodeError:  # each line decoded, for the error of the first bad one
            pieces = data.split(b"\n")
        if data.endswith(b"\n"):
            pieces.pop()  # what follows the last newline is not a line
        for number, raw in enumerate(pieces, start=self.first):
            obj = _parse_line(raw, number, self.name)
            if obj is not None:
                yield number, obj


def _parse_line(raw: bytes | str, number: int, name: str) -> Any:
    """One JSONL line (as bytes, or decoded): the object, an InputError value for invalid
    JSON, or None when blank."""
    if isinstance(raw, str):
        line = raw
    else:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("not a UTF-8 text file", path=name) from None
    if number == 1 and line.startswith("\ufeff"):
        line = line[1:]  # a byte-order mark is not part of the first record
    if not line or line.isspace():
        return None
    try:
        return json.loads(line)
    except json.JSONDecodeError as ex:
        return InputError(f"invalid JSON ({ex.msg})", path=name, line=number)


def spool(stream: BinaryIO) -> str:
    """Standard input copied to a temporary file, so that items can be read again later."""
    with tempfile.NamedTemporaryFile(
        prefix="traitlab-stdin-", suffix=".jsonl", delete=False
    ) as out:
        shutil.copyfileobj(stream, out, 1 << 22)
    return out.name


def open_jsonl(name: str, path: str) -> Input:
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
    rows = JsonlRows(name, path, bounds)
    if path != name:  # a spooled copy of standard input, removed with its rows
        weakref.finalize(rows, os.unlink, path)
    return Input(rows, digest.hexdigest())
