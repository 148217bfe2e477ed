"""Where the lint forks its helper processes (readers, the plotter, a labels writer).

Forked processes inherit the loaded modules (a fresh interpreter would spend seconds importing
them) and need nothing from the parent's threads. `FORK` is None where forking is not safe
(macOS, Windows): the work stays in-process. This module imports nothing else, so that the
command line can start a helper before it loads the lint.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import sys

FORK = multiprocessing.get_context("fork") if sys.platform == "linux" else None


def settle_child() -> None:
    """First thing in a forked helper that runs one job and exits (the plotter, a labels
    writer): the parent handles Ctrl-C, and the objects inherited from it are never collected
    here, so their pages stay shared (a collection would touch, hence copy, every one)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
