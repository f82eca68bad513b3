"""Reference solutions of the level-3 exercises (:mod:`trust_utils.exercises.level3`) and their shared pieces;
for teachers. The mistakes' helpers take switches that turn the right computation into a typical wrong one."""

from __future__ import annotations

from typing import Any


def token_ids(tokenizer: Any, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """The prompt's and the reply's ids, each tokenized alone without special tokens."""
    return (tokenizer(prompt, add_special_tokens=False)["input_ids"],
            tokenizer(response, add_special_tokens=False)["input_ids"])


def token_logprobs(model: Any, tokenizer: Any, prompt: str, response: str, shift: int = 1,
                   with_prompt: bool = False, skip: int = 0) -> Any:
    """Per-token log-probs of the reply's tokens given the prompt, shape ``(R,)``.

    ``shift=0`` scores each token with the logits at its own position (no shift); ``with_prompt`` also returns the
    prompt's tokens after the first; ``skip`` drops the first reply tokens (an off-by-one start).
    """
    import torch

    p, r = token_ids(tokenizer, prompt, response)
    ids = torch.tensor([p + r])
    with torch.no_grad():
        logits = model(ids).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    n = ids.shape[1]
    pos = torch.arange(shift, n)  # positions of the scored tokens
    got = lp[pos - shift, ids[0, pos]]  # logits at t - shift score the token at t
    start = 1 if with_prompt else len(p) + skip
    return got[start - shift:]


__all__ = ["token_ids", "token_logprobs"]
