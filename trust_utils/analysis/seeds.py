"""Changes across training seeds: the between-seed spread beside the prompt-level interval, corrected for the family.

With a profile's ``seeds: [0, 1, 2]`` every alignment stage is trained once per seed (``sft``, ``sft-s1``, ...). A
method's change on a vertical's headline is then measured once per seed, each seed against the same ``base``
(paired by prompt), and :func:`seed_changes` reports for each vertical × method endpoint:

- ``change``: the mean over seeds of the per-seed paired change;
- ``prompt_ci_low/high``: the paired bootstrap over prompts of the primary seed alone (what a one-seed study reads);
- ``ci_low/high`` and ``p_value``: a two-level bootstrap over seeds, then prompts within each drawn seed
  (:func:`trust_utils.stats.two_level_bootstrap`), so a change must hold across seeds to exclude zero;
- ``between_seed_sd``: the spread of the per-seed changes;
- ``p_holm``/``p_bh`` and ``survives_holm``/``survives_bh``: Holm and Benjamini-Hochberg over the family of these
  changes (every trust vertical × method endpoint whose alignment was established and whose outputs are
  interpretable), :func:`trust_utils.analysis.multiplicity.add_multiplicity`'s rule on the seed-level p-values.

With one seed the two-level bootstrap is the paired bootstrap over prompts and ``between_seed_sd`` is NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..checkpoints import METHODS, parse_point
from ..registry import get_vertical
from ..stats import benjamini_hochberg, holm, two_level_bootstrap
from .multiplicity import FAMILY_ALPHA

SEED_CHANGE_COLUMNS = ("model", "vertical", "metric", "variant", "method", "n_seeds", "change", "prompt_ci_low",
                       "prompt_ci_high", "ci_low", "ci_high", "between_seed_sd", "p_value", "interpretable",
                       "alignment", "in_family", "p_holm", "p_bh", "survives_holm", "survives_bh")


def _units(units: pd.DataFrame, model: str, vertical: str, metric: str, variant: str) -> dict[str, pd.Series]:
    u = units[(units["model"] == model) & (units["vertical"] == vertical) & (units["metric"] == metric)
              & (units["variant"].astype(str) == variant)]
    return {c: g.set_index("unit")["value"].astype(float) for c, g in u.groupby("checkpoint", sort=False)}


def seed_changes(changes: pd.DataFrame, units: pd.DataFrame, leads: dict[str, str],
                 status: dict[str, tuple[str, str]] | None = None, n_boot: int = 1000, seed: int = 0,
                 alpha: float = FAMILY_ALPHA) -> pd.DataFrame:
    """One row per model × trust vertical (its lead metric, ``leads[vertical]``, in the headline setting) × method
    endpoint: the change from ``base`` over every training seed the run has (see the module docstring).

    Args:
        changes: the change table (:func:`trust_utils.analysis.tables.change_table`), for interpretability.
        units: per-unit values with ``model`` (:func:`trust_utils.analysis.tables.attach_units`).
        leads: ``{vertical: metric}`` the analysis leads each vertical with.
        status: :func:`trust_utils.verticals.alignment_status.alignment_status` of the run's alignment rows; a method
            whose alignment is not established on some seed is kept out of the family.
    """
    status = status or {}
    rows = []
    if units is None or not len(units):
        return pd.DataFrame(columns=list(SEED_CHANGE_COLUMNS))
    for (model, vertical), _ in units.groupby(["model", "vertical"], sort=False):
        if vertical not in leads:
            continue
        metric, variant = leads[vertical], get_vertical(vertical).headline_variant
        by_ckpt = _units(units, model, vertical, metric, variant)
        base = by_ckpt.get("base")
        if base is None:
            continue
        for m in METHODS:
            if not m.evaluated:
                continue
            ends = sorted((c for c in by_ckpt if parse_point(c).checkpoint == m.checkpoint and parse_point(c).step is None),
                          key=lambda c: -1 if parse_point(c).seed is None else parse_point(c).seed)
            if not ends:
                continue
            pairs = []
            for c in ends:
                shared = base.index.intersection(by_ckpt[c].index)
                if len(shared):
                    pairs.append((base.loc[shared].to_numpy(), by_ckpt[c].loc[shared].to_numpy()))
            if not pairs:
                continue
            two = two_level_bootstrap(pairs, n_boot=n_boot, seed=seed)
            one = two_level_bootstrap(pairs[:1], n_boot=n_boot, seed=seed)
            ch = changes[(changes["model"] == model) & (changes["vertical"] == vertical)
                         & (changes["metric"] == metric) & (changes["variant"].astype(str) == variant)
                         & changes["checkpoint"].isin(ends)] if len(changes) else changes
            interpretable = bool(len(ch)) and bool(ch["interpretable"].astype(bool).all())
            states = [status[c][0] for c in ends if c in status]
            alignment = ("established" if states and all(s == "established" for s in states) else
                         "not established" if states else "not measured")
            rows.append({"model": model, "vertical": vertical, "metric": metric, "variant": variant,
                         "method": m.checkpoint, "n_seeds": two["n_seeds"], "change": two["change"],
                         "prompt_ci_low": one["ci_low"], "prompt_ci_high": one["ci_high"], "ci_low": two["ci_low"],
                         "ci_high": two["ci_high"], "between_seed_sd": two["between_seed_sd"],
                         "p_value": two["p_value"], "interpretable": interpretable, "alignment": alignment})
    out = pd.DataFrame(rows, columns=[c for c in SEED_CHANGE_COLUMNS if c not in
                                      ("in_family", "p_holm", "p_bh", "survives_holm", "survives_bh")])
    return add_seed_multiplicity(out, alpha)


def add_seed_multiplicity(table: pd.DataFrame, alpha: float = FAMILY_ALPHA) -> pd.DataFrame:
    """Holm and Benjamini-Hochberg over the family (per model): interpretable changes of methods whose alignment is
    not refuted ("established", or "not measured" in a run without the alignment stage) with a finite p-value."""
    out = table.copy()
    out["in_family"] = (out["interpretable"].astype(bool) & (out["alignment"] != "not established")
                        & np.isfinite(out["p_value"].astype(float))) if len(out) else pd.Series(dtype=bool)
    out["p_holm"] = np.nan
    out["p_bh"] = np.nan
    for _, g in out[out["in_family"]].groupby("model", sort=False) if len(out) else []:
        out.loc[g.index, "p_holm"] = holm(g["p_value"].to_numpy(float))
        out.loc[g.index, "p_bh"] = benjamini_hochberg(g["p_value"].to_numpy(float))
    for col, adj in (("survives_holm", "p_holm"), ("survives_bh", "p_bh")):
        out[col] = pd.array([pd.NA if not np.isfinite(x) else bool(x < alpha) for x in out[adj].astype(float)],
                            dtype="boolean")
    return out[list(SEED_CHANGE_COLUMNS)]


__all__ = ["SEED_CHANGE_COLUMNS", "seed_changes", "add_seed_multiplicity"]
