"""The exercise of ``10_sft``: the stub ``masked_sft_loss``, its fixtures, typical mistakes with hints, its check."""

from __future__ import annotations

from typing import Callable

from ..solutions import sft as reference
from . import Case, CheckResult, pick_solution, run_check


def masked_sft_loss(logits, input_ids, prompt_lengths, attention_mask):
    """The SFT loss of a right-padded batch.

    Args:
        logits: (B, T, V) float; ``logits[b, t]`` scores the token at position ``t + 1``.
        input_ids: (B, T) long; prompt tokens, then reply tokens, then padding.
        prompt_lengths: (B,) long; the number of prompt tokens of each sequence.
        attention_mask: (B, T) long; 1 on real tokens, 0 on padding.
    Returns:
        a 0-dim tensor: the mean negative log-likelihood over every REPLY token of the batch (not the prompt, not
        the padding; a mean over tokens, not over sequences). TRL does this by setting the labels of prompt and
        padding positions to -100.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    import torch

    g = torch.Generator().manual_seed(0)
    ids = torch.tensor([[3, 1, 4, 1, 5], [2, 6, 5, 3, 0]])
    att = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    return [Case("one sequence, one-token prompt", (torch.randn(1, 3, 4, generator=g), torch.tensor([[0, 2, 1]]),
                                                     torch.tensor([1]), torch.tensor([[1, 1, 1]])),
                 "the loss covers the 2 reply tokens"),
            Case("batch with prompts and padding", (torch.randn(2, 5, 7, generator=g), ids, torch.tensor([2, 3]), att),
                 "3 + 1 reply tokens, one padding token, a token mean")]


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


def check_masked_sft_loss(fn: Callable) -> CheckResult:
    """Check an SFT loss against fixtures with prompts, padding and several sequences."""
    return run_check("masked_sft_loss", fn, reference.masked_sft_loss, cases(), mistakes())


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``masked_sft_loss`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, reference, solutions)


__all__ = ["masked_sft_loss", "check_masked_sft_loss", "solution_or", "cases", "mistakes"]
