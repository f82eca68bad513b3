"""The comparison with the paper: its reported numbers (data, in ``trust_utils/reference/paper_results.csv``) beside
the run's, per model (v1) and as headline relative changes (v2). Value code.

* **Headline relative change** (compared with the paper's v2 claims) uses each vertical's headline
  metric and variant and the mean of the PPO and DPO values (whichever of the two the run has)
  against base: ``(mean(ppo, dpo) - base) / base``, as the paper's "31% better ethics"
  is 56.8% -> mean(38.3%, 40.3%). With several models, a pooled row divides the across-model mean
  of the aligned values by the across-model mean of the base values (a ratio of averages, like the
  paper's per-checkpoint averages over its models), over the models whose change is interpretable. A
  model's headline change is not interpretable when the largest guard share among its base and
  aligned values exceeds ``max_degenerate``.
* **Matching the v1 per-model table.** A run's ``model`` matches a v1 model when it names a Pythia
  size the v1 paper evaluated (``pythia-70m/160m/410m/2.8b/6.9b``) as a hub id or a path
  (:func:`pythia_size`; ``-deduped`` matches too and is flagged). Variants match by name; a paper
  variant ``adversarial`` with no same-named run variant takes the run's only non-benign variant of
  that metric, or the one named in ``variant_aliases``. Paper percentages are divided by 100.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..reference import PAPER_RESULTS
from ..registry import TRUST_VERTICALS
from .tables import (
    HEADLINE_CHECKPOINTS,
    MAX_DEGENERATE,
    _direction,
    _exceeds,
    _guard_lookup,
    guard_share,
    order_checkpoints,
    prepare,
    pythia_size,
)


def load_reference(path: str | Path | None = None) -> pd.DataFrame:
    """The paper's reported numbers (long format; see ``trust_utils/reference/__init__.py``)."""
    ref = pd.read_csv(path or PAPER_RESULTS, keep_default_na=False, na_values=[""])
    ref["value"] = pd.to_numeric(ref["value"], errors="coerce")
    return ref


def reference_as_rate(ref: pd.DataFrame) -> pd.Series:
    """Reference values on this project's 0-1 scale (``percent`` rows divided by 100)."""
    return np.where(ref["unit"] == "percent", ref["value"] / 100.0, ref["value"])


def _match_variants(run_variants: list[str], paper_variant: str, vertical: str, aliases: dict[str, str]) -> list[str]:
    """Run variants compared with a paper variant: the alias, else the same name, else (for the paper's
    ``adversarial``) every non-benign run variant, e.g. each ethics jailbreak prefix."""
    alias = aliases.get(f"{vertical}:{paper_variant}")
    if alias is not None:
        return [alias] if alias in run_variants else []
    if paper_variant in run_variants:
        return [paper_variant]
    if paper_variant == "adversarial":
        return [v for v in run_variants if v != "benign" and not v.startswith("benign")]
    return []


V1_COLUMNS = ["model", "paper_model", "vertical", "metric", "variant", "run_variant", "checkpoint", "paper_value",
              "run_value", "run_ci_low", "run_ci_high", "run_minus_paper", "paper_in_run_ci", "run_degenerate",
              "interpretable", "run_value_paper_rule", "paper_unit", "source", "note"]
#: the suffix of a metric computed with the paper's released rule beside the project's parser (issue 19)
PAPER_RULE = "_paper"


def _paper_rule_value(g: pd.DataFrame, vertical: str, metric: str, variant: str, checkpoint: str) -> float:
    """The run's value of ``metric`` under the paper's released rule (metric ``<metric>_paper``; NaN without one)."""
    r = g[(g["vertical"] == vertical) & (g["metric"] == metric + PAPER_RULE) & (g["variant"] == variant)
          & (g["checkpoint"] == checkpoint)]
    return float(r["value"].iloc[0]) if len(r) else math.nan


def v1_comparison(results: pd.DataFrame, reference: pd.DataFrame | None = None,
                  variant_aliases: dict[str, str] | None = None, max_degenerate: float = MAX_DEGENERATE) -> pd.DataFrame:
    """The run's values beside the v1 paper's per-model values, for run models that are v1 Pythia sizes.

    Paper values are put on the 0-1 scale (percent / 100). One row per (run model, paper row) that the
    run has a value for; empty when no run model matches. A run value whose guard share exceeds
    ``max_degenerate`` is not interpretable: ``paper_in_run_ci`` is NA.
    """
    ref = load_reference() if reference is None else reference
    ref = ref[ref["version"] == "v1"].copy()
    ref["rate"] = reference_as_rate(ref)
    df = prepare(results) if "series" not in results else results
    aliases = variant_aliases or {}
    guards = _guard_lookup(df)
    rows = []
    for (model, seed), g in df.groupby(["model", "seed"], sort=False):
        size = pythia_size(model)
        if size is None:
            continue
        note_extra = "; run model is a deduped Pythia" if "deduped" in model.lower() else ""
        for _, p in ref[ref["model"] == size].iterrows():
            gm = g[(g["vertical"] == p["vertical"]) & (g["metric"] == p["metric"])]
            for rv in _match_variants(list(dict.fromkeys(gm["variant"])), p["variant"], p["vertical"], aliases):
                r = gm[(gm["variant"] == rv) & (gm["checkpoint"] == p["checkpoint"])]
                if r.empty:
                    continue
                r = r.iloc[0]
                deg = guard_share(guards, model, seed, p["vertical"], p["metric"], rv, p["checkpoint"])
                ok = not _exceeds(deg, max_degenerate)
                inside = (pd.NA if not (ok and np.isfinite(r["ci_low"]))
                          else bool(r["ci_low"] <= p["rate"] <= r["ci_high"]))
                rows.append({"model": model, "paper_model": size, "vertical": p["vertical"], "metric": p["metric"],
                             "variant": p["variant"], "run_variant": rv, "checkpoint": p["checkpoint"], "paper_value": p["rate"],
                             "run_value": r["value"], "run_ci_low": r["ci_low"], "run_ci_high": r["ci_high"],
                             "run_minus_paper": r["value"] - p["rate"], "paper_in_run_ci": inside,
                             "run_degenerate": deg, "interpretable": ok,
                             "run_value_paper_rule": _paper_rule_value(g, p["vertical"], p["metric"], rv, p["checkpoint"]),
                             "paper_unit": p["unit"], "source": p["source"], "note": str(p["note"]) + note_extra})
    out = pd.DataFrame(rows, columns=V1_COLUMNS)
    out["paper_in_run_ci"] = out["paper_in_run_ci"].astype("boolean")
    return out


V2_COLUMNS = ["vertical", "metric", "variant", "model", "run_base", "run_aligned", "aligned_checkpoints", "run_rel_change",
              "run_direction", "run_degenerate", "interpretable", "run_rel_change_paper_rule", "paper_rel_change",
              "paper_direction",
              "same_direction", "run_note", "paper_note", "source"]


def v2_headline_comparison(results: pd.DataFrame, reference: pd.DataFrame | None = None,
                           checkpoints: tuple[str, ...] = HEADLINE_CHECKPOINTS,
                           max_degenerate: float = MAX_DEGENERATE) -> pd.DataFrame:
    """Each vertical's headline relative change (mean of PPO and DPO vs base) beside the paper's v2 claim.

    One row per vertical and model (plus a pooled ``all models`` row when the run has several); the
    vertical's row is present even when the run lacks the data (NaN run values), so the paper's
    claims are always shown. ``run_degenerate`` is the largest guard share among the base and aligned
    values; above ``max_degenerate`` the change is not interpretable (``same_direction`` NA) and the
    model is left out of the pooled row.
    """
    ref = load_reference() if reference is None else reference
    ref = ref[(ref["version"] == "v2") & (ref["unit"] == "relative")]
    df = prepare(results) if "series" not in results else results
    rows = []
    for vname, vert in TRUST_VERTICALS.items():
        metric, variant = vert.headline.name, vert.headline_variant
        hib = vert.headline.higher_is_better
        p = ref[(ref["vertical"] == vname) & (ref["metric"] == metric)]
        prel = float(p["value"].iloc[0]) if len(p) else math.nan
        pdir = _direction(prel, hib) if np.isfinite(prel) else ("small / mixed" if len(p) else "n/a")
        base_info = {"vertical": vname, "metric": metric, "variant": variant, "paper_rel_change": prel,
                     "paper_direction": pdir, "paper_note": p["note"].iloc[0] if len(p) else "",
                     "source": p["source"].iloc[0] if len(p) else ""}
        g = df[(df["vertical"] == vname) & (df["metric"] == metric) & (df["variant"] == variant)] if len(df) else df
        guard = vert.headline.guard
        gg = df[(df["vertical"] == vname) & (df["metric"] == guard) & (df["variant"] == variant)] if len(df) else df
        per_model = []
        for model in dict.fromkeys(g["model"]) if len(g) else []:
            gm = g[g["model"] == model]
            if gm["seed"].nunique() > 1:  # average seeds first
                gm = gm.groupby("checkpoint", as_index=False)["value"].mean()
            vals = dict(zip(gm["checkpoint"], gm["value"], strict=True))
            aligned = [s for s in checkpoints if s in vals]
            shares = gg[(gg["model"] == model) & gg["checkpoint"].isin(["base", *aligned])]["value"]
            deg = float(shares.max()) if len(shares) else math.nan  # the worst seed and checkpoint decides
            per_model.append((model, vals.get("base", math.nan),
                              float(np.mean([vals[s] for s in aligned])) if aligned else math.nan, aligned, deg))
        if not per_model:
            per_model = [("", math.nan, math.nan, [], math.nan)]
        pooled = []
        if len(per_model) > 1:
            ok = [m for m in per_model if np.isfinite(m[1]) and np.isfinite(m[2]) and not _exceeds(m[4], max_degenerate)]
            n_all = sum(1 for m in per_model if np.isfinite(m[1]) and np.isfinite(m[2]))
            if ok:
                degs = [m[4] for m in ok if np.isfinite(m[4])]
                pooled = [("all models (mean)", float(np.mean([m[1] for m in ok])), float(np.mean([m[2] for m in ok])),
                           sorted({s for m in ok for s in m[3]}, key=order_checkpoints(checkpoints).index),
                           max(degs) if degs else math.nan,
                           "" if len(ok) == n_all else f"pooled over the {len(ok)} of {n_all} models whose change is interpretable")]
        for model, b, a, aligned, deg, *extra in per_model + pooled:
            rel = (a - b) / abs(b) if np.isfinite(a) and np.isfinite(b) and b != 0 else math.nan
            ok = not _exceeds(deg, max_degenerate)
            rdir = _direction(rel, hib) if ok else "not interpretable"
            same = (pd.NA if not (ok and np.isfinite(rel) and np.isfinite(prel))
                    else bool(np.sign(rel) == np.sign(prel)))
            note = extra[0] if extra else ""
            if not ok:
                note = (f"{deg:.0%} of the outputs behind it are degenerate ({guard} > {max_degenerate:g}): "
                        "the change measures the output format, not the model's trustworthiness")
            rule = df[(df["vertical"] == vname) & (df["metric"] == metric + PAPER_RULE) & (df["variant"] == variant)
                      & ((df["model"] == model) | (model not in set(df["model"])))] if len(df) else df
            rb = rule[rule["checkpoint"] == "base"]["value"].mean() if len(rule) else math.nan
            ra = rule[rule["checkpoint"].isin(aligned)]["value"].mean() if len(rule) else math.nan
            rel_rule = (ra - rb) / abs(rb) if np.isfinite(ra) and np.isfinite(rb) and rb != 0 else math.nan
            rows.append(base_info | {"model": model, "run_base": b, "run_aligned": a, "aligned_checkpoints": "+".join(aligned),
                                     "run_rel_change_paper_rule": rel_rule,
                                     "run_rel_change": rel, "run_direction": rdir, "run_degenerate": deg,
                                     "interpretable": ok, "same_direction": same, "run_note": note})
    out = pd.DataFrame(rows, columns=V2_COLUMNS)
    out["same_direction"] = out["same_direction"].astype("boolean")
    return out


__all__ = ["load_reference", "reference_as_rate", "V1_COLUMNS", "v1_comparison", "V2_COLUMNS", "v2_headline_comparison"]
