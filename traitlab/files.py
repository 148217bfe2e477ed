"""Writing output files so that a crash leaves the old file or the new one, never half of one.

`tempfile.mkstemp` creates its file with mode 0600, so a temp file renamed into place would make
every output private to its owner; on a shared cluster other users and jobs could not read the
data. `write_atomically` gives the file the mode a plain ``open(path, "w")`` would
(``0666 & ~umask``) before it is renamed, and is the one copy of temp file + fsync + rename in
the package.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: str | Path, chunks: Iterable[str]) -> Path:
    """Write text chunks to a temp file beside `path`, then rename it into place.

    The parent directory is created if needed. On any failure or Ctrl-C (while `chunks` is still
    being produced, too) the temp file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
