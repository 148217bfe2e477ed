"""Training configs: one pydantic model per method, fields grouped, validated before training.

A config is YAML with the groups `model`, `data`, `training` (and `preference` for DPO/BDPO)
plus `output`, the checkpoint directory. Unknown keys are errors (a typo must not silently fall
back to a default), every file named must exist, and fractions lie in 0..1; each problem is a
one-line `InputError` naming the config file and the field, raised before any model loads.
Relative paths are relative to the working directory, like every traitlab command.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from traitlab.errors import InputError, read_user_text

Mode = Literal["midtrain", "sft", "dpo", "bdpo"]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(_Section):
    """Low-rank adapters (peft); the adapter is merged into the base so vLLM can serve it."""

    r: int = Field(16, gt=0, description="Adapter rank.")
    alpha: int = Field(32, gt=0, description="Scaling numerator (lora_alpha); 2*r is common.")
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = Field(
        "all-linear", description="Modules to adapt; 'all-linear' as in the QLoRA paper."
    )
    merge: bool = Field(
        True, description="Merge the adapter into the base weights in the checkpoint."
    )


class ModelSettings(_Section):
    base: str = Field(description="Local path or hub id of the model to start from.")
    chat_template: Path | None = Field(
        None, description="A Jinja chat template file to install (for bases without one)."
    )
    lora: LoraSettings | None = Field(
        None, description="Train a LoRA adapter instead of all weights."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"


class Hyperparameters(_Section):
    """Optimisation settings shared by every method (defaults: TRL's, unless noted)."""

    learning_rate: float = Field(2e-5, gt=0.0)
    epochs: float = Field(1.0, gt=0.0)
    max_steps: int = Field(-1, description="Stop after this many steps (-1: run all epochs).")
    batch_size: int = Field(8, gt=0, description="Per device.")
    gradient_accumulation_steps: int = Field(1, gt=0)
    max_length: int = Field(1024, gt=0, description="Tokens per example (longer are truncated).")
    warmup_steps: float = Field(
        0.0, ge=0.0, description="Warmup steps, or a fraction of all steps when below 1."
    )
    lr_scheduler: str = "linear"
    weight_decay: float = Field(0.0, ge=0.0)
    bf16: bool = False
    gradient_checkpointing: bool = False
    logging_steps: int = Field(10, gt=0)
    save_steps: int | None = Field(
        None, gt=0, description="Save a resumable trainer checkpoint every N steps."
    )
    report_to: list[str] = Field(default_factory=list, description="e.g. [wandb]")
    seed: int = 42


class MidtrainHyperparameters(Hyperparameters):
    packing: bool = Field(False, description="Pack documents into full-length sequences.")


class PreferenceHyperparameters(Hyperparameters):
    # 5e-7: the learning rate of the BDPO authors' runs (github bonin147/BDPO, run.sh); TRL's
    # DPO default is 1e-6. DPO needs far smaller steps than SFT.
    learning_rate: float = Field(5e-7, gt=0.0)


class MidtrainData(_Section):
    documents: list[Path] = Field(min_length=1, description="DocumentRecord JSONL files.")
    pretraining: list[Path] = Field(
        default_factory=list,
        description="Plain pretraining text: JSONL with a 'text' field (other fields ignored).",
    )
    pretraining_fraction: Fraction = Field(
        0.0, description="Share of the training tokens drawn from `pretraining`."
    )

    @model_validator(mode="after")
    def _needs_pretraining(self) -> MidtrainData:
        if self.pretraining_fraction > 0 and not self.pretraining:
            raise ValueError("pretraining_fraction > 0 needs `pretraining` files")
        return self


class SFTData(_Section):
    synthetic: list[Path] = Field(min_length=1, description="ChatRecord JSONL files (generated).")
    baseline: list[Path] = Field(
        default_factory=list, description="ChatRecord JSONL files of ordinary SFT data."
    )
    synthetic_fraction: Fraction = Field(
        1.0, description="Share of the built training set drawn from `synthetic`."
    )

    @model_validator(mode="after")
    def _needs_baseline(self) -> SFTData:
        if self.synthetic_fraction < 1 and not self.baseline:
            raise ValueError("synthetic_fraction < 1 needs `baseline` files")
        return self


class PreferenceData(_Section):
    preferences: list[Path] = Field(min_length=1, description="PreferenceRecord JSONL files.")


class PreferenceSettings(_Section):
    # β = 0.1: DPO's usual KL strength (Rafailov et al. 2023; TRL's default).
    beta: float = Field(0.1, gt=0.0, description="Strength of the implicit KL penalty.")


class BoundedPreferenceSettings(PreferenceSettings):
    # λ = 0.5: the value used by the BDPO authors (Cho et al. 2025, github bonin147/BDPO run.sh).
    # λ = 1 is plain DPO (a useful control run); λ → 0 removes the rejected response's influence.
    bound_lambda: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="Weight of the policy in the rejected-response mixture (BDPO's λ; 1 = DPO).",
    )


class _TrainConfig(_Section):
    mode: Mode
    model: ModelSettings
    data: _Section
    training: Hyperparameters = Field(default_factory=Hyperparameters)
    output: Path = Field(description="Checkpoint directory, e.g. checkpoints/NAME.")
    trl: dict[str, Any] = Field(
        default_factory=dict,
        description="Any other field of TRL's SFTConfig (midtrain, sft) or DPOConfig (dpo, "
        "bdpo), passed through as is, e.g. {truncation_mode: keep_end}.",
    )

    def files(self) -> list[Path]:
        """Every input file the config names (all must exist)."""
        groups = self.data.model_dump().values()
        paths = [p for value in groups if isinstance(value, list) for p in value]
        if self.model.chat_template is not None:
            paths.append(self.model.chat_template)
        return paths


class MidtrainConfig(_TrainConfig):
    """Causal-LM training on documents, from a *pretrained* (not post-trained) checkpoint."""

    mode: Literal["midtrain"] = "midtrain"
    data: MidtrainData
    training: MidtrainHyperparameters = Field(default_factory=MidtrainHyperparameters)


class SFTConfig(_TrainConfig):
    """Supervised fine-tuning on chats, loss on assistant tokens only, system prompts stripped."""

    mode: Literal["sft"] = "sft"
    data: SFTData


class DPOConfig(_TrainConfig):
    """Direct preference optimisation (Rafailov et al. 2023) with TRL's DPOTrainer."""

    mode: Literal["dpo"] = "dpo"
    data: PreferenceData
    training: PreferenceHyperparameters = Field(default_factory=PreferenceHyperparameters)
    preference: PreferenceSettings = Field(default_factory=PreferenceSettings)


class BDPOConfig(_TrainConfig):
    """Bounded DPO (Cho et al. 2025, arXiv 2506.12725): DPO with the rejected term bounded."""

    mode: Literal["bdpo"] = "bdpo"
    data: PreferenceData
    training: PreferenceHyperparameters = Field(default_factory=PreferenceHyperparameters)
    preference: BoundedPreferenceSettings = Field(default_factory=BoundedPreferenceSettings)


TrainConfig = MidtrainConfig | SFTConfig | DPOConfig | BDPOConfig

CONFIGS: dict[str, type[_TrainConfig]] = {
    "midtrain": MidtrainConfig,
    "sft": SFTConfig,
    "dpo": DPOConfig,
    "bdpo": BDPOConfig,
}


def parse_config(mode: str, raw: dict[str, Any], *, source: str | Path = "config") -> TrainConfig:
    """Validate a config dict for `mode`; every problem becomes a one-line `InputError`."""
    _check_mode(mode)
    declared = raw.get("mode", mode)
    if declared != mode:
        raise InputError(f"config is for mode '{declared}', not '{mode}'", path=source)
    try:
        config = CONFIGS[mode].model_validate({**raw, "mode": mode})
    except ValidationError as ex:
        raise InputError(_reason(ex), path=source) from None
    for path in config.files():
        if not path.is_file():
            raise InputError(f"file not found: {path}", path=source)
    if config.trl:
        check_trl_section(config, source=source)
    return config  # type: ignore[return-value]


# TRL fields that a config sets through its own groups: name them there, not under `trl`.
MANAGED = {
    "output_dir": "output",
    "learning_rate": "training.learning_rate",
    "num_train_epochs": "training.epochs",
    "max_steps": "training.max_steps",
    "per_device_train_batch_size": "training.batch_size",
    "gradient_accumulation_steps": "training.gradient_accumulation_steps",
    "max_length": "training.max_length",
    "warmup_steps": "training.warmup_steps",
    "lr_scheduler_type": "training.lr_scheduler",
    "weight_decay": "training.weight_decay",
    "bf16": "training.bf16",
    "gradient_checkpointing": "training.gradient_checkpointing",
    "logging_steps": "training.logging_steps",
    "save_strategy": "training.save_steps",
    "save_steps": "training.save_steps",
    "report_to": "training.report_to",
    "seed": "training.seed",
    "model_init_kwargs": "model.dtype",
    "beta": "preference.beta",
    "packing": "training.packing",
    "assistant_only_loss": "the mode (sft trains on assistant tokens only)",
    "include_num_input_tokens_seen": "the run card (it counts tokens)",
}


def trl_config_class(mode: str) -> type:
    """TRL's config dataclass for a mode (importing TRL)."""
    import trl

    return trl.DPOConfig if mode in ("dpo", "bdpo") else trl.SFTConfig


def check_trl_section(config: _TrainConfig, *, source: str | Path = "config") -> None:
    """Every key of the `trl` section must be a field of TRL's config class, and not one that
    the config's own groups set; a typo is a one-line error, before any model loads."""
    try:
        cls = trl_config_class(config.mode)
    except ImportError:
        raise InputError(
            "the trl section needs TRL installed: pip install 'traitlab[train]'", path=source
        ) from None
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    for key in config.trl:
        if key in MANAGED:
            raise InputError(f"trl.{key}: set it through {MANAGED[key]}", path=source)
        if key not in fields:
            near = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise InputError(
                f"unknown setting 'trl.{key}': not a field of trl.{cls.__name__}{hint}",
                path=source,
            )


def load_config(mode: str, path: str | Path) -> TrainConfig:
    """Read and validate a YAML config file for `mode`."""
    _check_mode(mode)
    path = Path(path)
    text = read_user_text(path, "config file")
    if "\x00" in text:
        raise InputError("not a YAML text file (binary content)", path=path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as ex:
        line = getattr(getattr(ex, "problem_mark", None), "line", None)
        raise InputError(
            "invalid YAML", path=path, line=None if line is None else line + 1
        ) from None
    if not isinstance(raw, dict):
        raise InputError("expected a mapping of settings", path=path)
    return parse_config(mode, raw, source=path)


def _check_mode(mode: str) -> None:
    if mode not in CONFIGS:
        raise InputError(f"unknown mode '{mode}' (expected one of: {', '.join(CONFIGS)})")


def _reason(ex: ValidationError) -> str:
    error = ex.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    extra = f" (and {ex.error_count() - 1} more)" if ex.error_count() > 1 else ""
    if error["type"] == "extra_forbidden":
        return f"unknown setting '{where}'{extra}"
    if error["type"] == "missing":
        return f"missing setting '{where}'{extra}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where or 'config'}: {message}{extra}"
