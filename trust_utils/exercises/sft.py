"""The exercise of ``10_sft``: the stub ``masked_sft_loss``, its fixtures and its check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

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


def check_masked_sft_loss(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check an SFT loss against fixtures with prompts, padding and several sequences."""
    return run_check("masked_sft_loss", fn, masked_sft_loss, cases(), verbose=verbose)


def _reference() -> ModuleType:
    from ..solutions import sft  # only when solutions are on: a student's copy has none

    return sft


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``masked_sft_loss`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["masked_sft_loss", "check_masked_sft_loss", "solution_or", "cases"]
