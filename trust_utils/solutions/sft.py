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


def _nll(logits, ids):
    import torch

    lp = torch.log_softmax(logits[:, :-1].float(), -1)
    return -lp.gather(-1, ids[:, 1:, None])[..., 0]  # (B, T-1): position t predicts token t+1


def _reply_mask(ids, prompt_lengths, att, prompt=True, padding=True):
    import torch

    pos = torch.arange(ids.shape[1])[None, :]
    keep = torch.ones_like(ids, dtype=torch.bool)
    if prompt:
        keep &= pos >= prompt_lengths[:, None]
    if padding:
        keep &= att.bool()
    return keep


def mistakes():
    import torch

    def token_mean(logits, ids, pl, att, **kw):
        keep = _reply_mask(ids, pl, att, **kw)[:, 1:].float()
        return (_nll(logits, ids) * keep).sum() / keep.sum()

    def no_shift(logits, ids, pl, att):
        lp = torch.log_softmax(logits.float(), -1)
        nll = -lp.gather(-1, ids[..., None])[..., 0]
        keep = _reply_mask(ids, pl, att).float()
        return (nll * keep).sum() / keep.sum()

    def mask_not_shifted(logits, ids, pl, att):
        keep = _reply_mask(ids, pl, att)[:, :-1].float()  # the mask of the inputs, not of the shifted labels
        return (_nll(logits, ids) * keep).sum() / keep.sum()

    def prompt_off_by_one(logits, ids, pl, att):
        keep = (_reply_mask(ids, pl, att) & (torch.arange(ids.shape[1])[None, :] > pl[:, None]))[:, 1:].float()
        return (_nll(logits, ids) * keep).sum() / keep.sum()

    def summed(logits, ids, pl, att):
        keep = _reply_mask(ids, pl, att)[:, 1:].float()
        return (_nll(logits, ids) * keep).sum()

    def seq_mean(logits, ids, pl, att):
        keep = _reply_mask(ids, pl, att)[:, 1:].float()
        return ((_nll(logits, ids) * keep).sum(1) / keep.sum(1)).mean()

    return [(lambda *a: token_mean(*a, prompt=False),
             "masking the prompt: the prompt tokens (positions < prompt_length) must carry no loss (label -100)"),
            (lambda *a: token_mean(*a, padding=False),
             "masking the padding: positions with attention_mask 0 must carry no loss"),
            (lambda *a: token_mean(*a, prompt=False, padding=False), "masking: neither prompt nor padding was masked"),
            (no_shift, "shift: logits at position t predict token t+1 -- compare logits[:, :-1] with input_ids[:, 1:]"),
            (mask_not_shifted, "off by one: shift the mask with the labels -- the loss at position t is on token "
                               "t+1, so the mask of the labels is mask[:, 1:] (or set labels to -100, then shift)"),
            (prompt_off_by_one, "off by one: the first reply token is at position prompt_length (positions 0 .. "
                                "prompt_length - 1 are the prompt); it carries a loss"),
            (summed, "a sum, not a mean: divide by the number of reply tokens"),
            (seq_mean, "a mean of per-sequence means; the trainer averages over all reply tokens of the batch")]


__all__ = ["masked_sft_loss", "mistakes"]
