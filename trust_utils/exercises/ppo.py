"""The exercise of ``12_ppo``: the stub ``ppo_clipped_surrogate``, fixtures, typical mistakes with hints, the check."""

from __future__ import annotations

from typing import Callable

from ..solutions import ppo as reference
from . import Case, CheckResult, pick_solution, run_check, tensor


def ppo_clipped_surrogate(logprobs, old_logprobs, advantages, mask, cliprange):
    """PPO's clipped policy loss.

    Args:
        logprobs: (B, T) log-probs of the response tokens under the current policy.
        old_logprobs: (B, T) the same under the policy that generated them (before this update).
        advantages: (B, T) per-token advantages.
        mask: (B, T) bool, True on real response tokens (False on padding).
        cliprange: epsilon, e.g. 0.2.
    Returns:
        a 0-dim tensor: the mean over masked tokens of ``max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps))``,
        ``ratio = exp(logprobs - old_logprobs)``.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    import torch

    lp = tensor([[-1.0, -0.5, -2.0], [-0.2, -3.0, -1.0]])
    old = tensor([[-1.5, -0.4, -1.0], [-0.2, -2.0, -1.0]])
    adv = tensor([[1.0, -2.0, 0.5], [0.3, 1.5, -1.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    return [Case("ratio 1 (no update yet)", (old.clone(), old, adv, torch.ones_like(mask), 0.2),
                 "the loss is -mean(A)"),
            Case("ratios outside the clip range, one padding token", (lp, old, adv, mask, 0.2), "eps 0.2")]


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


def check_ppo_clipped_surrogate(fn: Callable) -> CheckResult:
    """Check PPO's clipped surrogate (ratio, clipping, pessimistic max, mask)."""
    return run_check("ppo_clipped_surrogate", fn, reference.ppo_clipped_surrogate, cases(), mistakes())


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``ppo_clipped_surrogate`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, reference, solutions)


__all__ = ["ppo_clipped_surrogate", "check_ppo_clipped_surrogate", "solution_or", "cases", "mistakes"]
