"""Reference solution of the ``12_ppo`` exercise (:mod:`trust_utils.exercises.ppo`); for teachers."""

from __future__ import annotations

from typing import Any


def ppo_clipped_surrogate(logprobs: Any, old_logprobs: Any, advantages: Any, mask: Any, cliprange: float) -> Any:
    """``masked_mean(max(-A rho, -A clip(rho, 1 - eps, 1 + eps)))`` with ``rho = exp(logp - logp_old)``."""
    import torch

    ratio = torch.exp(logprobs - old_logprobs)
    loss = torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1 - cliprange, 1 + cliprange))
    m = mask.float()
    return (loss * m).sum() / m.sum()


def mistakes():
    import torch

    def mm(x, m):
        m = m.float()
        return (x * m).sum() / m.sum()

    def optimistic(lp, old, a, m, eps):
        r = torch.exp(lp - old)
        return mm(torch.min(-a * r, -a * torch.clamp(r, 1 - eps, 1 + eps)), m)

    def unclipped(lp, old, a, m, eps):
        return mm(-a * torch.exp(lp - old), m)

    def no_mask(lp, old, a, m, eps):
        r = torch.exp(lp - old)
        return torch.max(-a * r, -a * torch.clamp(r, 1 - eps, 1 + eps)).mean()

    def ratio_not_exp(lp, old, a, m, eps):
        r = lp - old
        return mm(torch.max(-a * r, -a * torch.clamp(r, 1 - eps, 1 + eps)), m)

    def inverted_ratio(lp, old, a, m, eps):
        r = torch.exp(old - lp)
        return mm(torch.max(-a * r, -a * torch.clamp(r, 1 - eps, 1 + eps)), m)

    def plus_sign(lp, old, a, m, eps):
        r = torch.exp(lp - old)
        return mm(torch.min(a * r, a * torch.clamp(r, 1 - eps, 1 + eps)), m)

    return [(optimistic, "pessimism: the LOSS takes the max of -A*ratio and -A*clipped (the objective's min)"),
            (unclipped, "clipping: clip the ratio to [1 - eps, 1 + eps] in the second term"),
            (no_mask, "masking: average only over the masked (real response) tokens"),
            (ratio_not_exp, "the ratio is exp(logprobs - old_logprobs), not the difference of log-probs"),
            (inverted_ratio, "the ratio is new over old, pi(a|s) / pi_old(a|s) = exp(logprobs - old_logprobs), "
                             "not its inverse"),
            (plus_sign, "sign: the loss is the NEGATIVE surrogate (we minimise it)")]


__all__ = ["ppo_clipped_surrogate", "mistakes"]
