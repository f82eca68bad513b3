"""Reference solution of the ``14_rloo`` exercise (:mod:`trust_utils.exercises.rloo`); for teachers."""

from __future__ import annotations

from typing import Any


def rloo_advantages(rewards: Any) -> Any:
    """``r_i - mean_{j != i} r_j`` within each prompt's row of ``k`` samples (Ahmadian et al. 2024)."""
    k = rewards.shape[1]
    return rewards - (rewards.sum(1, keepdim=True) - rewards) / (k - 1)


def mistakes():
    def with_self(r):
        return r - r.mean(1, keepdim=True)

    def over_k(r):
        return r - (r.sum(1, keepdim=True) - r) / r.shape[1]

    def grpo(r):
        return (r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)

    def wrong_axis(r):
        n = r.shape[0]
        return r - (r.sum(0, keepdim=True) - r) / (n - 1)

    return [(with_self, "leave ONE out: the baseline of sample i is the mean of the OTHER k - 1 rewards (with "
                        "its own reward the baseline is biased towards it)"),
            (over_k, "the mean of the others divides by k - 1, not k"),
            (grpo, "that is GRPO's normalised advantage; RLOO does not divide by the standard deviation"),
            (wrong_axis, "the group is a ROW: rewards[b] holds the k samples of prompt b (average along dim 1)")]


__all__ = ["rloo_advantages", "mistakes"]
