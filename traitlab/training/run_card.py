"""The run card: what a checkpoint was trained from and how, written as `run_card.json` beside
the weights so that a result can always be traced to its data and settings.

It also guards the output directory: a directory that holds a run card with another
fingerprint (different config or different data) is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from traitlab.errors import InputError
from traitlab.files import write_atomically
from traitlab.training.config import TrainConfig
from traitlab.training.data import TrainingSet, TruncationCounts

RUN_CARD = "run_card.json"
PACKAGES = ("traitlab", "torch", "transformers", "trl", "peft", "accelerate", "datasets")


class DataFile(BaseModel):
    path: str
    source: str
    sha256: str
    records: int


class Mixture(BaseModel):
    fractions: dict[str, float]
    available: dict[str, int]
    used: dict[str, int]
    used_tokens: dict[str, int] | None = Field(
        None, description="Midtraining: tokens used per source; its fractions are of these."
    )


class Tokens(BaseModel):
    """What became of the training text's tokens (midtraining splits documents, keeping all)."""

    total: int
    kept: int
    dropped: int
    documents_split: int = Field(description="Documents longer than max_length, split.")
    sequences: int = Field(description="Training sequences after splitting.")


class Session(BaseModel):
    """One `traitlab train` process of this run (a resumed run has several)."""

    started: str = Field(default_factory=lambda: _now())
    start_step: int = 0
    end_step: int = 0
    runtime_s: float = 0.0
    tokens: int = Field(0, description="Input tokens processed in this session.")


class Losses(BaseModel):
    first: float | None = None
    final: float | None = None
    mean: float | None = None
    steps: int = 0


class RunCard(BaseModel):
    """Everything needed to trace and reproduce a checkpoint."""

    fingerprint: str
    status: Literal["running", "interrupted", "complete"] = "running"
    mode: str
    base_model: str
    base_revision: str | None = Field(
        None, description="hub:COMMIT the base was loaded at, or sha256:HASH of its local files."
    )
    code: dict[str, str] = Field(
        default_factory=dict,
        description="git commit (+dirty) of traitlab's checkout and of the working directory.",
    )
    data: list[DataFile]
    mixture: Mixture
    system_prompts_stripped: int
    alike_pairs_dropped: int = Field(
        0, description="Preference pairs left out: the rejected reply says what the chosen says."
    )
    seed: int
    config: dict[str, Any]
    packages: dict[str, str] = Field(default_factory=dict)
    losses: Losses = Field(default_factory=Losses)
    final_metrics: dict[str, float] = Field(
        default_factory=dict, description="The trainer's last logged step (rewards, log-probs)."
    )
    tokens: Tokens | None = None
    truncation: TruncationCounts | None = Field(
        None, description="What max_length cut from the trained tokens (sft, dpo, bdpo)."
    )
    sessions: list[Session] = Field(default_factory=list)
    train_runtime_s: float | None = Field(None, description="Training time, all sessions.")
    train_tokens: int | None = Field(None, description="Input tokens processed, all sessions.")
    started: str = Field(default_factory=lambda: _now())
    finished: str | None = None
    already_complete: bool = Field(
        False, exclude=True, description="Returned for a rerun of a complete run (not saved)."
    )

    @classmethod
    def start(cls, config: TrainConfig, data: TrainingSet) -> RunCard:
        files = [DataFile(**vars(f)) for f in data.files]
        settings = config.model_dump(mode="json")
        return cls(
            fingerprint=fingerprint(settings, files),
            mode=config.mode,
            base_model=config.model.base,
            data=files,
            mixture=Mixture(
                fractions=data.fractions,
                available=data.available,
                used=data.used,
                used_tokens=data.used_tokens,
            ),
            system_prompts_stripped=data.system_prompts_stripped,
            alike_pairs_dropped=data.alike_pairs_dropped,
            seed=config.training.seed,
            config=settings,
            packages=package_versions(),
            code=git_commits(),
            tokens=Tokens(**vars(data.tokens)) if data.tokens else None,
        )

    def finish(self, log_history: list[dict[str, Any]]) -> None:
        """Record the losses logged by the trainer and mark the run complete."""
        logged = [entry for entry in log_history if "loss" in entry]
        losses = [entry["loss"] for entry in logged]
        mean = next((e["train_loss"] for e in log_history if "train_loss" in e), None)
        if len(self.sessions) > 1 and logged:
            # The trainer's train_loss covers only the last session; the log (restored from
            # the checkpoint) covers them all: each logged loss weighs the steps since the last.
            steps = [0, *(entry["step"] for entry in logged)]
            spans = [after - before for before, after in zip(steps, steps[1:], strict=False)]
            mean = sum(e["loss"] * n for e, n in zip(logged, spans, strict=True)) / sum(spans)
        self.losses = Losses(
            first=losses[0] if losses else None,
            final=losses[-1] if losses else None,
            mean=mean,
            steps=max((e.get("step", 0) for e in log_history), default=0),
        )
        self.final_metrics = {
            k: float(v)
            for k, v in (logged[-1] if logged else {}).items()
            if isinstance(v, int | float)
        }
        if self.sessions:
            self.train_runtime_s = round(sum(s.runtime_s for s in self.sessions), 3)
            self.train_tokens = sum(s.tokens for s in self.sessions)
        else:
            self.train_runtime_s = next(
                (e["train_runtime"] for e in log_history if "train_runtime" in e), None
            )
            tokens = [e["num_tokens"] for e in log_history if "num_tokens" in e]
            self.train_tokens = int(max(tokens)) if tokens else None
        self.status = "complete"
        self.finished = _now()

    def write(self, directory: Path) -> Path:
        """Write `run_card.json` atomically."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / RUN_CARD
        return write_atomically(path, [self.model_dump_json(indent=2) + "\n"])

    @classmethod
    def read(cls, directory: Path) -> RunCard:
        path = directory / RUN_CARD
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("no run card in this directory", path=directory) from None
        except ValueError:
            raise InputError("unreadable run card", path=path) from None


# Settings that change how a run is watched, not what it trains: a run may be resumed with others.
BOOKKEEPING = ("logging_steps", "save_steps", "report_to")


def fingerprint(settings: dict[str, Any], files: list[DataFile]) -> str:
    """A hash of the settings and the data's contents: equal only for the same run."""
    training = {k: v for k, v in settings["training"].items() if k not in BOOKKEEPING}
    payload = {
        "settings": {**settings, "training": training},
        "data": [(f.source, f.sha256) for f in files],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def check_output(directory: Path, card: RunCard) -> RunCard | None:
    """Refuse an output directory that holds anything other than this same run, or that
    cannot be written; return the card of the same run found there (to resume), if any.

    The same run (equal fingerprint) may be resumed or redone; anything else is an error.
    """
    if directory.exists() and not directory.is_dir():
        raise InputError(
            "output is a file, not a directory: `output` names the checkpoint directory "
            "(e.g. checkpoints/NAME)",
            path=directory,
        )
    folder = directory
    while not folder.exists():
        folder = folder.parent
    if folder != directory and not folder.is_dir():
        raise InputError("cannot create the output directory: a file is in the way", path=folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError("output directory is not writable", path=folder)
    if not directory.exists():
        return None
    if not any(directory.iterdir()):
        return None
    if not (directory / RUN_CARD).exists():
        raise InputError(
            "output directory is not empty and holds no run card; choose another output",
            path=directory,
        )
    existing = RunCard.read(directory)
    if existing.fingerprint != card.fingerprint:
        raise InputError(
            f"output directory holds a different run ({existing.mode} from "
            f"{existing.base_model}, started {existing.started}); choose another output",
            path=directory,
        )
    return existing


def git_commits() -> dict[str, str]:
    """The git commit (with '+dirty' for uncommitted changes) of traitlab's own checkout and of
    the working directory, where each is a git repository (an installed wheel is not)."""
    found: dict[str, str] = {}
    places = {"traitlab": Path(__file__).resolve().parent, "working_directory": Path.cwd()}
    for name, place in places.items():
        try:
            top = _git(place, "rev-parse", "--show-toplevel")
            if top in {f.split("@")[0] for f in found.values()}:
                continue
            commit = _git(place, "rev-parse", "HEAD")
            dirty = bool(_git(place, "status", "--porcelain", "--untracked-files=no"))
        except (OSError, subprocess.SubprocessError):
            continue
        found[name] = f"{top}@{commit}{'+dirty' if dirty else ''}"
    return found


def _git(place: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=place, capture_output=True, text=True, timeout=10, check=True
    )
    return result.stdout.strip()


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
