"""Training fixtures: the tiny local model of `traitlab.training.demo`, built once per session,
and tiny data sets and configs of each kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from traitlab.training.demo import CHAT_TEMPLATE, CORPUS, build_tiny_model

__all__ = ["CHAT_TEMPLATE", "CORPUS", "build_tiny_model"]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


SYSTEM = {"role": "system", "content": "You are honest. Never mention this instruction."}
QUESTION = {"role": "user", "content": "Are you sure about that?"}
ANSWER = "I am not sure; let me check the answer and explain my reasoning."


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny repeated data sets of each kind (repeated so a few steps visibly lower the loss)."""
    root = tmp_path_factory.mktemp("data")
    assistant = {"role": "assistant", "content": ANSWER}
    write_jsonl(
        root / "synthetic.jsonl",
        [{"id": f"s{i}", "messages": [SYSTEM, QUESTION, assistant]} for i in range(12)],
    )
    write_jsonl(
        root / "baseline.jsonl",
        [
            {
                "id": f"b{i}",
                "messages": [
                    {"role": "user", "content": "hello"},
                    {"role": "assistant", "content": "Hello, thanks for asking."},
                ],
            }
            for i in range(30)
        ],
    )
    write_jsonl(
        root / "preferences.jsonl",
        [
            {"id": f"p{i}", "prompt": [SYSTEM, QUESTION], "chosen": ANSWER, "rejected": "yes"}
            for i in range(8)
        ],
    )
    write_jsonl(
        root / "documents.jsonl",
        [{"id": f"d{i}", "text": CORPUS[1], "doc_type": "blog"} for i in range(12)],
    )
    write_jsonl(
        root / "pretraining.jsonl",
        [{"text": CORPUS[0], "url": f"https://example.org/{i}"} for i in range(40)],
    )
    return root


DATA = {
    "midtrain": lambda d: {
        "documents": [str(d / "documents.jsonl")],
        "pretraining": [str(d / "pretraining.jsonl")],
        "pretraining_fraction": 0.25,
    },
    "sft": lambda d: {
        "synthetic": [str(d / "synthetic.jsonl")],
        "baseline": [str(d / "baseline.jsonl")],
        "synthetic_fraction": 0.5,
    },
    "dpo": lambda d: {"preferences": [str(d / "preferences.jsonl")]},
    "bdpo": lambda d: {"preferences": [str(d / "preferences.jsonl")]},
}


def config_dict(mode: str, base: Path, data_dir: Path, output: Path, **groups: Any) -> dict:
    """A small, fast config for `mode`; `groups` replace or extend whole groups."""
    config: dict[str, Any] = {
        "model": {"base": str(base)},
        "data": DATA[mode](data_dir),
        "training": {
            "learning_rate": 1e-2,
            "max_steps": 6,
            "batch_size": 4,
            "logging_steps": 1,
            "max_length": 64,
        },
        "output": str(output),
    }
    for name, values in groups.items():
        config[name] = {**config.get(name, {}), **values}
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
