"""Training: midtraining, SFT with baseline mixing, DPO and bounded DPO, on TRL.

`train(mode, config_path)` validates a YAML config, builds the training set, trains, and writes
`OUTPUT/` in Hugging Face format with `run_card.json`. Torch, TRL and peft (the `train` extra)
are imported only when training runs, so configs and data can be checked without them.
"""

from traitlab.training.config import (
    BDPOConfig,
    DPOConfig,
    MidtrainConfig,
    SFTConfig,
    TrainConfig,
    load_config,
    parse_config,
)
from traitlab.training.data import TrainingSet, build_training_set, mix, mix_counts
from traitlab.training.run import merge_adapter, run, train
from traitlab.training.run_card import RUN_CARD, RunCard, check_output

__all__ = [
    "RUN_CARD",
    "BDPOConfig",
    "DPOConfig",
    "MidtrainConfig",
    "RunCard",
    "SFTConfig",
    "TrainConfig",
    "TrainingSet",
    "build_training_set",
    "check_output",
    "load_config",
    "merge_adapter",
    "mix",
    "mix_counts",
    "parse_config",
    "run",
    "train",
]
