"""Sandboxes for agent commands: Docker where usable, else bubblewrap; `local` only on request.

Importing this package registers the `bwrap` sandbox with Inspect (``--sandbox bwrap``).
"""

from .bwrap import BwrapSandboxEnvironment
from .choice import SandboxKind, docker_available, sandbox_choice
from .config import BwrapConfig, BwrapLimits, BwrapMount
from .launcher import BwrapUnavailableError, bwrap_problem, find_bwrap

__all__ = [
    "BwrapConfig",
    "BwrapLimits",
    "BwrapMount",
    "BwrapSandboxEnvironment",
    "BwrapUnavailableError",
    "SandboxKind",
    "bwrap_problem",
    "docker_available",
    "find_bwrap",
    "sandbox_choice",
]
