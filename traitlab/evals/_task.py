"""`@task` for traitlab's evals: Inspect's decorator, with the task's `-T` arguments checked.

Inspect passes `-T KEY=VALUE` values to a task as YAML scalars and does not look at the task's
type hints, so `-T rounds=abc` reached the task as a string and ended, deep in a run, in a
259-line traceback about comparing a str with an int. Here every argument is checked against
its annotation when the task is built (pydantic, in lax mode: `-T turns=12` and `"12"` both
pass, `-T trait_ids=7` is the text "7"), range limits are declared in the signature
(`Annotated[int, Ge(1)]`, the aliases below) instead of checked by hand in each task, and any
one-line traitlab error raised while the task is built comes out as one line too.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from annotated_types import Ge, Gt, Le, Lt
from inspect_ai import Task
from inspect_ai import task as inspect_task
from pydantic import ConfigDict, TypeAdapter, ValidationError

from traitlab.errors import TaskArgumentError, TraitlabError, plain_message

Count = Annotated[int, Ge(1)]
"""A task argument that counts something there must be at least one of (turns, rounds)."""

Share = Annotated[float, Ge(0.0), Le(1.0)]
"""A task argument that is a share or a probability, from 0 to 1."""

_LENIENT = ConfigDict(coerce_numbers_to_str=True)
_BOUNDS = {
    Ge: ("at least", "ge"),
    Gt: ("more than", "gt"),
    Le: ("at most", "le"),
    Lt: ("under", "lt"),
}
_TYPES = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def task(func: Callable[..., Task]) -> Callable[..., Task]:
    """Inspect's `@task`, with each argument checked against the function's type hints.

    A bad value raises `TaskArgumentError` naming the argument and what it takes
    (``agentic_misalignment: -T rounds takes a whole number (at least 1), not 'abc'``),
    which Inspect's command line prints as one line. So does a `TraitlabError` the task raises
    while it is built (a persona file that is not there).
    """
    name = func.__name__
    signature = inspect.signature(func)
    hints = get_type_hints(func, include_extras=True)
    checks = {
        parameter: (hints[parameter], TypeAdapter(hints[parameter], config=_LENIENT))
        for parameter in signature.parameters
        if parameter in hints
    }

    @functools.wraps(func)
    def built(*args: Any, **kwargs: Any) -> Task:
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError as ex:  # an argument the task does not have (Inspect warns for -T)
            raise TaskArgumentError(f"{name}: {plain_message(ex)}") from None
        for parameter, value in bound.arguments.items():
            if parameter not in checks:
                continue
            hint, adapter = checks[parameter]
            try:
                bound.arguments[parameter] = adapter.validate_python(value)
            except ValidationError:
                raise TaskArgumentError(
                    f"{name}: -T {parameter} takes {describe(hint)}, not {value!r}"
                ) from None
        missing = [
            f"-T {p.name}=..."
            for p in signature.parameters.values()
            if p.default is inspect.Parameter.empty and p.name not in bound.arguments
        ]
        if missing:
            raise TaskArgumentError(f"{name}: needs {', '.join(missing)}")
        try:
            return func(*bound.args, **bound.kwargs)
        except TaskArgumentError:
            raise
        except TraitlabError as ex:
            raise TaskArgumentError(f"{name}: {plain_message(ex)}") from ex

    return inspect_task(built)


def describe(hint: Any) -> str:
    """What a type hint accepts, in words: ``Annotated[int, Ge(1)]`` -> "a whole number (at
    least 1)"; an optional argument is described by what it takes when given."""
    origin = get_origin(hint)
    if origin is Annotated:
        base, *limits = get_args(hint)
        bounds = [
            f"{_BOUNDS[type(limit)][0]} {getattr(limit, _BOUNDS[type(limit)][1]):g}"
            for limit in limits
            if type(limit) in _BOUNDS
        ]
        return describe(base) + (f" ({' and '.join(bounds)})" if bounds else "")
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in get_args(hint))
    if origin in (Union, types.UnionType):
        given = [describe(member) for member in get_args(hint) if member is not type(None)]
        return " or ".join(given)
    return _TYPES.get(hint, getattr(hint, "__name__", str(hint)))
