"""Reference solution of the level-3 reward-model exercise (:mod:`trust_utils.exercises.level3.reward_model`); for
teachers."""

from __future__ import annotations

from typing import Any

from . import token_ids


def _score(backbone, head, tok, prompt, response, eos=True, pool="last", with_prompt=True):
    """The reward; ``eos``, ``pool`` and ``with_prompt`` make the mistakes."""
    import torch

    p, r = token_ids(tok, prompt, response)
    ids = (p if with_prompt else []) + r + ([tok.eos_token_id] if eos else [])
    with torch.no_grad():
        hidden = backbone(torch.tensor([ids])).last_hidden_state[0]
        h = {"last": hidden[-1], "first": hidden[0], "mean": hidden.mean(0)}[pool]
        return float(head(h)[0])


def reward_of(backbone: Any, head: Any, tokenizer: Any, prompt: str, response: str) -> float:
    """The head applied to the backbone's last hidden state at the EOS appended to prompt + reply."""
    return _score(backbone, head, tokenizer, prompt, response)


def mistakes():
    return [(lambda b, h, t, p, r: _score(b, h, t, p, r, eos=False),
             "EOS: append the tokenizer's eos_token_id to the reply and read the score there, as the project's "
             "reward model does (the last real token of every scored text is then the same kind of token)"),
            (lambda b, h, t, p, r: _score(b, h, t, p, r, pool="first"),
             "position: read the score at the LAST token (only it has seen the whole text; the first token has "
             "seen nothing but itself)"),
            (lambda b, h, t, p, r: _score(b, h, t, p, r, pool="mean"),
             "pooling: the score is read at the last token, not averaged over the tokens"),
            (lambda b, h, t, p, r: _score(b, h, t, p, r, with_prompt=False),
             "the prompt: score prompt + reply; a reply is good or bad as an answer TO the prompt")]


__all__ = ["reward_of", "mistakes"]
