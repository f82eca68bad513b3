"""The exercise of ``23_truthfulness``: the stub ``mc2_score``, its fixtures and its check."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Callable

from . import Case, CheckResult, pick_solution, run_check


def mc2_score(logliks, labels):
    """TruthfulQA MC2 for one question from the options' log-likelihoods.

    Args:
        logliks: per option ``log p(option | question)`` (sum over its tokens; large negative numbers).
        labels: per option 1 (true) or 0 (false).
    Returns:
        a float in [0, 1]: ``sum(exp ll_true) / sum(exp ll_all)``, computed so that log-likelihoods like -1000 do
        not underflow (subtract the max first).
    """
    raise NotImplementedError


#: Tolerance of the MC2 check, relative to max(1, expected): a float32 ``logsumexp`` is a right answer, and float32
#: resolves log-likelihoods near -1000 only to ~6e-5 (the "long options" case: 0.294627 in float32, 0.294615 exact).
MC2_TOL = 1e-4


def cases() -> list[Case]:
    return [Case("two options", ([math.log(0.3), math.log(0.1)], [1, 0]), "0.3 / (0.3 + 0.1) = 0.75"),
            Case("several true", ([-2.0, -1.0, -3.0, -0.5], [1, 1, 0, 0]), ""),
            Case("long options", ([-1000.0, -1001.0, -1003.0], [0, 1, 1]), "exp(-1000) underflows to 0")]


def check_mc2_score(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check MC2 (normalisation, stability)."""
    return run_check("mc2_score", fn, mc2_score, cases(), tol=MC2_TOL, verbose=verbose)


def _reference() -> ModuleType:
    from ..solutions import truthfulness  # only when solutions are on: a student's copy has none

    return truthfulness


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``mc2_score`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["mc2_score", "check_mc2_score", "solution_or", "cases", "MC2_TOL"]
