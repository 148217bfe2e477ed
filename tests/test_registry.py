"""Every eval folder provides a versioned, documented task under its own name."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from inspect_ai import Task

from traitlab import evals
from traitlab.scores import declared_headline

EVALS = sorted(m.name for m in pkgutil.iter_modules(evals.__path__) if m.ispkg)


def test_every_issue_eval_is_present() -> None:
    expected = {
        "agentic_misalignment",
        "capability_sxs",
        "delusion_validation",
        "odcv",
        "smoke",
        "tool_use",
        "trait_audit",
        "trait_knowledge",
    }
    assert expected <= set(EVALS)


@pytest.mark.parametrize("name", EVALS)
def test_task_is_versioned_and_documented(name: str) -> None:
    module = importlib.import_module(f"traitlab.evals.{name}.{name}")
    factory = getattr(module, name)
    assert factory.__doc__ and "Args:" in factory.__doc__, (
        f"{name} needs a docstring with its -T args"
    )
    task = factory()
    assert isinstance(task, Task)
    assert isinstance(task.version, int) and task.version >= 1, f"{name}: pass version= to Task()"


@pytest.mark.parametrize("name", EVALS)
def test_task_declares_its_headline_metrics(name: str) -> None:
    """`traitlab report` reads the declaration, so every eval must make one."""
    module = importlib.import_module(f"traitlab.evals.{name}.{name}")
    headline = declared_headline(getattr(module, name)().metadata)
    assert headline, f"{name}: pass metadata=headline_metrics(...) to Task()"
    assert len({h.metric for h in headline}) == len(headline)


@pytest.mark.parametrize("name", EVALS)
def test_inspect_leads_with_the_declared_headline(name: str) -> None:
    """`inspect view` and `traitlab report` lead with the same number."""
    module = importlib.import_module(f"traitlab.evals.{name}.{name}")
    task = getattr(module, name)()
    [first, *_] = declared_headline(task.metadata)
    assert task.headline_metric is not None and task.headline_metric.metric == first.metric
