"""Output paths of the lint, checked before any slow step and written all at once.

A report directory is built beside its destination and swapped in when complete, so a lint that
crashes or is interrupted leaves the previous report (report.json and labels.jsonl that belong
together) or none, never a mix; the temporary directory is removed on the way out. Files are
written with plain `open`, so they honour the umask (readable by other users and jobs where the
umask allows).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from traitlab.errors import InputError
from traitlab.files import current_umask

# A directory holding any of these is a lint report that a new run may replace.
REPORT_FILES = ("report.json", "report.md", "report.html", "labels.jsonl", "features.json")


def check_output_dir(path: str | Path) -> Path:
    """The report directory, if it can be written: new, empty, or an earlier lint report.

    Raises:
        InputError: the path is a file, a directory that is not a lint report, or its parent
            is missing a writable directory.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("the report path is an existing file, not a directory", path=path)
    if path.is_dir():
        entries = [p.name for p in path.iterdir()]
        if entries and not set(entries) & set(REPORT_FILES):
            raise InputError(
                "this directory is not a lint report and is not empty; "
                "choose a new directory (nothing there is replaced)",
                path=path,
            )
    parent = _existing_parent(path)
    check_writable(parent, path)
    return path


def check_output_file(path: str | Path, *, overwrite: bool = False) -> Path:
    """An output file that can be written (refusing an existing one unless `overwrite`)."""
    path = Path(path)
    if path.is_dir():
        raise InputError("the output path is a directory, not a file", path=path)
    if path.exists() and not overwrite:
        raise InputError("the output file exists (pass --overwrite to replace it)", path=path)
    check_writable(_existing_parent(path), path)
    return path


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{parent} is a file, not a directory", path=path)
    return parent


def check_writable(directory: Path, path: Path) -> None:
    """Create and remove a probe file in `directory` (os.access is wrong for root and ACLs)."""
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".traitlab-probe-")
    except OSError as ex:
        raise InputError(
            f"cannot write there ({ex.strerror or ex} in {directory})", path=path
        ) from None
    os.close(fd)
    os.unlink(probe)


def write_dir_atomically(path: str | Path, fill: Callable[[Path], None]) -> Path:
    """Call `fill(tmp)` to write a new directory's files, then swap it in at `path`.

    The previous directory stays in place until the new one is complete; a failure or Ctrl-C
    while filling removes the temporary directory and leaves `path` as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep(path)
    temp = Path(tempfile.mkdtemp(dir=path.parent, prefix=_prefix(path, "new")))
    try:
        os.chmod(temp, 0o777 & ~current_umask())  # mkdtemp makes it private; a report is not
        fill(temp)
        for file in temp.iterdir():
            if file.is_file():
                with file.open("rb") as handle:
                    os.fsync(handle.fileno())
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=_prefix(path, "old")))
            os.rmdir(old)
            os.replace(path, old)
            try:
                os.replace(temp, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, path)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return path


def _prefix(path: Path, kind: str) -> str:
    """Hidden work directories beside `path` carry the writer's process id, so a later run can
    tell those of a killed run (kill -9 runs no cleanup) from those of one still writing."""
    return f".{path.name}.{kind}-{os.getpid()}-"


def sweep(path: Path) -> None:
    """Remove the work directories that runs killed while writing `path` left beside it; if a
    run died in the middle of its swap, with `path` moved aside and the new one not yet in
    place, the previous report is put back first."""
    for kind in ("old", "new"):
        for leftover in sorted(path.parent.glob(f".{path.name}.{kind}-*")):
            pid = leftover.name.removeprefix(f".{path.name}.{kind}-").split("-")[0]
            if pid.isdigit() and _alive(int(pid)):
                continue
            if kind == "old" and not path.exists() and leftover.is_dir():
                os.replace(leftover, path)
            else:
                shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
