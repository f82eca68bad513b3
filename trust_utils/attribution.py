"""Stage ``attribution``: which HH training examples push a stage's model toward its post-alignment behaviour?

A re-implementation of the paper's data attribution (paper README §6): DataInf (Kwon et al., ICLR 2024), a
closed-form influence-function approximation for LoRA-tuned models, applied to each alignment stage.

Influence functions (Koh & Liang 2017)
    Up-weighting a training example ``z_i`` by a small ``eps`` moves the optimum by ``-eps H^-1 g_i`` (``H`` the
    Hessian of the training loss, ``g_i`` the example's gradient), so the test loss changes by
    ``I(i) = -v^T H^-1 g_i`` per unit ``eps``, where ``v`` is the test-loss gradient. The expensive part is the
    inverse-Hessian-vector product (iHVP) ``h = H^-1 v``.

DataInf
    Replace ``H`` by the damped Gauss-Newton / Fisher matrix ``G + lambda I`` with ``G = (1/n) sum_i g_i g_i^T``,
    treat each layer separately (block-diagonal), and swap the inverse of the average for the average of the
    inverses ``(1/n) sum_i (g_i g_i^T + lambda I)^-1``, each of which has a closed form (Sherman-Morrison). Per layer:

        lambda_l = damping * mean_i mean(g_il^2)                            (damping 0.1, as the released code)
        h_l      = 1/(n lambda_l) * sum_i [ v_l - <v_l, g_il> / (lambda_l + ||g_il||^2) * g_il ]
        I(i)     = - sum_l <h_l, g_il>

    Sign (Koh & Liang): ``I(i) > 0`` means up-weighting example i would *increase* the test loss, i.e. it pushes
    AGAINST the post-alignment behaviour the test set encodes; ``I(i) < 0`` pushes TOWARD it. The paper also shows
    a normalised score in [-1, 1]: positives divided by the largest positive, negatives by ``|most negative|``.
    A "layer" is one LoRA matrix (A or B of one linear module), as the keys of DataInf's gradient dictionaries.

LoRA-isation of a full fine-tune
    DataInf needs LoRA gradients; our stages fine-tune all weights. As the released ``convert_lora.py``, each
    selected linear layer's update ``dW = W_ft - W_ref`` is truncated by SVD at rank ``lora_rank`` (4):
    ``A`` = top-r rows of ``V^T``, ``B = U_r diag(S_r)`` (alpha 1), so ``W = W_ref + B A``. The selected layers of the
    model are set to ``W_ref + B A`` (the LoRA-ised model the released code differentiated); other layers keep their
    fine-tuned weights (the released code truncated every linear layer, but only attributed through the last blocks).
    Per-example gradients w.r.t. A and B come from the full-weight gradient ``G = dL/dW`` evaluated at that point:
    ``dL/dB = G A^T`` and ``dL/dA = B^T G`` (exact for ``W = W_ref + B A``; checked against autograd in the tests).
    Only nn.Linear modules inside the last ``n_layers`` transformer blocks are used (default 2; the released code
    used the last 4 GPT-J blocks via a hard-coded slice ``names[288:-2]`` that is empty for Pythia); lm_head and
    the reward head are excluded.

The SFT, DPO and Bradley-Terry losses are :mod:`trust_utils.losses` (the formulas the stages' TRL trainers compute).

Stages (model vs its pre-alignment model; each skipped with a note when the run lacks a checkpoint)
    * ``sft``: SFT model vs base. Loss: token-mean NLL of the reply (prompt + chosen + EOS; prompt tokens masked).
    * ``dpo``: DPO model vs SFT. Loss: ``-log sigmoid(beta [(log pi(y_w) - log ref(y_w)) - (log pi(y_l) -
      log ref(y_l))])`` with the policy the LoRA-ised DPO model and the reference the SFT model, ``log pi(y)`` the
      *sum of per-token log-probs of the reply* (the released script applied log_softmax to the logits and never
      gathered the reply tokens; fixed). ``beta`` defaults to 0.1 (our DPO stage's value; the attribution script
      used 1.0).
    * ``rm`` (PPO, attributed through its reward model as the paper): the RM vs the model it was initialised from
      (its ``init_from``, normally SFT). Loss: Bradley-Terry ``-log sigmoid(r(x, y_w) - r(x, y_l))``, the reward read
      as the RM stage reads it (sequence-classifier logit at the last non-pad token of prompt + reply + EOS).

Data
    Training examples: a seeded subset of ``n_train`` pairs of ``pref_train`` (batch size 1). Test ("trust") set:
    the toxicity records of the post-alignment checkpoint ("new") and the pre-alignment one ("old") paired by
    variant, prompt id and sample index, ``n_test`` pairs (seeded), texts ``Human: {prompt}\\nAssistant: {cont}``:
    sft vs base, dpo vs sft, ppo vs sft for the RM. Test losses: SFT: NLL of the new continuation; RM: BT loss
    preferring new over old; DPO: DPO loss with y_w = new, y_l = old. ``v`` is the average test gradient. Without
    toxicity records for both checkpoints the held-out preference pairs (``pref_test``; new = chosen,
    old = rejected) are used instead, and the outputs say so.

Outputs (``<run_dir>/attribution/``): ``scores_<stage>.csv`` (id, subset, snippets, score, normalised score),
``outputs.json``.
"""

from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from .params import ModelStageConfig, param

from .checkpoints import METHODS, TRAINED

log = logging.getLogger(__name__)

STAGE = "attribution"
#: attribution stage name -> (model checkpoint, pre-alignment checkpoint for the toxicity test pairs, description);
#: derived from the methods that declare an attribution (:data:`trust_utils.checkpoints.METHODS`).
STAGE_MODELS: dict[str, tuple[str, str, str]] = {
    m.checkpoint: (m.checkpoint, m.init, m.attribution) for m in METHODS if m.attribution}
#: the post-alignment checkpoint whose generations are the "new" side of the test set
NEW_CHECKPOINT: dict[str, str] = {m.checkpoint: m.attribution_new or m.checkpoint for m in METHODS if m.attribution}
#: methods without a sensible attribution pair, and why (the stage skips them with this note)
NO_ATTRIBUTION: dict[str, str] = {m.checkpoint: m.attribution_note or "no attribution pair declared"
                                  for m in METHODS if not m.attribution}
_BLOCK_RE = re.compile(r"\.(?:layers|h|blocks|layer)\.(\d+)\.")
SNIPPET = 200


@dataclass
class AttributionConfig(ModelStageConfig):
    """Parameters of ``30_attribution`` (the schema of its parameters: :mod:`trust_utils.params`)."""

    stages: list[str] = param(
        list(STAGE_MODELS), 'stages to attribute (rm stands for PPO); missing checkpoints are skipped')
    lora_rank: int = param(4, 'rank of the SVD LoRA-isation of each fine-tuned linear layer (the paper: 4)')
    n_layers: int = param(
        2, 'last transformer blocks whose linear layers are attributed (the released code: 4 of GPT-J)')
    n_train: int = param(64, 'HH training pairs scored (a seeded subset of pref_train)')
    n_test: int = param(16, 'test pairs (new vs old continuation) averaged into the test gradient')
    beta: float = param(0.1, 'DPO beta inside the DPO attribution loss (the released script: 1.0)')
    max_length: int = param(256, 'token limit of prompt plus reply (the prompt is cut from the left)')
    damping: float = param(0.1, 'lambda_l is damping times the mean squared training gradient of layer l')


# ------------------------------------------------------------------------------------------ math
def lora_from_delta(delta, rank: int):
    """Truncated SVD of ``delta`` (out x in): ``(A, B)`` with A (r x in) = top rows of V^T, B (out x r) = U_r S_r."""
    import torch

    U, S, Vh = torch.linalg.svd(delta.double(), full_matrices=False)
    r = min(rank, S.shape[0])
    A = Vh[:r].to(delta.dtype)
    B = (U[:, :r] * S[:r]).to(delta.dtype)
    return A, B


def project_grad(G, A, B):
    """LoRA gradients from the full-weight gradient G at W = W_ref + B A: ``(dL/dA, dL/dB) = (B^T G, G A^T)``."""
    return B.T @ G, G @ A.T


def datainf_ihvp(train_grads: dict[str, Any], v: dict[str, Any], damping: float = 0.1) -> tuple[dict, dict]:
    """DataInf's per-layer approximation of ``(G_l + lambda_l I)^-1 v_l``.

    Args:
        train_grads: layer -> (n, d) per-example training gradients.
        v: layer -> (d,) average test gradient.
    Returns:
        ``(h, lambdas)``: layer -> (d,) iHVP, and layer -> damping used.
    """
    h, lambdas = {}, {}
    for name, G in train_grads.items():
        G = G.double()
        vl = v[name].double()
        n = G.shape[0]
        lam = damping * float((G ** 2).mean())
        lam = lam if lam > 0 else 1e-12
        coef = (G @ vl) / (lam + (G ** 2).sum(1))  # (n,)
        h[name] = (n * vl - coef @ G) / (n * lam)
        lambdas[name] = lam
    return h, lambdas


def influence_scores(train_grads: dict[str, Any], h: dict[str, Any]):
    """``I(i) = -sum_l <h_l, g_il>`` (positive: up-weighting i increases the test loss)."""
    import torch

    n = next(iter(train_grads.values())).shape[0]
    out = torch.zeros(n, dtype=torch.float64)
    for name, G in train_grads.items():
        out -= G.double() @ h[name]
    return out


def normalise_scores(scores):
    """Positives / max positive, negatives / |min negative| (the paper's [-1, 1] display)."""
    import numpy as np

    s = np.asarray(scores, dtype=float)
    out = np.zeros_like(s)
    pos, neg = s > 0, s < 0
    if pos.any():
        out[pos] = s[pos] / s[pos].max()
    if neg.any():
        out[neg] = s[neg] / abs(s[neg].min())
    return out


# ------------------------------------------------------------------------------------------ models
def select_linear_layers(model, n_layers: int) -> list[str]:
    """Names of the nn.Linear modules inside the last ``n_layers`` transformer blocks."""
    import torch

    found = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear):
            m = _BLOCK_RE.search("." + name + ".")
            if m:
                found.append((int(m.group(1)), name))
    if not found:
        raise ValueError("no nn.Linear modules inside numbered transformer blocks were found "
                         "(only Linear layers are supported; GPT-2's Conv1D is not)")
    last = max(b for b, _ in found)
    return [name for b, name in found if b > last - n_layers]


class LoraView:
    """The selected linear layers of ``model`` LoRA-ised against reference weights ``ref_state``.

    Sets ``W = W_ref + B A`` in place and turns gradients on for those weights only.
    """

    def __init__(self, model, ref_state: dict[str, Any], layers: list[str], rank: int):
        import torch

        self.model, self.layers, self.ab, self.rank_info = model, layers, {}, {}
        for p in model.parameters():
            p.requires_grad_(False)
        mods = dict(model.named_modules())
        for name in layers:
            w = mods[name].weight
            key = f"{name}.weight"
            if key not in ref_state:
                raise KeyError(f"reference model has no weight {key!r}")
            ref = ref_state[key].to(w.device, w.dtype)
            delta = w.detach() - ref
            A, B = lora_from_delta(delta, rank)
            with torch.no_grad():
                w.copy_(ref + B @ A)
            w.requires_grad_(True)
            self.ab[name] = (A, B)
            dn = float(delta.norm())
            self.rank_info[name] = (float((delta - B @ A).norm()) / dn) if dn > 0 else 0.0

    def grads(self) -> dict[str, Any]:
        """Flattened LoRA gradients (layer -> vector) from the ``.grad`` of the selected weights; clears them."""
        mods = dict(self.model.named_modules())
        out = {}
        for name in self.layers:
            w = mods[name].weight
            G = w.grad.detach().float() if w.grad is not None else w.detach().new_zeros(w.shape).float()
            A, B = self.ab[name]
            gA, gB = project_grad(G, A.float(), B.float())
            out[f"{name}.lora_A"] = gA.flatten().cpu()
            out[f"{name}.lora_B"] = gB.flatten().cpu()
            w.grad = None
        return out


# ------------------------------------------------------------------------------------------ losses
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
    from .losses import IGNORE_INDEX, sft_loss as masked_nll

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
    from .losses import sequence_logprobs

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

    from .losses import dpo_loss as sigmoid_dpo

    replies = [ex["chosen"], ex["rejected"]]
    with torch.no_grad():
        ref = pair_reply_logprobs(reference, tok, ex["prompt"], replies, add_eos, max_length, device)
    pol = pair_reply_logprobs(policy, tok, ex["prompt"], replies, add_eos, max_length, device)
    return sigmoid_dpo(pol[0:1], pol[1:2], ref[0:1], ref[1:2], beta)[0]


def bt_loss(rm, tok, ex: dict, max_length: int, device: str, add_eos: bool = True):
    """Bradley-Terry loss; rewards of prompt + reply (+ EOS), right-padded, as :func:`reward.score` reads them."""
    from .losses import bradley_terry_loss

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


def per_example_grads(view: LoraView, loss_fn, examples: list[dict]) -> dict[str, Any]:
    """layer -> (n, d) gradients of ``loss_fn(example)``, one backward per example."""
    import torch

    rows: list[dict] = []
    for ex in examples:
        loss = loss_fn(ex)
        loss.backward()
        rows.append(view.grads())
    return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}


def attribute(view: LoraView, train_loss, test_loss, train: list[dict], test: list[dict],
              damping: float = 0.1) -> dict[str, Any]:
    """DataInf scores of ``train`` examples for the average test loss of ``test`` (see the module docstring)."""
    g_train = per_example_grads(view, train_loss, train)
    g_test = per_example_grads(view, test_loss, test)
    v = {k: g.mean(0) for k, g in g_test.items()}
    h, lambdas = datainf_ihvp(g_train, v, damping)
    scores = influence_scores(g_train, h).numpy()
    return {"scores": scores, "normalised": normalise_scores(scores), "lambdas": lambdas,
            "grad_dim": int(sum(g.shape[1] for g in g_train.values()))}


# ------------------------------------------------------------------------------------------ data
def train_subset(rows: list[dict], n: int, seed: int) -> list[dict]:
    idx = list(range(len(rows)))
    if n and n < len(rows):
        idx = sorted(random.Random(seed).sample(idx, n))
    return [rows[i] for i in idx]


def toxicity_pairs(run_dir: str, new: str, old: str, n: int, seed: int) -> list[dict]:
    """Test pairs (new vs old continuation of the same prompt, variant and sample); [] when records are missing."""
    from .paths import resolve_run_dir
    from .utils import read_jsonl

    d = resolve_run_dir(run_dir) / "toxicity" / "records"
    pn, po = d / f"{new}.jsonl", d / f"{old}.jsonl"
    if not (pn.is_file() and po.is_file()):
        return []
    old_by = {(r["variant"], r["id"]): r for r in read_jsonl(po)}
    pairs = []
    for r in read_jsonl(pn):
        o = old_by.get((r["variant"], r["id"]))
        if o is None:
            continue
        for j, (cn, co) in enumerate(zip(r.get("continuations") or [], o.get("continuations") or [])):
            if cn and cn.strip() and co and co.strip():
                pairs.append({"id": f"{r['variant']}:{r['id']}:{j}", "subset": r["variant"],
                              "prompt": f"Human: {r['prompt']}\nAssistant: ", "chosen": cn, "rejected": co})
    if n and n < len(pairs):
        pairs = [pairs[i] for i in sorted(random.Random(seed).sample(range(len(pairs)), n))]
    return pairs


def test_set(cfg: AttributionConfig, stage: str) -> tuple[list[dict], str, bool]:
    """(pairs, description, add_eos): toxicity new-vs-old pairs, or the held-out preference pairs."""
    from .data.prepare import load_prepared

    new, old = NEW_CHECKPOINT[stage], STAGE_MODELS[stage][1]
    pairs = toxicity_pairs(cfg.run_dir, new, old, cfg.n_test, cfg.seed)
    if pairs:
        return pairs, f"toxicity generations: {new} (new) vs {old} (old)", False
    rows = train_subset(load_prepared(cfg.run_dir, "pref_test"), cfg.n_test, cfg.seed)
    return rows, (f"held-out preference pairs (pref_test: chosen as new, rejected as old); no toxicity records "
                  f"for both {new} and {old}"), True


# ------------------------------------------------------------------------------------------ stage
def _ref_name(cfg: AttributionConfig, stage: str) -> str:
    """The checkpoint a stage's model is LoRA-ised against."""
    from .paths import checkpoint_path
    from .utils import read_json

    if stage == "sft":
        return "base"
    if stage == "dpo":
        return "sft"
    marker = checkpoint_path(cfg.run_dir, "rm") / ".train_config.json"
    init = read_json(marker).get("config", {}).get("init_from", "sft") if marker.is_file() else "sft"
    return init or "sft"


def attribute_stage(cfg: AttributionConfig, stage: str, device: str) -> dict[str, Any]:
    """Score the training subset for one stage; returns ``{"df", "summary"}``."""
    import pandas as pd
    import torch

    from .data.prepare import load_prepared
    from .models import load_causal_lm, load_tokenizer, resolve_checkpoint

    t0 = time.perf_counter()
    ckpt = STAGE_MODELS[stage][0]
    model_path = resolve_checkpoint(ckpt, cfg.run_dir, cfg.model, cfg.cache_dir or None, cfg.seed)
    ref_name = _ref_name(cfg, stage)
    ref_path = resolve_checkpoint(ref_name, cfg.run_dir, cfg.model, cfg.cache_dir or None, cfg.seed)
    tok = load_tokenizer(model_path, padding_side="right")
    ref_model = load_causal_lm(ref_path, device=device)
    if stage == "rm":
        from .training.reward import load_reward_model

        model = load_reward_model(model_path, device=device)
    else:
        model = load_causal_lm(model_path, device=device)
    layers = select_linear_layers(model, cfg.n_layers)
    view = LoraView(model, ref_model.state_dict(), layers, cfg.lora_rank)
    if stage != "dpo":
        del ref_model
        ref_model = None
    else:
        for p in ref_model.parameters():
            p.requires_grad_(False)

    train = train_subset(load_prepared(cfg.run_dir, "pref_train"), cfg.n_train, cfg.seed)
    test, test_source, test_eos = test_set(cfg, stage)
    L, dev = cfg.max_length, device
    if stage == "sft":
        train_loss = lambda ex: sft_loss(model, tok, ex, L, dev, True)  # noqa: E731
        test_loss = lambda ex: sft_loss(model, tok, ex, L, dev, test_eos)  # noqa: E731
    elif stage == "dpo":
        train_loss = lambda ex: dpo_loss(model, ref_model, tok, ex, cfg.beta, L, dev, True)  # noqa: E731
        test_loss = lambda ex: dpo_loss(model, ref_model, tok, ex, cfg.beta, L, dev, test_eos)  # noqa: E731
    else:
        train_loss = lambda ex: bt_loss(model, tok, ex, L, dev, True)  # noqa: E731
        test_loss = lambda ex: bt_loss(model, tok, ex, L, dev, test_eos)  # noqa: E731
    res = attribute(view, train_loss, test_loss, train, test, cfg.damping)
    df = pd.DataFrame({
        "id": [r["id"] for r in train], "subset": [r.get("subset", "") for r in train],
        "prompt": [r["prompt"][-SNIPPET:] for r in train], "chosen": [r["chosen"][:SNIPPET] for r in train],
        "rejected": [r["rejected"][:SNIPPET] for r in train],
        "score": res["scores"], "normalised": res["normalised"]})
    df.insert(0, "stage", stage)
    summary = {
        "stage": stage, "description": STAGE_MODELS[stage][2], "model": ckpt, "reference": ref_name,
        "n_train": len(train), "n_test": len(test), "test_source": test_source, "layers": layers,
        "grad_dim": res["grad_dim"], "lora_rank": cfg.lora_rank,
        "svd_rel_residual": {k: round(v, 4) for k, v in view.rank_info.items()},
        "lambda": {k: v for k, v in res["lambdas"].items()},
        "n_positive": int((df["score"] > 0).sum()), "n_negative": int((df["score"] < 0).sum()),
        "time_s": round(time.perf_counter() - t0, 2),
    }
    del model, ref_model, view
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return {"df": df, "summary": summary}


def run(cfg: AttributionConfig) -> dict[str, Any]:
    """Attribute every requested stage the run has; writes ``scores_<stage>.csv`` and ``outputs.json``."""
    from .manifest import write_stage_outputs
    from .paths import available_checkpoints, resolve_run_dir, stage_dir
    from .utils import resolve_device, set_seed, set_threads

    t0 = time.perf_counter()
    set_seed(cfg.seed)
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    if device == "mps":
        device = "cpu"
    out = stage_dir(cfg.run_dir, STAGE)
    skipped: dict[str, str] = {}
    for s in [s for s in cfg.stages if s in NO_ATTRIBUTION]:  # a registered method without an attribution pair
        skipped[s] = NO_ATTRIBUTION[s]
        log.info("attribution: skipping %s (%s)", s, skipped[s])
    unknown = [s for s in cfg.stages if s not in STAGE_MODELS and s not in NO_ATTRIBUTION]
    if unknown:
        raise ValueError(f"attribution: unknown stage(s) {unknown}; choose from {list(STAGE_MODELS)}")
    have = set(available_checkpoints(cfg.run_dir, ("base",) + TRAINED))
    done, timings = {}, {}
    for stage in [s for s in cfg.stages if s in STAGE_MODELS]:
        ckpt = STAGE_MODELS[stage][0]
        need = [ckpt] + ([_ref_name(cfg, stage)] if ckpt in have else [])
        missing = [n for n in need if n in TRAINED and n not in have]
        if missing:
            skipped[stage] = f"the run has no {', '.join(missing)} checkpoint"
            log.info("attribution: skipping %s (%s)", stage, skipped[stage])
            continue
        log.info("attribution: %s", STAGE_MODELS[stage][2])
        res = attribute_stage(cfg, stage, device)
        res["df"].to_csv(out / f"scores_{stage}.csv", index=False)
        done[stage] = {**res["summary"], "file": f"scores_{stage}.csv"}
        timings[stage] = res["summary"]["time_s"]
    timings["total"] = round(time.perf_counter() - t0, 2)
    data = resolve_run_dir(cfg.run_dir) / "data"
    inputs = [data / "pref_train.jsonl", data / "pref_test.jsonl"]
    summary = {"config": asdict(cfg), "device": device, "stages": done, "skipped": skipped}
    write_stage_outputs(out, summary, inputs=[p for p in inputs if p.is_file()], timings=timings)
    return summary


def load_scores(run_dir: str, stage: str):
    import pandas as pd

    from .paths import resolve_run_dir

    return pd.read_csv(Path(resolve_run_dir(run_dir)) / STAGE / f"scores_{stage}.csv")


# ------------------------------------------------------------------------------------------ display
def top_examples(df, k: int = 5):
    """The ``k`` most positive (push against the post-alignment behaviour) and most negative (push toward it)."""
    cols = ["id", "subset", "score", "normalised", "prompt", "chosen", "rejected"]
    pos = df[df["score"] > 0].nlargest(k, "score")[cols]
    neg = df[df["score"] < 0].nsmallest(k, "score")[cols]
    return pos, neg


def score_histograms(scores: dict[str, Any], column: str = "normalised", bins: int = 20):
    """One panel per attributed checkpoint: histogram of scores by HH subset (helpful vs harmless)."""
    from .style import style_context

    with style_context():
        return _score_histograms(scores, column, bins)


def _score_histograms(scores: dict[str, Any], column: str, bins: int):
    import matplotlib.pyplot as plt

    from .style import PANEL, REFERENCE_LINE, series_colors

    n = max(1, len(scores))
    fig, axes = plt.subplots(1, n, figsize=(5 * n, PANEL[1]), squeeze=False)
    colors = series_colors(sorted({x for df in scores.values() for x in df["subset"]}))
    for ax, (stage, df) in zip(axes[0], scores.items()):
        lo, hi = float(df[column].min()), float(df[column].max())
        edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)] if hi > lo else bins
        for subset, g in df.groupby("subset"):
            ax.hist(g[column], bins=edges, alpha=0.55, label=f"{subset} (n {len(g)})", color=colors[subset])
        ax.axvline(0, **(REFERENCE_LINE | {"ls": "-"}))
        ax.set_title(f"{STAGE_MODELS[stage][2]}", fontsize=10)
        ax.set_xlabel(f"{column} influence (+ against, - toward)")
        ax.set_ylabel("training examples")
        ax.legend(fontsize=8)
    if not scores:
        axes[0][0].text(0.5, 0.5, "no stage attributed", ha="center", va="center")
    fig.tight_layout()
    return fig


__all__ = [
    "AttributionConfig", "STAGE_MODELS", "lora_from_delta", "project_grad", "datainf_ihvp", "influence_scores",
    "normalise_scores", "select_linear_layers", "LoraView", "sft_loss", "dpo_loss", "bt_loss", "attribute",
    "attribute_stage", "toxicity_pairs", "run", "load_scores", "top_examples", "score_histograms",
]
