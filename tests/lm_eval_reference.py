"""Test helper: the independent computation every likelihood scorer is checked against.

lm-evaluation-harness' ``loglikelihood`` for one request, unbatched, on a plain Hugging Face forward
(``HFLM._encode_pair`` + ``_loglikelihood_tokens``): trailing spaces of the context move to the continuation,
``context + continuation`` is tokenised whole, and the tokens after the context's own tokenisation are scored by one
forward over the whole sequence (the sum of their log-softmax, in fp32).

Two rules follow the engine where lm-eval leaves a choice: only spaces move (lm-eval's ``rstrip()`` would also move
a chat template's closing newline into the reply), and the tokenizer adds its special tokens as it does by default
(a BOS for Gemma, as lm-eval's ``add_bos_token`` gives Gemma; nothing for GPT-2-style tokenizers).
"""

from __future__ import annotations

import torch


def lm_eval_loglik(model, tok, context: str, continuation: str, move_spaces: bool = True) -> tuple[float, int]:
    """``(sum log p(continuation | context), number of continuation tokens)`` by lm-eval's split; with
    ``move_spaces=False`` a context's trailing spaces stay its own (the split exactly as given)."""
    n_sp = len(context) - len(context.rstrip(" ")) if move_spaces else 0
    if n_sp:
        context, continuation = context[:-n_sp], context[-n_sp:] + continuation
    whole = tok(context + continuation)["input_ids"]
    n_ctx = len(tok(context)["input_ids"])
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), dim=-1)
    return float(sum(logp[i - 1, whole[i]] for i in range(n_ctx, len(whole)))), len(whole) - n_ctx
