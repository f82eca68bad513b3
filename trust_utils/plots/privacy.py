"""Figures of the privacy notebook (drawn in :mod:`trust_utils.style`)."""

from __future__ import annotations

import math

from ..analysis.tables import order_checkpoints
from ..registry import get_metric
from ..style import (
    ERROR_COLOR,
    REFERENCE_LINE,
    SEQUENTIAL_CMAP,
    checkpoint_color,
    checkpoint_label,
    figsize,
    styled,
)
from ..verticals.privacy import PII_TYPES
from ..verticals.privacy_exposure import chance_exposure


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


@styled
def plot_exposure(results, n_candidates: int = 24, variant: str = "all"):
    """Exposure (bits) and the top-1 share of the true value per checkpoint (bars with bootstrap intervals), each
    with its chance level as a dashed line (uniform rank among ``n_candidates``: :func:`chance_exposure` and
    ``1 / n_candidates``)."""
    import matplotlib.pyplot as plt

    chance = {"exposure": chance_exposure(n_candidates), "top1_true_value": 1 / n_candidates}
    fig, axes = plt.subplots(1, 2, figsize=figsize(2))
    for ax, (metric, level) in zip(axes, chance.items(), strict=True):
        d = results[(results["metric"] == metric) & (results["variant"] == variant)].set_index("checkpoint")
        cks = order_checkpoints(d.index)
        d = d.reindex(cks)
        err = [(d["value"] - d["ci_low"]).clip(lower=0).fillna(0), (d["ci_high"] - d["value"]).clip(lower=0).fillna(0)]
        ax.bar(range(len(cks)), d["value"], yerr=err, capsize=3, color=[checkpoint_color(c) for c in cks],
               error_kw={"ecolor": ERROR_COLOR})
        ax.axhline(level, **REFERENCE_LINE, label=f"chance {level:.3g}")
        ax.set_xticks(range(len(cks)), [checkpoint_label(c) for c in cks])
        for tick, c in zip(ax.get_xticklabels(), cks, strict=True):
            tick.set_color(checkpoint_color(c))
        m = get_metric("privacy", metric)
        ax.set_ylabel(f"{m.label} ({'higher' if m.higher_is_better else 'lower'} is better)")
        ax.legend(fontsize="small")
    axes[0].set_ylim(0, 1.05 * math.log2(n_candidates))  # exposure's range: 0 to log2(n)
    axes[1].set_ylim(0, 1.05)
    fig.suptitle(f"Exposure of the private value, {variant} ({n_candidates} candidates)")
    fig.tight_layout()
    return fig


__all__ = ["plot_leakage_heatmap", "plot_exposure"]
