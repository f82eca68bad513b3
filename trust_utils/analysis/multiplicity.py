"""Many changes read at once: p-values corrected over the family of a run's headline changes (Holm, Benjamini-Hochberg).

The family is every *interpretable* change of a vertical's headline metric and setting, one per vertical × contrast
(checkpoint against its baseline), per model and seed: what the report reads as the study's findings. Holm controls
the family-wise error (the chance of any false finding); Benjamini-Hochberg the false discovery rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import benjamini_hochberg, holm

#: Family-wise level of the multiplicity correction (:func:`add_multiplicity`).
FAMILY_ALPHA = 0.05


def add_multiplicity(changes: pd.DataFrame, alpha: float = FAMILY_ALPHA) -> pd.DataFrame:
    """Correct the change table's p-values for the number of changes read: the family is every *interpretable*
    change of a vertical's headline metric and setting (``headline``), one per vertical × contrast (checkpoint vs its
    baseline), per model and seed. ``p_holm`` (Holm, family-wise error) and ``p_bh`` (Benjamini-Hochberg, false
    discovery rate) are the adjusted p-values; ``survives_*`` says whether a change stays below ``alpha`` after the
    correction. Rows outside the family get NA. ``p_value`` is the paired bootstrap's two-sided p-value
    (:func:`trust_utils.stats.bootstrap_p_value`), or the normal approximation's where there is no per-unit value.
    """
    out = changes.copy()
    for col in ("p_holm", "p_bh"):
        out[col] = np.nan
    if len(out):
        fam = out["headline"].astype(bool) & out["interpretable"].astype(bool) & np.isfinite(out["p_value"].astype(float))
        if "alignment" in out:  # a method that did not do its own job is no finding (issue 18)
            fam &= out["alignment"] != "not established"
        for _, g in out[fam].groupby(["model", "seed"], sort=False):
            out.loc[g.index, "p_holm"] = holm(g["p_value"].to_numpy(float))
            out.loc[g.index, "p_bh"] = benjamini_hochberg(g["p_value"].to_numpy(float))
    for col, adj in (("survives_holm", "p_holm"), ("survives_bh", "p_bh")):
        out[col] = pd.array([pd.NA if not np.isfinite(x) else bool(x < alpha) for x in out[adj].astype(float)],
                            dtype="boolean")
    return out


__all__ = ["FAMILY_ALPHA", "add_multiplicity"]
