"""Run a training config end to end: validate, build the data, train with TRL, save, card.

Everything a user can get wrong (config, data files, output directory, a base model without a
chat template) is checked before the model's weights load. The checkpoint in `output` is in
Hugging Face format (weights, tokenizer, chat template), so `inspect eval ... --model
hf/<output>` and `--model vllm/<output>` load it directly. The same call works under
`accelerate launch` (FSDP or DeepSpeed): the trainer gathers the weights to save, and the
merge and the run card happen on the main process only.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

from traitlab.errors import InputError
from traitlab.training.config import (
    BDPOConfig,
    DPOConfig,
    MidtrainConfig,
    TrainConfig,
    load_config,
)
from traitlab.training.data import TrainingSet, build_training_set
from traitlab.training.run_card import RunCard, check_output

logger = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
TRAINER_DIR = "trainer"


def train(mode: str, config_path: str | Path) -> RunCard:
    """Train from a YAML config file for `mode` (midtrain, sft, dpo, bdpo)."""
    return run(load_config(mode, config_path))


def run(config: TrainConfig) -> RunCard:
    """Train from a validated config and return the completed run card."""
    _require_training_packages()
    data = build_training_set(config)
    if not data.rows:
        raise InputError("the data files hold no records to train on")
    card = RunCard.start(config, data)
    check_output(config.output, card)
    tokenizer = load_tokenizer(config)

    trainer = build_trainer(config, tokenizer, data)
    if trainer.is_world_process_zero():
        card.write(config.output)
    checkpoints = sorted((config.output / TRAINER_DIR).glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=bool(checkpoints))

    lora = config.model.lora
    trainer.save_model(str(config.output / ADAPTER_DIR if lora else config.output))
    if lora and lora.merge and trainer.is_world_process_zero():
        merge_adapter(config.model.base, config.output / ADAPTER_DIR, config.output)
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        card.finish(trainer.state.log_history)
        card.write(config.output)
        for checkpoint in (config.output / TRAINER_DIR).glob("checkpoint-*"):
            shutil.rmtree(checkpoint)  # resumable state is dead weight once the run is complete
        with contextlib.suppress(OSError):
            (config.output / TRAINER_DIR).rmdir()  # unless loggers left files there
    return card


def merge_adapter(base: str, adapter: Path, output: Path) -> None:
    """Merge a LoRA adapter into a fresh copy of its base and save the whole model to `output`.

    Loading the base again (rather than merging the trained, possibly sharded, model in place)
    works the same after single-device, FSDP and DeepSpeed runs.
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base, dtype="auto")
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(output)
    AutoTokenizer.from_pretrained(str(adapter)).save_pretrained(output)


def _require_training_packages() -> None:
    try:
        import peft  # noqa: F401
        import trl  # noqa: F401
    except ImportError as ex:
        raise InputError(
            f"training needs the 'train' extra ({ex.name} is missing): "
            "pip install 'traitlab[train]'"
        ) from None


def load_tokenizer(config: TrainConfig) -> Any:
    """The base's tokenizer with the configured chat template; chat methods require one."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(config.model.base)
    except (OSError, ValueError) as ex:
        reason = str(ex).strip().splitlines()[0] if str(ex).strip() else type(ex).__name__
        raise InputError(f"model.base '{config.model.base}': cannot load it ({reason})") from None
    if config.model.chat_template is not None:
        tokenizer.chat_template = config.model.chat_template.read_text(encoding="utf-8")
    if isinstance(config, MidtrainConfig):
        if tokenizer.chat_template:
            logger.warning(
                "%s has a chat template: midtraining should start from a pretrained base, "
                "not a post-trained model (post-trained starts confounded results in practice)",
                config.model.base,
            )
    elif not tokenizer.chat_template:
        raise InputError(
            f"{config.model.base} has no chat template; set model.chat_template to a Jinja file"
        )
    return tokenizer


def build_trainer(config: TrainConfig, tokenizer: Any, data: TrainingSet) -> Any:
    """The TRL trainer for the config's method (SFTTrainer for midtrain and SFT)."""
    from datasets import Dataset

    dataset = Dataset.from_list(data.rows)
    common: dict[str, Any] = {
        "output_dir": str(config.output / TRAINER_DIR),
        "learning_rate": config.training.learning_rate,
        "num_train_epochs": config.training.epochs,
        "max_steps": config.training.max_steps,
        "per_device_train_batch_size": config.training.batch_size,
        "gradient_accumulation_steps": config.training.gradient_accumulation_steps,
        "max_length": config.training.max_length,
        "warmup_steps": config.training.warmup_steps,
        "lr_scheduler_type": config.training.lr_scheduler,
        "weight_decay": config.training.weight_decay,
        "bf16": config.training.bf16,
        "gradient_checkpointing": config.training.gradient_checkpointing,
        "logging_steps": config.training.logging_steps,
        "save_strategy": "steps" if config.training.save_steps else "no",
        "save_steps": config.training.save_steps or 500,
        "report_to": config.training.report_to or "none",
        "seed": config.training.seed,
        "model_init_kwargs": {"dtype": config.model.dtype},
    }
    peft_config = _lora_config(config)
    if isinstance(config, DPOConfig | BDPOConfig):
        import trl

        from traitlab.training.bdpo import BoundedDPOTrainer

        args = trl.DPOConfig(**common, beta=config.preference.beta)
        kwargs: dict[str, Any] = {
            "model": config.model.base,
            "args": args,
            "train_dataset": dataset,
            "processing_class": tokenizer,
            "peft_config": peft_config,
        }
        if isinstance(config, BDPOConfig):
            return BoundedDPOTrainer(**kwargs, bound_lambda=config.preference.bound_lambda)
        return trl.DPOTrainer(**kwargs)

    import trl

    args = trl.SFTConfig(
        **common,
        assistant_only_loss=not isinstance(config, MidtrainConfig),
        packing=isinstance(config, MidtrainConfig) and config.training.packing,
    )
    return trl.SFTTrainer(
        model=config.model.base,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
    )


def _lora_config(config: TrainConfig) -> Any:
    if config.model.lora is None:
        return None
    from peft import LoraConfig

    lora = config.model.lora
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )
