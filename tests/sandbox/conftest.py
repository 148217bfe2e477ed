"""Sandbox test fixtures: a working bwrap (else a skip saying why) and one sample's sandbox."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from traitlab.sandbox import BwrapConfig, BwrapMount, BwrapSandboxEnvironment, bwrap_problem
from traitlab.sandbox.config import DEFAULT_HOST_PATHS


@pytest.fixture(scope="session")
def bwrap() -> None:
    """Skip when bwrap cannot build a sandbox on this machine (the reason is the skip message)."""
    problem = bwrap_problem()
    if problem is not None:
        pytest.skip(problem)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """A host folder seeding the sandbox's /app, as a scenario's files would."""
    folder = tmp_path / "scenario"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "records.csv").write_text("id,value\n1,10\n", encoding="utf-8")
    return folder


@pytest.fixture
def canary() -> Iterator[Path]:
    """A host file of the test's own that the sandbox shows read-only: escape attempts aim
    here, never at a system file (were the sandbox broken, a test must not harm the host).

    Outside pytest's private (mode 700) folders, so the sandbox's unprivileged user can see it,
    and writable by anyone, so that only the sandbox's read-only mount can stop a write.
    """
    folder = Path(tempfile.mkdtemp(prefix="canary-"))
    path = folder / "canary.txt"
    path.write_text("canary\n", encoding="utf-8")
    # Writable by anyone: only the sandbox's read-only mount may stop a write.
    folder.chmod(0o777)
    path.chmod(0o666)
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def config(scenario: Path, canary: Path) -> BwrapConfig:
    return BwrapConfig(
        mounts=[BwrapMount(path="/app", source=str(scenario)), BwrapMount(path="/usr/local/bin")],
        workdir="/app",
        host_paths=[*DEFAULT_HOST_PATHS, str(canary.parent)],
    )


@pytest.fixture
async def sandbox(bwrap: None, config: BwrapConfig) -> AsyncIterator[BwrapSandboxEnvironment]:
    """One sample's sandbox, driven directly (no eval), cleaned up afterwards."""
    await BwrapSandboxEnvironment.task_init("test", config)
    environments = await BwrapSandboxEnvironment.sample_init("test", config, {})
    yield environments["default"].as_type(BwrapSandboxEnvironment)
    await BwrapSandboxEnvironment.sample_cleanup("test", config, environments, False)
