"""The analysis's tables: names, the loaded results, the change table, degenerate shares, changes against a declared
baseline and the v1 table layout (value code: no figures; the paper's numbers are :mod:`.paper`'s).

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
  A forced-choice metric (``Metric.majority_guard``: ``degenerate_constant``, the share of units given the
  majority answer) is also not interpretable when that share is above ``max_majority``
  (:data:`trust_utils.registry.MAX_MAJORITY_SHARE`, 0.95) on either side: one answer to (nearly) everything, as an
  "always No" model, measures the answer's prior, not the items. ``majority_base`` / ``majority`` show the shares.
* **Chance.** ``chance`` is the metric's registered chance level (NaN where none applies).
* **Relative change** is ``(value - base) / |base|`` (NaN when the base value is 0). **Direction**
  is ``better`` / ``worse`` / ``unchanged`` from the registry's ``higher_is_better``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..checkpoints import CHECKPOINT_ORDER, HEADLINE, parse_point
from ..registry import MAX_MAJORITY_SHARE, VERTICALS, get_vertical
from ..results import UNIT_COLUMNS

# The run being shown (its external checkpoints' labels and declared order, set by ``run.show_run``) decides the
# change table's row order; it is a context of trust_utils.run, which the figures read too.
from ..run import shown_checkpoints as run_checkpoints
from ..run import shown_label as checkpoint_label
from ..stats import normal_p_value, paired_bootstrap_test
from .multiplicity import FAMILY_ALPHA, add_multiplicity  # noqa: F401 - re-exported

Z95 = 1.959963984540054
# Labels and order of the checkpoints come from the checkpoint registry (a run's external checkpoints add theirs:
# :func:`trust_utils.run.show_run`).
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
    df["series"] = [model_label(m) + (f" (seed {s})" if seeds[m] > 1 else "") for m, s in zip(df["model"], df["seed"], strict=True)]
    return df


def series_order(df: pd.DataFrame) -> list[str]:
    """Series sorted by parsed model size (unknown sizes last), then name."""
    pairs = df[["series", "model"]].drop_duplicates()
    def key(row):
        size = model_size_millions(row[1])
        return (size is None, size or 0.0, row[0])
    return [s for s, _ in sorted(pairs.itertuples(index=False, name=None), key=key)]


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
                  "headline", "chance", "majority_base", "majority", "p_value", "p_holm", "p_bh", "survives_holm",
                  "survives_bh"]


def _guard_lookup(df: pd.DataFrame) -> dict[tuple, float]:
    """``(model, seed, vertical, metric, variant, checkpoint) -> value`` of the validity rows (the guards)."""
    if df.empty:
        return {}
    g = df[df["metric"].str.startswith("degenerate_")]
    return {tuple(k): float(v) for k, v in zip(g[KEY + ["checkpoint"]].itertuples(index=False, name=None), g["value"], strict=True)}


def guard_share(lookup: dict[tuple, float], model: str, seed: int, vertical: str, metric: str, variant: str,
                checkpoint: str) -> float:
    """The guard share of one metric's row (NaN when the metric has no guard or the run did not record it)."""
    guard = get_vertical(vertical).metric(metric).guard
    if not guard:
        return math.nan
    return lookup.get((model, seed, vertical, guard, variant, checkpoint), math.nan)


def majority_share(lookup: dict[tuple, float], model: str, seed: int, vertical: str, metric: str, variant: str,
                   checkpoint: str) -> float:
    """The majority-answer share of a forced-choice metric's row (NaN for other metrics or when not recorded)."""
    guard = get_vertical(vertical).metric(metric).majority_guard
    return lookup.get((model, seed, vertical, guard, variant, checkpoint), math.nan) if guard else math.nan


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
                 n_boot: int = 1000, seed: int = 0, max_majority: float = MAX_MAJORITY_SHARE) -> pd.DataFrame:
    """Change of every metric from ``base`` to each other checkpoint, per (model, seed, vertical, metric, variant).

    Args:
        results: the results table.
        units: per-unit values with ``model`` and ``seed`` (:func:`attach_units`); rows without any get the
            normal-approximation interval.
        max_degenerate: a change whose base or checkpoint guard share exceeds this is not interpretable.
        n_boot: paired bootstrap resamples.
        seed: bootstrap seed.
        max_majority: a forced-choice change whose base or checkpoint majority-answer share exceeds this is not
            interpretable.

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
        is_headline = v.trust and metric == v.headline.name and variant == v.headline_variant
        ug = by_unit.get(key)
        ub = ug[ug["checkpoint"] == "base"].set_index("unit")["value"] if ug is not None else None
        deg_b = guard_share(guards, model, sd, vname, metric, variant, "base")
        maj_b = majority_share(guards, model, sd, vname, metric, variant, "base")
        chance = v.metric(metric).chance
        for checkpoint in order_checkpoints(g["checkpoint"]):
            if checkpoint == "base":
                continue
            r = g[g["checkpoint"] == checkpoint].iloc[0]
            diff = float(r["value"] - b["value"])
            rel = diff / abs(b["value"]) if b["value"] not in (0, 0.0) and np.isfinite(b["value"]) else math.nan
            method, n_paired, p_value = "", 0, math.nan
            lo = hi = math.nan
            if ub is not None and len(ub):
                us = ug[ug["checkpoint"] == checkpoint].set_index("unit")["value"]
                shared = ub.index.intersection(us.index)
                if len(shared):
                    _, lo, hi, n_paired, p_value = paired_bootstrap_test(
                        ub.loc[shared].to_numpy(float), us.loc[shared].to_numpy(float), n_boot, seed=seed)
                    method = "paired_bootstrap"
            if not method:
                lo, hi = diff_ci_normal(b["ci_low"], b["ci_high"], r["ci_low"], r["ci_high"], diff)
                method = "normal_approx" if np.isfinite(lo) else ""
                p_value = normal_p_value(diff, lo, hi)
            excl = pd.NA if not np.isfinite(lo) else bool(lo > 0 or hi < 0)
            deg = guard_share(guards, model, sd, vname, metric, variant, checkpoint)
            maj = majority_share(guards, model, sd, vname, metric, variant, checkpoint)
            ok = not (_exceeds(deg_b, max_degenerate) or _exceeds(deg, max_degenerate)
                      or _exceeds(maj_b, max_majority) or _exceeds(maj, max_majority))
            point = parse_point(checkpoint)
            rows.append(dict(zip(KEY, key, strict=True)) | {
                "checkpoint": checkpoint, "higher_is_better": bool(b["higher_is_better"]), "base_value": float(b["value"]),
                "value": float(r["value"]), "abs_change": diff, "rel_change": rel, "diff_ci_low": lo,
                "diff_ci_high": hi, "ci_excludes_zero": excl, "ci_method": method, "n_paired": int(n_paired),
                "direction": _direction(diff, b["higher_is_better"]) if ok else "not interpretable",
                "interpretable": ok, "guard": v.metric(metric).guard, "degenerate_base": deg_b, "degenerate": deg,
                # the family of findings: trust verticals' headlines at the primary seed's endpoints (path points
                # and further seeds are read in the curve and the seed table)
                "n_base": b["n"], "n": r["n"], "headline": is_headline and point.step is None and point.seed is None,
                "chance": math.nan if chance is None else float(chance), "majority_base": maj_b, "majority": maj,
                "p_value": p_value,
            })
    out = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    out["ci_excludes_zero"] = out["ci_excludes_zero"].astype("boolean")
    vorder = {name: i for i, name in enumerate(VERTICALS)}
    if len(out):
        out = out.sort_values(["vertical", "model", "seed", "metric", "variant", "checkpoint"],
                              key=lambda s: s.map(vorder) if s.name == "vertical" else (
                                  s.map({c: i for i, c in enumerate(CHECKPOINT_ORDER)}).fillna(99) if s.name == "checkpoint" else s),
                              kind="stable").reset_index(drop=True)
    return add_multiplicity(out)


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
                             for lo, hi in zip(changes["diff_ci_low"], changes["diff_ci_high"], strict=True)],
        "excludes 0": changes["ci_excludes_zero"].map(lambda x: "n/a" if x is pd.NA else ("yes" if x else "no")),
        "paired n": [str(int(n)) if m == "paired_bootstrap" else "n/a (normal approx.)" if m else "n/a"
                     for n, m in zip(changes["n_paired"], changes["ci_method"], strict=True)],
        "degenerate (base / checkpoint)": [f"{_share(a)} / {_share(b)}"
                                      for a, b in zip(changes["degenerate_base"], changes["degenerate"], strict=True)],
        "direction": changes["direction"],
        "p (Holm)": [("n/a" if not np.isfinite(p) else f"{p:.3f}") + ("" if not np.isfinite(h) else f" ({h:.3f})")
                     for p, h in zip(changes["p_value"].astype(float), changes["p_holm"].astype(float), strict=True)],
    })
    if "chance" in changes and changes["chance"].notna().any():  # forced-choice rows: chance and majority answer
        out.insert(out.columns.get_loc("direction"), "chance",
                   changes["chance"].map(lambda x: "" if not np.isfinite(x) else f"{x:g}").to_numpy())
        out.insert(out.columns.get_loc("direction"), "majority answer (base / checkpoint)",
                   [f"{_share(a)} / {_share(b)}" if np.isfinite(c) else ""
                    for a, b, c in zip(changes["majority_base"], changes["majority"], changes["chance"], strict=True)])
    if changes["seed"].nunique() > 1:
        out.insert(1, "seed", changes["seed"])
    return out.reset_index(drop=True)


def styled_table(df: pd.DataFrame, formats: dict[str, str] | None = None, na_rep: str = "n/a"):
    """``df.style`` with number formats and every value, index label and column name HTML-escaped.

    pandas' ``Styler`` writes cell values as raw HTML unless told to escape, so a ``model`` value from a profile or a
    results CSV (``<img src=x onerror=...>``) would be live markup in the notebook and in ``report.html``; every table
    the analysis shows with a style goes through here.
    """
    sty = df.style.format(na_rep=na_rep, escape="html")  # every cell first, then the numbers' formats on top
    if formats:
        sty = sty.format({c: f for c, f in formats.items() if c in df.columns}, na_rep=na_rep, escape="html")
    return sty.format_index(escape="html", axis=0).format_index(escape="html", axis=1)


DEGENERATE_METRICS: dict[str, str] = {"degenerate_empty": "empty", "degenerate_unparsed": "unparsed",
                                      "degenerate_echo": "echo", "degenerate_repeat": "repeat",
                                      "degenerate_any": "any", "degenerate_loglik": "loglik ties",
                                      "degenerate_constant": "majority answer"}


def degenerate_shares(results: pd.DataFrame, headline_only: bool = False) -> pd.DataFrame:
    """Degenerate-output shares, one row per (model, seed, vertical, variant, checkpoint), one column per check
    (``empty, unparsed, echo, repeat, any, loglik ties``; NaN where a vertical has no such check) and ``n``."""
    df = prepare(results) if "series" not in results else results
    cols = ["model", "seed", "vertical", "variant", "checkpoint", *DEGENERATE_METRICS.values(), "n"]
    d = df[df["metric"].isin(list(DEGENERATE_METRICS))] if len(df) else df
    if headline_only and len(d):
        d = d[[VERTICALS[v].headline_variant == var for v, var in zip(d["vertical"], d["variant"], strict=True)]]
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
    keep = [(m, st) not in moved for m, st in zip(out["model"], out["checkpoint"], strict=True)]
    parts = [out[keep]]
    for model, checkpoint in sorted(moved):
        base = declared[(model, checkpoint)]
        sub = df[(df["model"] == model) & df["checkpoint"].isin([base, checkpoint])]
        if not (sub["checkpoint"] == base).any() or not (sub["checkpoint"] == checkpoint).any():
            continue
        # change_table measures from the rows labelled 'base': relabel the declared baseline's rows
        t = change_table(sub.assign(checkpoint=sub["checkpoint"].where(sub["checkpoint"] != base, "base")), None, **change_kwargs)
        parts.append(t.assign(checkpoint=checkpoint, baseline=base))
    return add_multiplicity(pd.concat(parts, ignore_index=True))  # one family across the declared baselines


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


__all__ = ["Z95", "HEADLINE_CHECKPOINTS", "V1_PYTHIA_SIZES", "KEY", "MAX_DEGENERATE", "order_checkpoints", "model_label",
           "styled_table",
           "model_size_millions", "pythia_size", "prepare", "series_order", "diff_ci_normal", "CHANGE_COLUMNS",
           "guard_share", "attach_units", "change_table", "format_changes", "DEGENERATE_METRICS", "degenerate_shares",
           "changes_against", "V1_TABLE_INDEX", "v1_table"]
