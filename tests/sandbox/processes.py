"""Finding processes on the host by their command line, for tests that a sandbox leaves none."""

from __future__ import annotations

import os
from pathlib import Path


def host_processes(command: str) -> list[int]:
    """Host processes whose command line starts with `command` (``sleep 4123``): the process
    itself, not a shell or a test whose own command line mentions it."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cmdline.startswith(command):
            found.append(int(pid))
    return found
