"""`traitlab` command line: thin commands over library functions that tests call directly.

User errors (`TraitlabError`) print as one line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from traitlab.datasets.synth.cli import generate
from traitlab.errors import TraitlabError
from traitlab.lint.cli import lint_app
from traitlab.report.cli import report_command
from traitlab.training.cli import train_command
from traitlab.traits import TraitsDocument

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
traits_app = typer.Typer(no_args_is_help=True, help="Inspect traits documents.")
app.add_typer(traits_app, name="traits")
app.add_typer(lint_app, name="lint")
app.command("generate")(generate)
app.command("train")(train_command)
app.command("report")(report_command)

console = Console()


@traits_app.command("show")
def traits_show(
    path: Annotated[
        Path | None, typer.Argument(help="Traits document (default: the bundled example).")
    ] = None,
) -> None:
    """Parse a traits document and print its traits as a table."""
    document = TraitsDocument.load(path)
    table = Table(title=document.title or str(document.source), show_lines=True)
    table.add_column("id", no_wrap=True)
    for column in ("section", "statement", "why", "trade-offs", "when not"):
        table.add_column(column, overflow="fold")
    for trait in document.traits:
        table.add_row(
            trait.id,
            " / ".join(trait.section),
            trait.statement,
            "yes" if trait.rationale else "",
            "yes" if trait.tradeoffs else "",
            "yes" if trait.when_not else "",
        )
    console.print(table)
    console.print(f"{len(document.traits)} traits from {document.source}")


def main() -> None:
    """Entry point: run the app, turning user errors into one line on stderr."""
    try:
        app()
    except TraitlabError as ex:
        print(f"error: {ex}", file=sys.stderr)
        sys.exit(2)
