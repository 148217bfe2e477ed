"""`traitlab train MODE --config CONFIG.yaml`, registered on the main app by `traitlab.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def train_command(
    mode: Annotated[str, typer.Argument(help="midtrain, sft, dpo or bdpo.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML training config.")],
) -> None:
    """Train a checkpoint from a YAML config: OUTPUT/ in Hugging Face format, with a run card."""
    from traitlab.training.run import train

    card = train(mode, config)
    if card.status != "complete":
        return  # not the main process of a distributed run: it writes no card and prints nothing
    if card.already_complete:
        Console().print(
            f"{card.config['output']}: this run is already complete (finished {card.finished}); "
            "nothing was trained. Delete the directory or choose another output to train again."
        )
    table = Table(title=f"{card.mode} from {card.base_model}", show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for source, used in card.mixture.used.items():
        table.add_row(f"records: {source}", f"{used} of {card.mixture.available[source]}")
    if (cut := card.truncation) is not None:
        table.add_row(
            "trained tokens",
            f"{cut.trained_tokens_kept:,} of {cut.trained_tokens:,} kept by max_length "
            f"{cut.max_length}; {cut.examples_dropped} of {cut.examples} examples dropped",
        )
    if card.losses.first is not None and card.losses.final is not None:
        table.add_row("loss", f"{card.losses.first:.4g} -> {card.losses.final:.4g}")
    table.add_row("steps", str(card.losses.steps))
    if card.train_tokens and card.train_runtime_s:
        table.add_row("tokens/s", f"{card.train_tokens / card.train_runtime_s:,.0f}")
    table.add_row("checkpoint", str(card.config["output"]))
    console = Console()
    console.print(table)
    if card.truncation is not None and (warning := card.truncation.warning()):
        console.print(f"[yellow]warning:[/] {warning}")
