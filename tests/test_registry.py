"""Every eval folder provides a versioned, documented task under its own name."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from inspect_ai import Task
from inspect_ai.util import registry_info

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


def _metrics_of(task: Task) -> list[object]:
    """The task's own metrics (its default few) and every scorer's (its breakdowns)."""
    found: list[object] = list(task.metrics or [])
    for scorer in task.scorer or []:
        declared = registry_info(scorer).metadata.get("metrics") or []
        for entry in declared if isinstance(declared, list) else [declared]:
            if isinstance(entry, dict):
                found.extend(m for ms in entry.values() for m in ms)
            else:
                found.append(entry)
    return found


@pytest.mark.parametrize("name", EVALS)
def test_every_metric_counts_every_epoch(name: str) -> None:
    """Epochs count by construction: each metric takes unreduced scores, whatever the reducer.

    A metric left at Inspect's default would see one mean per sample under ``--epochs 3``, and a
    rate would threshold 0.33 to 0 (DESIGN principle 4; traitlab.scores.sample_metric).
    """
    module = importlib.import_module(f"traitlab.evals.{name}.{name}")
    task = getattr(module, name)()
    metrics = _metrics_of(task)
    assert metrics, f"{name}: no metrics found on its scorers"
    reduced = [
        registry_info(m).name
        for m in metrics
        if registry_info(m).metadata.get("scores") != "unreduced"
    ]
    assert not reduced, f"{name}: declare these with traitlab.scores.sample_metric: {reduced}"


def test_the_epoch_rule_catches_a_plain_metric() -> None:
    """A planted violation: Inspect's own `accuracy()` averages epochs before it counts."""
    from inspect_ai.scorer import accuracy, includes

    from traitlab.scores import rate

    planted = Task(scorer=includes(), metrics=None)
    plain = [registry_info(m).metadata.get("scores") for m in _metrics_of(planted)]
    assert plain and "unreduced" not in plain
    assert registry_info(accuracy()).metadata.get("scores") != "unreduced"
    assert registry_info(rate("x")).metadata.get("scores") == "unreduced"
