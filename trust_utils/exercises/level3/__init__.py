"""Level-3 exercises (from a model and a tokenizer) and their fixtures: a character-level tokenizer and tiny random
GPT-NeoX models built in memory from fixed seeds (no download, no training, well under a second).

A character-level tokenizer makes the boundary unambiguous: tokenizing the prompt and the reply separately and
concatenating the ids gives the ids of the concatenated text, as with the project's prompt/reply split. The weights
are drawn with a larger spread than a fresh model's (0.3 instead of 0.02), so that the log-probabilities differ from
token to token and an off-by-one shift changes the answer well beyond the checks' tolerance.

Not wired into the notebooks yet (:data:`trust_utils.exercises.UNWIRED`); a notebook that uses one imports its
module, e.g. ``from trust_utils.exercises.level3 import dpo as exercise3``.
"""

from __future__ import annotations

import string
from typing import Any, Callable

#: The fixture tokenizer's characters (after ``<eos>`` = 0 and ``<pad>`` = 1).
CHARS = string.ascii_letters + string.digits + " .,!?':\n-"
HIDDEN = 16
#: Seeds of the fixture models: the policy (the one model of a one-model exercise) and the reference.
POLICY_SEED, REFERENCE_SEED = 1, 2


def tokenizer() -> Any:
    """A fast Hugging Face tokenizer with one token per character; ``<eos>`` is EOS (and BOS), ``<pad>`` pads."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<eos>": 0, "<pad>": 1, **{c: i + 2 for i, c in enumerate(CHARS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<eos>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("(?m)."), behavior="isolated")
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", bos_token="<eos>", pad_token="<pad>",
                                   unk_token="<eos>")


def causal_lm(seed: int = POLICY_SEED) -> Any:
    """A one-layer GPT-NeoX causal LM over :data:`CHARS`, its weights drawn from ``seed`` (eval mode)."""
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    cfg = GPTNeoXConfig(vocab_size=len(CHARS) + 2, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=2 * HIDDEN, max_position_embeddings=256, rotary_pct=0.5,
                        tie_word_embeddings=False, bos_token_id=0, eos_token_id=0, pad_token_id=1)
    with torch.random.fork_rng():  # the construction draws from the global generator: leave the caller's alone
        model = GPTNeoXForCausalLM(cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model.eval()


def reward_head(seed: int = POLICY_SEED) -> Any:
    """A reward model's head: ``Linear(HIDDEN, 1, bias=False)`` (as Hugging Face's ``score`` layer), from ``seed``."""
    import torch

    head = torch.nn.Linear(HIDDEN, 1, bias=False)
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=g))
    return head


def with_models(*models: Callable[[], Any]) -> Callable[[Callable], Callable]:
    """A check's ``bind``: call the function with fresh fixture models (built once per check) and the tokenizer
    before the case's own arguments."""

    def bind(fn: Callable) -> Callable:
        built = [m() for m in models]
        tok = tokenizer()
        return lambda *args: fn(*built, tok, *args)

    return bind


__all__ = ["CHARS", "HIDDEN", "POLICY_SEED", "REFERENCE_SEED", "tokenizer", "causal_lm", "reward_head", "with_models"]
