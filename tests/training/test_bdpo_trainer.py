"""BoundedDPOTrainer against TRL's DPOTrainer on the same batch: λ = 1 is DPO's loss exactly,
λ < 1 is the BDPO loss of the policy's and reference's log-probs, and TRL's metrics stay."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from tests.training.conftest import config_dict  # noqa: E402
from traitlab.errors import TraitlabError  # noqa: E402
from traitlab.training import build_training_set, parse_config  # noqa: E402
from traitlab.training.bdpo import bounded_dpo_loss  # noqa: E402
from traitlab.training.run import build_trainer, load_tokenizer, training_args  # noqa: E402


def _trainer(mode: str, tiny_model: Path, data_dir: Path, tmp_path: Path, **preference: float):
    raw = config_dict(mode, tiny_model, data_dir, tmp_path / mode, preference=preference)
    config = parse_config(mode, raw)
    trainer = build_trainer(
        config, load_tokenizer(config), build_training_set(config).rows, training_args(config)
    )
    torch.manual_seed(1)  # move the policy away from the reference, the same way for both
    with torch.no_grad():
        for param in trainer.model.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    trainer.model.train()
    return trainer


def _batch(trainer):
    return trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))


def test_lambda_one_is_dpo_exactly(tiny_model: Path, data_dir: Path, tmp_path: Path) -> None:
    dpo = _trainer("dpo", tiny_model, data_dir, tmp_path)
    bdpo = _trainer("bdpo", tiny_model, data_dir, tmp_path, bound_lambda=1.0)
    batch = _batch(dpo)
    expected = dpo.compute_loss(dpo.model, batch)
    loss = bdpo.compute_loss(bdpo.model, batch)
    assert expected.item() != pytest.approx(0.6931, abs=1e-3)  # the policy moved
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    for name in ("rewards/chosen", "rewards/rejected", "rewards/margins", "entropy"):
        assert bdpo._metrics["train"][name] == pytest.approx(dpo._metrics["train"][name])


def test_bounded_loss_and_metrics(tiny_model: Path, data_dir: Path, tmp_path: Path) -> None:
    trainer = _trainer("bdpo", tiny_model, data_dir, tmp_path, bound_lambda=0.5)
    batch = _batch(trainer)
    loss = trainer.compute_loss(trainer.model, batch)
    with torch.no_grad():
        chosen, rejected = trainer.compute_ref_log_probs(trainer.model, batch)
        ref_chosen, ref_rejected = trainer.compute_ref_log_probs(trainer.ref_model, batch)
    losses, chosen_rewards, mixture = bounded_dpo_loss(
        chosen, rejected, ref_chosen, ref_rejected, beta=0.1, bound_lambda=0.5
    )
    assert loss.item() == pytest.approx(losses.mean().item(), rel=1e-4)
    loss.backward()  # the BDPO term carries the gradient
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.model.parameters())
    metrics = {name: values[-1] for name, values in trainer._metrics["train"].items()}
    policy_rejected = (0.1 * (rejected - ref_rejected)).mean().item()
    assert metrics["rewards/rejected"] == pytest.approx(policy_rejected, rel=1e-4)
    assert metrics["rewards/rejected_mixture"] == pytest.approx(mixture.mean().item(), rel=1e-4)
    assert metrics["rewards/margins_mixture"] == pytest.approx(
        (chosen_rewards - mixture).mean().item(), rel=1e-4
    )
    assert {"entropy", "mean_token_accuracy", "logits/chosen", "logps/rejected"} <= metrics.keys()


def test_a_trl_without_log_probs_is_one_line(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    trainer = _trainer("bdpo", tiny_model, data_dir, tmp_path)
    with pytest.raises(TraitlabError, match=r"^bdpo needs trl>=1.16,<1.17 \(the forward pass"):
        trainer._sequence_logps(object(), 4)
