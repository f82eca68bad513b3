"""A pad token distinct from EOS for the reward model and PPO, so the EOS that ends a reply stays a real token.

Many tokenizers have no pad token, and :func:`trust_utils.models.load_tokenizer` then pads with EOS (Pythia); others
ship ``pad = eos`` (SmolLM2-Instruct: both ``<|im_end|>``). TRL's PPO finds the end of a response with the *pad* id:
``sequence_length = first index of pad - 1``. With pad = EOS that is the token *before* the first EOS, so the EOS
itself is masked out of the policy and value losses (the policy never learns to stop), the KL and the RM score are
taken before it, and TRL's forward passes do not even attend to it (``attention_mask = ids != pad``). The reward
model's sequence-classification head has the same problem: it reads the score at the last non-pad token, i.e. before
the EOS appended to every reply.

:func:`distinct_pad_token` gives such a tokenizer an existing special token of its own vocabulary as pad, one that
never occurs in the data (so embeddings need no resizing and token ids do not change): a token named like a pad
token (``<|padding|>`` of GPT-NeoX/Pythia), else another special token that is neither BOS, EOS nor UNK
(``<repo_name>`` for SmolLM2), else UNK (Llama). Padding positions are masked everywhere, so which spare token it is
does not change any value. The reward model (trained and scored with it, so it reads its score at the EOS) and
PPO (policy, reference, reward and value models) use it; their saved tokenizers carry it.
"""

from __future__ import annotations

from .config import TrainingError


def _spare_special_tokens(tok) -> list[tuple[int, str]]:
    """(id, text) of the tokenizer's special tokens other than BOS and EOS, by id."""
    used = {tok.eos_token_id, tok.bos_token_id}
    decoder = getattr(tok, "added_tokens_decoder", {}) or {}
    return [(int(i), t.content) for i, t in sorted(decoder.items())
            if getattr(t, "special", False) and int(i) not in used]


def distinct_pad_token(tok, name: str = "the policy") -> str | None:
    """Make ``tok``'s pad token differ from its EOS (in place); return the new pad token, or None if it already did.

    Raises :class:`TrainingError` naming ``name`` when the vocabulary has no spare special token to pad with.
    """
    if tok.eos_token_id is None or (tok.pad_token_id is not None and tok.pad_token_id != tok.eos_token_id):
        return None
    spare = _spare_special_tokens(tok)
    named = [c for c in spare if "pad" in c[1].lower()]
    others = [c for c in spare if c[0] != tok.unk_token_id]
    unk = [c for c in spare if c[0] == tok.unk_token_id]
    pick = (named or others or unk or [None])[0]
    if pick is None:
        raise TrainingError(
            f"the tokenizer of {name} pads with its EOS token {tok.eos_token!r} and has no other special token to "
            "pad with; PPO and the reward model need a pad token distinct from EOS (TRL masks everything from the "
            "first pad on, the EOS included). Add one to the SFT model's tokenizer "
            "(tokenizer.add_special_tokens({'pad_token': '<|pad|>'}) and model.resize_token_embeddings) and rerun.")
    tok.pad_token = pick[1]
    if tok.pad_token_id != pick[0]:  # a tokenizer that re-encodes the token text differently
        raise TrainingError(f"could not set the pad token of {name} to {pick[1]!r} (id {pick[0]})")
    return pick[1]


__all__ = ["distinct_pad_token"]
