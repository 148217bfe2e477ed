"""Package exports imported on first use (PEP 562), so that `--help` stays fast.

A package whose public names pull in Inspect, pandas or torch would make every command that
merely imports one of its submodules (its `cli.py`, to print help) pay for those imports. Such a
package declares where each name lives and lets `lazy_exports` resolve them when first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``homes[name]`` and returns its ``name``."""

    def __getattr__(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(homes[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
