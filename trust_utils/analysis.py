"""The analysis stage: figures, a change table, and the side-by-side comparison with the paper.

Everything here reads the one results table (:func:`trust_utils.results.load_results`) and the
registry (:data:`trust_utils.registry.VERTICALS`); nothing about a vertical is typed twice. The
paper's reported numbers are data, in ``trust_utils/reference/paper_results.csv``
(:func:`load_reference`), not code.

Decisions, in one place:

* **Interval of a change: paired bootstrap over the shared prompts.** Both checkpoints answer the same
  prompts, so the change ``value(checkpoint) - value(base)`` gets its 95% interval from a paired bootstrap
  (:func:`trust_utils.stats.paired_bootstrap_diff`): the units (prompts, statements, questions) present in
  both checkpoints' records are resampled together and the metric is recomputed on each side from the
  records' per-unit values (:func:`trust_utils.results.load_unit_values`; the mean of the units that have
  a value, so an FNR over parsed answers is a ratio on the resampled set). ``n_paired`` is the number of
  shared units; ``n_boot`` and ``seed`` are analysis parameters. Where a run has no per-unit values for a
  row (records from before they were written, or one run directory holding several models, whose records
  cannot be told apart) the interval falls back to the independent-samples normal approximation from the
  two rows' intervals (:func:`diff_ci_normal`, conservative), and ``ci_method`` says which was used.
* **Not interpretable.** A change is marked ``not interpretable`` (``interpretable`` False, ``direction``
  "not interpretable") when the base or the checkpoint has a share of degenerate outputs above
  ``max_degenerate`` (default 0.5). The share is the metric's registered ``guard``
  (:mod:`trust_utils.verticals.validity`): ``degenerate_any`` (empty, unparsed, prompt echo, loop) for
  metrics read from generations, ``degenerate_loglik`` for likelihood-scored ones, same vertical, variant
  and checkpoint. Such a change is never counted as agreeing or disagreeing with the paper: its
  ``same_direction`` (v2) and ``paper_in_run_ci`` (v1) are NA. A row without a recorded share (older
  runs) is taken as interpretable, with the share shown as n/a.
* **Relative change** is ``(value - base) / |base|`` (NaN when the base value is 0). **Direction**
  is ``better`` / ``worse`` / ``unchanged`` from the registry's ``higher_is_better``.
* **Headline relative change** (compared with the paper's v2 claims) uses each vertical's headline
  metric and variant and the mean of the PPO and DPO values (whichever of the two the run has)
  against base: ``(mean(ppo, dpo) - base) / base``, as the paper's "31% better ethics"
  is 56.8% -> mean(38.3%, 40.3%). With several models, a pooled row divides the across-model mean
  of the aligned values by the across-model mean of the base values (a ratio of averages, like the
  paper's per-checkpoint averages over its models), over the models whose change is interpretable. A
  model's headline change is not interpretable when the largest guard share among its base and
  aligned values exceeds ``max_degenerate``.
* **Colours and style** are :mod:`trust_utils.style`'s, the same in every notebook: a checkpoint's bars and dots
  have its registry colour (Base grey, SFT blue, PPO orange, DPO green; an external checkpoint its declared one);
  with several models the bars take one :func:`trust_utils.style.series_colors` colour per model instead.
  ``checkpoint`` is always the model scored; "stage" only ever means a pipeline step.
* **Matching the v1 per-model table.** A run's ``model`` matches a v1 model when it names a Pythia
  size the v1 paper evaluated (``pythia-70m/160m/410m/2.8b/6.9b``) as a hub id or a path
  (:func:`pythia_size`; ``-deduped`` matches too and is flagged). Variants match by name; a paper
  variant ``adversarial`` with no same-named run variant takes the run's only non-benign variant of
  that metric, or the one named in ``variant_aliases``. Paper percentages are divided by 100.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .checkpoints import HEADLINE, comparisons
from .manifest import write_stage_outputs
from .paths import CHECKPOINT_ORDER, project_root, resolve_run_dir, results_dir, stage_dir
from .reference import PAPER_RESULTS
from .registry import VERTICALS, get_vertical
from .results import UNIT_COLUMNS, load_results, load_unit_values
from .stats import paired_bootstrap_diff
from .style import (ERROR_COLOR, THRESHOLD_COLOR, checkpoint_color, checkpoint_label, figsize, run_checkpoints,
                    save_figure, series_colors, styled, use_run_checkpoints)
from .params import param, shared

log = logging.getLogger(__name__)

Z95 = 1.959963984540054
# Labels, colours and order of the checkpoints come from the checkpoint registry, through the one style module
# (a run's external checkpoints add theirs: :func:`use_run_checkpoints`).
#: Aligned checkpoints the paper averages in its v2 headline numbers (the methods registered with ``headline=True``).
HEADLINE_CHECKPOINTS: tuple[str, ...] = HEADLINE
#: Model sizes of the v1 paper's per-model tables.
V1_PYTHIA_SIZES: tuple[str, ...] = ("70m", "160m", "410m", "2.8b", "6.9b")
KEY = ["model", "seed", "vertical", "metric", "variant"]
#: Default largest share of degenerate outputs at which a number still counts as measuring something.
MAX_DEGENERATE = 0.5


# --------------------------------------------------------------------------------------------- names
def order_checkpoints(checkpoints: Iterable[str]) -> list[str]:
    """Checkpoint names in the study's order (base, sft, ppo, dpo), unknown names after, alphabetically."""
    s = list(dict.fromkeys(checkpoints))
    shown = run_checkpoints()
    if shown:  # the run declares external checkpoints: the registry's order, with their declared places
        return sorted(s, key=lambda x: (shown[x].order, "") if x in shown else (1000.0, x))
    known = [c for c in CHECKPOINT_ORDER if c in s]
    return known + sorted(x for x in s if x not in CHECKPOINT_ORDER)


def model_label(model: str) -> str:
    """Short name of a model reference: the last part of a hub id or path (``EleutherAI/pythia-2.8b`` -> ``pythia-2.8b``)."""
    m = str(model or "").rstrip("/\\")
    return re.split(r"[/\\]", m)[-1] if m else "(unnamed model)"


def model_size_millions(model: str) -> float | None:
    """Parameter count in millions parsed from a model name (``pythia-2.8b`` -> 2800), or None."""
    m = re.search(r"(\d+(?:\.\d+)?)\s*([mb])(?![a-z])", model_label(model).lower())
    if not m:
        return None
    return float(m.group(1)) * (1000.0 if m.group(2) == "b" else 1.0)


def pythia_size(model: str) -> str | None:
    """``pythia-<size>`` when ``model`` (hub id or path) names a Pythia size of the v1 paper, else None."""
    m = re.search(r"pythia[-_]?(\d+(?:\.\d+)?[mb])(?![\w.])", str(model).lower())
    if m and m.group(1) in V1_PYTHIA_SIZES:
        return f"pythia-{m.group(1)}"
    return None


def figure_title(key: str) -> str:
    """The heading (and figure title) of figure ``key``: ``overview``, ``degenerate``, a vertical, or
    ``<vertical>_breakdown``."""
    if key == "overview":
        return "Overview: headline metric of each vertical by checkpoint"
    if key == "degenerate":
        return "Degenerate outputs: share per vertical and checkpoint (headline setting)"
    if key == "families":
        return "Across model families: headline metric of each vertical by checkpoint"
    if key.endswith("_breakdown"):
        v = get_vertical(key[: -len("_breakdown")])
        return f"{v.title}: {v.headline.label} per variant and checkpoint"
    v = get_vertical(key)
    return f"{v.title}: {v.headline.label} by checkpoint"


def _direction(delta: float, higher_is_better: bool) -> str:
    if delta is None or not np.isfinite(delta):
        return "n/a"
    if abs(delta) < 1e-12:
        return "unchanged"
    return "better" if (delta > 0) == bool(higher_is_better) else "worse"


def _as_bool(x: Any) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in ("true", "1", "yes")
    return bool(x)


# ------------------------------------------------------------------------------------------- loading
def prepare(results: pd.DataFrame) -> pd.DataFrame:
    """The results table with typed columns and a ``series`` label (model, plus seed when a model has several).

    Raises ValueError on duplicate rows for one (model, seed, vertical, metric, variant, checkpoint).
    """
    df = results.copy()
    if df.empty:
        df["series"] = pd.Series(dtype=str)
        return df
    df["model"] = df["model"].fillna("").astype(str)
    df["variant"] = df["variant"].fillna("").astype(str)
    df["seed"] = pd.to_numeric(df["seed"], errors="coerce").fillna(0).astype(int)
    for c in ("value", "ci_low", "ci_high", "n"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["higher_is_better"] = df["higher_is_better"].map(_as_bool)
    dup = df.duplicated(KEY + ["checkpoint"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise ValueError(f"{int(dup.sum())} duplicate result rows, e.g. {dict(first[KEY + ['checkpoint']])}: each "
                         f"(model, seed, vertical, metric, variant, checkpoint) must appear once")
    seeds = df.groupby("model")["seed"].nunique()
    df["series"] = [model_label(m) + (f" (seed {s})" if seeds[m] > 1 else "") for m, s in zip(df["model"], df["seed"])]
    return df


def series_order(df: pd.DataFrame) -> list[str]:
    """Series sorted by parsed model size (unknown sizes last), then name."""
    pairs = df[["series", "model"]].drop_duplicates()
    def key(row):
        size = model_size_millions(row[1])
        return (size is None, size or 0.0, row[0])
    return [s for s, _ in sorted(pairs.itertuples(index=False, name=None), key=key)]


def load_reference(path: str | Path | None = None) -> pd.DataFrame:
    """The paper's reported numbers (long format; see ``trust_utils/reference/__init__.py``)."""
    ref = pd.read_csv(path or PAPER_RESULTS, keep_default_na=False, na_values=[""])
    ref["value"] = pd.to_numeric(ref["value"], errors="coerce")
    return ref


def reference_as_rate(ref: pd.DataFrame) -> pd.Series:
    """Reference values on this project's 0-1 scale (``percent`` rows divided by 100)."""
    return np.where(ref["unit"] == "percent", ref["value"] / 100.0, ref["value"])


# -------------------------------------------------------------------------------------------- tables
def diff_ci_normal(base_lo: float, base_hi: float, lo: float, hi: float, diff: float,
                   z: float = Z95) -> tuple[float, float]:
    """Approximate interval of ``value - base`` from the two rows' intervals (independent-samples normal approx.)."""
    se1 = (base_hi - base_lo) / (2 * z)
    se2 = (hi - lo) / (2 * z)
    if not (np.isfinite(se1) and np.isfinite(se2)):
        return math.nan, math.nan
    se = math.sqrt(se1 ** 2 + se2 ** 2)
    return diff - z * se, diff + z * se


CHANGE_COLUMNS = ["model", "seed", "vertical", "metric", "variant", "checkpoint", "higher_is_better", "base_value", "value",
                  "abs_change", "rel_change", "diff_ci_low", "diff_ci_high", "ci_excludes_zero", "ci_method",
                  "n_paired", "direction", "interpretable", "guard", "degenerate_base", "degenerate", "n_base", "n",
                  "headline"]


def _guard_lookup(df: pd.DataFrame) -> dict[tuple, float]:
    """``(model, seed, vertical, metric, variant, checkpoint) -> value`` of the validity rows (the guards)."""
    if df.empty:
        return {}
    g = df[df["metric"].str.startswith("degenerate_")]
    return {tuple(k): float(v) for k, v in zip(g[KEY + ["checkpoint"]].itertuples(index=False, name=None), g["value"])}


def guard_share(lookup: dict[tuple, float], model: str, seed: int, vertical: str, metric: str, variant: str,
                checkpoint: str) -> float:
    """The guard share of one metric's row (NaN when the metric has no guard or the run did not record it)."""
    guard = get_vertical(vertical).metric(metric).guard
    if not guard:
        return math.nan
    return lookup.get((model, seed, vertical, guard, variant, checkpoint), math.nan)


def _exceeds(share: float, max_degenerate: float) -> bool:
    return bool(np.isfinite(share) and share > max_degenerate)


def attach_units(units: pd.DataFrame | None, results: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Give per-unit values (from one run directory's records) the ``model`` and ``seed`` of that vertical's rows.

    Records do not name their model; a vertical whose results hold one (model, seed) gets it, one with
    several cannot be attributed and its units are dropped (its intervals fall back to the normal
    approximation). Returns (units with ``model, seed``, notes).
    """
    cols = list(UNIT_COLUMNS) + ["model", "seed"]
    if units is None or units.empty or results.empty:
        return pd.DataFrame(columns=cols), []
    notes, frames = [], []
    for v, g in units.groupby("vertical", sort=False):
        pairs = results.loc[results["vertical"] == v, ["model", "seed"]].drop_duplicates()
        if len(pairs) != 1:
            if len(pairs) > 1:
                notes.append(f"{v}: the results hold {len(pairs)} (model, seed) pairs but one set of records; "
                             "change intervals use the normal approximation")
            continue
        frames.append(g.assign(model=pairs.iloc[0]["model"], seed=int(pairs.iloc[0]["seed"])))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)), notes


def change_table(results: pd.DataFrame, units: pd.DataFrame | None = None, max_degenerate: float = MAX_DEGENERATE,
                 n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Change of every metric from ``base`` to each other checkpoint, per (model, seed, vertical, metric, variant).

    Args:
        results: the results table.
        units: per-unit values with ``model`` and ``seed`` (:func:`attach_units`); rows without any get the
            normal-approximation interval.
        max_degenerate: a change whose base or checkpoint guard share exceeds this is not interpretable.
        n_boot: paired bootstrap resamples.
        seed: bootstrap seed.

    Columns :data:`CHANGE_COLUMNS`; ``ci_excludes_zero`` is NA when a row has no interval. Groups
    without a base row are left out (nothing to compare with).
    """
    df = prepare(results) if "series" not in results else results
    guards = _guard_lookup(df)
    by_unit: dict[tuple, pd.DataFrame] = {}
    if units is not None and len(units):
        u = units.assign(seed=pd.to_numeric(units["seed"]).astype(int), variant=units["variant"].astype(str))
        by_unit = {k: g for k, g in u.groupby(KEY, sort=False)}
    rows = []
    for key, g in df.groupby(KEY, sort=False):
        base = g[g["checkpoint"] == "base"]
        if base.empty:
            continue
        b = base.iloc[0]
        model, sd, vname, metric, variant = key
        v = get_vertical(vname)
        is_headline = metric == v.headline.name and variant == v.headline_variant
        ug = by_unit.get(key)
        ub = ug[ug["checkpoint"] == "base"].set_index("unit")["value"] if ug is not None else None
        deg_b = guard_share(guards, model, sd, vname, metric, variant, "base")
        for checkpoint in order_checkpoints(g["checkpoint"]):
            if checkpoint == "base":
                continue
            r = g[g["checkpoint"] == checkpoint].iloc[0]
            diff = float(r["value"] - b["value"])
            rel = diff / abs(b["value"]) if b["value"] not in (0, 0.0) and np.isfinite(b["value"]) else math.nan
            method, n_paired = "", 0
            lo = hi = math.nan
            if ub is not None and len(ub):
                us = ug[ug["checkpoint"] == checkpoint].set_index("unit")["value"]
                shared = ub.index.intersection(us.index)
                if len(shared):
                    _, lo, hi, n_paired = paired_bootstrap_diff(ub.loc[shared].to_numpy(float),
                                                                us.loc[shared].to_numpy(float), n_boot, seed=seed)
                    method = "paired_bootstrap"
            if not method:
                lo, hi = diff_ci_normal(b["ci_low"], b["ci_high"], r["ci_low"], r["ci_high"], diff)
                method = "normal_approx" if np.isfinite(lo) else ""
            excl = pd.NA if not np.isfinite(lo) else bool(lo > 0 or hi < 0)
            deg = guard_share(guards, model, sd, vname, metric, variant, checkpoint)
            ok = not (_exceeds(deg_b, max_degenerate) or _exceeds(deg, max_degenerate))
            rows.append(dict(zip(KEY, key)) | {
                "checkpoint": checkpoint, "higher_is_better": bool(b["higher_is_better"]), "base_value": float(b["value"]),
                "value": float(r["value"]), "abs_change": diff, "rel_change": rel, "diff_ci_low": lo,
                "diff_ci_high": hi, "ci_excludes_zero": excl, "ci_method": method, "n_paired": int(n_paired),
                "direction": _direction(diff, b["higher_is_better"]) if ok else "not interpretable",
                "interpretable": ok, "guard": v.metric(metric).guard, "degenerate_base": deg_b, "degenerate": deg,
                "n_base": b["n"], "n": r["n"], "headline": is_headline,
            })
    out = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    out["ci_excludes_zero"] = out["ci_excludes_zero"].astype("boolean")
    vorder = {name: i for i, name in enumerate(VERTICALS)}
    if len(out):
        out = out.sort_values(["vertical", "model", "seed", "metric", "variant", "checkpoint"],
                              key=lambda s: s.map(vorder) if s.name == "vertical" else (
                                  s.map({c: i for i, c in enumerate(CHECKPOINT_ORDER)}).fillna(99) if s.name == "checkpoint" else s),
                              kind="stable").reset_index(drop=True)
    return out


def _share(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.0%}"


def format_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """A readable view of a change table (model labels, checkpoint names, signed numbers, percentages)."""
    if changes.empty:
        return changes
    out = pd.DataFrame({
        "model": changes["model"].map(model_label), "vertical": changes["vertical"], "metric": changes["metric"],
        "variant": changes["variant"], "checkpoint": changes["checkpoint"].map(checkpoint_label),
        "base": changes["base_value"].map("{:.3f}".format), "value": changes["value"].map("{:.3f}".format),
        "change": changes["abs_change"].map("{:+.3f}".format),
        "relative": changes["rel_change"].map(lambda x: "n/a" if not np.isfinite(x) else f"{x:+.0%}"),
        "95% CI of change": [("n/a" if not np.isfinite(lo) else f"[{lo:+.3f}, {hi:+.3f}]")
                             for lo, hi in zip(changes["diff_ci_low"], changes["diff_ci_high"])],
        "excludes 0": changes["ci_excludes_zero"].map(lambda x: "n/a" if x is pd.NA else ("yes" if x else "no")),
        "paired n": [str(int(n)) if m == "paired_bootstrap" else "n/a (normal approx.)" if m else "n/a"
                     for n, m in zip(changes["n_paired"], changes["ci_method"])],
        "degenerate (base / checkpoint)": [f"{_share(a)} / {_share(b)}"
                                      for a, b in zip(changes["degenerate_base"], changes["degenerate"])],
        "direction": changes["direction"],
    })
    if changes["seed"].nunique() > 1:
        out.insert(1, "seed", changes["seed"])
    return out.reset_index(drop=True)


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
              "interpretable", "paper_unit", "source", "note"]


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
                             "run_degenerate": deg, "interpretable": ok, "paper_unit": p["unit"], "source": p["source"], "note": str(p["note"]) + note_extra})
    out = pd.DataFrame(rows, columns=V1_COLUMNS)
    out["paper_in_run_ci"] = out["paper_in_run_ci"].astype("boolean")
    return out


V2_COLUMNS = ["vertical", "metric", "variant", "model", "run_base", "run_aligned", "aligned_checkpoints", "run_rel_change",
              "run_direction", "run_degenerate", "interpretable", "paper_rel_change", "paper_direction",
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
    for vname, vert in VERTICALS.items():
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
            vals = dict(zip(gm["checkpoint"], gm["value"]))
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
            rows.append(base_info | {"model": model, "run_base": b, "run_aligned": a, "aligned_checkpoints": "+".join(aligned),
                                     "run_rel_change": rel, "run_direction": rdir, "run_degenerate": deg,
                                     "interpretable": ok, "same_direction": same, "run_note": note})
    out = pd.DataFrame(rows, columns=V2_COLUMNS)
    out["same_direction"] = out["same_direction"].astype("boolean")
    return out


# ------------------------------------------------------------------------------------------- figures
def _new_figure(n_panels: int, ncols_max: int = 4, panel_w: float = 3.6, panel_h: float = 3.4):
    from matplotlib.figure import Figure

    ncols = max(1, min(n_panels, ncols_max))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig = Figure(figsize=figsize(ncols, nrows, (panel_w, panel_h)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def _ylabel(vertical: str, metric: str) -> str:
    m = get_vertical(vertical).metric(metric)
    return f"{m.label}\n({'higher' if m.higher_is_better else 'lower'} is better)"


def _bar_panel(ax, sub: pd.DataFrame, series: list[str], value_labels: bool = True, show_legend: bool = True) -> None:
    """Bars of ``value`` per checkpoint (x, in study order), one bar per series, with CI error bars."""
    checkpoints = order_checkpoints(sub["checkpoint"])
    series = [s for s in series if s in set(sub["series"])]
    width = 0.8 / max(1, len(series))
    colors = series_colors(series) if len(series) > 1 else None  # several models: one colour per model
    for j, s in enumerate(series):
        d = sub[sub["series"] == s].set_index("checkpoint")
        xs, ys, err_lo, err_hi, cols = [], [], [], [], []
        for i, st in enumerate(checkpoints):
            if st not in d.index:
                continue
            r = d.loc[st]
            xs.append(i + (j - (len(series) - 1) / 2) * width)
            ys.append(r["value"])
            lo, hi = r["ci_low"], r["ci_high"]
            err_lo.append(max(0.0, r["value"] - lo) if np.isfinite(lo) else 0.0)
            err_hi.append(max(0.0, hi - r["value"]) if np.isfinite(hi) else 0.0)
            cols.append(colors[s] if colors else checkpoint_color(st))
        bars = ax.bar(xs, ys, width=width * 0.92, color=cols, label=s if colors else None,
                      yerr=[err_lo, err_hi], capsize=3, error_kw={"elinewidth": 1, "ecolor": ERROR_COLOR})
        if value_labels and len(series) <= 2:
            ax.bar_label(bars, labels=[f"{y:.2f}" for y in ys], fontsize=7, padding=2)
    ax.set_xticks(range(len(checkpoints)), [checkpoint_label(s) for s in checkpoints])
    ax.set_xlabel("checkpoint")
    ymax = np.nanmax(np.r_[sub["value"].to_numpy(float), sub["ci_high"].to_numpy(float), 0.0])
    ax.set_ylim(0, max(0.05, float(ymax) * 1.15))
    if colors and show_legend:
        ax.legend(title="model", fontsize=7, title_fontsize=7)


def panel_variants(df: pd.DataFrame, vertical: str, metric: str, max_panels: int = 6) -> list[str]:
    """Variants shown as panels: headline variant first, then the others in data order; only the
    headline one when there are more than ``max_panels`` (they go to the breakdown figure)."""
    vert = get_vertical(vertical)
    vs = list(dict.fromkeys(df[(df["vertical"] == vertical) & (df["metric"] == metric)]["variant"]))
    if vert.headline_variant in vs:
        vs.remove(vert.headline_variant)
        vs.insert(0, vert.headline_variant)
    if len(vs) > max_panels:
        return vs[:1]
    return vs


@styled
def plot_vertical(results: pd.DataFrame, vertical: str, metric: str | None = None,
                  variants: list[str] | None = None, max_panels: int = 6):
    """One vertical's metric (headline by default) per checkpoint, one panel per variant; None when no rows.

    Bars follow the study's order (Base, SFT, PPO, DPO), checkpoints the run lacks are skipped; error bars are
    the rows' bootstrap intervals; with several models, one bar colour per model (sorted by size).
    """
    df = prepare(results) if "series" not in results else results
    vert = get_vertical(vertical)
    metric = metric or vert.headline.name
    d = df[(df["vertical"] == vertical) & (df["metric"] == metric)] if len(df) else df
    if d.empty:
        return None
    variants = variants or panel_variants(d, vertical, metric, max_panels)
    fig, axes = _new_figure(len(variants))
    series = series_order(d)
    for i, (ax, var) in enumerate(zip(axes, variants)):
        _bar_panel(ax, d[d["variant"] == var], series, show_legend=i == 0)
        ax.set_title(var + (" (headline)" if var == vert.headline_variant else ""), fontsize=10)
        ax.set_ylabel(_ylabel(vertical, metric))
    title = figure_title(vertical) if metric == vert.headline.name else f"{vert.title}: {vert.metric(metric).label} by checkpoint"
    fig.suptitle(title)
    return fig


@styled
def plot_overview(results: pd.DataFrame):
    """Every vertical's headline metric (headline variant) per checkpoint, one panel each; None when no rows."""
    made = _headline_panels(results, lambda v: VERTICALS[v].headline.name)
    if made is None:
        return None
    fig, panels = made
    for ax, v in panels:
        ax.set_ylabel(_ylabel(v, VERTICALS[v].headline.name))
    fig.suptitle(figure_title("overview"))
    return fig


def _headline_panels(results: pd.DataFrame, metric):
    """One bar panel per vertical with ``metric(vertical)`` rows in its headline variant, checkpoints as bars:
    ``(figure, [(axes, vertical), ...])``, or None when no vertical has such rows."""
    df = prepare(results) if "series" not in results else results

    def rows(v):
        return (df["vertical"] == v) & (df["metric"] == metric(v)) & (df["variant"] == VERTICALS[v].headline_variant)

    present = [v for v in VERTICALS if len(df) and rows(v).any()]
    if not present:
        return None
    fig, axes = _new_figure(len(present), ncols_max=5, panel_w=3.2)
    series = series_order(df)
    for i, (ax, v) in enumerate(zip(axes, present)):
        _bar_panel(ax, df[rows(v)], series, show_legend=i == 0)
        ax.set_title(f"{VERTICALS[v].title}\n({VERTICALS[v].headline_variant})", fontsize=10)
    return fig, list(zip(axes, present))


@styled
def plot_breakdown(results: pd.DataFrame, vertical: str, metric: str | None = None):
    """Dot plot of a metric for every non-headline variant (e.g. privacy per PII type), checkpoints as colours,
    one panel per model; None when the vertical has no such variants."""
    df = prepare(results) if "series" not in results else results
    vert = get_vertical(vertical)
    metric = metric or vert.headline.name
    d = df[(df["vertical"] == vertical) & (df["metric"] == metric) & (df["variant"] != vert.headline_variant)] if len(df) else df
    if d.empty:
        return None
    variants = list(dict.fromkeys(d["variant"]))
    series = series_order(d)
    fig, axes = _new_figure(len(series), ncols_max=3, panel_w=4.6, panel_h=0.28 * len(variants) + 1.4)
    checkpoints = order_checkpoints(d["checkpoint"])
    for ax, s in zip(axes, series):
        sub = d[d["series"] == s]
        for k, st in enumerate(checkpoints):
            r = sub[sub["checkpoint"] == st].set_index("variant").reindex(variants)
            y = np.arange(len(variants)) + (k - (len(checkpoints) - 1) / 2) * 0.15
            lo = (r["value"] - r["ci_low"]).clip(lower=0).fillna(0)
            hi = (r["ci_high"] - r["value"]).clip(lower=0).fillna(0)
            ax.errorbar(r["value"], y, xerr=[lo, hi], fmt="o", ms=4, lw=1, capsize=2,
                        color=checkpoint_color(st), label=checkpoint_label(st))
        ax.set_yticks(range(len(variants)), variants, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(_ylabel(vertical, metric).replace("\n", " "))
        ax.set_title(s, fontsize=10)
        ax.legend(title="checkpoint", fontsize=7, title_fontsize=7)
    fig.suptitle(figure_title(f"{vertical}_breakdown"))
    return fig


DEGENERATE_METRICS: dict[str, str] = {"degenerate_empty": "empty", "degenerate_unparsed": "unparsed",
                                      "degenerate_echo": "echo", "degenerate_repeat": "repeat",
                                      "degenerate_any": "any", "degenerate_loglik": "loglik ties"}


def degenerate_shares(results: pd.DataFrame, headline_only: bool = False) -> pd.DataFrame:
    """Degenerate-output shares, one row per (model, seed, vertical, variant, checkpoint), one column per check
    (``empty, unparsed, echo, repeat, any, loglik ties``; NaN where a vertical has no such check) and ``n``."""
    df = prepare(results) if "series" not in results else results
    cols = ["model", "seed", "vertical", "variant", "checkpoint", *DEGENERATE_METRICS.values(), "n"]
    d = df[df["metric"].isin(list(DEGENERATE_METRICS))] if len(df) else df
    if headline_only and len(d):
        d = d[[VERTICALS[v].headline_variant == var for v, var in zip(d["vertical"], d["variant"])]]
    if d.empty:
        return pd.DataFrame(columns=cols)
    t = d.pivot_table(index=["model", "seed", "vertical", "variant", "checkpoint"], columns="metric", values="value",
                      aggfunc="first", sort=False).rename(columns=DEGENERATE_METRICS)
    n = d[d["metric"] == "degenerate_any"].set_index(["model", "seed", "vertical", "variant", "checkpoint"])["n"]
    t = t.reindex(columns=list(DEGENERATE_METRICS.values())).assign(n=n.reindex(t.index)).reset_index()
    vorder = {name: i for i, name in enumerate(VERTICALS)}
    sorder = {c: i for i, c in enumerate(CHECKPOINT_ORDER)}
    t = t.sort_values(["vertical", "model", "seed", "variant", "checkpoint"], kind="stable",
                      key=lambda c: c.map(vorder) if c.name == "vertical" else (
                          c.map(lambda x: sorder.get(x, 99)) if c.name == "checkpoint" else c))
    return t[cols].reset_index(drop=True)


@styled
def plot_degenerate(results: pd.DataFrame, max_degenerate: float = MAX_DEGENERATE):
    """``degenerate_any`` of each vertical's headline setting per checkpoint, with the ``max_degenerate`` line; None
    when the run recorded no shares."""
    made = _headline_panels(results, lambda v: "degenerate_any")
    if made is None:
        return None
    fig, panels = made
    for ax, _ in panels:
        ax.axhline(max_degenerate, color=THRESHOLD_COLOR, ls="--", lw=1)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("Degenerate outputs (any)\n(dashed: max_degenerate)")
    fig.suptitle(figure_title("degenerate"))
    return fig


# ----------------------------------------------------------------------------------------- the stage
@dataclass
class AnalysisConfig:
    """Parameters of the analysis stage (the schema of its parameters: :mod:`trust_utils.params`).

    Attributes:
        run_dir: run directory whose ``results/`` is analysed.
        profile: profile name used in figure file names; empty: the ``profile`` of ``<run_dir>/run.json``
            (written by the runner), else the run directory's name.
        figures_dir: where figures go; relative paths are taken from the project root.
        dpi: PNG resolution.
        max_panels: a vertical with more variants than this shows only its headline variant in its
            figure and gets a ``<vertical>_breakdown`` figure for the rest.
        variant_aliases: ``{"<vertical>:<paper variant>": "<run variant>"}`` for the paper comparison.
        max_degenerate: a change (or a value compared with the paper) is not interpretable when the share of
            degenerate outputs behind either side exceeds this.
        n_boot: paired bootstrap resamples for the interval of a change.
        seed: bootstrap seed.
    """

    run_dir: str = shared("run_dir")
    profile: str = param(
        "", "name used in figure file names; empty takes it from the run's run.json, else the run directory name")
    figures_dir: str = param("figures", 'where figures are saved; relative paths are taken from the project root')
    dpi: int = param(150, 'PNG resolution of the saved figures')
    max_panels: int = param(
        6, 'a vertical with more variants than this gets its headline panel plus a breakdown figure')
    variant_aliases: dict[str, str] = param(
        {}, 'paper variant to run variant for the paper comparison, keyed like ethics:adversarial')
    max_degenerate: float = param(
        MAX_DEGENERATE, "a change is not interpretable when more than this share of either side's outputs is degenerate")
    n_boot: int = param(1000, 'paired bootstrap resamples for the interval of a change')
    seed: int = shared("seed", 0)

    def __post_init__(self):
        if not 0.0 <= float(self.max_degenerate) <= 1.0:
            raise ValueError(f"max_degenerate must be a share between 0 and 1, not {self.max_degenerate!r}")
        if int(self.n_boot) < 0:
            raise ValueError(f"n_boot must be >= 0 (0 gives no interval), not {self.n_boot!r}")
    formats: tuple[str, ...] = param(("png", "pdf"), 'file formats the figures are saved in')


@dataclass
class AnalysisResult:
    """What the notebook displays: the tables, the figures (by key) and their files."""

    profile: str
    results: pd.DataFrame
    changes: pd.DataFrame
    v1: pd.DataFrame
    v2: pd.DataFrame
    reference: pd.DataFrame
    figures: dict[str, Any]
    figure_files: dict[str, list[str]]
    tables: dict[str, str]
    notes: list[str]
    degenerate: pd.DataFrame = field(default_factory=pd.DataFrame)
    v1_table: pd.DataFrame | None = None


def resolve_profile_name(run_dir: str | Path, profile: str = "") -> str:
    if profile:
        return profile
    rj = resolve_run_dir(run_dir) / "run.json"
    if rj.is_file():
        try:
            name = json.loads(rj.read_text(encoding="utf-8")).get("profile")
            if name:
                return str(name)
        except (OSError, ValueError):
            pass
    return resolve_run_dir(run_dir).name


def figure_keys(results: pd.DataFrame, max_panels: int = 6) -> list[str]:
    """The figures a run's results give: ``overview``, each vertical with rows, and breakdowns."""
    df = prepare(results) if "series" not in results else results
    keys = ["overview"] if len(df) else []
    if len(df) and (df["metric"] == "degenerate_any").any():
        keys.append("degenerate")
    for v, vert in VERTICALS.items():
        d = df[(df["vertical"] == v) & (df["metric"] == vert.headline.name)] if len(df) else df
        if d.empty:
            continue
        keys.append(v)
        if d["variant"].nunique() > max_panels:
            keys.append(f"{v}_breakdown")
    return keys


def make_figure(results: pd.DataFrame, key: str, max_panels: int = 6, max_degenerate: float = MAX_DEGENERATE):
    if key == "overview":
        return plot_overview(results)
    if key == "degenerate":
        return plot_degenerate(results, max_degenerate)
    if key.endswith("_breakdown"):
        return plot_breakdown(results, key[: -len("_breakdown")])
    return plot_vertical(results, key, max_panels=max_panels)


def run(cfg: AnalysisConfig) -> AnalysisResult:
    """Load the run's results, compute the tables, draw and save the figures, record ``outputs.json``."""
    t0 = time.perf_counter()
    out_dir = stage_dir(cfg.run_dir, "analysis")
    profile = resolve_profile_name(cfg.run_dir, cfg.profile)
    use_run_checkpoints(cfg.run_dir)  # labels, colours and order of the profile's external checkpoints
    raw = load_results(cfg.run_dir)
    df = prepare(raw)
    reference = load_reference()
    notes: list[str] = []
    if df.empty:
        notes.append(f"no results in {results_dir(cfg.run_dir)}: run at least one vertical stage first")
        log.warning(notes[-1])
    units, unit_notes = attach_units(load_unit_values(cfg.run_dir), df)
    notes += unit_notes
    t1 = time.perf_counter()
    declared = comparisons(cfg.run_dir)
    if any(b != "base" for b in declared.values()):
        changes = changes_against(df, declared, units=units, max_degenerate=cfg.max_degenerate, n_boot=cfg.n_boot,
                                  seed=cfg.seed)
    else:
        changes = change_table(df, units, cfg.max_degenerate, cfg.n_boot, cfg.seed)
    v1 = v1_comparison(df, reference, cfg.variant_aliases, cfg.max_degenerate)
    v2 = v2_headline_comparison(df, reference, max_degenerate=cfg.max_degenerate)
    degenerate = degenerate_shares(df)
    bad = changes[changes["headline"] & ~changes["interpretable"].astype(bool)] if len(changes) else changes
    for r in bad.itertuples():
        notes.append(f"{r.vertical} ({model_label(r.model)}): the headline change Base -> {checkpoint_label(r.checkpoint)} is "
                     f"not interpretable: {_share(r.degenerate_base)} / {_share(r.degenerate)} of the outputs are "
                     f"degenerate ({r.guard} > {cfg.max_degenerate:g})")
    if len(df) and v1.empty:
        notes.append("no model of this run is a Pythia size of the v1 paper (70m, 160m, 410m, 2.8b, 6.9b): "
                     "the per-model comparison is empty")
    tables = {"changes": "changes.csv", "paper_v1": "paper_v1_comparison.csv", "paper_v2": "paper_v2_headline.csv",
              "degenerate": "degenerate_shares.csv"}
    changes.to_csv(out_dir / tables["changes"], index=False)
    degenerate.to_csv(out_dir / tables["degenerate"], index=False)
    v1.to_csv(out_dir / tables["paper_v1"], index=False)
    v2.to_csv(out_dir / tables["paper_v2"], index=False)
    t2 = time.perf_counter()
    fig_dir = Path(cfg.figures_dir)
    fig_dir = fig_dir if fig_dir.is_absolute() else project_root() / fig_dir
    figures, files = {}, {}
    for key in figure_keys(df, cfg.max_panels):
        fig = make_figure(df, key, cfg.max_panels, cfg.max_degenerate)
        if fig is None:
            continue
        figures[key] = fig
        files[key] = [str(p) for p in save_figure(fig, fig_dir / f"{key}_{profile}", cfg.formats, cfg.dpi)]
    fam = family_outputs(cfg, df, v1, reference, profile)
    if "figure" in fam:
        figures["families"], files["families"] = fam["figure"], fam["files"]
    if "table_file" in fam:
        tables["paper_v1_table"] = fam["table_file"]
    t3 = time.perf_counter()
    head = changes[changes["headline"]] if len(changes) else changes
    summary = [{"vertical": r.vertical, "model": model_label(r.model), "seed": int(r.seed), "checkpoint": r.checkpoint,
                "abs_change": round(float(r.abs_change), 6),
                "rel_change": None if not np.isfinite(r.rel_change) else round(float(r.rel_change), 6),
                "direction": r.direction, "interpretable": bool(r.interpretable),
                "ci_excludes_zero": None if r.ci_excludes_zero is pd.NA else bool(r.ci_excludes_zero),
                "ci_method": r.ci_method, "n_paired": int(r.n_paired)}
               for r in head.itertuples()]
    outputs = {
        "profile": profile, "n_result_rows": int(len(df)),
        "verticals": [v for v in VERTICALS if len(df) and (df["vertical"] == v).any()],
        "checkpoints": order_checkpoints(df["checkpoint"]) if len(df) else [], "models": sorted(set(df["model"])) if len(df) else [],
        "figures": {k: {"title": figure_title(k), "files": files[k]} for k in figures},
        "tables": tables, "headline_changes": summary,
        "paper_v2": [{"vertical": r.vertical, "model": model_label(r.model) if r.model else "",
                      "run_rel_change": None if not np.isfinite(r.run_rel_change) else round(float(r.run_rel_change), 6),
                      "paper_rel_change": None if not np.isfinite(r.paper_rel_change) else float(r.paper_rel_change),
                      "interpretable": bool(r.interpretable),
                      "same_direction": None if r.same_direction is pd.NA else bool(r.same_direction)}
                     for r in v2.itertuples()],
        "max_degenerate": cfg.max_degenerate, "n_paired_changes": int((changes["ci_method"] == "paired_bootstrap").sum()),
        "n_paper_v1_matches": int(len(v1)), "notes": notes,
    }
    inputs = [PAPER_RESULTS] + sorted(results_dir(cfg.run_dir).glob("*.csv"))
    write_stage_outputs(out_dir, outputs, inputs=inputs,
                        timings={"load": round(t1 - t0, 3), "tables": round(t2 - t1, 3), "figures": round(t3 - t2, 3)})
    return AnalysisResult(profile, df, changes, v1, v2, reference, figures, files, tables, notes, degenerate,
                          fam.get("table"))


__all__ = [
    "AnalysisConfig", "AnalysisResult", "run", "prepare", "load_reference", "reference_as_rate", "change_table",
    "format_changes", "diff_ci_normal", "attach_units", "guard_share", "degenerate_shares", "plot_degenerate",
    "MAX_DEGENERATE", "v1_comparison", "v2_headline_comparison", "plot_vertical", "plot_overview",
    "plot_breakdown", "save_figure", "figure_title", "figure_keys", "make_figure", "order_checkpoints", "model_label",
    "pythia_size", "model_size_millions",
]


# ------------------------------------------------------------------ declared baselines, model families, v1 tables
def changes_against(results: pd.DataFrame, declared: dict[tuple[str, str], str] | None = None,
                    units: pd.DataFrame | None = None, **change_kwargs: Any) -> pd.DataFrame:
    """:func:`change_table` with each ``(model, checkpoint)`` in ``declared`` measured from its declared baseline checkpoint
    (a profile's ``compare_to`` / ``baseline``, :func:`trust_utils.checkpoints.comparisons`) instead of ``base``.

    Adds a ``baseline`` column (``base`` for the default rows). A declared baseline the model lacks gives no row.
    ``units`` and ``change_kwargs`` (``max_degenerate``, ``n_boot``, ``seed``) go to :func:`change_table`; the rows
    measured from a non-base baseline are relabelled, so their per-unit records cannot be matched and their intervals
    use the normal approximation (``ci_method`` says so).
    """
    df = prepare(results) if "series" not in results else results
    declared = {k: v for k, v in (declared or {}).items() if v}
    out = change_table(df, units, **change_kwargs)
    out["baseline"] = "base"
    if not declared or df.empty:
        return out
    moved = {k for k, v in declared.items() if v != "base"}
    keep = [(m, st) not in moved for m, st in zip(out["model"], out["checkpoint"])]
    parts = [out[keep]]
    for model, checkpoint in sorted(moved):
        base = declared[(model, checkpoint)]
        sub = df[(df["model"] == model) & df["checkpoint"].isin([base, checkpoint])]
        if not (sub["checkpoint"] == base).any() or not (sub["checkpoint"] == checkpoint).any():
            continue
        # change_table measures from the rows labelled 'base': relabel the declared baseline's rows
        t = change_table(sub.assign(checkpoint=sub["checkpoint"].where(sub["checkpoint"] != base, "base")), None, **change_kwargs)
        parts.append(t.assign(checkpoint=checkpoint, baseline=base))
    return pd.concat(parts, ignore_index=True)


V1_TABLE_INDEX = ["vertical", "metric", "variant", "run_variant", "paper_model"]


def v1_table(v1: pd.DataFrame) -> pd.DataFrame:
    """The v1 comparison as the paper's table layout: one row per (vertical, metric, variant, model size), one
    column per checkpoint, each cell ``run [ci_low, ci_high] / paper value`` with ``*`` when the paper's value lies
    outside the run's interval."""
    if v1.empty:
        return pd.DataFrame(columns=V1_TABLE_INDEX)
    sizes = {s: i for i, s in enumerate(f"pythia-{x}" for x in V1_PYTHIA_SIZES)}

    def cell(r) -> str:
        ci = "" if not np.isfinite(r["run_ci_low"]) else f" [{r['run_ci_low']:.3f}, {r['run_ci_high']:.3f}]"
        flag = "*" if r["paper_in_run_ci"] is False else ""
        return f"{r['run_value']:.3f}{ci} / {r['paper_value']:.3f}{flag}"

    d = v1.assign(cell=[cell(r) for _, r in v1.iterrows()])
    t = d.pivot_table(index=V1_TABLE_INDEX, columns="checkpoint", values="cell", aggfunc="first", sort=False)
    t = t[order_checkpoints(t.columns)]
    t = t.reset_index()
    t["_size"] = t["paper_model"].map(sizes)
    return t.sort_values(["vertical", "metric", "variant", "run_variant", "_size"], kind="stable").drop(
        columns="_size").reset_index(drop=True)


@styled
def plot_families(results: pd.DataFrame, reference: pd.DataFrame | None = None, variant_aliases: dict | None = None):
    """The paper's figure layout across model families: one panel per vertical (headline metric and variant),
    checkpoint on x, one line per family (``model``, sorted by size) with the rows' intervals, and the v1
    paper's values as dashed lines for families that are v1 Pythia sizes. None when there are no rows."""
    df = prepare(results) if "series" not in results else results
    present = [v for v in VERTICALS if len(df) and ((df["vertical"] == v) & (df["metric"] == VERTICALS[v].headline.name)
                                                    & (df["variant"] == VERTICALS[v].headline_variant)).any()]
    if not present:
        return None
    v1 = v1_comparison(df, reference, variant_aliases) if reference is not None else pd.DataFrame(columns=V1_COLUMNS)
    series = series_order(df)
    colors = series_colors(series)
    fig, axes = _new_figure(len(present), ncols_max=5, panel_w=3.4)
    for ax, v in zip(axes, present):
        vert = VERTICALS[v]
        sub = df[(df["vertical"] == v) & (df["metric"] == vert.headline.name) & (df["variant"] == vert.headline_variant)]
        checkpoints = order_checkpoints(sub["checkpoint"])
        for s in series:
            d = sub[sub["series"] == s].set_index("checkpoint").reindex(checkpoints)
            if d["value"].isna().all():
                continue
            x = np.arange(len(checkpoints))
            err = np.vstack([(d["value"] - d["ci_low"]).clip(lower=0).fillna(0),
                             (d["ci_high"] - d["value"]).clip(lower=0).fillna(0)])
            ax.errorbar(x, d["value"], yerr=err, marker="o", ms=4, lw=1.5, capsize=3, color=colors[s], label=s)
            models = set(sub[sub["series"] == s]["model"])
            p = v1[v1["model"].isin(models) & (v1["vertical"] == v) & (v1["metric"] == vert.headline.name)
                   & (v1["run_variant"] == vert.headline_variant)] if len(v1) else v1
            if len(p):
                pv = p.groupby("checkpoint")["paper_value"].first().reindex(checkpoints)
                ax.plot(x, pv, ls="--", marker="x", ms=4, lw=1, color=colors[s], alpha=0.8)
        ax.set_xticks(range(len(checkpoints)), [checkpoint_label(st) for st in checkpoints])
        ax.set_xlabel("checkpoint")
        ax.set_ylabel(_ylabel(v, vert.headline.name))
        ax.set_title(f"{vert.title}\n({vert.headline_variant})", fontsize=10)
    axes[0].legend(title="model (dashed: paper v1)" if len(v1) else "model", fontsize=7, title_fontsize=7)
    fig.suptitle("Across model families: headline metric of each vertical by checkpoint")
    return fig


def family_outputs(cfg: "AnalysisConfig", df: pd.DataFrame, v1: pd.DataFrame, reference: pd.DataFrame,
                   profile: str) -> dict[str, Any]:
    """The cross-family figure and the v1 table of :func:`run`: written when the run has several models or v1
    matches; returns ``{figure, files, table, table_file}`` (empty when neither applies)."""
    out: dict[str, Any] = {}
    n_models = df["model"].nunique() if len(df) else 0
    if n_models > 1 or len(v1):
        fig = plot_families(df, reference, cfg.variant_aliases)
        if fig is not None:
            fig_dir = Path(cfg.figures_dir)
            fig_dir = fig_dir if fig_dir.is_absolute() else project_root() / fig_dir
            out["figure"] = fig
            out["files"] = [str(p) for p in save_figure(fig, fig_dir / f"families_{profile}", cfg.formats, cfg.dpi)]
    if len(v1):
        out["table"] = v1_table(v1)
        out["table_file"] = "paper_v1_table.csv"
        out["table"].to_csv(stage_dir(cfg.run_dir, "analysis") / out["table_file"], index=False)
    return out


__all__ += ["changes_against", "v1_table", "plot_families", "family_outputs", "use_run_checkpoints", "checkpoint_color",
            "checkpoint_label", "order_checkpoints"]  # the display functions are :mod:`trust_utils.style`'s
