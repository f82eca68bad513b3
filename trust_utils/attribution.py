"""Stage ``attribution``: which HH training examples push a stage's model toward its post-alignment behaviour?

A re-implementation of the paper's data attribution (paper README §6): DataInf (Kwon et al., ICLR 2024), a
closed-form influence-function approximation for LoRA-tuned models, applied to each alignment stage.

The DataInf math and the LoRA-isation of a full fine-tune: :mod:`trust_utils.datainf`; the per-example losses:
:mod:`trust_utils.attribution_losses`; the figures: :mod:`trust_utils.attribution_plots`.

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
import time
from dataclasses import asdict, dataclass
from typing import Any

from .attribution_losses import _encode, bt_loss, dpo_loss, sft_loss
from .checkpoints import METHODS, TRAINED
from .data.prepare import load_prepared
from .datainf import LoraView, attribute, select_linear_layers
from .models import load_causal_lm, load_tokenizer
from .params import ModelStageConfig, param
from .provenance import write_stage_outputs
from .run import Run
from .training.reward import load_reward_model
from .utils import (
    raise_problems,
    range_problems,
    read_json,
    read_jsonl,
    resolve_device,
    set_seed,
    set_threads,
)

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
SNIPPET = 200


@dataclass
class AttributionConfig(ModelStageConfig):
    """Parameters of ``30_attribution`` (the schema of its parameters: :mod:`trust_utils.params`)."""

    stages: list[str] = param(
        list(STAGE_MODELS), 'stages to attribute (rm stands for PPO); missing checkpoints are skipped')
    lora_rank: int = param(4, 'rank of the SVD LoRA-isation of each fine-tuned linear layer (the paper: 4)')
    n_layers: int = param(
        2, 'last transformer blocks whose linear layers are attributed (the released code: 4 of GPT-J)')
    n_train: int = param(64, 'HH training pairs scored (a seeded subset of pref_train)', cell=True)
    n_test: int = param(16, 'test pairs (new vs old continuation) averaged into the test gradient', cell=True)
    beta: float = param(0.1, 'DPO beta inside the DPO attribution loss (the released script: 1.0)')
    max_length: int = param(256, 'token limit of prompt plus reply (the prompt is cut from the left)')
    damping: float = param(0.1, 'lambda_l is damping times the mean squared training gradient of layer l')

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Cheap range checks (the runner's plan, ``--dry-run`` and the stage, when its config is built): counts >= 1
        (``threads`` 0: torch's default), ``damping`` >= 0, ``device`` ``auto|cpu|cuda[:N]|mps``. Raises
        :class:`trust_utils.utils.ConfigError` naming the parameter, its value and what is allowed."""
        problems = range_problems("attribution", self, {
            "lora_rank": None, "n_layers": None, "n_train": None, "n_test": None, "max_length": None,
            "threads": "torch's default"})
        if not isinstance(self.damping, (int, float)) or self.damping < 0:
            problems.append(f"stage 'attribution': parameter 'damping' is {self.damping!r}; allowed: a number >= 0")
        raise_problems(problems)


# ------------------------------------------------------------------------------------------ data
def train_subset(rows: list[dict], n: int, seed: int) -> list[dict]:
    idx = list(range(len(rows)))
    if n and n < len(rows):
        idx = sorted(random.Random(seed).sample(idx, n))
    return [rows[i] for i in idx]


def toxicity_pairs(run: Run, new: str, old: str, n: int, seed: int) -> list[dict]:
    """Test pairs (new vs old continuation of the same prompt, variant and sample); [] when records are missing."""
    d = run.dir / "toxicity" / "records"
    pn, po = d / f"{new}.jsonl", d / f"{old}.jsonl"
    if not (pn.is_file() and po.is_file()):
        return []
    old_by = {(r["variant"], r["id"]): r for r in read_jsonl(po)}
    pairs = []
    for r in read_jsonl(pn):
        o = old_by.get((r["variant"], r["id"]))
        if o is None:
            continue
        # not strict: the two records may hold different numbers of samples; the pairs stop at the shorter one
        for j, (cn, co) in enumerate(zip(r.get("continuations") or [], o.get("continuations") or [], strict=False)):
            if cn and cn.strip() and co and co.strip():
                pairs.append({"id": f"{r['variant']}:{r['id']}:{j}", "subset": r["variant"],
                              "prompt": f"Human: {r['prompt']}\nAssistant: ", "chosen": cn, "rejected": co})
    if n and n < len(pairs):
        pairs = [pairs[i] for i in sorted(random.Random(seed).sample(range(len(pairs)), n))]
    return pairs


def test_set(cfg: AttributionConfig, run: Run, stage: str) -> tuple[list[dict], str, bool]:
    """(pairs, description, add_eos): toxicity new-vs-old pairs, or the held-out preference pairs."""
    new, old = NEW_CHECKPOINT[stage], STAGE_MODELS[stage][1]
    pairs = toxicity_pairs(run, new, old, cfg.n_test, cfg.seed)
    if pairs:
        return pairs, f"toxicity generations: {new} (new) vs {old} (old)", False
    rows = train_subset(load_prepared(run, "pref_test"), cfg.n_test, cfg.seed)
    return rows, (f"held-out preference pairs (pref_test: chosen as new, rejected as old); no toxicity records "
                  f"for both {new} and {old}"), True


# ------------------------------------------------------------------------------------------ stage
def _ref_name(run: Run, stage: str) -> str:
    """The checkpoint a stage's model is LoRA-ised against."""
    if stage == "sft":
        return "base"
    if stage == "dpo":
        return "sft"
    marker = run.checkpoint_path("rm") / ".train_config.json"
    init = read_json(marker).get("config", {}).get("init_from", "sft") if marker.is_file() else "sft"
    return init or "sft"


def attribute_stage(cfg: AttributionConfig, run: Run, stage: str, device: str) -> dict[str, Any]:
    """Score the training subset for one stage; returns ``{"df", "summary"}``."""
    import pandas as pd
    import torch

    t0 = time.perf_counter()
    ckpt = STAGE_MODELS[stage][0]
    model_path = run.resolve(ckpt, cfg.model, cfg.cache_dir or None, cfg.seed)
    ref_name = _ref_name(run, stage)
    ref_path = run.resolve(ref_name, cfg.model, cfg.cache_dir or None, cfg.seed)
    tok = load_tokenizer(model_path, padding_side="right")
    ref_model = load_causal_lm(ref_path, device=device)
    if stage == "rm":
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

    train = train_subset(load_prepared(run, "pref_train"), cfg.n_train, cfg.seed)
    test, test_source, test_eos = test_set(cfg, run, stage)
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
    # drop the models before emptying the CUDA cache (rebound, not del: the loss lambdas above close over these names)
    model = ref_model = view = None
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return {"df": df, "summary": summary}


def run(cfg: AttributionConfig) -> dict[str, Any]:
    """Attribute every requested stage the run has; writes ``scores_<stage>.csv`` and ``outputs.json``."""
    t0 = time.perf_counter()
    set_seed(cfg.seed)
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    if device == "mps":
        device = "cpu"
    run = Run.open(cfg.run_dir)
    out = run.stage_dir(STAGE)
    skipped: dict[str, str] = {}
    for s in [s for s in cfg.stages if s in NO_ATTRIBUTION]:  # a registered method without an attribution pair
        skipped[s] = NO_ATTRIBUTION[s]
        log.info("attribution: skipping %s (%s)", s, skipped[s])
    unknown = [s for s in cfg.stages if s not in STAGE_MODELS and s not in NO_ATTRIBUTION]
    if unknown:
        raise ValueError(f"attribution: unknown stage(s) {unknown}; choose from {list(STAGE_MODELS)}")
    have = set(run.available(("base",) + TRAINED))
    done, timings = {}, {}
    for stage in [s for s in cfg.stages if s in STAGE_MODELS]:
        ckpt = STAGE_MODELS[stage][0]
        need = [ckpt] + ([_ref_name(run, stage)] if ckpt in have else [])
        missing = [n for n in need if n in TRAINED and n not in have]
        if missing:
            skipped[stage] = f"the run has no {', '.join(missing)} checkpoint"
            log.info("attribution: skipping %s (%s)", stage, skipped[stage])
            continue
        log.info("attribution: %s", STAGE_MODELS[stage][2])
        res = attribute_stage(cfg, run, stage, device)
        res["df"].to_csv(out / f"scores_{stage}.csv", index=False)
        done[stage] = {**res["summary"], "file": f"scores_{stage}.csv"}
        timings[stage] = res["summary"]["time_s"]
    timings["total"] = round(time.perf_counter() - t0, 2)
    data = run.dir / "data"
    inputs = [data / "pref_train.jsonl", data / "pref_test.jsonl"]
    summary = {"config": asdict(cfg), "device": device, "stages": done, "skipped": skipped}
    write_stage_outputs(out, summary, inputs=[p for p in inputs if p.is_file()], timings=timings)
    return summary


def load_scores(run: Run | str, stage: str):
    import pandas as pd

    return pd.read_csv(Run.open(run).dir / STAGE / f"scores_{stage}.csv")


# ------------------------------------------------------------------------------------------ display
def top_examples(df, k: int = 5):
    """The ``k`` most positive (push against the post-alignment behaviour) and most negative (push toward it)."""
    cols = ["id", "subset", "score", "normalised", "prompt", "chosen", "rejected"]
    pos = df[df["score"] > 0].nlargest(k, "score")[cols]
    neg = df[df["score"] < 0].nsmallest(k, "score")[cols]
    return pos, neg


__all__ = [
    "AttributionConfig", "STAGE_MODELS", "NEW_CHECKPOINT", "NO_ATTRIBUTION", "attribute_stage", "toxicity_pairs",
    "train_subset", "test_set", "run", "load_scores", "top_examples",
    # the per-example losses, read from here by tests/test_losses.py
    "_encode", "sft_loss", "dpo_loss", "bt_loss",
]
