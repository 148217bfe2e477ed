"""The report's output directory: checked before any log is read, replaced in one step.

The report is written into a staging directory beside the output and renamed into place only
when every file is written, so a crash, Ctrl-C or full disk never leaves a half-written report
(or a previous report half-replaced). The staging directory is made first, which proves the
folder writable before the slow work starts, for root and read-only mounts alike.

The hidden staging and swap folders carry the id of the process that made them
(`.report.stage-PID-xxxx`, `.report.old-PID-xxxx`): a kill at the wrong moment leaves one
behind, and the next run removes those whose process is gone, never a running one's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from traitlab.errors import InputError


def check_output(out: Path, *, overwrite: bool) -> None:
    """One-line errors for an output path that is a file, or a non-empty directory."""
    if out.exists() and not out.is_dir():
        raise InputError(
            "output path is an existing file; give a directory for the report", path=out
        )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError("output directory is not empty; pass --overwrite to replace it", path=out)
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError("output folder's parent is a file, not a directory", path=parent)
            break


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A staging directory that becomes `out` when the block ends without an error."""
    out = out.absolute()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(out)
        stage = Path(tempfile.mkdtemp(prefix=_prefix(out, "stage"), dir=out.parent))
    except OSError as ex:
        raise InputError(
            f"output folder is not writable ({ex.strerror})", path=out.parent
        ) from None
    try:
        yield stage
        stage.chmod(0o777 & ~_umask())
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=_prefix(out, "old"), dir=out.parent))
            out.rename(old / out.name)
            stage.rename(out)
            shutil.rmtree(old)
        else:
            stage.rename(out)
    finally:
        if stage.exists():
            shutil.rmtree(stage)


def remove_stale(out: Path) -> list[Path]:
    """Remove the staging and swap folders beside `out` that a killed run left; return them.

    A folder is stale when the process named in it is no longer running; another report
    being written to the same place right now keeps its folders.
    """
    removed = []
    for kind in ("stage", "old"):
        prefix = f".{out.name}.{kind}-"
        for path in out.parent.iterdir():
            pid = path.name.removeprefix(prefix).partition("-")[0]
            if path.name.startswith(prefix) and pid.isdigit() and not _running(int(pid)):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _prefix(out: Path, kind: str) -> str:
    return f".{out.name}.{kind}-{os.getpid()}-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _umask() -> int:
    """The process umask (mkdtemp makes 0700 directories; a report is for others to read)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
