"""Bounded DPO (Cho et al. 2025, "Rethinking DPO: The Role of Rejected Responses in Preference
Misalignment", arXiv 2506.12725), on top of TRL's DPOTrainer.

Plain DPO can lower its loss without limit by driving the rejected response's probability
towards zero, and in practice it does that instead of raising the chosen response. BDPO
replaces the policy's probability of the rejected response by a mixture with the reference,

    π_mix(y_l | x) = λ · π_θ(y_l | x) + (1 − λ) · π_ref(y_l | x),

    L_BDPO = − log σ( β · log[π_θ(y_w | x) / π_ref(y_w | x)]
                      − β · log[π_mix(y_l | x) / π_ref(y_l | x)] ).

Because π_mix ≥ (1 − λ) · π_ref, the rejected log-ratio is bounded below by log(1 − λ): once the
rejected response is unlikely, only raising the chosen one lowers the loss further. λ = 1 gives
DPO back. The authors' TRL fork (github bonin147/BDPO) computes the same quantity, and like it
(and TRL) the logged `rewards/*` are the policy's own; the mixture's are logged under their own
names.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from trl import DPOTrainer

from traitlab.errors import TraitlabError


def bounded_dpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float,
    bound_lambda: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair BDPO losses and the implicit rewards (β · log-ratio) of chosen and rejected.

    Inputs are summed log-probabilities of each completion, shape (batch,). The rejected
    reward is that of the mixture, so it is bounded below by β · log(1 − λ).
    """
    if not 0.0 < bound_lambda <= 1.0:
        raise ValueError(f"bound_lambda must be in (0, 1], got {bound_lambda}")
    ref_rejected_logps = ref_rejected_logps.detach()
    if bound_lambda == 1.0:
        mixture_logps = rejected_logps  # plain DPO
    else:
        # log π_mix = log(λ π_θ + (1 − λ) π_ref), computed stably in log space.
        mixture_logps = torch.logaddexp(
            rejected_logps + math.log(bound_lambda),
            ref_rejected_logps + math.log1p(-bound_lambda),
        )
    chosen_rewards = beta * (chosen_logps - ref_chosen_logps.detach())
    rejected_rewards = beta * (mixture_logps - ref_rejected_logps)
    losses = -F.logsigmoid(chosen_rewards - rejected_rewards)
    return losses, chosen_rewards, rejected_rewards


# The TRL releases this hook was written and tested against (pyproject pins the same range).
TESTED_TRL = ">=1.16,<1.17"


class BoundedDPOTrainer(DPOTrainer):
    """TRL's DPOTrainer with the BDPO loss in place of DPO's sigmoid loss.

    The hook is as narrow as TRL allows (it has no public point for a custom pairwise loss):
    TRL's own `compute_loss` runs unchanged, with its sigmoid term weighted 0, so its data
    handling, reference model (or disabled adapter, or precomputed log-probs), distributed
    training and every metric it logs (the policy's own rewards, margins and accuracies,
    log-probs, entropy, logits, token accuracy, the MoE auxiliary loss) stay TRL's. The
    per-sequence log-probs of the policy and reference forwards are read with a public torch
    forward hook, and the BDPO loss is added. The mixture's rejected reward and margin are
    logged apart, as `rewards/rejected_mixture` and `rewards/margins_mixture`.
    """

    def __init__(self, *args: Any, bound_lambda: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        missing = [
            name
            for name in ("loss_types", "loss_weights", "precompute_ref_logps", "_metrics")
            if not hasattr(self, name)
        ]
        if missing:
            raise _unsupported(f"DPOTrainer has no {', '.join(missing)}")
        if self.loss_types != ["sigmoid"] or getattr(self, "f_divergence_type", None) not in (
            None,
            "reverse_kl",
        ):
            raise TraitlabError("BDPO bounds the sigmoid DPO loss with reverse KL only")
        if getattr(self, "ld_alpha", None) is not None or getattr(self, "use_weighting", False):
            raise TraitlabError("BDPO does not combine with ld_alpha or use_weighting")
        if not 0.0 < bound_lambda <= 1.0:
            raise ValueError(f"bound_lambda must be in (0, 1], got {bound_lambda}")
        self.bound_lambda = bound_lambda
        self.loss_weights = [0.0]  # TRL's sigmoid term: computed and logged, not trained on

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        if return_outputs:
            raise NotImplementedError("BoundedDPOTrainer does not return outputs")
        captured: list[Any] = []
        modules = [self.accelerator.unwrap_model(model)]
        if self.ref_model is not None:
            modules.append(self.ref_model)
        handles = [
            m.register_forward_hook(lambda _m, _args, out: captured.append(out)) for m in modules
        ]
        try:
            trl_loss = super().compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        finally:
            for handle in handles:
                handle.remove()

        seq_len = inputs["completion_mask"].size(1) - 1
        logps = [self._sequence_logps(out, seq_len) for out in captured]
        chosen_logps, rejected_logps = logps[0].chunk(2)
        if self.precompute_ref_logps:
            ref_chosen_logps = inputs["ref_chosen_logps"]
            ref_rejected_logps = inputs["ref_rejected_logps"]
        else:
            if len(logps) < 2:
                raise _unsupported("no reference forward pass was seen")
            ref_chosen_logps, ref_rejected_logps = logps[1].chunk(2)

        losses, _, mixture_rewards = bounded_dpo_loss(
            chosen_logps,
            rejected_logps,
            ref_chosen_logps,
            ref_rejected_logps,
            beta=self.beta,
            bound_lambda=self.bound_lambda,
        )
        mode = "train" if self.model.training else "eval"
        chosen_rewards = self.beta * (chosen_logps - ref_chosen_logps).detach()
        for name, values in {
            "rewards/rejected_mixture": mixture_rewards.detach(),
            "rewards/margins_mixture": chosen_rewards - mixture_rewards.detach(),
        }.items():
            self._metrics[mode][name].append(self.accelerator.gather(values).mean().item())
        return trl_loss + losses.mean()

    @staticmethod
    def _sequence_logps(output: Any, seq_len: int) -> torch.Tensor:
        log_probs = getattr(output, "log_probs", None)
        if log_probs is None:
            raise _unsupported("the forward pass returned no per-token log_probs")
        return log_probs[:, -seq_len:].sum(dim=1)


def _unsupported(what: str) -> TraitlabError:
    import trl

    return TraitlabError(
        f"bdpo needs trl{TESTED_TRL} ({what}; installed trl {trl.__version__}): "
        f"pip install 'trl{TESTED_TRL}'"
    )
