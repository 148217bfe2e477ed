"""Sandbox test fixtures: a working bwrap (else a skip saying why) and one sample's sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from traitlab.sandbox import BwrapConfig, BwrapMount, BwrapSandboxEnvironment, bwrap_problem


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
def config(scenario: Path) -> BwrapConfig:
    return BwrapConfig(
        mounts=[BwrapMount(path="/app", source=str(scenario)), BwrapMount(path="/usr/local/bin")],
        workdir="/app",
    )


@pytest.fixture
async def sandbox(bwrap: None, config: BwrapConfig) -> AsyncIterator[BwrapSandboxEnvironment]:
    """One sample's sandbox, driven directly (no eval), cleaned up afterwards."""
    await BwrapSandboxEnvironment.task_init("test", config)
    environments = await BwrapSandboxEnvironment.sample_init("test", config, {})
    yield environments["default"].as_type(BwrapSandboxEnvironment)
    await BwrapSandboxEnvironment.sample_cleanup("test", config, environments, False)
