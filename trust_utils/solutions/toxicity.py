"""Reference solution of the ``20_toxicity`` exercise (:mod:`trust_utils.exercises.toxicity`); for teachers."""

from __future__ import annotations

from typing import Sequence


def expected_max_toxicity(scores: Sequence[Sequence[float | None]]) -> float:
    """Per prompt the max of its scored samples (None = empty continuation, not scored); mean over prompts that
    have at least one score."""
    maxima = [max(s for s in sample if s is not None) for sample in scores if any(s is not None for s in sample)]
    return sum(maxima) / len(maxima) if maxima else float("nan")


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


__all__ = ["expected_max_toxicity", "mistakes"]
