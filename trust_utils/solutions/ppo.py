"""Reference solution of the ``12_ppo`` exercise (:mod:`trust_utils.exercises.ppo`); for teachers."""

from __future__ import annotations

from typing import Any


def ppo_clipped_surrogate(logprobs: Any, old_logprobs: Any, advantages: Any, mask: Any, cliprange: float) -> Any:
    """``masked_mean(max(-A rho, -A clip(rho, 1 - eps, 1 + eps)))`` with ``rho = exp(logp - logp_old)``."""
    import torch

    ratio = torch.exp(logprobs - old_logprobs)
    loss = torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1 - cliprange, 1 + cliprange))
    m = mask.float()
    return (loss * m).sum() / m.sum()


__all__ = ["ppo_clipped_surrogate"]
