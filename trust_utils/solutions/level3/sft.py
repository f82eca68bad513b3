"""Reference solution of the level-3 SFT exercise (:mod:`trust_utils.exercises.level3.sft`); for teachers."""

from __future__ import annotations

from typing import Any

from . import token_logprobs


def response_nll(model: Any, tokenizer: Any, prompt: str, response: str) -> float:
    """Mean negative log-likelihood of the reply's tokens given the prompt (the SFT loss of one example)."""
    return float(-token_logprobs(model, tokenizer, prompt, response).mean())


def mistakes():
    def reply_alone(model, tok, prompt, response):
        return float(-token_logprobs(model, tok, "", response, with_prompt=True).mean())

    return [(lambda m, t, p, r: float(-token_logprobs(m, t, p, r, with_prompt=True).mean()),
             "masking the prompt: average over the REPLY tokens only; the prompt's tokens carry no loss"),
            (lambda m, t, p, r: float(-token_logprobs(m, t, p, r, shift=0).mean()),
             "shift: the logits at position t predict the token at t + 1 (compare logits[:-1] with ids[1:])"),
            (lambda m, t, p, r: float(-token_logprobs(m, t, p, r, skip=1).mean()),
             "off by one: the first reply token is predicted by the LAST PROMPT position; it carries a loss"),
            (lambda m, t, p, r: float(-token_logprobs(m, t, p, r).sum()),
             "a sum, not a mean: divide by the number of reply tokens"),
            (reply_alone, "the prompt: run the model on prompt + reply; the reply alone loses its context")]


__all__ = ["response_nll", "mistakes"]
