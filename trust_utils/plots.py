"""Plot functions shared by the notebooks (each returns its matplotlib Figure)."""

from __future__ import annotations

import pandas as pd


def length_distributions(lengths: pd.DataFrame, bins: int = 30):
    """Histograms of prompt / chosen / rejected token lengths, one panel each, coloured by subset."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    cols = ["prompt", "chosen", "rejected"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    hue = "subset" if "subset" in lengths and lengths["subset"].nunique() > 1 else None
    for ax, col in zip(axes, cols):
        sns.histplot(data=lengths, x=col, hue=hue, bins=bins, ax=ax, element="step", stat="count")
        ax.set_title(f"{col} length")
        ax.set_xlabel("tokens")
    fig.tight_layout()
    return fig


def training_curves(log: pd.DataFrame, metrics: list[str], x: str = "step", title: str = ""):
    """One panel per metric of a training log (``step`` plus metric columns); missing columns are skipped."""
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if m in log.columns and log[m].notna().any()]
    if not metrics:
        raise ValueError(f"none of the metrics are in the log (columns: {list(log.columns)})")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        d = log[[x, m]].dropna()
        ax.plot(d[x], d[m], marker="o" if len(d) < 30 else None, lw=1.5)
        ax.set_title(m)
        ax.set_xlabel(x)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
