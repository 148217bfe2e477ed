"""The report's output directory: checked before any log is read, replaced in one step.

The report is written into a staging directory beside the output and renamed into place only
when every file is written, so a crash, Ctrl-C or full disk never leaves a half-written report
(or a previous report half-replaced). The staging directory is made first, which proves the
folder writable before the slow work starts, for root and read-only mounts alike.
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
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as ex:
        raise InputError(
            f"output folder is not writable ({ex.strerror})", path=out.parent
        ) from None
    try:
        yield stage
        stage.chmod(0o777 & ~_umask())
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(old / out.name)
            stage.rename(out)
            shutil.rmtree(old)
        else:
            stage.rename(out)
    finally:
        if stage.exists():
            shutil.rmtree(stage)


def _umask() -> int:
    """The process umask (mkdtemp makes 0700 directories; a report is for others to read)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
