"""The exercise of ``13_dpo``: the stub ``dpo_loss``, its fixtures and its check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

from . import Case, CheckResult, pick_solution, run_check, tensor


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    """DPO's loss on a batch of pairs.

    Args:
        policy_chosen, policy_rejected: (B,) sequence log-probs (sum over reply tokens) under the policy.
        ref_chosen, ref_rejected: (B,) the same under the frozen reference model.
        beta: the KL strength (e.g. 0.1).
    Returns:
        a 0-dim tensor: mean over pairs of ``-log sigmoid(beta * (log-ratio chosen - log-ratio rejected))`` where a
        log-ratio is ``policy - reference``.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("policy equals reference", (tensor([-5.0]), tensor([-7.0]), tensor([-5.0]), tensor([-7.0]), 0.1),
                 "both log-ratios are 0: the loss is log 2 whatever the log-probs"),
            Case("policy prefers chosen", (tensor([-4.0, -10.0]), tensor([-9.0, -12.0]), tensor([-6.0, -11.0]),
                                           tensor([-7.0, -11.5]), 0.1), "beta 0.1"),
            Case("large beta", (tensor([-4.0]), tensor([-9.0]), tensor([-6.0]), tensor([-7.0]), 2.0), "beta 2")]


def check_dpo_loss(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check a DPO loss (log-ratios, beta, sign, mean)."""
    return run_check("dpo_loss", fn, dpo_loss, cases(), verbose=verbose)


def _reference() -> ModuleType:
    from ..solutions import dpo  # only when solutions are on: a student's copy has none

    return dpo


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``dpo_loss`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["dpo_loss", "check_dpo_loss", "solution_or", "cases"]
