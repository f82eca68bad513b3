"""Reference solution of the ``11_reward_model`` exercise (:mod:`trust_utils.exercises.reward_model`); for teachers."""

from __future__ import annotations

from typing import Any


def bradley_terry_loss(r_chosen: Any, r_rejected: Any) -> Any:
    """``mean(-log sigmoid(r_chosen - r_rejected))``."""
    import torch.nn.functional as F

    return -F.logsigmoid(r_chosen - r_rejected).mean()


def mistakes():
    import torch
    import torch.nn.functional as F

    return [(lambda c, r: -F.logsigmoid(r - c).mean(), "sign: the chosen reply's reward comes first, "
                                                       "-log sigmoid(r_chosen - r_rejected)"),
            (lambda c, r: F.logsigmoid(c - r).mean(), "sign: a loss to MINIMISE is -log sigmoid(...), not log sigmoid"),
            (lambda c, r: -F.logsigmoid(c - r).sum(), "a sum over pairs: take the mean"),
            (lambda c, r: -torch.log(torch.sigmoid(c) - torch.sigmoid(r)).mean(),
             "sigmoid of the DIFFERENCE of rewards, not a difference of sigmoids")]


__all__ = ["bradley_terry_loss", "mistakes"]
