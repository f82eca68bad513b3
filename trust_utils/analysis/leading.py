"""Which metric the analysis leads a vertical with: the paper's where it measures something, else the vertical's
likelihood view (issue 19: a small model's generations may be unreadable while its likelihoods still rank the
answers)."""

from __future__ import annotations

import pandas as pd

from ..registry import get_vertical
from .tables import MAX_DEGENERATE, _exceeds


def lead_metric(results: pd.DataFrame, vertical: str,
                max_degenerate: float = MAX_DEGENERATE) -> tuple[str, str]:
    """The metric the analysis leads a vertical with, and why: the paper's headline metric where it is interpretable
    (its guard share at most ``max_degenerate`` for every checkpoint, in the headline setting), else the vertical's
    ``readable`` likelihood metric when the run has it (issue 19: a small model's generations may be unreadable while
    its likelihoods still rank the answers)."""
    v = get_vertical(vertical)
    head = v.headline
    df = results[(results["vertical"] == vertical) & (results["variant"].astype(str) == v.headline_variant)]
    guard = df[df["metric"] == head.guard] if head.guard else df.iloc[0:0]
    worst = guard.loc[guard["value"].astype(float).idxmax()] if len(guard) else None
    if worst is None or not _exceeds(float(worst["value"]), max_degenerate):
        return head.name, f"the paper's metric ({head.label}): interpretable for every checkpoint"
    why = (f"{float(worst['value']):.0%} of {worst['checkpoint']}'s outputs are degenerate ({head.guard}, above "
           f"{max_degenerate:.0%})")
    if v.readable and (results["metric"] == v.readable).any():
        return v.readable, f"{v.metric(v.readable).label}, scored by likelihood, because {why}"
    return head.name, f"the paper's metric, although {why}: no likelihood view of it in this run"


__all__ = ["lead_metric"]
