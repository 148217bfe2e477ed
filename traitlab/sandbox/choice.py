"""Which sandbox an agentic eval runs its agent in (design principle 10).

Docker when a daemon answers, else bubblewrap when it can build a sandbox here, else an error
that names both problems. Inspect's `local` sandbox runs the agent's commands on the host as
the current user; it is used only when the user names it, and then with a warning, never as a
silent fallback.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import Literal

from traitlab.errors import InputError, TraitlabError

from .launcher import bwrap_problem

logger = logging.getLogger(__name__)

SandboxKind = Literal["docker", "bwrap", "local"]
DOCKER_TIMEOUT = 10
UNISOLATED_WARNING = (
    "sandbox 'local' chosen: the agent's commands run UNISOLATED on this host as the current "
    "user (they can read, change and delete your files and reach the network); use it only "
    "with a model you trust"
)


class NoSandboxError(TraitlabError, RuntimeError):
    """No isolated sandbox can run here; the message says why and what to do."""


def docker_problem() -> str | None:
    """Why Docker cannot run sandboxes here (`docker info` fails), or None when it can."""
    docker = shutil.which("docker")
    if docker is None:
        return "docker is not installed"
    try:
        done = subprocess.run(
            [docker, "info"], capture_output=True, text=True, timeout=DOCKER_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return f"`docker info` did not answer within {DOCKER_TIMEOUT}s"
    except OSError as ex:
        return f"`docker info` failed ({ex})"
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return f"`docker info` failed: {lines[-1] if lines else f'exit {done.returncode}'}"
    return None


def docker_available() -> bool:
    return docker_problem() is None


def sandbox_choice(requested: str | None = None) -> SandboxKind:
    """The sandbox to run agents in: `requested`, or for None/"auto" the best isolated one.

    A named sandbox that cannot work here is an error now, not a failure in the first sample.
    """
    kind = (requested or "auto").strip().lower()
    if kind == "local":
        logger.warning(UNISOLATED_WARNING)
        return "local"
    if kind == "docker":
        problem = docker_problem()
        if problem:
            raise NoSandboxError(f"sandbox 'docker' cannot run: {problem}")
        return "docker"
    if kind == "bwrap":
        problem = bwrap_problem()
        if problem:
            raise NoSandboxError(f"sandbox 'bwrap' cannot run: {problem}")
        return "bwrap"
    if kind != "auto":
        raise InputError(f"unknown sandbox {requested!r}: use auto, docker, bwrap or local")
    docker = docker_problem()
    if docker is None:
        return "docker"
    bwrap = bwrap_problem()
    if bwrap is None:
        return "bwrap"
    raise NoSandboxError(
        f"no isolated sandbox for the agent: Docker: {docker}; bubblewrap: {bwrap}. "
        "Start Docker or install bubblewrap, or name 'local' to run the agent unisolated "
        "on this host"
    )
