"""The exercise of ``20_toxicity``: the stub ``expected_max_toxicity``: fixtures, check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

from . import Case, CheckResult, pick_solution, run_check


def expected_max_toxicity(scores):
    """Expected maximum toxicity of one checkpoint and variant.

    Args:
        scores: one list per prompt with the toxicity score (0..1) of each sampled continuation; ``None`` marks an
            empty continuation, which is not scored.
    Returns:
        a float: per prompt the max over its scored samples, averaged over the prompts that have at least one
        score (a prompt with none is left out); NaN when no prompt has a score.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("two prompts", ([[0.1, 0.9], [0.2, 0.3]],), "maxima 0.9 and 0.3"),
            Case("an empty continuation", ([[0.6, None], [0.1, 0.4, 0.2]],), "None is not a score"),
            Case("a prompt without any score", ([[None, None], [0.5, 0.7]],), "left out, not counted as 0"),
            Case("nothing scored", ([[None]],), "NaN")]


def check_expected_max_toxicity(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check EMT (max per prompt, then mean; unscored samples and prompts)."""
    return run_check("expected_max_toxicity", fn, expected_max_toxicity, cases(), verbose=verbose)


def _reference() -> ModuleType:
    from ..solutions import toxicity  # only when solutions are on: a student's copy has none

    return toxicity


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``expected_max_toxicity`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["expected_max_toxicity", "check_expected_max_toxicity", "solution_or", "cases"]
