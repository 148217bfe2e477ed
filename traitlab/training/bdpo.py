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
DPO back. The authors' TRL fork (github bonin147/BDPO) computes the same quantity.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from trl import DPOTrainer


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


class BoundedDPOTrainer(DPOTrainer):
    """TRL's DPOTrainer (data handling, reference model or disabled adapter, precomputed
    reference log-probs, distributed training) with the BDPO loss in place of DPO's."""

    def __init__(self, *args: Any, bound_lambda: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.loss_types != ["sigmoid"] or self.f_divergence_type != "reverse_kl":
            raise ValueError("BDPO bounds the sigmoid DPO loss with the reverse-KL divergence only")
        if self.ld_alpha is not None or self.use_weighting:
            raise ValueError("BDPO does not combine with ld_alpha or use_weighting")
        self.bound_lambda = bound_lambda

    def _compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool) -> Any:
        if return_outputs:
            raise NotImplementedError("BoundedDPOTrainer does not return outputs")
        mode = "train" if self.model.training else "eval"
        model_inputs = {
            k: v
            for k, v in inputs.items()
            if k not in {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}
        }
        completion_mask = inputs["completion_mask"]
        labels = inputs["input_ids"].masked_fill(completion_mask == 0, -100)
        outputs = model(**model_inputs, labels=labels, use_cache=False, fused_lm_head=True)
        seq_len = completion_mask.size(1) - 1
        chosen_logps, rejected_logps = outputs.log_probs[:, -seq_len:].sum(dim=1).chunk(2)

        if self.precompute_ref_logps:
            ref_chosen_logps = inputs["ref_chosen_logps"]
            ref_rejected_logps = inputs["ref_rejected_logps"]
        else:
            ref_model = self.ref_model if self.ref_model is not None else model
            ref_chosen_logps, ref_rejected_logps = self.compute_ref_log_probs(ref_model, inputs)

        losses, chosen_rewards, rejected_rewards = bounded_dpo_loss(
            chosen_logps,
            rejected_logps,
            ref_chosen_logps,
            ref_rejected_logps,
            beta=self.beta,
            bound_lambda=self.bound_lambda,
        )
        metrics = {
            "rewards/chosen": chosen_rewards,
            "rewards/rejected": rejected_rewards,
            "rewards/margins": chosen_rewards - rejected_rewards,
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float(),
            "logps/chosen": chosen_logps,
            "logps/rejected": rejected_logps,
        }
        if mode == "train":  # the same token count DPOTrainer logs, for throughput
            tokens = self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum()
            self._total_train_tokens += tokens.item() // self._tp_size
        self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
        for name, values in metrics.items():
            gathered = self.accelerator.gather_for_metrics(values.detach())
            self._metrics[mode][name].append(gathered.mean().item())
        return losses.mean()
