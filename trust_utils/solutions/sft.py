"""Reference solution of the ``10_sft`` exercise (:mod:`trust_utils.exercises.sft`); for teachers."""

from __future__ import annotations

from typing import Any


def masked_sft_loss(logits: Any, input_ids: Any, prompt_lengths: Any, attention_mask: Any) -> Any:
    """Mean NLL over the reply tokens: labels are the ids with prompt and padding set to -100, then the shifted
    token mean of :func:`trust_utils.losses.sft_loss`."""
    import torch

    from ..losses import IGNORE_INDEX, sft_loss

    pos = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :]
    labels = input_ids.clone()
    labels[(pos < prompt_lengths[:, None]) | (attention_mask == 0)] = IGNORE_INDEX
    return sft_loss(logits, labels)


__all__ = ["masked_sft_loss"]
