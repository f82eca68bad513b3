"""The exercise of ``11_reward_model``: the stub ``bradley_terry_loss``: fixtures, known mistakes, check."""

from __future__ import annotations

from typing import Callable

from ..solutions import reward_model as reference
from . import Case, CheckResult, pick_solution, run_check, tensor


def bradley_terry_loss(r_chosen, r_rejected):
    """The reward model's loss on a batch of pairs.

    Args:
        r_chosen, r_rejected: (B,) rewards of the preferred and the rejected reply of each pair.
    Returns:
        a 0-dim tensor: mean over pairs of ``-log sigmoid(r_chosen - r_rejected)``.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("equal rewards", (tensor([0.0]), tensor([0.0])), "sigmoid(0) = 1/2, so the loss is log 2"),
            Case("chosen ahead", (tensor([2.0, 0.5]), tensor([-1.0, 0.0])), "a small loss"),
            Case("rejected ahead", (tensor([-1.0, 0.3]), tensor([1.5, 0.2])), "a large loss")]


def mistakes():
    import torch
    import torch.nn.functional as F

    return [(lambda c, r: -F.logsigmoid(r - c).mean(), "sign: the chosen reply's reward comes first, "
                                                       "-log sigmoid(r_chosen - r_rejected)"),
            (lambda c, r: F.logsigmoid(c - r).mean(), "sign: a loss to MINIMISE is -log sigmoid(...), not log sigmoid"),
            (lambda c, r: -F.logsigmoid(c - r).sum(), "a sum over pairs: take the mean"),
            (lambda c, r: -torch.log(torch.sigmoid(c) - torch.sigmoid(r)).mean(),
             "sigmoid of the DIFFERENCE of rewards, not a difference of sigmoids")]


def check_bradley_terry_loss(fn: Callable) -> CheckResult:
    """Check a Bradley-Terry loss (sign, mean over pairs)."""
    return run_check("bradley_terry_loss", fn, reference.bradley_terry_loss, cases(), mistakes())


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``bradley_terry_loss`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, reference, solutions)


__all__ = ["bradley_terry_loss", "check_bradley_terry_loss", "solution_or", "cases", "mistakes"]
