"""The bundled prompts are short and unique, and a bad prompts file fails before any model runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from traitlab.errors import InputError
from traitlab.evals.reply_patterns.dataset import prompt_dataset
from traitlab.evals.reply_patterns.reply_patterns import reply_patterns


def test_the_bundled_prompts_are_short_everyday_requests() -> None:
    samples = list(prompt_dataset())
    assert len(samples) == 30
    assert len({s.id for s in samples}) == len({s.input for s in samples}) == 30
    assert all(len(str(s.input).split()) <= 12 for s in samples)


def test_the_prompts_are_not_the_closed_loops_training_prompts() -> None:
    """The closed loop measures on held-out prompts, not on the chats the model memorised."""
    training = (Path(__file__).parents[3] / "examples" / "closed_loop" / "sft.jsonl").read_text()
    assert not [s.input for s in prompt_dataset() if str(s.input) in training]


def test_a_bad_prompts_file_is_one_line_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"id": "a", "prompt": "Hi?"}\n{"id": "b"}\n')
    with pytest.raises(InputError, match=r"prompts\.jsonl:2"):
        reply_patterns(prompts=str(path))
