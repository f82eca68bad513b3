"""The exercise of ``11_reward_model``: the stub ``bradley_terry_loss``: fixtures, check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

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


def check_bradley_terry_loss(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check a Bradley-Terry loss (sign, mean over pairs)."""
    return run_check("bradley_terry_loss", fn, bradley_terry_loss, cases(), verbose=verbose)


def _reference() -> ModuleType:
    from ..solutions import reward_model  # only when solutions are on: a student's copy has none

    return reward_model


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``bradley_terry_loss`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["bradley_terry_loss", "check_bradley_terry_loss", "solution_or", "cases"]
