"""The exercise of ``14_rloo`` (level 1, not wired into the notebook yet): ``rloo_advantages``; fixtures, check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

from . import Case, CheckResult, pick_solution, run_check, tensor


def rloo_advantages(rewards):
    """RLOO's advantages: each sample's reward minus the mean reward of the other samples of its prompt.

    Args:
        rewards: (B, k) float tensor; ``rewards[b, i]`` is the reward of the i-th of the k completions of prompt b.
    Returns:
        a (B, k) tensor: ``rewards[b, i] - mean_{j != i} rewards[b, j]``.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("one prompt, k = 2", (tensor([[1.0, 3.0]]),), "each sample's baseline is the other one"),
            Case("three prompts, k = 4", (tensor([[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 0.0, 0.0],
                                                 [-1.0, 0.5, 2.0, 0.5]]),), "a row of equal rewards: all 0"),
            Case("two prompts, k = 3", (tensor([[0.2, -0.4, 1.0], [2.0, 2.5, 1.0]]),), "")]


def check_rloo_advantages(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check RLOO's leave-one-out advantages (baseline without the sample itself, k - 1, per prompt)."""
    return run_check("rloo_advantages", fn, rloo_advantages, cases(), scalar=False, verbose=verbose)


def _reference() -> ModuleType:
    from ..solutions import rloo  # only when solutions are on: a student's copy has none

    return rloo


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``rloo_advantages`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["rloo_advantages", "check_rloo_advantages", "solution_or", "cases"]
