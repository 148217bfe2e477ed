"""A tiny causal LM built offline once per test session: a Llama config of about 100k
parameters and a byte-level BPE tokenizer trained here with `tokenizers`, with a chat template
whose assistant turns carry `{% generation %}` markers (so TRL can mask everything else)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] }}<|end|>{% endgeneration %}"
    "{% else %}{{ message['content'] }}<|end|>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Honesty means saying what you believe is true, even when it is awkward.",
    "A careful assistant admits uncertainty and explains its reasoning.",
    "Curiosity: asking questions, checking answers, and changing one's mind.",
    "user assistant system tool hello thanks please yes no maybe",
    "0123456789 .,;:!?'\"()[]{}<>|/-_+=*&^%$#@~`",
]


def build_tiny_model(path: Path) -> Path:
    """Write a tiny Llama model, tokenizer and chat template to `path`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|end|>", "<|pad|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=384,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|end|>", pad_token="<|pad|>"
    )
    fast.chat_template = CHAT_TEMPLATE

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=48,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = fast.pad_token_id
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


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
