""""Look inside" helpers for course mode: one real example through each stage, as a small table.

Method notebooks (``10_sft``, ``11_reward_model``, ``12_ppo``, ``13_dpo``): each helper takes one prepared row
(``trust_utils.data.prepare.load_prepared(run_dir, "sft_train" | "pref_train")``) and the stage's model/tokenizer,
tokenises it exactly as the stage's TRL 1.12 trainer does (``tests/test_losses.py`` compares the ids and masks with
the trainer's own collated batch), and returns a :class:`LookInside`: ``table`` (one row per token: position,
token, id, whether it carries loss, ...), ``loss`` computed with :mod:`trust_utils.losses`, and ``trainer_loss``,
the trainer's own ``compute_loss`` on the same batch when a trainer is passed (:func:`stage_trainer` builds one that
touches none of the stage's files). The two are equal (tested). For PPO, :func:`ppo_rollout` generates one response
and returns per token the log-probs, KL to the reference, shaped reward, value, GAE advantage and return.

Vertical notebooks have their own helper, :func:`trust_utils.verticals.common.vertical_example` (kept out of this
module so that a method notebook does not depend on the verticals' parsers, nor a vertical notebook on the losses).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LookInside:
    """One example through a stage: per-token ``table``, ``loss`` (losses.py), ``trainer_loss`` (TRL), ``extra``."""

    table: Any
    loss: float
    trainer_loss: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    batch: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        tl = "no trainer given" if self.trainer_loss is None else f"{self.trainer_loss:.6f}"
        more = "".join(f", {k}={v:.4f}" if isinstance(v, float) else f", {k}={v}" for k, v in self.extra.items())
        return f"LookInside(loss={self.loss:.6f} (trust_utils.losses), trainer_loss={tl}{more}, {len(self.table)} rows)"


def _decode_tokens(tok, ids: list[int]) -> list[str]:
    return [tok.decode([i]) for i in ids]


def _with_eos(text: str, eos: str) -> str:
    return text if text.endswith(eos) else text + eos


def stage_trainer(stage_cfg, device: str = "cpu", n_train: int = 2):
    """The stage's configured TRL trainer (its own ``build_trainer``) on the first ``n_train`` rows, for its loss only.

    The stage's callbacks are left out: its training-log callback would start a fresh ``training_log.csv``.
    Nothing is trained or saved.
    """
    import importlib
    from unittest import mock

    from .training import callbacks  # imports transformers at its top

    mod = importlib.import_module(f"trust_utils.training.{stage_cfg.MODULE}")
    if not hasattr(mod, "build_trainer"):
        raise ValueError(f"stage {stage_cfg.STAGE!r} has no TRL trainer whose loss can be compared")
    cfg = dataclasses.replace(stage_cfg, n_train=n_train)
    with mock.patch.object(callbacks, "standard_callbacks", lambda *a, **k: []):
        trainer, _ = mod.build_trainer(cfg, device)
    return trainer


def _trainer_loss(trainer, model, batch: dict[str, Any]) -> float:
    """The trainer's own ``compute_loss`` on ``batch``, for the weights of ``model``.

    TRL's ``SFTTrainer`` (its default ``loss_type="chunked_nll"``) patches the forward of *its own* model to return
    the token count it divides by, so its ``compute_loss`` fails on any other model object, e.g. a checkpoint the
    notebook loaded (``'CausalLMOutputWithPast' object has no attribute 'num_valid_tokens'``). So the weights of
    ``model`` are copied into the trainer's model (a throw-away one from :func:`stage_trainer`) and that is scored.
    """
    import torch

    target = trainer.model
    if model is not target:
        try:
            target.load_state_dict(model.state_dict())
        except RuntimeError as exc:
            raise ValueError(f"the trainer's model and the model to look inside differ in architecture; build the "
                             f"trainer from the same stage config (course.stage_trainer(cfg)): {exc}") from None
    target.eval()
    with torch.no_grad():
        return float(trainer.compute_loss(target, dict(batch)))


# ------------------------------------------------------------------------------------------ SFT
def sft_batch(tok, row: dict[str, Any], max_length: int) -> dict[str, Any]:
    """``input_ids``, ``attention_mask``, ``labels`` (1, T) for one ``sft_train`` row, as TRL's ``SFTTrainer`` builds
    them: ``prompt + completion + EOS`` tokenised whole, the first ``len(tokenize(prompt))`` labels -100, cut to
    ``max_length``."""
    import torch

    from .losses import IGNORE_INDEX

    prompt, completion = row["prompt"], row.get("completion", row.get("chosen"))
    if completion is None:
        raise KeyError("sft_batch: the row needs 'prompt' and 'completion' (an sft_train row) or 'chosen'")
    n_p = len(tok(prompt)["input_ids"])
    ids = tok(prompt + _with_eos(completion, tok.eos_token))["input_ids"][:max_length]
    labels = [IGNORE_INDEX] * min(n_p, len(ids)) + ids[n_p:]
    return {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
            "labels": torch.tensor([labels])}


def look_inside_sft(model, tok, row: dict[str, Any], max_length: int = 512, trainer=None) -> LookInside:
    """One SFT example: tokens with their loss mask and log-prob, the masked NLL, and the trainer's loss."""
    import pandas as pd
    import torch

    from .losses import IGNORE_INDEX, sft_loss, token_logprobs

    batch = sft_batch(tok, row, max_length)
    dev = next(model.parameters()).device
    b = {k: v.to(dev) for k, v in batch.items()}
    with torch.no_grad():
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        loss = float(sft_loss(logits, b["labels"]))
        lp = [float("nan")] + token_logprobs(logits, b["input_ids"])[0].tolist()
    tl = _trainer_loss(trainer, model, b) if trainer is not None else None
    ids = batch["input_ids"][0].tolist()
    in_loss = [lab != IGNORE_INDEX for lab in batch["labels"][0].tolist()]
    table = pd.DataFrame({"position": range(len(ids)), "token": _decode_tokens(tok, ids), "id": ids,
                          "in_loss": in_loss, "logprob": lp})
    table.loc[~table["in_loss"], "logprob"] = float("nan")
    return LookInside(table, loss, tl, {"n_prompt_tokens": int(sum(not x for x in in_loss)),
                                        "n_loss_tokens": int(sum(in_loss))}, batch)


# ------------------------------------------------------------------------------------------ reward model
def pair_batch_rm(tok, row: dict[str, Any], max_length: int) -> dict[str, Any]:
    """``input_ids``/``attention_mask`` (2, T) for one preference row as TRL's ``RewardTrainer`` builds them:
    ``prompt + reply + EOS`` for chosen (row 0) and rejected (row 1), right-padded with the pad token."""
    import torch

    seqs = [tok(row["prompt"] + _with_eos(row[k], tok.eos_token))["input_ids"] for k in ("chosen", "rejected")]
    if max(len(s) for s in seqs) > max_length:
        raise ValueError(f"this pair is longer than max_length={max_length} tokens: the reward trainer drops such "
                         f"pairs; pick another row or raise max_length")
    T = max(len(s) for s in seqs)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ids = torch.full((2, T), pad, dtype=torch.long)
    att = torch.zeros((2, T), dtype=torch.long)
    for k, s in enumerate(seqs):
        ids[k, :len(s)], att[k, :len(s)] = torch.tensor(s), 1
    return {"input_ids": ids, "attention_mask": att}


def look_inside_reward(rm, tok, row: dict[str, Any], max_length: int = 512, trainer=None) -> LookInside:
    """One preference pair through the reward model: both sequences' tokens (the reward is read at the last real
    token), r(chosen), r(rejected), the Bradley-Terry loss and the trainer's loss."""
    import pandas as pd
    import torch

    from .losses import bradley_terry_loss

    batch = pair_batch_rm(tok, row, max_length)
    dev = next(rm.parameters()).device
    b = {k: v.to(dev) for k, v in batch.items()}
    with torch.no_grad():
        r = rm(**b).logits[:, 0].float()
        loss = float(bradley_terry_loss(r[0:1], r[1:2]))
    tl = _trainer_loss(trainer, rm, b) if trainer is not None else None
    rows = []
    for k, side in enumerate(("chosen", "rejected")):
        n = int(batch["attention_mask"][k].sum())
        ids = batch["input_ids"][k, :n].tolist()
        for t, (i, s) in enumerate(zip(ids, _decode_tokens(tok, ids), strict=True)):
            rows.append({"side": side, "position": t, "token": s, "id": i, "reward_read_here": t == n - 1})
    return LookInside(pd.DataFrame(rows), loss, tl, {"r_chosen": float(r[0]), "r_rejected": float(r[1]),
                                                     "margin": float(r[0] - r[1])}, batch)


# ------------------------------------------------------------------------------------------ DPO
def pair_batch_dpo(tok, row: dict[str, Any], max_length: int) -> dict[str, Any]:
    """``input_ids``/``attention_mask``/``completion_mask`` (2, T) as TRL's ``DPOTrainer`` builds them: prompt ids
    + reply ids (of ``prompt + reply + EOS`` tokenised whole), chosen then rejected, cut to ``max_length``
    (keep start), right-padded."""
    import torch

    p = tok(row["prompt"])["input_ids"]
    seqs, masks = [], []
    for k in ("chosen", "rejected"):
        whole = tok(row["prompt"] + _with_eos(row[k], tok.eos_token))["input_ids"]
        reply = whole[len(p):]
        seqs.append((p + reply)[:max_length])
        masks.append(([0] * len(p) + [1] * len(reply))[:max_length])
    T = max(len(s) for s in seqs)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ids = torch.full((2, T), pad, dtype=torch.long)
    att = torch.zeros((2, T), dtype=torch.long)
    comp = torch.zeros((2, T), dtype=torch.long)
    for k, (s, m) in enumerate(zip(seqs, masks, strict=True)):
        ids[k, :len(s)], att[k, :len(s)], comp[k, :len(s)] = torch.tensor(s), 1, torch.tensor(m)
    return {"input_ids": ids, "attention_mask": att, "completion_mask": comp}


#: the DPO look-inside table's columns: one row per reply token of each side
DPO_TABLE_COLUMNS = ("side", "position", "token", "id", "logp_policy", "logp_ref", "logratio", "logratio_cumsum")


def dpo_token_table(tokens: list[list[str]], ids: list[list[int]], completion_mask: list[list[int]],
                    logp_policy: list[list[float]], logp_ref: list[list[float]]) -> Any:
    """The DPO look-inside table: one row per reply token, chosen (sequence 0) then rejected (sequence 1).

    ``tokens``/``ids``/``completion_mask``: per sequence, its real (unpadded) tokens and TRL's completion mask;
    ``logp_policy``/``logp_ref``: per sequence, :func:`trust_utils.losses.token_logprobs` (entry ``t - 1`` is the
    log-prob of token ``t``). Columns :data:`DPO_TABLE_COLUMNS`: ``logratio`` is ``logp_policy - logp_ref`` of the
    token and ``logratio_cumsum`` its running sum over the side, so a side's last row holds its sequence log-ratio
    ``log pi(y|x) - log pi_ref(y|x)`` (the sums :func:`trust_utils.losses.sequence_logprobs` gives). Position 0 never
    carries loss (nothing predicts it), as in ``sequence_logprobs``.
    """
    import pandas as pd

    rows = []
    for k, side in enumerate(("chosen", "rejected")):
        running = 0.0
        for t in range(1, len(ids[k])):
            if not completion_mask[k][t]:
                continue
            lp, lr = float(logp_policy[k][t - 1]), float(logp_ref[k][t - 1])
            running += lp - lr
            rows.append({"side": side, "position": t, "token": tokens[k][t], "id": int(ids[k][t]), "logp_policy": lp,
                         "logp_ref": lr, "logratio": lp - lr, "logratio_cumsum": running})
    return pd.DataFrame(rows, columns=list(DPO_TABLE_COLUMNS))


def look_inside_dpo(policy, reference, tok, row: dict[str, Any], beta: float = 0.1, max_length: int = 512,
                    trainer=None) -> LookInside:
    """One pair through DPO: per reply token the policy's and reference's log-probs and their difference with its
    running sum (:func:`dpo_token_table`); ``extra`` holds the per-side sums (``logp_policy_chosen``, ...), the
    sequence log-ratios, the implicit rewards ``beta * log-ratio``; ``loss`` is the DPO loss (losses.py) and
    ``trainer_loss`` the trainer's (its own reference). The table's sums equal the per-side sums (tested)."""
    import torch

    from .losses import dpo_loss, sequence_logprobs, token_logprobs

    batch = pair_batch_dpo(tok, row, max_length)
    dev = next(policy.parameters()).device
    b = {k: v.to(dev) for k, v in batch.items()}
    fwd = {"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]}
    with torch.no_grad():
        lg_pol, lg_ref = policy(**fwd).logits, reference(**fwd).logits
        pol = sequence_logprobs(lg_pol, b["input_ids"], b["completion_mask"])
        ref = sequence_logprobs(lg_ref, b["input_ids"], b["completion_mask"])
        loss, rc, rr = dpo_loss(pol[0:1], pol[1:2], ref[0:1], ref[1:2], beta)
        tp, tr = token_logprobs(lg_pol, b["input_ids"]), token_logprobs(lg_ref, b["input_ids"])
    tl = _trainer_loss(trainer, policy, b) if trainer is not None else None
    lens = [int(batch["attention_mask"][k].sum()) for k in (0, 1)]
    ids = [batch["input_ids"][k, :n].tolist() for k, n in enumerate(lens)]
    table = dpo_token_table([_decode_tokens(tok, x) for x in ids], ids,
                            [batch["completion_mask"][k, :n].tolist() for k, n in enumerate(lens)],
                            [tp[k].tolist() for k in (0, 1)], [tr[k].tolist() for k in (0, 1)])
    extra = {"logp_policy_chosen": float(pol[0]), "logp_ref_chosen": float(ref[0]),
             "logp_policy_rejected": float(pol[1]), "logp_ref_rejected": float(ref[1]),
             "logratio_chosen": float(pol[0] - ref[0]), "logratio_rejected": float(pol[1] - ref[1]),
             "reward_chosen": float(rc[0]), "reward_rejected": float(rr[0])}
    return LookInside(table, float(loss), tl, extra, batch)


# ------------------------------------------------------------------------------------------ PPO
def ppo_rollout(policy, reference, reward_model, value_model, tok, prompt: str, response_length: int = 24,
                temperature: float = 1.0, kl_coef: float = 0.05, kl_estimator: str = "k1", gamma: float = 1.0,
                lam: float = 0.95, seed: int = 0, max_prompt_length: int = 256, score_offset: int = 1) -> LookInside:
    """One PPO rollout as TRL's ``PPOTrainer`` computes it, for one prompt.

    Sample a response (temperature, top-k 0, top-p 1), truncate after the first EOS, log-probs of the response
    under the policy and the reference (logits / temperature), the RM score of prompt + response, per-token values
    from the value model, then :func:`trust_utils.losses.ppo_rewards` and :func:`trust_utils.losses.gae`. The table
    has one row per response token; ``loss`` is the rollout's RLHF reward ``score - kl_coef * sum(kl)``;
    advantages are shown before whitening (whitening needs a batch).
    """
    import pandas as pd
    import torch

    from .losses import gae, ppo_rewards, response_padding_mask

    dev = next(policy.parameters()).device
    q = tok(prompt, add_special_tokens=False)["input_ids"][-max_prompt_length:]
    query = torch.tensor([q], device=dev)
    ctx = query.shape[1]
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    g = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            out = policy.generate(input_ids=query, attention_mask=torch.ones_like(query), do_sample=True,
                                  temperature=temperature + 1e-7, top_k=0, top_p=1.0, max_new_tokens=response_length,
                                  min_new_tokens=response_length, pad_token_id=pad, eos_token_id=None)
    finally:
        torch.random.set_rng_state(g)
    response = out[:, ctx:]
    # truncate after the first EOS (TRL truncate_response): the rest becomes padding
    eos = tok.eos_token_id
    is_eos = (response == eos)
    after = torch.cumsum(is_eos.long(), 1) - is_eos.long() > 0
    post = torch.masked_fill(response, after, pad)
    qr = torch.cat([query, post], 1)
    seq_len = int(((post == pad).long().argmax(1) - 1).item()) if bool((post == pad).any()) else post.shape[1] - 1
    attn = (qr != pad).long()
    pos = attn.cumsum(1) - attn
    with torch.no_grad():
        def _lp(model, ids):
            lg = model(input_ids=torch.cat([query, ids], 1), attention_mask=torch.ones(1, ctx + ids.shape[1],
                                                                                         dtype=torch.long, device=dev)
                       ).logits[:, ctx - 1:-1] / (temperature + 1e-7)
            return torch.log_softmax(lg.float(), -1).gather(-1, ids[..., None])[..., 0]

        logprobs, ref_logprobs = _lp(policy, response), _lp(reference, response)
        ids_in = torch.masked_fill(qr, attn == 0, 0)

        def _per_token(model, ids):
            backbone = getattr(model, model.base_model_prefix)
            h = backbone(input_ids=ids, attention_mask=attn, position_ids=pos, output_hidden_states=True,
                         use_cache=False).hidden_states[-1]
            return model.score(h)[..., 0].float()

        score = float(_per_token(reward_model, ids_in)[0, ctx + seq_len])
        values = _per_token(value_model, torch.masked_fill(torch.cat([query, response], 1),
                                                           torch.cat([query, response], 1) == pad, 0))
        values = values[:, ctx - 1:-1]
    lens = torch.tensor([seq_len], device=dev)
    pm1 = response_padding_mask(lens + 1, response.shape[1])
    values = torch.masked_fill(values, pm1, 0.0)
    shaped = ppo_rewards(logprobs, ref_logprobs, torch.tensor([score], device=dev), lens, kl_coef, kl_estimator,
                         score_offset)
    adv, ret = gae(shaped["rewards"], values, gamma, lam)
    ids = post[0].tolist()
    pm = response_padding_mask(lens, response.shape[1])[0].tolist()
    table = pd.DataFrame({
        "t": range(len(ids)), "token": _decode_tokens(tok, ids), "id": ids, "in_response": [not x for x in pm],
        "logprob": logprobs[0].tolist(), "ref_logprob": ref_logprobs[0].tolist(), "kl": shaped["kl"][0].tolist(),
        "reward": shaped["rewards"][0].tolist(), "value": values[0].tolist(), "advantage": adv[0].tolist(),
        "return": ret[0].tolist()})
    rlhf = score - kl_coef * float(shaped["kl"][0].sum())
    return LookInside(table, rlhf, None, {"score": score, "kl_sum": float(shaped["kl"][0].sum()),
                                          "sequence_length": seq_len + 1, "response": tok.decode(ids[:seq_len + 1])})


__all__ = ["LookInside", "stage_trainer", "sft_batch", "look_inside_sft", "pair_batch_rm", "look_inside_reward",
           "pair_batch_dpo", "DPO_TABLE_COLUMNS", "dpo_token_table", "look_inside_dpo", "ppo_rollout"]
