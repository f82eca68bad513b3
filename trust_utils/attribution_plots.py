"""Figures of the ``attribution`` stage (:mod:`trust_utils.attribution`): influence-score histograms by HH subset."""

from __future__ import annotations

from typing import Any

from .attribution import STAGE_MODELS
from .style import PANEL, REFERENCE_LINE, series_colors, style_context


def score_histograms(scores: dict[str, Any], column: str = "normalised", bins: int = 20):
    """One panel per attributed checkpoint: histogram of scores by HH subset (helpful vs harmless)."""
    with style_context():
        return _score_histograms(scores, column, bins)


def _score_histograms(scores: dict[str, Any], column: str, bins: int):
    import matplotlib.pyplot as plt

    n = max(1, len(scores))
    fig, axes = plt.subplots(1, n, figsize=(5 * n, PANEL[1]), squeeze=False)
    colors = series_colors(sorted({x for df in scores.values() for x in df["subset"]}))
    for ax, (stage, df) in zip(axes[0], scores.items(), strict=False):
        lo, hi = float(df[column].min()), float(df[column].max())
        edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)] if hi > lo else bins
        for subset, g in df.groupby("subset"):
            ax.hist(g[column], bins=edges, alpha=0.55, label=f"{subset} (n {len(g)})", color=colors[subset])
        ax.axvline(0, **(REFERENCE_LINE | {"ls": "-"}))
        ax.set_title(f"{STAGE_MODELS[stage][2]}", fontsize=10)
        ax.set_xlabel(f"{column} influence (+ against, - toward)")
        ax.set_ylabel("training examples")
        ax.legend(fontsize=8)
    if not scores:
        axes[0][0].text(0.5, 0.5, "no stage attributed", ha="center", va="center")
    fig.tight_layout()
    return fig


__all__ = ["score_histograms"]
