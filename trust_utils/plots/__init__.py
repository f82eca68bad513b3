"""Plot functions shared by the notebooks (each returns its matplotlib Figure).

Colours, theme and sizes are :mod:`trust_utils.style`'s: a checkpoint has its registry colour (x tick labels of
:func:`metric_by_checkpoint`), other series (subsets, variants, metrics) :func:`trust_utils.style.series_colors`.

The verticals' figures are in :mod:`.verticals` (shared by the vertical notebooks), :mod:`.toxicity` and
:mod:`.privacy`; the analysis's in :mod:`trust_utils.analysis.figures`.
"""

from __future__ import annotations

import pandas as pd

from ..analysis.tables import order_checkpoints
from ..style import (
    PANEL,
    SEQUENTIAL_CMAP,
    checkpoint_color,
    checkpoint_label,
    series_colors,
    styled,
)


@styled
def length_distributions(lengths: pd.DataFrame, bins: int = 30):
    """Histograms of prompt / chosen / rejected token lengths, one panel each, coloured by subset."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    cols = ["prompt", "chosen", "rejected"]
    fig, axes = plt.subplots(1, 3, figsize=(13, PANEL[1]), sharey=True)
    hue = "subset" if "subset" in lengths and lengths["subset"].nunique() > 1 else None
    palette = series_colors(sorted(set(lengths["subset"]))) if hue else None
    for ax, col in zip(axes, cols, strict=True):
        sns.histplot(data=lengths, x=col, hue=hue, bins=bins, ax=ax, element="step", stat="count", palette=palette)
        ax.set_title(f"{col} length")
        ax.set_xlabel("tokens")
    fig.tight_layout()
    return fig


@styled
def training_curves(log: pd.DataFrame, metrics: list[str], x: str = "step", title: str = ""):
    """One panel per metric of a training log (``step`` plus metric columns); missing columns are skipped."""
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if m in log.columns and log[m].notna().any()]
    if not metrics:
        raise ValueError(f"none of the metrics are in the log (columns: {list(log.columns)})")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), PANEL[1]), squeeze=False)
    for ax, m in zip(axes[0], metrics, strict=True):
        d = log[[x, m]].dropna()
        ax.plot(d[x], d[m], marker="o" if len(d) < 30 else None, lw=1.5)
        ax.set_title(m)
        ax.set_xlabel(x)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@styled
def metric_by_checkpoint(results: pd.DataFrame, metrics: list[str], hue: str = "variant",
                         ylim: tuple[float, float] | None = (-0.05, 1.05), share_axes: bool = True):
    """One panel per metric: value per checkpoint (x, in study order) with its bootstrap interval,
    one series per ``hue`` value (variant, or metric when a single panel compares metrics).

    Args:
        results: rows of the one results table (``trust_utils.results.load_results``) for one vertical.
        metrics: metrics to draw, one panel each (absent ones are skipped).
        hue: column that separates series within a panel.
        ylim: y limits (rates live in [0, 1]); None lets matplotlib choose.
    """
    import matplotlib.pyplot as plt
    import numpy as np


    metrics = [m for m in metrics if m in set(results["metric"])]
    if not metrics:
        raise ValueError(f"none of {metrics} are in the results (metrics present: {sorted(set(results['metric']))})")
    checkpoints = order_checkpoints(results["checkpoint"])
    pos = {s: i for i, s in enumerate(checkpoints)}
    colors = series_colors(dict.fromkeys(results[results["metric"].isin(metrics)][hue]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), PANEL[1]), sharey=share_axes, squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        d = results[results["metric"] == metric]
        groups = list(dict.fromkeys(d[hue]))
        width = 0.5 / max(len(groups), 1)
        for k, name in enumerate(groups):
            g = d[d[hue] == name]
            x = np.array([pos[s] for s in g["checkpoint"]]) + width * (k - (len(groups) - 1) / 2)
            lo = (g["value"] - g["ci_low"]).clip(lower=0).fillna(0)
            hi = (g["ci_high"] - g["value"]).clip(lower=0).fillna(0)
            ax.errorbar(x, g["value"], yerr=[lo, hi], fmt="o", capsize=3, label=str(name), color=colors[name])
        ax.set_xticks(range(len(checkpoints)), [checkpoint_label(c) for c in checkpoints])
        for tick, c in zip(ax.get_xticklabels(), checkpoints, strict=True):  # the checkpoint's colour, as in every figure
            tick.set_color(checkpoint_color(c))
        ax.set_title(metric)
        if ylim is not None:
            ax.set_ylim(*ylim)
    axes[0][0].legend(fontsize="small")
    fig.tight_layout()
    return fig


@styled
def heatmaps(matrices: dict[str, pd.DataFrame], vmin: float = 0.0, vmax: float = 1.0, cmap: str = SEQUENTIAL_CMAP,
             annot: bool = True):
    """Side-by-side annotated heatmaps with a shared colour scale, one per titled matrix."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if not matrices:
        raise ValueError("no matrices to draw")
    rows = max(m.shape[0] for m in matrices.values())
    fig, axes = plt.subplots(1, len(matrices), figsize=(5.5 * len(matrices), 0.35 * rows + 2), squeeze=False)
    for ax, (title, m) in zip(axes[0], matrices.items(), strict=True):
        sns.heatmap(m, vmin=vmin, vmax=vmax, cmap=cmap, annot=annot, fmt=".2f", cbar=False, ax=ax)
        ax.set_title(title)
    fig.tight_layout()
    return fig
