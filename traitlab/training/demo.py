"""A tiny causal LM built offline, for the README's walk and the tests (no download, no GPU).

    python -m traitlab.training.demo checkpoints/tiny-base

writes a Llama config of about 100k parameters with random weights, a byte-level BPE tokenizer
trained here with `tokenizers`, and a chat template whose assistant turns carry
`{% generation %}` markers (so SFT can train on assistant tokens only). It trains in seconds on
a CPU and serves through Inspect's `hf/` provider; what it says is noise.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
        max_position_embeddings=1024,
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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m traitlab.training.demo OUTPUT_DIR")
    print(f"tiny model written to {build_tiny_model(Path(sys.argv[1]))}")
