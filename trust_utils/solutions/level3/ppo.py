"""Reference solution of the level-3 PPO exercise (:mod:`trust_utils.exercises.level3.ppo`); for teachers."""

from __future__ import annotations

from typing import Any

from . import token_logprobs


def _rewards(policy, reference, tok, prompt, response, score, kl_coef, at="last", sign=1.0, shift=1,
             with_prompt=False):
    """The rewards; ``at``, ``sign``, ``shift`` and ``with_prompt`` make the mistakes."""
    lp = token_logprobs(policy, tok, prompt, response, shift=shift, with_prompt=with_prompt)
    ref = token_logprobs(reference, tok, prompt, response, shift=shift, with_prompt=with_prompt)
    rewards = -sign * kl_coef * (lp - ref)
    if at == "all":
        return rewards + score
    rewards[-1 if at == "last" else 0] += score
    return rewards


def kl_penalized_rewards(policy: Any, reference: Any, tokenizer: Any, prompt: str, response: str, score: float,
                         kl_coef: float) -> Any:
    """Per reply token ``-kl_coef * (log pi - log ref)``, plus the reward model's ``score`` on the last token
    (Ziegler et al. 2019; TRL's PPO)."""
    return _rewards(policy, reference, tokenizer, prompt, response, score, kl_coef)


def mistakes():
    return [(lambda pi, ref, t, p, r, s, k: _rewards(pi, ref, t, p, r, s, k, at="all"),
             "the score: add the reward model's score ONCE, on the last reply token, not on every token"),
            (lambda pi, ref, t, p, r, s, k: _rewards(pi, ref, t, p, r, s, k, at="first"),
             "the score goes on the LAST reply token (the reward model scored the whole reply)"),
            (lambda pi, ref, t, p, r, s, k: _rewards(pi, ref, t, p, r, s, k, sign=-1.0),
             "sign: the KL term is a PENALTY, -kl_coef * (log pi - log ref)"),
            (lambda pi, ref, t, p, r, s, k: _rewards(pi, ref, t, p, r, s, k, shift=0),
             "shift: the logits at position t predict the token at t + 1 (compare logits[:-1] with ids[1:])"),
            (lambda pi, ref, t, p, r, s, k: _rewards(pi, ref, t, p, r, s, k, with_prompt=True),
             "the prompt: one reward per REPLY token (the policy did not choose the prompt's tokens)")]


__all__ = ["kl_penalized_rewards", "mistakes"]
