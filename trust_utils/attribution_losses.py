"""The losses the ``attribution`` stage differentiates, on one example ``{prompt, chosen, rejected}`` (batch size 1):
SFT (token-mean NLL of the reply), DPO (summed reply log-probs of policy and reference) and Bradley-Terry (the reward
model's score of prompt + reply + EOS). The formulas are :mod:`trust_utils.losses` (those the stages' TRL trainers
compute); this module tokenises an example the way the stages do. See :mod:`trust_utils.attribution` for which loss
attributes which stage.
"""

from __future__ import annotations

from .losses import IGNORE_INDEX, bradley_terry_loss, sequence_logprobs
from .losses import dpo_loss as sigmoid_dpo
from .losses import sft_loss as masked_nll


def _encode(tok, prompt: str, reply: str, add_eos: bool, max_length: int, device: str):
    """ids (1, T) and the number of prompt tokens; the prompt is cut from the left when too long."""
    import torch

    p = tok(prompt, add_special_tokens=False)["input_ids"]
    text = reply + (tok.eos_token if add_eos and not reply.endswith(tok.eos_token) else "")
    c = tok(text, add_special_tokens=False)["input_ids"][: max(1, max_length - 1)]
    p = p[-(max_length - len(c)):] if max_length - len(c) > 0 else []
    ids = torch.tensor([p + c], device=device)
    return ids, len(p)


def reply_logprobs(model, ids, n_prompt: int):
    """Per-token log-probs of the reply tokens (positions >= n_prompt) under ``model``: shape (n_reply,)."""
    import torch

    logits = model(input_ids=ids).logits[0, :-1].float()
    lp = torch.log_softmax(logits, -1).gather(-1, ids[0, 1:, None])[:, 0]
    start = max(n_prompt - 1, 0)
    return lp[start:]


def sft_loss(model, tok, ex: dict, max_length: int, device: str, add_eos: bool = True):
    """Token-mean NLL of the reply (prompt masked with -100): :func:`trust_utils.losses.sft_loss`."""
    ids, n_p = _encode(tok, ex["prompt"], ex["chosen"], add_eos, max_length, device)
    labels = ids.clone()
    labels[:, :n_p] = IGNORE_INDEX
    return masked_nll(model(input_ids=ids).logits, labels)


def pair_reply_logprobs(model, tok, prompt: str, replies: list[str], add_eos: bool, max_length: int, device: str):
    """Summed reply log-probs of several replies to one prompt, in one right-padded forward pass."""
    import torch

    enc = [_encode(tok, prompt, r, add_eos, max_length, device) for r in replies]
    T = max(ids.shape[1] for ids, _ in enc)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    ids = torch.full((len(enc), T), pad, dtype=torch.long, device=device)
    att = torch.zeros((len(enc), T), dtype=torch.long, device=device)
    completion = torch.zeros((len(enc), T), dtype=torch.long, device=device)
    for k, (x, n_p) in enumerate(enc):
        n = x.shape[1]
        ids[k, :n], att[k, :n] = x[0], 1
        completion[k, max(n_p, 1):n] = 1  # reply tokens only (the first token is never predicted)
    return sequence_logprobs(model(input_ids=ids, attention_mask=att).logits, ids, completion)


def dpo_loss(policy, reference, tok, ex: dict, beta: float, max_length: int, device: str, add_eos: bool = True):
    """DPO loss; log pi(y|x) is the sum of the reply's per-token log-probs (chosen and rejected in one batch)."""
    import torch

    replies = [ex["chosen"], ex["rejected"]]
    with torch.no_grad():
        ref = pair_reply_logprobs(reference, tok, ex["prompt"], replies, add_eos, max_length, device)
    pol = pair_reply_logprobs(policy, tok, ex["prompt"], replies, add_eos, max_length, device)
    return sigmoid_dpo(pol[0:1], pol[1:2], ref[0:1], ref[1:2], beta)[0]


def bt_loss(rm, tok, ex: dict, max_length: int, device: str, add_eos: bool = True):
    """Bradley-Terry loss; rewards of prompt + reply (+ EOS), right-padded, as :func:`reward.score` reads them."""
    texts = [ex["prompt"] + r + (tok.eos_token if add_eos and not r.endswith(tok.eos_token) else "")
             for r in (ex["chosen"], ex["rejected"])]
    side = tok.padding_side
    tok.padding_side = "right"
    try:
        enc = tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length,
                  add_special_tokens=False).to(device)
    finally:
        tok.padding_side = side
    r = rm(**enc).logits[:, 0].float()
    return bradley_terry_loss(r[0:1], r[1:2])


__all__ = ["reply_logprobs", "sft_loss", "pair_reply_logprobs", "dpo_loss", "bt_loss"]
