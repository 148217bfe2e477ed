"""Atomic writes: the old file or the new one, never half; permissions as a plain open() gives."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from traitlab.datasets import ChatRecord, Message, write_jsonl
from traitlab.files import write_atomically


@pytest.fixture
def umask() -> Iterator[None]:
    """Run the test under a known umask (as on a cluster where group and others may read)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_the_file_gets_the_mode_open_would_give(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        write_atomically(tmp_path / "atomic.txt", ["a\n", "b\n"])
        (tmp_path / "plain.txt").write_text("a\nb\n")
    finally:
        os.umask(old)
    atomic = (tmp_path / "atomic.txt").stat().st_mode & 0o777
    assert atomic == (tmp_path / "plain.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_jsonl_is_readable_by_others(tmp_path: Path, umask: None) -> None:
    record = ChatRecord(messages=[Message(role="user", content="hi")])
    assert write_jsonl(tmp_path / "out.jsonl", [record, record]) == 2
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o644


def test_a_failure_midway_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old\n")

    def chunks() -> Iterator[str]:
        yield "new\n"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, chunks())
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_the_parent_directory_is_created(tmp_path: Path) -> None:
    path = write_atomically(tmp_path / "a" / "b" / "out.txt", ["x"])
    assert path.read_text() == "x"
