"""Helpers for tests: scripted models and running tasks through `inspect_ai.eval`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inspect_ai import Task, eval
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import ChatMessage, GenerateConfig, Model, get_model
from inspect_ai.tool import ToolInfo

import traitlab.models  # noqa: F401  (registers the scripted provider)

PolicyFn = Callable[[list[ChatMessage], list[ToolInfo], GenerateConfig], Any]


def scripted(
    name: str = "model", *, policy: PolicyFn | None = None, replies: Sequence[Any] | None = None
) -> Model:
    """A fresh scripted model (never memoised, so scripts do not leak between tests)."""
    args: dict[str, Any] = {"policy": policy} if policy is not None else {"replies": replies}
    return get_model(f"scripted/{name}", memoize=False, **args)


def verifier(
    confirmed: bool = True, name: str = "verifier", seen: list[str] | None = None
) -> Model:
    """A scripted verifier (role ``verifier``) that confirms (or rejects) every finding; the
    prompts it was sent are appended to `seen`."""

    def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> str:
        if seen is not None:
            seen.append(messages[-1].text)
        return json.dumps({"explanation": "scripted verifier", "confirmed": confirmed})

    return scripted(name, policy=policy)


def run_task(
    task: Task,
    model: Model,
    log_dir: Path,
    model_roles: dict[str, Model | list[Model]] | None = None,
    **kwargs: Any,
) -> EvalLog:
    """Run one task end to end and return its log, failing loudly if the eval errored."""
    [log] = eval(
        task,
        model=model,
        model_roles=model_roles,
        log_dir=str(log_dir),
        display="none",
        **kwargs,
    )
    assert log.status == "success", log.error
    return log


def metrics(log: EvalLog, scorer: str | None = None) -> dict[str, float]:
    """The metrics of one scorer (the first when not named) as a flat dict."""
    assert log.results is not None
    for score in log.results.scores:
        if scorer is None or score.name == scorer:
            return {name: m.value for name, m in score.metrics.items()}
    raise KeyError(scorer)


def scripted_role(role: str, **model_args: str) -> str:
    """A ``--model-role`` value binding `role` to a scripted model with the given args."""
    args = ", ".join(f"{key}: '{value}'" for key, value in model_args.items())
    return f"{role}={{model: scripted/{role}, model_args: {{{args}}}}}"


def run_inspect_cli(args: list[str], log_dir: Path, *, eval_folders: Path | None = None) -> EvalLog:
    """Run ``inspect eval ARGS`` as a user would, and return the one log it wrote.

    `eval_folders`: a folder of extra eval folders (``<name>/<name>.py``) that the run finds
    as ``traitlab/<name>`` beside the installed ones, so a test can add an eval without
    writing into the package. The test tree is importable in the child
    (``-M policy=tests.evals...:judge``), as a user's own policies would be: through a folder
    holding only a link to it, since the repository root itself on PYTHONPATH would expose its
    build metadata and change how Inspect names the package's tasks.
    """
    inspect = Path(sys.executable).parent / "inspect"
    command = [str(inspect), "eval", *args, "--log-dir", str(log_dir), "--display", "none"]
    if eval_folders is not None:
        command = [sys.executable, "-c", _WITH_EVAL_FOLDERS, str(eval_folders), *command]
    with tempfile.TemporaryDirectory() as importable:
        (Path(importable) / "tests").symlink_to(Path(__file__).resolve().parent)
        path = os.pathsep.join(filter(None, [importable, os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    [log_file] = log_dir.glob("*.eval")
    return read_eval_log(str(log_file))


def by_epoch(*policies: PolicyFn) -> PolicyFn:
    """A target that plays `policies[n % len(policies)]` in the n-th conversation of a sample.

    A conversation is recognised by its first user message; a call with no assistant message
    yet starts the next one. Run with ``max_samples=1`` so conversations do not interleave.
    """
    started: dict[str, int] = {}

    def policy(messages: list[ChatMessage], tools: list[ToolInfo], config: GenerateConfig) -> Any:
        first = next((m.text for m in messages if m.role == "user"), "")
        if not any(m.role == "assistant" for m in messages):
            started[first] = started.get(first, -1) + 1
        return policies[started.get(first, 0) % len(policies)](messages, tools, config)

    return policy


# Runs the `inspect` script (argv[2:]) with argv[1] added to the folders that
# `traitlab._registry` looks through for eval folders.
_WITH_EVAL_FOLDERS = """
import runpy, sys
import traitlab.evals
traitlab.evals.__path__.append(sys.argv[1])
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
