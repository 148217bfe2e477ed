"""`traitlab train MODE --config CONFIG.yaml`, registered on the main app by `traitlab.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def train_command(
    mode: Annotated[str, typer.Argument(help="midtrain, sft, dpo or bdpo.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML training config.")],
) -> None:
    """Train a checkpoint from a YAML config: OUTPUT/ in Hugging Face format, with a run card."""
    from traitlab.training.run import train

    card = train(mode, config)
    Console().print(
        f"{card.mode}: {card.losses.steps} steps, loss {card.losses.first:.4g} -> "
        f"{card.losses.final:.4g}; checkpoint and run_card.json in {card.config['output']}"
        if card.losses.first is not None
        else f"{card.mode}: checkpoint and run_card.json in {card.config['output']}"
    )
