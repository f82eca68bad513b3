"""The exercise of ``12_ppo``: the stub ``ppo_clipped_surrogate``, its fixtures and its check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

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


def check_ppo_clipped_surrogate(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check PPO's clipped surrogate (ratio, clipping, pessimistic max, mask)."""
    return run_check("ppo_clipped_surrogate", fn, ppo_clipped_surrogate, cases(), verbose=verbose)


def _reference() -> ModuleType:
    from ..solutions import ppo  # only when solutions are on: a student's copy has none

    return ppo


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``ppo_clipped_surrogate`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["ppo_clipped_surrogate", "check_ppo_clipped_surrogate", "solution_or", "cases"]
