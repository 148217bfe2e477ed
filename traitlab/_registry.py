"""Inspect entry point: importing it registers the scripted provider, the sandbox, every task.

Each eval lives in ``traitlab/evals/<name>/<name>.py``; they are discovered here so that adding
an eval needs no edit to this file.
"""

import importlib
import pkgutil

import traitlab.sandbox  # noqa: F401  (registers the `bwrap` sandbox)
from traitlab import evals
from traitlab.models import scripted  # noqa: F401  (registers the `scripted` provider)

for _module in pkgutil.iter_modules(evals.__path__):
    if _module.ispkg:
        importlib.import_module(f"traitlab.evals.{_module.name}.{_module.name}")
