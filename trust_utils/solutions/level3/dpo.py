"""Reference solution of the level-3 DPO exercise (:mod:`trust_utils.exercises.level3.dpo`); for teachers."""

from __future__ import annotations

import math
from typing import Any

from . import token_logprobs


def _loss(policy, reference, tok, prompt, chosen, rejected, beta, reduce=sum, shift=1, skip=0):
    """The loss; ``reduce``, ``shift``, ``skip`` and ``reference=None`` (no reference) make the mistakes. (Summing
    the prompt's tokens too is no mistake here: the prompt is the same in both replies, its log-probs cancel.)"""
    def logp(model, response):
        if model is None:
            return 0.0
        return float(reduce(token_logprobs(model, tok, prompt, response, shift=shift, skip=skip)))

    z = beta * ((logp(policy, chosen) - logp(reference, chosen)) - (logp(policy, rejected) - logp(reference, rejected)))
    return math.log1p(math.exp(-z)) if z > -30 else -z  # -log sigmoid(z), stable


def dpo_pair_loss(policy: Any, reference: Any, tokenizer: Any, prompt: str, chosen: str, rejected: str,
                  beta: float) -> float:
    """``-log sigmoid(beta * [(pi_c - ref_c) - (pi_r - ref_r)])`` with sequence log-probs = the SUM of the reply's
    token log-probs given the prompt (as CS336's per-instance DPO loss)."""
    return _loss(policy, reference, tokenizer, prompt, chosen, rejected, beta)


def mistakes():
    def mean(xs):
        return xs.mean()

    return [(lambda pi, ref, t, p, c, r, b: _loss(pi, ref, t, p, c, r, b, reduce=mean),
             "a sequence log-prob is the SUM of its tokens' log-probs, not their mean"),
            (lambda pi, ref, t, p, c, r, b: _loss(pi, ref, t, p, c, r, b, shift=0),
             "shift: the logits at position t predict the token at t + 1 (compare logits[:-1] with ids[1:])"),
            (lambda pi, ref, t, p, c, r, b: _loss(pi, ref, t, p, c, r, 1.0),
             "beta: multiply the difference of log-ratios by beta"),
            (lambda pi, ref, t, p, c, r, b: _loss(pi, None, t, p, c, r, b),
             "the reference: subtract the reference model's log-probs (log-RATIOS, not policy log-probs)"),
            (lambda pi, ref, t, p, c, r, b: _loss(pi, ref, t, p, r, c, b),
             "sign: the chosen reply's log-ratio comes first (chosen - rejected)"),
            (lambda pi, ref, t, p, c, r, b: _loss(pi, ref, t, p, c, r, b, skip=1),
             "off by one: the first reply token is predicted by the last prompt position; it counts")]


__all__ = ["dpo_pair_loss", "mistakes"]
