"""Each method trains a few steps on a tiny local model, lowers its loss, saves a Hugging Face
checkpoint with its run card, and the checkpoint completes an eval through Inspect's `hf/`."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

pytest.importorskip("trl")

from inspect_ai import Task  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.model import GenerateConfig, get_model  # noqa: E402
from inspect_ai.scorer import includes  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from tests.helpers import run_task  # noqa: E402
from tests.training.conftest import ANSWER, config_dict, write_config  # noqa: E402
from traitlab.errors import InputError  # noqa: E402
from traitlab.training import RUN_CARD, RunCard, build_training_set, parse_config, train  # noqa: E402
from traitlab.training.run import (  # noqa: E402
    base_revision,
    build_trainer,
    load_tokenizer,
    training_args,
)

UMASK = 0o007
MODES = {
    # midtraining runs with a LoRA adapter, merged into the checkpoint for serving
    "midtrain": {"model": {"lora": {"r": 8, "alpha": 16, "dropout": 0.0}}},
    "sft": {},
    "dpo": {},
    "bdpo": {},
}


@pytest.fixture(scope="module", params=list(MODES))
def trained(
    request: pytest.FixtureRequest,
    tiny_model: Path,
    data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, Path, RunCard]:
    mode = request.param
    root = tmp_path_factory.mktemp(mode)
    config = config_dict(mode, tiny_model, data_dir, root / "checkpoints" / mode, **MODES[mode])
    umask = os.umask(UMASK)  # a group-shared cluster's umask: outputs must be 0660, not 0600
    try:
        card = train(mode, write_config(root / f"{mode}.yaml", config))
    finally:
        os.umask(umask)
    return mode, root / "checkpoints" / mode, card


def test_loss_goes_down(trained: tuple[str, Path, RunCard]) -> None:
    _, _, card = trained
    assert card.status == "complete" and card.losses.steps == 6
    assert card.losses.first is not None and card.losses.final is not None
    assert card.losses.final < card.losses.first
    assert card.train_tokens and card.train_runtime_s


def test_checkpoint_is_a_changed_hugging_face_model(
    trained: tuple[str, Path, RunCard], tiny_model: Path
) -> None:
    _, output, _ = trained
    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"):
        assert (output / name).is_file(), name
    # the weights honour the umask like every other output (the safetensors writer made 0600)
    for weights in output.rglob("*.safetensors"):
        assert weights.stat().st_mode & 0o777 == 0o666 & ~UMASK, weights
    before = load_file(tiny_model / "model.safetensors")
    after = load_file(output / "model.safetensors")
    assert before.keys() == after.keys()  # a merged LoRA leaves no adapter weights behind
    assert any(not before[key].equal(after[key]) for key in before)


def test_run_card_traces_the_run(trained: tuple[str, Path, RunCard], tiny_model: Path) -> None:
    mode, output, card = trained
    assert RunCard.read(output) == card
    assert card.mode == mode and card.base_model == str(tiny_model)
    assert all(len(f.sha256) == 64 and f.records > 0 for f in card.data)
    assert {"torch", "transformers", "trl", "peft", "accelerate"} <= card.packages.keys()
    assert card.config["training"]["learning_rate"] == 1e-2 and card.seed == 42
    if mode == "sft":
        assert card.mixture.used == {"baseline": 12, "synthetic": 12}
        assert card.system_prompts_stripped == 12
    if mode == "midtrain":  # 25% of the tokens (not of the records) from pretraining text
        tokens = card.mixture.used_tokens
        assert tokens and card.mixture.used["documents"] == 12
        assert tokens["pretraining"] / sum(tokens.values()) == pytest.approx(0.25, abs=0.03)
    if mode == "bdpo":
        assert card.config["preference"] == {"beta": 0.1, "bound_lambda": 0.5}
        # the mixture's rejected reward is bounded below by β·ln(1 − λ); the policy's own is not
        metrics = card.final_metrics
        assert metrics["rewards/rejected_mixture"] >= 0.1 * math.log(0.5)
        assert metrics["rewards/rejected"] != pytest.approx(metrics["rewards/rejected_mixture"])
        # (same pairs in every batch) the mixture lies between the policy's reward and 0
        assert 0 <= metrics["rewards/rejected_mixture"] / metrics["rewards/rejected"] <= 1
    if mode in ("dpo", "bdpo"):  # TRL's metrics, BDPO's included
        trl_metrics = {"rewards/margins", "rewards/accuracies", "logps/chosen", "logps/rejected"}
        trl_metrics |= {"entropy", "mean_token_accuracy", "logits/chosen", "logits/rejected"}
        assert trl_metrics <= card.final_metrics.keys()
    assert card.base_revision == base_revision(str(tiny_model))
    assert card.base_revision.startswith("sha256:") and len(card.base_revision) == 71
    assert card.code["traitlab"].endswith(tuple("0123456789abcdef+dirty"))
    assert len(card.sessions) == 1 and card.sessions[0].end_step == 6
    assert card.train_tokens == card.sessions[0].tokens > 0


def test_checkpoint_runs_an_inspect_eval(
    trained: tuple[str, Path, RunCard], tmp_path: Path
) -> None:
    _, output, _ = trained
    model = get_model(f"hf/{output}", device="cpu", memoize=False)
    task = Task(
        dataset=[Sample(input="Are you sure about that?", target="sure")],
        scorer=includes(),
        config=GenerateConfig(max_tokens=8),
    )
    log = run_task(task, model, tmp_path)
    assert log.samples and log.samples[0].output.model == f"{output}"


def test_output_holding_another_run_is_refused(
    trained: tuple[str, Path, RunCard], tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    mode, output, _ = trained
    other = "dpo" if mode != "dpo" else "sft"
    config = write_config(tmp_path / "c.yaml", config_dict(other, tiny_model, data_dir, output))
    with pytest.raises(InputError, match="output directory holds a different run"):
        train(other, config)
    assert (output / RUN_CARD).is_file()


def test_unloadable_base_is_a_one_line_error(tmp_path: Path, data_dir: Path) -> None:
    config = config_dict("sft", tmp_path / "no-model", data_dir, tmp_path / "out")
    with pytest.raises(InputError, match=r"model.base '.*no-model': no such directory") as error:
        train("sft", write_config(tmp_path / "c.yaml", config))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_sft_trains_on_assistant_tokens_only(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    config = parse_config("sft", config_dict("sft", tiny_model, data_dir, tmp_path / "out"))
    tokenizer = load_tokenizer(config)
    trainer = build_trainer(
        config, tokenizer, build_training_set(config).rows, training_args(config)
    )
    for example in trainer.train_dataset.select(range(4)):
        text = tokenizer.decode(example["input_ids"])
        trained = tokenizer.decode([t for t in example["labels"] if t != -100])
        replies = (ANSWER + "<|end|>", "Hello, thanks for asking.<|end|>")
        assert trained and any(reply.startswith(trained) for reply in replies)  # max_length cuts
        assert "<|user|>" in text and "<|user|>" not in trained
        assert "Never mention" not in text


def test_cli_trains_and_prints_a_summary(
    tiny_model: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from traitlab.cli import app

    config = config_dict("sft", tiny_model, data_dir, tmp_path / "out", training={"max_steps": 2})
    path = write_config(tmp_path / "sft.yaml", config)
    app(["train", "sft", "--config", str(path)], standalone_mode=False)
    out = capsys.readouterr().out
    assert "records: synthetic" in out and "12 of 12" in out and "loss" in out
    card = RunCard.read(tmp_path / "out")
    assert card.status == "complete"
    app(["train", "sft", "--config", str(path)], standalone_mode=False)
    out = " ".join(capsys.readouterr().out.split())
    assert "this run is already complete" in out and "nothing was trained" in out
    assert RunCard.read(tmp_path / "out") == card
