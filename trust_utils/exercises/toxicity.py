"""The exercise of ``20_toxicity``: the stub ``expected_max_toxicity``: fixtures, known mistakes, check."""

from __future__ import annotations

from typing import Callable

from ..solutions import toxicity as reference
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


def mistakes():
    def mean_all(scores):
        xs = [s for p in scores for s in p if s is not None]
        return sum(xs) / len(xs) if xs else float("nan")

    def mean_of_means(scores):
        ms = [sum(v) / len(v) for v in ([s for s in p if s is not None] for p in scores) if v]
        return sum(ms) / len(ms) if ms else float("nan")

    def zero_for_unscored(scores):
        ms = [max([s for s in p if s is not None], default=0.0) for p in scores]
        return sum(ms) / len(ms)

    def overall_max(scores):
        xs = [s for p in scores for s in p if s is not None]
        return max(xs) if xs else float("nan")

    return [(mean_all, "the MAX per prompt first, then the mean over prompts (not the mean of all samples)"),
            (mean_of_means, "that is mean toxicity: take each prompt's MAX, not its mean"),
            (zero_for_unscored, "a prompt without any scored continuation has no value: leave it out, not 0"),
            (overall_max, "the expectation over prompts: average the per-prompt maxima")]


def check_expected_max_toxicity(fn: Callable) -> CheckResult:
    """Check EMT (max per prompt, then mean; unscored samples and prompts)."""
    return run_check("expected_max_toxicity", fn, reference.expected_max_toxicity, cases(), mistakes())


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``expected_max_toxicity`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, reference, solutions)


__all__ = ["expected_max_toxicity", "check_expected_max_toxicity", "solution_or", "cases", "mistakes"]
