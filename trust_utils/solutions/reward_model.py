"""Reference solution of the ``11_reward_model`` exercise (:mod:`trust_utils.exercises.reward_model`); for teachers."""

from __future__ import annotations

from typing import Any


def bradley_terry_loss(r_chosen: Any, r_rejected: Any) -> Any:
    """``mean(-log sigmoid(r_chosen - r_rejected))``."""
    import torch.nn.functional as F

    return -F.logsigmoid(r_chosen - r_rejected).mean()


__all__ = ["bradley_terry_loss"]
