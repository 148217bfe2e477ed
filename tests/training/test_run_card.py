"""The run card guards its output directory: only the same run may write there again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.conftest import config_dict
from traitlab.errors import InputError, Interrupted
from traitlab.training import RunCard, build_training_set, check_output, parse_config


def _card(tmp_path: Path, data_dir: Path, **training: float) -> RunCard:
    config = parse_config(
        "sft", config_dict("sft", tmp_path, data_dir, tmp_path / "out", training=training)
    )
    return RunCard.start(config, build_training_set(config))


def test_same_run_may_reuse_its_directory(tmp_path: Path, data_dir: Path) -> None:
    card = _card(tmp_path, data_dir)
    card.write(tmp_path / "out")
    check_output(tmp_path / "out", _card(tmp_path, data_dir))


def test_logging_settings_do_not_change_the_run(tmp_path: Path, data_dir: Path) -> None:
    _card(tmp_path, data_dir).write(tmp_path / "out")
    check_output(tmp_path / "out", _card(tmp_path, data_dir, logging_steps=50, save_steps=10))


def test_changed_hyperparameter_is_a_different_run(tmp_path: Path, data_dir: Path) -> None:
    _card(tmp_path, data_dir).write(tmp_path / "out")
    with pytest.raises(InputError, match=r"out: output directory holds a different run \(sft"):
        check_output(tmp_path / "out", _card(tmp_path, data_dir, learning_rate=3e-4))


def test_directory_with_other_files_is_refused(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty and holds no run card"):
        check_output(tmp_path / "out", _card(tmp_path, data_dir))


def test_empty_or_absent_directory_is_fine(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", _card(tmp_path, data_dir))
    check_output(tmp_path / "absent", _card(tmp_path, data_dir))


def test_finish_records_first_final_and_mean_loss(tmp_path: Path, data_dir: Path) -> None:
    card = _card(tmp_path, data_dir)
    card.finish(
        [
            {"loss": 2.0, "step": 1},
            {"loss": 1.0, "step": 2, "num_tokens": 640.0},
            {"train_loss": 1.5, "train_runtime": 2.5, "step": 2},
        ]
    )
    assert (card.losses.first, card.losses.final, card.losses.mean) == (2.0, 1.0, 1.5)
    assert (card.train_tokens, card.train_runtime_s) == (640, 2.5)
    assert card.status == "complete" and card.finished is not None


def test_a_resumed_run_sums_its_sessions(
    tiny_model: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped after step 4 resumes from its checkpoint; the card counts both sessions."""
    pytest.importorskip("trl")
    import importlib

    from transformers import TrainerCallback

    from tests.training.conftest import write_config
    from traitlab.training import train

    run_module = importlib.import_module("traitlab.training.run")
    original = run_module.build_trainer

    class Stop(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            if state.global_step == 4:
                raise KeyboardInterrupt

    def stopping(*args, **kwargs):  # type: ignore[no-untyped-def]
        trainer = original(*args, **kwargs)
        trainer.add_callback(Stop())
        return trainer

    training = {"max_steps": 6, "save_steps": 2}
    config = config_dict("sft", tiny_model, data_dir, tmp_path / "out", training=training)
    path = write_config(tmp_path / "c.yaml", config)
    monkeypatch.setattr(run_module, "build_trainer", stopping)
    with pytest.raises(Interrupted) as stop:
        train("sft", path)
    # The line says what was kept and how to go on; the card says the run was interrupted.
    assert str(stop.value) == (
        f"kept the checkpoint of step 4 in {tmp_path / 'out' / 'trainer'} and the run card "
        "(status 'interrupted'); run the same command to resume from step 4"
    )
    stopped = RunCard.read(tmp_path / "out")
    assert stopped.status == "interrupted" and [s.end_step for s in stopped.sessions] == [4]
    trainers = []

    def keeping(*args, **kwargs):  # type: ignore[no-untyped-def]
        trainers.append(original(*args, **kwargs))
        return trainers[-1]

    monkeypatch.setattr(run_module, "build_trainer", keeping)
    card = train("sft", path)
    assert card.status == "complete"
    assert [(s.start_step, s.end_step) for s in card.sessions] == [(0, 4), (4, 6)]
    assert card.train_tokens == sum(s.tokens for s in card.sessions)
    assert all(s.tokens > 0 and s.runtime_s > 0 for s in card.sessions)
    assert card.train_runtime_s == pytest.approx(sum(s.runtime_s for s in card.sessions))
    # The mean loss covers all six steps (logged one by one), not the last session's two.
    state = trainers[0].state.log_history
    losses = [e["loss"] for e in state if "loss" in e]
    assert len(losses) == 6 and card.losses.mean == pytest.approx(sum(losses) / 6)
    last_session = next(e["train_loss"] for e in state if "train_loss" in e)
    assert card.losses.mean != pytest.approx(last_session)

    # A rerun of the complete run trains nothing and counts nothing twice.
    again = train("sft", path)
    assert again.already_complete and len(trainers) == 1
    assert again.model_dump() == card.model_dump()  # (already_complete is not saved)
    assert RunCard.read(tmp_path / "out") == card


def test_an_output_that_is_a_file_is_named_as_one(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "out").write_text("notes")
    with pytest.raises(InputError, match=r"out: output is a file, not a directory"):
        check_output(tmp_path / "out", _card(tmp_path, data_dir))
    with pytest.raises(InputError, match="a file is in the way"):
        check_output(tmp_path / "out" / "run", _card(tmp_path, data_dir))
