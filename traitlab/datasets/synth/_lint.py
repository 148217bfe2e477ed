"""The data lint at the end of a generation run.

The lint (`traitlab/lint/`) is built separately. This hook runs it on the finished output when
the installed traitlab has its entry point, and otherwise says how to run it later, so a
generation run never fails because of the lint.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console


def lint_output(path: Path, console: Console) -> None:
    """Lint `path` and print the top patterns (or say the lint is not available)."""
    try:
        from traitlab.lint import lint_dataset  # type: ignore[attr-defined]
    except ImportError:
        console.print(
            f"lint: not available in this version; lint the output later with "
            f"`traitlab lint {path}` (skip this step with --no-lint)"
        )
        return
    console.print(lint_dataset(path))
