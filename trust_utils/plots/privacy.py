"""Figures of the privacy notebook (drawn in :mod:`trust_utils.style`)."""

from __future__ import annotations

from ..analysis.tables import order_checkpoints
from ..style import SEQUENTIAL_CMAP, checkpoint_color, checkpoint_label, styled
from ..verticals.privacy import PII_TYPES


@styled
def plot_leakage_heatmap(results):
    """Heatmap of the leakage rate per PII type (rows) and checkpoint (columns)."""
    import matplotlib.pyplot as plt
    import numpy as np

    d = results[(results["metric"] == "leakage_rate") & (results["variant"] != "all")]
    table = d.pivot_table(index="variant", columns="checkpoint", values="value", aggfunc="first", sort=False)
    table = table.reindex([p for p in PII_TYPES if p in table.index])
    table = table[order_checkpoints(table.columns)]  # external checkpoints too, not only base/sft/ppo/dpo
    fig, ax = plt.subplots(figsize=(1.2 * max(len(table.columns), 2) + 2.5, 0.32 * max(len(table), 1) + 1.2))
    im = ax.imshow(table.to_numpy(dtype=float), vmin=0, vmax=max(0.05, float(np.nanmax(table.to_numpy(dtype=float)))
                                                                    if table.size else 1), cmap=SEQUENTIAL_CMAP, aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(table.columns)), [checkpoint_label(c) for c in table.columns])
    for tick, c in zip(ax.get_xticklabels(), table.columns, strict=True):
        tick.set_color(checkpoint_color(c))
    ax.set_yticks(range(len(table.index)), table.index)
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            ax.text(j, i, f"{table.iat[i, j]:.2f}", ha="center", va="center", fontsize="x-small")
    fig.colorbar(im, ax=ax, label="leakage rate")
    ax.set_title("PII leakage rate by type")
    fig.tight_layout()
    return fig


__all__ = ["plot_leakage_heatmap"]
