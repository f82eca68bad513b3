"""Figures of the toxicity notebook (drawn in :mod:`trust_utils.style`)."""

from __future__ import annotations

from ..analysis.tables import order_checkpoints
from ..style import checkpoint_color, checkpoint_label, styled


@styled
def plot_score_histograms(records, bins: int = 20):
    """Histogram of every scored continuation per checkpoint (in its registry colour), one panel per variant.

    Args:
        records: the vertical's records with ``checkpoint``, ``variant`` and ``scores`` columns
            (:func:`trust_utils.verticals.common.load_vertical_records`).
        bins: bins over [0, 1].
    """
    import matplotlib.pyplot as plt
    import numpy as np

    missing = [c for c in ("checkpoint", "variant", "scores") if c not in records]
    if missing:
        raise ValueError(f"toxicity records lack column(s) {missing}: load them with load_vertical_records")
    long = records[["checkpoint", "variant", "scores"]].explode("scores").dropna(subset=["scores"])
    long["scores"] = long["scores"].astype(float)
    variants = list(dict.fromkeys(long["variant"]))
    fig, axes = plt.subplots(1, max(1, len(variants)), figsize=(3.2 * max(1, len(variants)), 3), sharey=True,
                             squeeze=False)
    for ax, var in zip(axes[0], variants, strict=False):  # no variants: one empty panel
        d = long[long["variant"] == var]
        for ck in order_checkpoints(d["checkpoint"]):
            ax.hist(d[d["checkpoint"] == ck]["scores"], bins=np.linspace(0, 1, bins + 1), alpha=0.5,
                    label=checkpoint_label(ck), color=checkpoint_color(ck))
        ax.set_title(var, fontsize="small")
        ax.set_xlabel("toxicity score")
    axes[0][0].set_ylabel("continuations")
    axes[0][-1].legend(fontsize="small")
    fig.tight_layout()
    return fig


__all__ = ["plot_score_histograms"]
