"""The figure the study exists for: each vertical's lead metric against KL moved (or training step), per method.

One panel per trust vertical; one line per method from its point 0 (its init) through its path points to its
endpoint, at the mean over training seeds, with a band from the lowest to the highest seed where the run has several;
the metric's chance level dashed; the panel's title says which way the paper found the aligned models moved.
Drawn from :func:`trust_utils.analysis.curve.path_table`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..registry import get_vertical
from ..run import shown_checkpoint
from ..style import styled
from .figures import _chance_line, _new_figure, _ylabel

X_LABELS = {"kl_from_reference": "KL from its reference (nats per response)", "step": "training step"}


def paper_directions(v2: pd.DataFrame) -> dict[str, str]:
    """``{vertical: the paper's direction of its headline}`` from the v2 comparison table."""
    if v2 is None or v2.empty:
        return {}
    return {r.vertical: str(r.paper_direction) for r in v2.drop_duplicates("vertical").itertuples()}


@styled
def plot_curve(path: pd.DataFrame, x: str = "kl_from_reference", paper: dict[str, str] | None = None):
    """The dose-response figure (None when the table is empty); ``x``: ``kl_from_reference`` or ``step``."""
    if x not in X_LABELS:
        raise ValueError(f"x must be one of {sorted(X_LABELS)}, got {x!r}")
    if path is None or path.empty:
        return None
    verticals = list(dict.fromkeys(path["vertical"]))
    fig, axes = _new_figure(len(verticals), ncols_max=3, panel_w=4.0, panel_h=3.3)
    paper = paper or {}
    for ax, v in zip(axes, verticals, strict=True):
        d = path[path["vertical"] == v]
        metric = d["metric"].iloc[0]
        for method, g in d.groupby("method", sort=False):
            c = shown_checkpoint(method)
            color, label = (c.color, c.label) if c is not None else (None, method)
            by = g.groupby("step").agg(y=("value", "mean"), lo=("value", "min"), hi=("value", "max"),
                                       xv=(x if x != "step" else "step", "mean"), n=("seed", "nunique"))
            by = by.sort_index()
            xs = by.index.to_numpy(float) if x == "step" else by["xv"].to_numpy(float)
            ok = np.isfinite(xs)
            n_seeds = int(g["seed"].nunique())
            ax.plot(xs[ok], by["y"].to_numpy(float)[ok], marker="o", ms=4, color=color,
                    label=f"{label}" + (f" ({n_seeds} seeds)" if n_seeds > 1 else ""))
            if n_seeds > 1:
                ax.fill_between(xs[ok], by["lo"].to_numpy(float)[ok], by["hi"].to_numpy(float)[ok], color=color,
                                alpha=0.2, lw=0)
        _chance_line(ax, v, metric)
        ax.set_xlabel(X_LABELS[x])
        ax.set_ylabel(_ylabel(v, metric))
        direction = paper.get(v)
        ax.set_title(f"{get_vertical(v).title}" + (f"\npaper (PPO/DPO vs base): {direction}" if direction else ""),
                     fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle("Trust along the alignment path" + (" (against KL moved)" if x != "step" else " (against step)"))
    return fig


__all__ = ["X_LABELS", "paper_directions", "plot_curve"]
