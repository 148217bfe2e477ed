"""Every task's `-T` arguments are checked when the task is built, with one line naming the
argument and what it takes (`traitlab.evals.task`), from Python and from Inspect's command line."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest
from annotated_types import Ge, Gt, Le
from inspect_ai import Task

from traitlab import evals
from traitlab.errors import InputError, TaskArgumentError
from traitlab.evals import Count, Share
from traitlab.evals._task import describe


def traitlab_tasks() -> dict[str, Callable[..., Task]]:
    """Every task function in the eval folders (a folder may hold more than one: odcv)."""
    found = {}
    for folder in (m.name for m in pkgutil.iter_modules(evals.__path__) if m.ispkg):
        module = importlib.import_module(f"traitlab.evals.{folder}.{folder}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and hasattr(function, "__wrapped__"):
                found[name] = function
    return found


TASKS = traitlab_tasks()


def wrong_value(hint: Any) -> Any:
    """A value of the wrong kind for `hint`: a list for text, a word for a number or a choice."""
    while get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    members = get_args(hint) if get_origin(hint) in (Union, type(int | None)) else (hint,)
    if str in members:
        return ["a", "b"]
    return "nope" if any(get_origin(m) is Literal for m in members) else "abc"


PARAMETERS = [
    (task_name, parameter, hint)
    for task_name, function in sorted(TASKS.items())
    for parameter, hint in get_type_hints(inspect.unwrap(function), include_extras=True).items()
    if parameter != "return"
]


def test_all_tasks_are_found() -> None:
    assert {"agentic_misalignment", "odcv", "odcv_upstream", "smoke", "trait_audit"} <= set(TASKS)
    assert len(PARAMETERS) > 50


@pytest.mark.parametrize(("task_name", "parameter", "hint"), PARAMETERS)
def test_a_value_of_the_wrong_kind_is_one_line_naming_the_argument(
    task_name: str, parameter: str, hint: Any
) -> None:
    value = wrong_value(hint)
    with pytest.raises(TaskArgumentError) as error:
        TASKS[task_name](**{parameter: value})
    message = str(error.value)
    assert message == f"{task_name}: -T {parameter} takes {describe(hint)}, not {value!r}"
    assert "\n" not in message and isinstance(error.value, InputError)


@pytest.mark.parametrize(
    ("task_name", "arguments", "expected"),
    [
        (
            "agentic_misalignment",
            {"rounds": 0},
            "-T rounds takes a whole number (at least 1), not 0",
        ),
        ("delusion_validation", {"turns": -2}, "-T turns takes a whole number (at least 1)"),
        ("delusion_validation", {"min_graded_share": 0}, "(more than 0 and at most 1), not 0"),
        ("trait_audit", {"realism_threshold": 1.5}, "a number (at least 0 and at most 1)"),
        ("odcv", {"max_steps": 0}, "-T max_steps takes a whole number (at least 1)"),
        ("odcv", {"quorum": 2.5}, "-T quorum takes a whole number (at least 1), not 2.5"),
        ("delusion_validation", {"target_role": "nurse"}, "one of 'therapist', 'assistant'"),
        ("odcv_upstream", {}, "odcv_upstream: needs -T path=..."),
        ("agentic_misalignment", {"templates": "a", "scenarios": "b"}, "not both"),
        ("smoke", {"traits": "/no/such/traits.md"}, "smoke: /no/such/traits.md: traits document"),
    ],
)
def test_limits_and_errors_while_building_are_one_line(
    task_name: str, arguments: dict[str, Any], expected: str
) -> None:
    with pytest.raises(TaskArgumentError) as error:
        TASKS[task_name](**arguments)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_values_of_the_right_kind_are_converted_as_the_signature_says() -> None:
    """YAML gives `-T turns=2` an int and `-T trait_ids=7` an int; both build."""
    task = TASKS["delusion_validation"](turns="2", persona_ids="dana-smart-meter")
    assert task.metadata is not None and task.metadata["turns"] == 2
    with pytest.raises(TaskArgumentError, match="unknown trait id '7'"):
        TASKS["smoke"](trait_ids=7)  # read as the text "7", then looked up


@pytest.mark.parametrize(
    ("hint", "words"),
    [
        (int, "a whole number"),
        (str | None, "text"),
        (Count | None, "a whole number (at least 1)"),
        (Share, "a number (at least 0 and at most 1)"),
        (Annotated[float, Gt(0.5), Le(2)], "a number (more than 0.5 and at most 2)"),
        (Annotated[int, Ge(3)], "a whole number (at least 3)"),
        (Literal["a", "b"], "one of 'a', 'b'"),
        (int | str, "a whole number or text"),
        (bool, "true or false"),
    ],
)
def test_describe(hint: Any, words: str) -> None:
    assert describe(hint) == words


@pytest.mark.slow
def test_inspect_eval_with_a_bad_argument_prints_one_line(tmp_path: Path) -> None:
    inspect_cli = Path(sys.executable).parent / "inspect"
    replies = tmp_path / "replies.json"
    replies.write_text('["hi"]')
    command = [str(inspect_cli), "eval", "traitlab/agentic_misalignment", "-T", "rounds=abc"]
    command += ["--model", "scripted/x", "-M", f"replies={replies}"]
    command += ["--log-dir", str(tmp_path / "logs"), "--display", "none"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: agentic_misalignment: -T rounds takes a whole number (at least 1), not 'abc'"
    ]
    assert not list((tmp_path / "logs").glob("*.eval")) if (tmp_path / "logs").exists() else True
