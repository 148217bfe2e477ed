"""The bounded DPO loss (Cho et al. 2025, arXiv 2506.12725) on hand-computed values.

Worked example, β = 0.1, λ = 0.5, log π_θ(y_w) = −1, log π_ref(y_w) = −2,
log π_θ(y_l) = −3, log π_ref(y_l) = −2:

    chosen reward    = 0.1 · (−1 − (−2))                       = 0.1
    π_mix / π_ref    = 0.5 · e^(−3 − (−2)) + 0.5 = 0.5/e + 0.5   = 0.6839397
    rejected reward  = 0.1 · ln 0.6839397                        = −0.0379885
    margin           = 0.1 + 0.0379885                           = 0.1379885
    loss             = ln(1 + e^(−0.1379885))                    = 0.6265311

Plain DPO on the same numbers has margin 0.1 · (1 + 1) = 0.2 and loss ln(1 + e^(−0.2)) = 0.5981389.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from traitlab.training.bdpo import bounded_dpo_loss  # noqa: E402


def _loss(chosen: float, rejected: float, ref_chosen: float, ref_rejected: float, **kw: float):
    tensors = [torch.tensor([v], dtype=torch.float64) for v in (chosen, rejected)]
    for t in tensors:
        t.requires_grad_(True)
    refs = [torch.tensor([v], dtype=torch.float64) for v in (ref_chosen, ref_rejected)]
    losses, chosen_rewards, rejected_rewards = bounded_dpo_loss(
        tensors[0], tensors[1], refs[0], refs[1], **kw
    )
    return losses, chosen_rewards, rejected_rewards, tensors


def test_worked_example() -> None:
    losses, chosen, rejected, _ = _loss(-1.0, -3.0, -2.0, -2.0, beta=0.1, bound_lambda=0.5)
    assert chosen.item() == pytest.approx(0.1)
    assert rejected.item() == pytest.approx(-0.0379885, abs=1e-7)
    assert losses.item() == pytest.approx(0.6265311, abs=1e-7)


def test_lambda_one_is_plain_dpo() -> None:
    losses, *_ = _loss(-1.0, -3.0, -2.0, -2.0, beta=0.1, bound_lambda=1.0)
    assert losses.item() == pytest.approx(0.5981389, abs=1e-7)


def test_rejected_term_is_bounded() -> None:
    # Driving the rejected response to (near) zero probability: DPO's loss vanishes, BDPO's
    # rejected reward stops at β·ln(1 − λ) = 0.1·ln 0.5, so the loss stays at
    # ln(1 + e^−(0.1 + 0.0693147)) = 0.6120690 until the chosen response rises.
    bounded, _, rejected, _ = _loss(-1.0, -1000.0, -2.0, -2.0, beta=0.1, bound_lambda=0.5)
    plain, *_ = _loss(-1.0, -1000.0, -2.0, -2.0, beta=0.1, bound_lambda=1.0)
    assert rejected.item() == pytest.approx(0.1 * math.log(0.5))
    assert bounded.item() == pytest.approx(0.6120690, abs=1e-7)
    assert plain.item() < 1e-30


def test_gradient_on_rejected_is_damped_by_the_mixture_weight() -> None:
    # dL/d log π_θ(y_l) = σ(−margin) · β · w, with w = λπ_θ / (λπ_θ + (1 − λ)π_ref)
    # = (0.5/e) / (0.5/e + 0.5) = 0.2689414, so 0.1 · 0.2689414 / (1 + e^0.1379885) = 0.0125208.
    losses, _, _, (chosen, rejected) = _loss(-1.0, -3.0, -2.0, -2.0, beta=0.1, bound_lambda=0.5)
    losses.sum().backward()
    assert rejected.grad.item() == pytest.approx(0.0125208, abs=1e-7)
    assert chosen.grad.item() == pytest.approx(-0.1 / (1 + math.exp(0.1379885)), abs=1e-7)


@pytest.mark.parametrize("bound", [0.0, -0.5, 1.5])
def test_lambda_out_of_range(bound: float) -> None:
    with pytest.raises(ValueError, match="bound_lambda"):
        _loss(-1.0, -3.0, -2.0, -2.0, beta=0.1, bound_lambda=bound)
