"""Inspect tasks, one folder each: ``traitlab/evals/<name>/<name>.py`` holds the @task.

Each task is declared with `traitlab.evals.task` (Inspect's `@task`, with its `-T` arguments
checked against the signature when the task is built); `Count` and `Share` are the argument
types with range limits that several tasks use.
"""

import importlib
import pkgutil

from traitlab.evals._task import Count, Share, task

__all__ = ["Count", "Share", "discover", "task"]


def discover() -> None:
    """Import every eval's task module, so each registers its task (and, where it has one, its
    checkable judge); adding an eval folder needs no edit anywhere else."""
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            importlib.import_module(f"{__name__}.{module.name}.{module.name}")
