"""Inspect tasks, one folder each: ``traitlab/evals/<name>/<name>.py`` holds the @task."""

import importlib
import pkgutil


def discover() -> None:
    """Import every eval's task module, so each registers its task (and, where it has one, its
    checkable judge); adding an eval folder needs no edit anywhere else."""
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            importlib.import_module(f"{__name__}.{module.name}.{module.name}")
