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
import hashlib
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from traitlab.errors import InputError, on_interrupt, plain_message
from traitlab.files import current_umask
from traitlab.training.config import (
    BDPOConfig,
    DPOConfig,
    MidtrainConfig,
    SFTConfig,
    TrainConfig,
    check_trl_section,
    load_config,
)
from traitlab.training.data import build_training_set, chunk_documents, count_truncation
from traitlab.training.run_card import RunCard, Session, Tokens, check_output

logger = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
TRAINER_DIR = "trainer"


def train(mode: str, config_path: str | Path) -> RunCard:
    """Train from a YAML config file for `mode` (midtrain, sft, dpo, bdpo)."""
    return run(load_config(mode, config_path))


def run(config: TrainConfig) -> RunCard:
    """Train from a validated config and return the completed run card."""
    check_base(config)  # first: a wrong name is told before torch takes seconds to import
    _require_training_packages()
    tokenizer = load_tokenizer(config)
    data = build_training_set(config, tokenizer)
    if not data.rows:
        raise InputError("the data files hold no records to train on")
    card = RunCard.start(config, data)
    earlier = check_output(config.output, card)
    if earlier is not None and earlier.status == "complete":
        # The same run, already done: training again would redo it and double its tokens.
        logger.warning("%s: this run is already complete; nothing to train", config.output)
        earlier.already_complete = True
        return earlier
    if earlier is not None:
        card.sessions = earlier.sessions  # a resumed run: its earlier sessions count too
    args = training_args(config)
    check_lora_targets(config)
    rows = data.rows
    if isinstance(config, MidtrainConfig):
        rows, counts = chunk_documents(rows, tokenizer, config.training.max_length)
        card.tokens = Tokens(**vars(counts))
    else:
        mode = config.trl.get("truncation_mode", "keep_start")
        card.truncation = count_truncation(rows, tokenizer, config.training.max_length, mode=mode)
        if warning := card.truncation.warning():
            logger.warning(warning)

    trainer = build_trainer(config, tokenizer, rows, args)
    card.base_revision = base_revision(config.model.base)
    trainer.add_callback(card_callback(card, config.output))
    if trainer.is_world_process_zero():
        card.write(config.output)
    checkpoints = sorted((config.output / TRAINER_DIR).glob("checkpoint-*"))
    try:
        with on_interrupt(lambda: interrupted_line(config.output)):
            trainer.train(resume_from_checkpoint=bool(checkpoints))
    except KeyboardInterrupt:
        if trainer.is_world_process_zero():
            card.status = "interrupted"
            card.write(config.output)
        raise

    lora = config.model.lora
    trainer.save_model(str(config.output / ADAPTER_DIR if lora else config.output))
    if lora and lora.merge and trainer.is_world_process_zero():
        merge_adapter(config.model.base, config.output / ADAPTER_DIR, config.output)
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        share_weights(config.output)
        card.finish(trainer.state.log_history)
        card.write(config.output)
        for checkpoint in (config.output / TRAINER_DIR).glob("checkpoint-*"):
            shutil.rmtree(checkpoint)  # resumable state is dead weight once the run is complete
        with contextlib.suppress(OSError):
            (config.output / TRAINER_DIR).rmdir()  # unless loggers left files there
    return card


def share_weights(output: Path) -> None:
    """Give the weight files the mode every other output gets (``0666 & ~umask``): the
    safetensors writer makes them 0600 whatever the umask, so on a shared cluster nobody else
    (an eval job under another user, a colleague) could load the checkpoint."""
    mode = 0o666 & ~current_umask()
    for weights in output.rglob("*.safetensors"):
        weights.chmod(mode)


def interrupted_line(output: Path) -> str:
    """What a stopped run keeps, and how to go on (the line the CLI prints for Ctrl-C)."""
    steps = [int(c.name.split("-")[-1]) for c in (output / TRAINER_DIR).glob("checkpoint-*")]
    steps = [step for step in steps if (output / TRAINER_DIR / f"checkpoint-{step}").is_dir()]
    if not steps:
        return (
            f"no checkpoint was saved, so the next run starts from step 0 (set "
            f"training.save_steps to make runs resumable); the run card in {output} says "
            "'interrupted'"
        )
    return (
        f"kept the checkpoint of step {max(steps)} in {output / TRAINER_DIR} and the run card "
        f"(status 'interrupted'); run the same command to resume from step {max(steps)}"
    )


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


_WEIGHTS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json", "*.pt")
# `{% generation %}` (with optional whitespace control): where TRL finds the assistant tokens.
_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


def check_base(config: TrainConfig) -> None:
    """A local base must be a model directory with a config and weights; checked (one line)
    before anything loads. A name of the form ORG/NAME that is not a local path is a hub id."""
    base = config.model.base
    path = Path(base).expanduser()
    where = f"model.base '{base}'"
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{where}: not a directory (a model is a folder with config.json)")
        if not (path / "config.json").is_file():
            holds = "a tokenizer but " if (path / "tokenizer_config.json").exists() else ""
            raise InputError(f"{where}: holds {holds}no config.json, so no model to train")
        if not any(any(path.glob(pattern)) for pattern in _WEIGHTS):
            raise InputError(f"{where}: holds a config but no weights (*.safetensors or *.bin)")
        return
    # ORG/NAME is a hub id, unless ORG is a local folder (checkpoints/NAME): then it is a path.
    looks_local = (
        (base.startswith(("/", ".", "~")) or base.count("/") != 1 or "\\" in base)
        or path.parent.is_dir()
        and str(path.parent) != "."
    )
    if looks_local:
        raise InputError(f"{where}: no such directory (and not a hub id of the form ORG/NAME)")
    check_hub_model(base, where)


def check_hub_model(repo: str, where: str) -> None:
    """A hub id must name a model the hub has, or one in the local cache when the hub is off
    (HF_HUB_OFFLINE) or unreachable: asked once, with a short timeout, so that a wrong name or
    a machine without network is one line in seconds, not a minute of retries."""
    try:
        from huggingface_hub import HfApi, constants, try_to_load_from_cache
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
    except ImportError:
        return  # without the train extra: `_require_training_packages` says what to install

    cached = isinstance(try_to_load_from_cache(repo, "config.json"), str)
    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    if constants.HF_HUB_OFFLINE or flag:
        if not cached:
            raise InputError(
                f"{where}: not in the local hub cache, and HF_HUB_OFFLINE is set (unset it to "
                "download the model, or give a local directory)"
            )
        return
    try:
        HfApi().model_info(repo, timeout=HUB_TIMEOUT_S)
    except GatedRepoError:
        raise InputError(
            f"{where}: a gated model: accept its terms on the hub and log in (hf auth login)"
        ) from None
    except RepositoryNotFoundError:
        raise InputError(
            f"{where}: no such model on the hub (or a private one: log in with hf auth login)"
        ) from None
    except Exception as ex:  # noqa: BLE001  (no network, DNS, proxy, timeout: all 'unreachable')
        if cached:
            raise InputError(
                f"{where}: the hub is unreachable ({plain_message(ex)}); the model is in the "
                "local cache: set HF_HUB_OFFLINE=1 to train from it"
            ) from None
        raise InputError(
            f"{where}: the hub is unreachable ({plain_message(ex)}) and the model is not in "
            "the local cache"
        ) from None


HUB_TIMEOUT_S = 10


def base_revision(base: str) -> str | None:
    """The base model's exact version: the hub commit it was loaded at, or for a local
    directory a SHA-256 over its config, weight and tokenizer files."""
    path = Path(base).expanduser()
    if path.is_dir():
        digest = hashlib.sha256()
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.name.endswith(_HASHED_SUFFIXES)
        )
        for file in files:
            digest.update(file.name.encode() + b"\0")
            with file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        return f"sha256:{digest.hexdigest()}"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(base, "config.json")
    except Exception:  # noqa: BLE001  (a revision we cannot find is recorded as unknown)
        return None
    return f"hub:{Path(cached).parent.name}" if isinstance(cached, str) else None


_HASHED_SUFFIXES = (".json", ".safetensors", ".bin", ".model", ".jinja", ".txt", ".tiktoken")


def load_tokenizer(config: TrainConfig) -> Any:
    """The base's tokenizer with the configured chat template; chat methods require one, and
    SFT (loss on assistant tokens only) one with `{% generation %}` markers or that TRL can
    patch (`_trainable_template`)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(config.model.base)
    except (OSError, ValueError) as ex:
        reason = str(ex).strip().splitlines()[0] if str(ex).strip() else type(ex).__name__
        raise InputError(
            f"model.base '{config.model.base}': not a local directory, and the hub could not "
            f"provide it ({reason})"
        ) from None
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
    elif isinstance(config, SFTConfig) and not _trainable_template(tokenizer):
        raise InputError(
            f"the chat template of {config.model.base} has no {{% generation %}} markers, which "
            "SFT needs to train on assistant tokens only, and TRL has no training version of it; "
            "set model.chat_template to a template with them (examples/train/chatml.jinja)"
        )
    return tokenizer


def _trainable_template(tokenizer: Any) -> bool:
    """Whether SFT can mask all but the assistant's tokens with this chat template: it has
    `{% generation %}` markers, or it is a stock template (Qwen2.5's, Llama 3's, ...) that TRL
    swaps for its own training version with them."""
    from trl.chat_template_utils import get_training_chat_template

    if _GENERATION_TAG.search(str(tokenizer.chat_template)):
        return True
    try:
        get_training_chat_template(tokenizer)
    except ValueError:
        return False
    return True


def training_args(config: TrainConfig) -> Any:
    """TRL's config object for the method: the config's groups, then its `trl` section.

    Built before anything loads, so a bad value in the `trl` section is a one-line error.
    """
    import trl

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
        "include_num_input_tokens_seen": True,
    }
    if isinstance(config, DPOConfig | BDPOConfig):
        cls, specific = trl.DPOConfig, {"beta": config.preference.beta}
    else:
        midtrain = isinstance(config, MidtrainConfig)
        cls = trl.SFTConfig
        specific = {
            "assistant_only_loss": not midtrain,
            "packing": midtrain and config.training.packing,
        }
    check_trl_section(config)
    _check_reporting(config.training.report_to)
    try:
        args = cls(**common, **specific, **config.trl)
    except (TypeError, ValueError) as ex:
        reason = " ".join(str(ex).split()) or type(ex).__name__
        raise InputError(f"trl: trl.{cls.__name__} refused these settings ({reason})") from None
    if getattr(args, "padding_free", False) and not getattr(args, "packing", False):
        # SFTTrainer refuses this only once the weights are loaded.
        raise InputError(
            "trl.padding_free needs packing (training.packing, midtrain only): without it "
            "max_length is not enforced"
        )
    return args


def _check_reporting(names: list[str]) -> None:
    """Every logger in training.report_to is one transformers knows and is installed (the
    trainer finds out only after the weights load)."""
    from transformers.integrations.integration_utils import (
        INTEGRATION_TO_CALLBACK,
        get_available_reporting_integrations,
    )

    installed = get_available_reporting_integrations()
    for name in names:
        if name in ("all", "none"):
            continue
        if name not in INTEGRATION_TO_CALLBACK:
            known = ", ".join(INTEGRATION_TO_CALLBACK)
            raise InputError(f"training.report_to: unknown logger '{name}' (known: {known})")
        if name not in installed:
            raise InputError(f"training.report_to: {name} is not installed (pip install {name})")


def check_lora_targets(config: TrainConfig) -> None:
    """LoRA's target modules must name modules of the base model: checked on an empty
    (weightless) copy of its architecture, since peft finds out only after the weights load."""
    lora = config.model.lora
    if lora is None or lora.target_modules == "all-linear":
        return
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    with init_empty_weights():
        skeleton = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(config.model.base))
    names = [name for name, _ in skeleton.named_modules() if name]
    if isinstance(lora.target_modules, str):
        found = any(re.fullmatch(lora.target_modules, name) for name in names)
        missing = [] if found else [lora.target_modules]
    else:
        missing = [
            target
            for target in lora.target_modules
            if not any(name == target or name.endswith(f".{target}") for name in names)
        ]
    if missing:
        leaves = sorted({name.rsplit(".", 1)[-1] for name, module in skeleton.named_modules()
                         if name and not list(module.children())})  # fmt: skip
        raise InputError(
            f"model.lora.target_modules: {', '.join(missing)} not in {config.model.base} "
            f"(its modules: {', '.join(leaves)})"
        )


def build_trainer(
    config: TrainConfig, tokenizer: Any, rows: list[dict[str, Any]], args: Any
) -> Any:
    """The TRL trainer for the config's method (SFTTrainer for midtrain and SFT)."""
    import trl
    from datasets import Dataset

    dataset = Dataset.from_list(rows)
    kwargs: dict[str, Any] = {
        "model": config.model.base,
        "args": args,
        "train_dataset": dataset,
        "processing_class": tokenizer,
        "peft_config": _lora_config(config),
    }
    if isinstance(config, BDPOConfig):
        from traitlab.training.bdpo import BoundedDPOTrainer

        return BoundedDPOTrainer(**kwargs, bound_lambda=config.preference.bound_lambda)
    if isinstance(config, DPOConfig):
        return trl.DPOTrainer(**kwargs)
    return trl.SFTTrainer(**kwargs)


def card_callback(card: RunCard, output: Path) -> Any:
    """A trainer callback that keeps the run card's current session up to date (steps, time,
    tokens), so a crashed session still counts when the run is resumed."""
    from transformers import TrainerCallback

    class _CardCallback(TrainerCallback):  # type: ignore[misc]
        def on_train_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            self.clock = time.monotonic()
            self.tokens = int(state.num_input_tokens_seen or 0)
            card.sessions.append(Session(start_step=state.global_step, end_step=state.global_step))
            self._update(state)

        def on_log(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            self._update(state)

        def on_save(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            self._update(state)

        def on_train_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            self._update(state)

        def _update(self, state: Any) -> None:
            session = card.sessions[-1]
            session.end_step = state.global_step
            session.runtime_s = round(time.monotonic() - self.clock, 3)
            session.tokens = int(state.num_input_tokens_seen or 0) - self.tokens
            if state.is_world_process_zero:
                card.write(output)

    return _CardCallback()


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
