"""Reference solution of the ``13_dpo`` exercise (:mod:`trust_utils.exercises.dpo`); for teachers."""

from __future__ import annotations

from typing import Any


def dpo_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    """``mean(-log sigmoid(beta * [(pi_c - ref_c) - (pi_r - ref_r)]))`` on sequence log-probs."""
    import torch.nn.functional as F

    return -F.logsigmoid(beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))).mean()


__all__ = ["dpo_loss"]
