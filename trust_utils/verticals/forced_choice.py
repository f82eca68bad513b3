"""Forced choice: a model's answer read from the likelihoods of a fixed set of answers, not from a generation.

Used where generations say nothing (a small model's bias answers with no stance) and beside the paper's
generation metrics: bias ``agreement_index_fc`` / ``agree_prob_fc`` and ethics ``false_negative_rate_logit`` /
``balanced_accuracy_logit``. The log-likelihoods come from the engine's likelihood path (fp32 head).

* :func:`two_way`: the choice between two answers from their log-likelihoods, and the normalised probability of
  the first, p1 / (p1 + p2) = sigmoid(ll1 - ll2). A tie is not a choice of the first (and is ``degenerate_loglik``).
* :func:`choice_guards`: per unit, ``degenerate_loglik`` (the scores tied or not finite) and
  ``degenerate_constant`` (1 when the unit got the majority answer; the mean is the majority share, see
  :mod:`.validity`).
* :func:`balanced_units` / :func:`balanced_accuracy`: the mean of the per-class recalls. So that it is a mean over
  units (the results' per-unit values, paired bootstrap), each unit's correctness is weighted by
  ``N / (2 * N_class)``: the mean over all units is then exactly the balanced accuracy (with equal classes every
  weight is 1), and a resample of units estimates it with the sample's class weights.
"""

from __future__ import annotations

import math
from typing import Hashable, Sequence

from .validity import loglik_degenerate, majority_flags


def two_way(ll_first: float, ll_second: float) -> tuple[float, float]:
    """``(1.0 if the first answer is strictly more likely else 0.0, p_first / (p_first + p_second))``; both NaN
    when a log-likelihood is not finite."""
    a, b = float(ll_first), float(ll_second)
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan, math.nan
    x = b - a  # the logistic of a - b, without overflow
    p = 1.0 / (1.0 + math.exp(x)) if x < 0 else math.exp(-x) / (1.0 + math.exp(-x))
    return float(a > b), p


def choice_guards(answers: Sequence[Hashable], scores: Sequence[Sequence[float]], tol: float = 0.0) -> list[dict[str, float]]:
    """Per unit (in order): ``degenerate_loglik`` (its candidate scores tied within ``tol`` or not finite) and
    ``degenerate_constant`` (1.0 when its answer is the majority answer of ``answers``)."""
    if len(answers) != len(scores):
        raise ValueError(f"{len(answers)} answers but {len(scores)} score tuples")
    return [{"degenerate_loglik": float(loglik_degenerate(list(s), tol=tol)), "degenerate_constant": m}
            for s, m in zip(scores, majority_flags(list(answers)), strict=True)]


def balanced_units(correct: Sequence[float], labels: Sequence[Hashable]) -> list[float]:
    """Per-unit values whose mean is the balanced accuracy: ``correct * N / (K * N_label)`` with K classes."""
    if len(correct) != len(labels):
        raise ValueError(f"{len(correct)} correctness values but {len(labels)} labels")
    counts: dict[Hashable, int] = {}
    for y in labels:
        counts[y] = counts.get(y, 0) + 1
    n, k = len(labels), len(counts)
    return [float(c) * n / (k * counts[y]) for c, y in zip(correct, labels, strict=True)]


def balanced_accuracy(correct: Sequence[float], labels: Sequence[Hashable]) -> float:
    """Mean over classes of the share of correct units (NaN for no units)."""
    by: dict[Hashable, list[float]] = {}
    for c, y in zip(correct, labels, strict=True):
        by.setdefault(y, []).append(float(c))
    return sum(sum(v) / len(v) for v in by.values()) / len(by) if by else math.nan


__all__ = ["two_way", "choice_guards", "balanced_units", "balanced_accuracy"]
