"""`max_length` truncation is counted as TRL applies it: trained tokens kept and cut, examples
dropped; the run card carries the counts and the run warns above `TRUNCATION_WARNING`."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("trl")

from tests.training.conftest import ANSWER, config_dict, write_config, write_jsonl  # noqa: E402
from traitlab.training import build_training_set, parse_config, train  # noqa: E402
from traitlab.training.data import TRUNCATION_WARNING, count_truncation  # noqa: E402
from traitlab.training.run import build_trainer, load_tokenizer, training_args  # noqa: E402

LONG_PROMPT = "Please read all of this carefully before you answer me. " * 6


def chats(root: Path) -> Path:
    """Short chats, chats with a long reply, and chats whose prompt alone fills max_length."""
    rows = []
    for _ in range(4):
        for prompt, reply in (
            ("hi", "Hello, thanks for asking."),
            ("Are you sure?", ANSWER * 3),
            (LONG_PROMPT, "Yes."),
        ):
            messages = [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": reply},
            ]
            rows.append({"id": f"c{len(rows)}", "messages": messages})
    return write_jsonl(root / "chats.jsonl", rows)


def pairs(root: Path) -> Path:
    rows = [
        {"id": f"p{i}", "prompt": [{"role": "user", "content": prompt}], "chosen": ANSWER * 2,
         "rejected": "No."}
        for i, prompt in enumerate(["Are you sure?", LONG_PROMPT, "hi", LONG_PROMPT])
    ]  # fmt: skip
    return write_jsonl(root / "pairs.jsonl", rows)


@pytest.mark.slow
@pytest.mark.parametrize("truncation_mode", ["keep_start", "keep_end"])
def test_sft_counts_match_what_trl_trains_on(
    truncation_mode: str, tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    config = parse_config(
        "sft",
        config_dict(
            "sft", tiny_model, data_dir, tmp_path / "out",
            data={"synthetic": [str(chats(tmp_path))], "baseline": [], "synthetic_fraction": 1},
            training={"max_length": 40}, trl={"truncation_mode": truncation_mode},
        ),
    )  # fmt: skip
    tokenizer = load_tokenizer(config)
    rows = build_training_set(config).rows
    counts = count_truncation(rows, tokenizer, 40, mode=truncation_mode)
    trainer = build_trainer(config, tokenizer, rows, training_args(config))
    kept = trainer.train_dataset
    assert counts.examples == 12 and len(kept) == 12 - counts.examples_dropped
    assert counts.trained_tokens_kept == sum(
        sum(label != -100 for label in example["labels"]) for example in kept
    )
    assert 0 < counts.trained_tokens_kept < counts.trained_tokens
    assert counts.examples_truncated >= 4
    if truncation_mode == "keep_start":  # the long prompts leave no room for their reply
        assert counts.examples_dropped == 4


@pytest.mark.slow
def test_dpo_counts_match_what_trl_keeps(tiny_model: Path, data_dir: Path, tmp_path: Path) -> None:
    config = parse_config(
        "dpo",
        config_dict(
            "dpo", tiny_model, data_dir, tmp_path / "out",
            data={"preferences": [str(pairs(tmp_path))]}, training={"max_length": 40},
        ),
    )  # fmt: skip
    tokenizer = load_tokenizer(config)
    rows = build_training_set(config).rows
    counts = count_truncation(rows, tokenizer, 40)
    trainer = build_trainer(config, tokenizer, rows, training_args(config))
    assert counts.examples_dropped == 2 and len(trainer.train_dataset) == 2
    whole = sum(len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in trainer.train_dataset)
    assert counts.trained_tokens_kept < whole < counts.trained_tokens


@pytest.mark.slow
def test_the_card_counts_truncation_and_the_run_warns(
    tiny_model: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from traitlab.cli import app

    config = config_dict(
        "sft", tiny_model, data_dir, tmp_path / "out",
        data={"synthetic": [str(chats(tmp_path))], "baseline": [], "synthetic_fraction": 1},
        training={"max_length": 40, "max_steps": 1},
    )  # fmt: skip
    app(["train", "sft", "--config", str(write_config(tmp_path / "c.yaml", config))],
        standalone_mode=False)  # fmt: skip
    out = " ".join(capsys.readouterr().out.split())
    card = train("sft", write_config(tmp_path / "c.yaml", config))
    cut = card.truncation
    assert cut is not None and cut.examples_dropped == 4 and cut.cut_share > TRUNCATION_WARNING
    assert "trained tokens" in out and "warning: max_length 40 cuts" in out
    assert f"{cut.cut_share:.0%} of the trained tokens" in out
    assert "drops 4 of 12 examples entirely" in out


def test_no_warning_when_nothing_much_is_cut(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    config = parse_config("sft", config_dict("sft", tiny_model, data_dir, tmp_path / "out",
                                             training={"max_length": 512}))  # fmt: skip
    counts = count_truncation(build_training_set(config).rows, load_tokenizer(config), 512)
    assert counts.trained_tokens_kept == counts.trained_tokens > 0
    assert counts.warning() is None and counts.cut_share == 0
