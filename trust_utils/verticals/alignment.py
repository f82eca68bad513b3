"""Did the alignment work, and how far did each checkpoint move? (issue 18, items 3 and 4)

Beside the trust verticals, this stage scores each method on **its own objective**, on the held-out HH pairs the
data stage wrote (``<run>/data/pref_test.jsonl``; ``sft_test.jsonl`` holds the same pairs with the chosen reply as
completion), a seeded subset of ``max_examples`` of them. One unit = one held-out pair (its prompt); variant
``default``. Metrics (registered in :data:`trust_utils.registry.VERTICALS`, vertical ``alignment``):

* ``kl_from_reference``, ``kl_from_base`` (nats): the sequence KL of the checkpoint from its reference (``base`` for
  SFT, the SFT it started from for PPO, DPO and the other methods that start from SFT, itself for base: 0 exactly) and from base, estimated on the
  checkpoint's **own samples** (``n_samples`` per prompt, drawn at temperature 1 with no top-k/top-p: the policy's
  distribution, truncated at ``max_new_tokens``) with the ``kl_estimator`` of :mod:`.kl` (``k1`` by default: the
  sum over response tokens of ``log pi - log ref``, as TRL logs it; ``k3`` is the other option). Both models score the
  same text with the engine's cached log-likelihood (fp32 LM head). The response is the sample's text re-tokenised;
  a sample that stopped before ``max_new_tokens`` tokens ended on EOS, so the EOS token is scored too (the stop is
  part of the sampled sequence); one cut at ``max_new_tokens`` is scored as it is (the truncated distribution).
* ``sft_nll`` (nats per token, lower is better): the held-out NLL of the chosen replies, per pair the mean over the
  reply's tokens, for every checkpoint (SFT's objective; its starting point is base's value).
* ``rm_accuracy`` (checkpoint ``rm``): the share of held-out pairs whose chosen reply the run's reward model scores
  above the rejected one (chance 0.5; an exact tie counts 0.5, where the reward stage's ``test_accuracy`` counts 0).
* ``dpo_reward_accuracy``, ``dpo_reward_margin`` (DPO checkpoints): the implicit reward
  ``beta * (log pi(y|x) - log pi_ref(y|x))`` of the chosen minus the rejected reply (reference: the SFT it started
  from); accuracy is the share of pairs with a positive margin (ties 0.5: chance 0.5; a DPO policy equal to its
  reference has margin 0 everywhere, TRL's ``rewards/accuracies`` would read 0 there). ``beta`` is the DPO stage's
  (its saved model's resolved config), unless ``dpo_beta`` is set. The log-likelihoods are the engine's: prompt and
  reply tokenised as one text (lm-eval style), where TRL tokenises them apart; they differ at most at the joint.
* ``mean_reward`` (every checkpoint): the reward model's score of the checkpoint's samples, per prompt the mean over
  its samples (the objective of PPO and the other methods trained against the reward model, beside SFT's value as the starting point).
* ``sft_nll_change`` (SFT checkpoints), ``mean_reward_change`` (the methods trained against the reward model): the
  objective measured against a starting point as a **paired** difference, per unit the checkpoint's value minus its
  start's (base's NLL of the same pair; its seed's SFT's mean reward on the same prompt), with a bootstrap interval
  over units. The rule reads this interval: two separate intervals that overlap can hide a change that is clear pair
  by pair (SFT's NLL falling on every pair).
* ``win_rate_vs_sft`` (every checkpoint but SFT's own): per prompt the share of sample pairs (same sample index) in
  which the checkpoint's reply scores above its SFT's (``sft`` with the checkpoint's seed suffix); ties 0.5, chance 0.5.

Validity: the samples' degenerate shares (:mod:`.validity`), and ``degenerate_loglik``: the share of units with a
score that is not finite, or (DPO) an implicit-reward margin of exactly 0, or (``rm``) a tied pair.

:func:`alignment_status` applies the issue's rule: a method whose own objective is not above its chance level or its
starting point, by interval, is *alignment not established*, and no trust conclusion is drawn from it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from ..checkpoints import CheckpointError
from ..params import param
from ..provenance import write_stage_outputs
from ..results import metric_rows, write_records, write_results
from ..run import Run
from ..utils import read_json, set_threads
from .alignment_status import (
    VARIANT,
    VERTICAL,
    _method_name,
    _reference_of,
    _rm_of,
    _sft_of,
    alignment_status,
    paired_starts,
)
from .common import (
    Malformed,
    VerticalConfig,
    _as_named_checkpoint,
    _data_revision,
    checkpoints_to_run,
    open_engine,
    subsample,
    validity_rows,
)
from .kl import ESTIMATORS, sequence_kl
from .validity import degenerate_flags, degenerate_values

log = logging.getLogger(__name__)

@dataclass
class AlignmentConfig(VerticalConfig):
    """Alignment-check parameters (module docstring; the schema of the stage: :mod:`trust_utils.params`)."""

    max_examples: int = param(64, 'held-out pairs scored (0 keeps all of pref_test; otherwise a seeded subset)', cell=True)
    n_samples: int = param(1, "samples per prompt from each checkpoint (for the KL, the rewards and the win rate)")
    max_new_tokens: int = param(48, 'sample length at most (tokens)', cell=True)
    kl_estimator: str = param("k1", 'k1 (log pi - log ref of own samples, as TRL logs it) or k3', cell=True,
                              choices=ESTIMATORS)
    dpo_beta: float = param(0.0, "DPO beta of the implicit reward (0: the DPO stage's own, from its saved config)")
    rm_max_length: int = param(512, 'tokens of prompt + reply the reward model reads at most')
    n_boot: int = param(1000, 'bootstrap resamples for the confidence intervals')

    COUNTS = {**VerticalConfig.COUNTS, "rm_max_length": None}

    def __post_init__(self):
        super().__post_init__()
        if self.kl_estimator not in ESTIMATORS:
            raise ValueError(f"kl_estimator must be one of {ESTIMATORS}, not {self.kl_estimator!r}")
        if self.prompt_format != "raw":
            raise ValueError(f"prompt_format must be 'raw' for the alignment stage, not {self.prompt_format!r}: the "
                             f"held-out HH prompts already hold their Human/Assistant turns")
        if self.dpo_beta < 0:
            raise ValueError(f"dpo_beta must be > 0, or 0 to read the DPO stage's beta; got {self.dpo_beta}")

    def decoding(self):
        """Samples from the policy itself: temperature 1, no top-k or top-p (the KL is an expectation under it)."""
        from ..generation import DecodingConfig

        return DecodingConfig(max_new_tokens=self.max_new_tokens, do_sample=True, temperature=1.0, top_p=1.0,
                              top_k=0, num_return_sequences=self.n_samples)


# ------------------------------------------------------------------------------------ checkpoint names
def _has(run: Run, name: str) -> bool:
    try:
        return bool(run.available([name]))
    except (KeyError, CheckpointError):  # a name the run cannot locate (yet)
        return False


# ------------------------------------------------------------------------------------ data
def load_pairs(run: Run, cfg: AlignmentConfig) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The held-out pairs (``pref_test``; a seeded subset of ``max_examples``) and the malformed rows by reason."""
    from ..data.prepare import load_prepared

    mal = Malformed("alignment/pref_test")
    rows = []
    for i, r in enumerate(load_prepared(run, "pref_test"), 1):
        if not all(isinstance(r.get(k), str) and r.get(k) for k in ("id", "prompt", "chosen", "rejected")):
            mal.add("missing id, prompt, chosen or rejected", f"pref_test#{i}", r)
        else:
            rows.append(r)
    if not rows:
        raise ValueError(f"alignment: no usable held-out pairs in {run.dir / 'data' / 'pref_test.jsonl'}")
    return subsample(rows, cfg.max_examples, cfg.seed), mal.report()


def dpo_beta(run: Run, cfg: AlignmentConfig) -> float | None:
    """``dpo_beta``, else the DPO stage's resolved beta (its saved model's ``.train_config.json``); ``None`` when the
    run has no such file (a DPO checkpoint from elsewhere: its implicit-reward metrics are left out, with a warning).

    Raises:
        ValueError: the file holds no positive beta.
    """
    if cfg.dpo_beta > 0:
        return float(cfg.dpo_beta)
    marker = run.dir / "dpo" / "model" / ".train_config.json"
    if not marker.is_file():
        log.warning("alignment: no %s to read the DPO beta from; the DPO implicit-reward metrics are left out (set "
                    "dpo_beta to compute them)", marker)
        return None
    beta = read_json(marker).get("config", {}).get("beta")
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
        raise ValueError(f"alignment: {marker} holds no positive beta ({beta!r}); set the stage's dpo_beta")
    return float(beta)


# ------------------------------------------------------------------------------------ pure per-unit values
def pair_outcome(a: float, b: float) -> float:
    """1 when ``a > b``, 0.5 on a tie, 0 otherwise (NaN when either is not finite)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    return 1.0 if a > b else 0.5 if a == b else 0.0


def pairwise_accuracy(r_chosen: Iterable[float], r_rejected: Iterable[float]) -> list[float]:
    """Per pair, :func:`pair_outcome` of the chosen and rejected scores (the mean is the pairwise accuracy)."""
    return [pair_outcome(float(c), float(r)) for c, r in zip(r_chosen, r_rejected, strict=True)]


def implicit_margin(beta: float, chosen: float, chosen_ref: float, rejected: float, rejected_ref: float) -> float:
    """DPO's implicit reward of the chosen minus the rejected reply: ``beta * [(lw - lw_ref) - (ll - ll_ref)]``."""
    return beta * ((chosen - chosen_ref) - (rejected - rejected_ref))


def _nll(w: dict[str, Any], i: int) -> float | None:
    """Per-token NLL of pair ``i``'s chosen reply from a checkpoint's scores (``None`` for an empty reply)."""
    lw, nw = w["chosen"][i]
    return -lw / nw if nw else None


def _mean(xs: Iterable[float]) -> float | None:
    xs = list(xs)
    return float(np.mean(xs)) if xs else None


# ------------------------------------------------------------------------------------ the model work
def _with_eos(engine, texts: list[str], max_new_tokens: int) -> list[str]:
    """Samples as scored: the EOS token appended to those that stopped before ``max_new_tokens`` tokens."""
    eos = engine.tokenizer.eos_token or ""
    return [t + eos if eos and len(engine.tokenizer(t, add_special_tokens=False)["input_ids"]) < max_new_tokens
            else t for t in texts]


def _sample_and_score(cfg: AlignmentConfig, run: Run, name: str, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """One checkpoint's engine: its samples, their log-likelihood, and the chosen and rejected replies' ones."""
    prompts = [p["prompt"] for p in pairs]
    with open_engine(cfg, name, run) as engine:
        samples = engine.generate(prompts, cfg.decoding(), seed=cfg.seed, desc=f"{name} alignment samples")
        scored = [_with_eos(engine, s, cfg.max_new_tokens) for s in samples]
        flat_p = [p for p, s in zip(prompts, scored, strict=True) for _ in s]
        own = engine.loglikelihood(flat_p, [x for s in scored for x in s], desc=f"{name} own samples")
        # one call for both replies: the engine runs each prompt once for its two continuations
        both = engine.loglikelihood(prompts + prompts, [p["chosen"] for p in pairs] + [p["rejected"] for p in pairs],
                                    desc=f"{name} chosen and rejected")
        chosen, rejected = both[:len(pairs)], both[len(pairs):]
        return {"samples": samples, "scored": scored, "own": [s for s, _ in own], "chosen": chosen,
                "rejected": rejected, "fingerprint": engine.fingerprint, "engine": engine.describe(),
                "model_calls": engine.model_calls}


def _cross_scores(cfg: AlignmentConfig, run: Run, scorer: str, pairs: list[dict[str, Any]],
                  work: dict[str, dict[str, Any]], names: list[str]) -> dict[str, list[float]]:
    """``scorer``'s log-likelihood of each of ``names``' samples (one engine for all)."""
    prompts = [p["prompt"] for p in pairs]
    out = {}
    with open_engine(cfg, scorer, run) as engine:
        for n in names:
            flat_p = [p for p, s in zip(prompts, work[n]["scored"], strict=True) for _ in s]
            ll = engine.loglikelihood(flat_p, [x for s in work[n]["scored"] for x in s], desc=f"{n} under {scorer}")
            out[n] = [s for s, _ in ll]
    return out


#: the reward model's batch when the stage's ``batch_size`` is 0 (its scorer does not size batches from memory)
RM_BATCH_SIZE = 16


def _rewards(cfg: AlignmentConfig, run: Run, pairs: list[dict[str, Any]],
             work: dict[str, dict[str, Any]], rm: str = "rm") -> dict[str, Any]:
    """Reward model ``rm``'s scores of the held-out chosen/rejected replies and of the samples in ``work``."""
    from ..models import load_tokenizer
    from ..training.reward_model import load_reward_model, score
    from ..utils import resolve_device

    path = str(run.checkpoint_path(rm))
    device = resolve_device(cfg.device)
    tok = load_tokenizer(path, padding_side="right")
    model = load_reward_model(path, device)
    prompts = [p["prompt"] for p in pairs]
    kw = dict(max_length=cfg.rm_max_length, batch_size=cfg.batch_size if cfg.batch_size > 0 else RM_BATCH_SIZE,
              device=device)
    out: dict[str, Any] = {"chosen": score(model, tok, prompts, [p["chosen"] for p in pairs], **kw),
                           "rejected": score(model, tok, prompts, [p["rejected"] for p in pairs], **kw)}
    for n, w in work.items():
        flat = score(model, tok, [p for p, s in zip(prompts, w["samples"], strict=True) for _ in s],
                     [x for s in w["samples"] for x in s], **kw)
        k = cfg.n_samples
        out[n] = [flat[i * k:(i + 1) * k] for i in range(len(pairs))]
    return out


# ------------------------------------------------------------------------------------ records
def _per_prompt(xs: list[float], k: int) -> list[list[float]]:
    return [xs[i * k:(i + 1) * k] for i in range(len(xs) // k)]


def checkpoint_records(cfg: AlignmentConfig, name: str, pairs: list[dict[str, Any]], work: dict[str, Any],
                       cross: dict[str, dict[str, list[float]]], rewards: dict[str, Any] | None,
                       beta: float | None) -> list[dict[str, Any]]:
    """One record per held-out pair with its per-unit ``values`` of every metric this checkpoint has."""
    w, k = work[name], cfg.n_samples
    ref, sft = (_reference_of(name) if name != "base" else "base"), _sft_of(name)
    kl = {}
    for metric, other in (("kl_from_base", "base"), ("kl_from_reference", ref)):
        if other == name:
            kl[metric] = [[0.0] * k for _ in pairs]  # a checkpoint against itself: 0 exactly
        elif name in cross.get(other, {}):
            kl[metric] = _per_prompt(sequence_kl(w["own"], cross[other][name], cfg.kl_estimator).tolist(), k)
    is_dpo = _method_name(name) == "dpo" and beta is not None and ref in work
    records = []
    for i, p in enumerate(pairs):
        (lw, _), (ll, _) = w["chosen"][i], w["rejected"][i]
        values: dict[str, Any] = {m: _mean(v[i]) for m, v in kl.items()}
        values["sft_nll"] = _nll(w, i)
        scores = [*w["own"][i * k:(i + 1) * k], lw, ll] + [x for v in kl.values() for x in v[i]]
        rec: dict[str, Any] = {"id": p["id"], "unit": p["id"], "variant": VARIANT, "checkpoint": name,
                               "prompt": p["prompt"], "samples": w["samples"][i]}
        if is_dpo:
            margin = implicit_margin(beta, lw, work[ref]["chosen"][i][0], ll, work[ref]["rejected"][i][0])
            values["dpo_reward_margin"] = margin
            values["dpo_reward_accuracy"] = pair_outcome(margin, 0.0)
            scores.append(margin)
            rec["dpo_margin"] = margin
        if rewards is not None:
            values["mean_reward"] = _mean(rewards[name][i])
            scores += rewards[name][i]
            rec["rewards"] = rewards[name][i]
            if _method_name(name) != "sft" and sft in rewards:
                values["win_rate_vs_sft"] = _mean(pair_outcome(a, b) for a, b in
                                                  zip(rewards[name][i], rewards[sft][i], strict=True))
        # an objective measured against a starting point, also as the paired difference on this same unit
        for metric, start in paired_starts(name):
            theirs = (_nll(work[start], i) if metric == "sft_nll" and start in work else
                      _mean(rewards[start][i]) if metric == "mean_reward" and rewards and start in rewards else None)
            if values.get(metric) is not None and theirs is not None:
                values[f"{metric}_change"] = values[metric] - theirs
        finite = all(math.isfinite(x) for x in scores)
        values["degenerate_loglik"] = float(not finite or (is_dpo and values["dpo_reward_margin"] == 0))
        values |= degenerate_values([degenerate_flags(s, p["prompt"]) for s in w["samples"][i]])
        records.append(rec | {"values": values})
    return records


def rm_records(pairs: list[dict[str, Any]], rewards: dict[str, Any], rm: str = "rm") -> list[dict[str, Any]]:
    """The reward model's records: per pair its chosen and rejected reward and ``rm_accuracy``."""
    out = []
    accs = pairwise_accuracy(rewards["chosen"], rewards["rejected"])
    for p, c, r, acc in zip(pairs, rewards["chosen"], rewards["rejected"], accs, strict=True):
        out.append({"id": p["id"], "unit": p["id"], "variant": VARIANT, "checkpoint": rm, "r_chosen": c,
                    "r_rejected": r, "values": {"rm_accuracy": acc,
                                                "degenerate_loglik": float(math.isnan(acc) or c == r)}})
    return out


SCORERS = {"kl_from_base": "kl:{est}", "kl_from_reference": "kl:{est}", "sft_nll": "loglik", "mean_reward": "rm",
           "sft_nll_change": "loglik:paired", "mean_reward_change": "rm:paired", "win_rate_vs_sft": "rm",
           "rm_accuracy": "rm", "dpo_reward_accuracy": "implicit_reward:beta={beta}",
           "dpo_reward_margin": "implicit_reward:beta={beta}"}


def rows_of(cfg: AlignmentConfig, name: str, records: list[dict[str, Any]], beta: float | None) -> list[dict]:
    """Result rows of the objective metrics the records carry (bootstrap over units), in :data:`SCORERS`' order."""
    kw = dict(seed=cfg.seed, model=cfg.model, config=cfg.hash_config(), n_boot=cfg.n_boot)
    rows = []
    for metric, scorer in SCORERS.items():
        vals = [r["values"][metric] for r in records if r["values"].get(metric) is not None]
        vals = [v for v in vals if not math.isnan(v)]
        if vals:
            rows.append(metric_rows(VERTICAL, metric, VARIANT, name, vals,
                                    scorer=scorer.format(est=cfg.kl_estimator, beta=beta), **kw))
    return rows


# ------------------------------------------------------------------------------------ the stage
def run(cfg: AlignmentConfig) -> dict[str, Any]:
    """Score every checkpoint the run has (and ``rm``); writes results/alignment.csv, records and outputs.json."""
    import time

    if cfg.threads:
        set_threads(cfg.threads)
    t0 = time.perf_counter()
    run_ = Run.open(cfg.run_dir)
    out_dir = run_.stage_dir(VERTICAL)
    pairs, malformed = load_pairs(run_, cfg)
    have, missing = ([n for n in names if n != "rm"] for names in checkpoints_to_run(cfg, run_))
    for n in missing:
        log.info("alignment: checkpoint %r is not in %s yet; skipped", n, run_.dir)
    # the references the KL and the DPO margins need, scored even when the run does not evaluate them itself
    refs = sorted({r for n in have for r in ("base", _reference_of(n)) if r and r not in have and _has(run_, r)})
    work = {n: _sample_and_score(cfg, run_, n, pairs) for n in [*have, *refs]}
    cross: dict[str, dict[str, list[float]]] = {}
    for scorer in dict.fromkeys(["base", *(_reference_of(n) for n in have)]):
        names = [n for n in have if n != scorer and scorer in ("base", _reference_of(n))]
        if scorer in work and names:
            cross[scorer] = _cross_scores(cfg, run_, scorer, pairs, work, names)
    # each seed's checkpoints are judged by that seed's reward model (the one its training optimised)
    rms = [r for r in dict.fromkeys(_rm_of(n) for n in work) if _has(run_, r)]
    by_rm = {r: _rewards(cfg, run_, pairs, {n: w for n, w in work.items() if _rm_of(n) == r}, r) for r in rms}
    beta = dpo_beta(run_, cfg) if any(_method_name(n) == "dpo" for n in have) else None
    data_rev = _data_revision((read_json(run_.dir / "data" / "outputs.json").get("outputs") or {}).get("source")
                              if (run_.dir / "data" / "outputs.json").is_file() else None)
    all_rows: list[dict[str, Any]] = []
    records_files, mismatches = {}, []
    for name in [*have, *rms]:
        records = rm_records(pairs, by_rm[name], name) if name in by_rm else checkpoint_records(
            cfg, name, pairs, work, cross, by_rm.get(_rm_of(name)), beta)
        rows, _, bad = validity_rows(cfg, VERTICAL, name, records, rows_of(cfg, name, records, beta))
        mismatches += bad
        records_files[name] = str(write_records(run_, VERTICAL, name, records).relative_to(out_dir))
        rev = work[name]["fingerprint"] if name in work else ""
        all_rows += [dict(r, model_revision=rev, data_revision=data_rev) for r in _as_named_checkpoint(run_, name, rows)]
    results_file = write_results(run_, VERTICAL, all_rows)
    summary = {
        "vertical": VERTICAL, "checkpoints": have, "references_scored": refs, "skipped_checkpoints": missing,
        "reward_model": rms, "dpo_beta": beta, "kl_estimator": cfg.kl_estimator, "n_pairs": len(pairs),
        "malformed": malformed, "decoding": cfg.decoding().key(), "results_file": str(results_file),
        "records": records_files, "n_rows": len(all_rows), "unit_value_mismatches": mismatches,
        "model_calls": {n: w["model_calls"] for n, w in work.items()},
        "engine": {n: w["engine"] for n, w in work.items()}, "config": cfg.hash_config(),
        "status": {k: list(v) for k, v in alignment_status(all_rows).items()},
    }
    # the held-out pairs, and the reuse keys of the reward model and DPO (a retrained one reruns the stage: the vertical
    # stages' ``uses`` name only the scored methods' stages)
    markers = [run_.training_dir(c + tag) / "model" / ".train_config.json" for c in ("rm", "dpo")
               for tag in run_.seed_tags]
    inputs = [run_.dir / "data" / "pref_test.jsonl", *(m for m in markers if m.is_file()),
              *([run_.checkpoints_file] if run_.checkpoints_file else [])]
    write_stage_outputs(out_dir, summary, inputs=inputs, timings={"total": round(time.perf_counter() - t0, 3)})
    return summary


# ------------------------------------------------------------------------------------ one example (course mode)
def example_prompt(cfg: AlignmentConfig, item: dict[str, Any], variant: str | None) -> tuple[str, str, dict[str, Any]]:
    """``(variant, prompt, extra)`` of one held-out pair, for :func:`.common.vertical_example`."""
    return variant or VARIANT, item["prompt"], {"chosen": item["chosen"], "rejected": item["rejected"]}


def example_answer(cfg: AlignmentConfig, item: dict[str, Any], variant: str | None, generations: list[str],
                   extra: dict[str, Any]) -> dict[str, Any]:
    """The sample beside the pair's chosen reply, and whether it is degenerate."""
    return {"degenerate": degenerate_flags(generations[0], item["prompt"])["any"]}


__all__ = ["AlignmentConfig", "load_pairs", "dpo_beta", "pair_outcome", "pairwise_accuracy", "implicit_margin",
           "checkpoint_records", "rm_records", "rows_of", "run", "alignment_status",
           "example_prompt", "example_answer"]
