"""Which files to read (paths, directories, glob patterns, standard input) and their hashes."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from traitlab.errors import InputError

STDIN = "-"
# What a directory is searched for; other files are left alone (and counted in a note).
SUFFIXES = (".jsonl", ".eval", ".parquet")


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


def first_line(ex: BaseException) -> str:
    """An exception as one short line, for an error about a foreign or corrupt file."""
    text = " ".join(str(ex).split()) or type(ex).__name__
    return text[:300]
