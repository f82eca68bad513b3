"""Figures shared by the vertical notebooks (drawn in :mod:`trust_utils.style`; the verticals' modules compute the
numbers, this draws them)."""

from __future__ import annotations

from typing import Sequence

from ..analysis.tables import order_checkpoints
from ..registry import VERTICALS
from ..style import ERROR_COLOR, PANEL, checkpoint_color, checkpoint_label, styled


@styled
def plot_metric_bars(df, metric: str, variants: Sequence[str] | None = None, title: str = ""):
    """Bar plot of one metric per checkpoint (bars, in the registry's colours) and variant (groups) with bootstrap
    CI whiskers."""
    import matplotlib.pyplot as plt
    import numpy as np

    d = df[df["metric"] == metric]
    if variants is not None:
        d = d[d["variant"].isin(list(variants))]
    var_list = list(dict.fromkeys(d["variant"]))
    checkpoints = order_checkpoints(d["checkpoint"])
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(var_list) * max(len(checkpoints), 1) / 2), PANEL[1]))
    width = 0.8 / max(len(checkpoints), 1)
    x = np.arange(len(var_list))
    for k, ck in enumerate(checkpoints):
        s = d[d["checkpoint"] == ck].set_index("variant").reindex(var_list)
        err = np.vstack([(s["value"] - s["ci_low"]).clip(lower=0).fillna(0), (s["ci_high"] - s["value"]).clip(lower=0).fillna(0)])
        ax.bar(x + (k - (len(checkpoints) - 1) / 2) * width, s["value"], width, yerr=err, capsize=3,
               label=checkpoint_label(ck), color=checkpoint_color(ck), error_kw={"ecolor": ERROR_COLOR})
    tilt = len(var_list) > 4 or sum(len(v) for v in var_list) > 40
    ax.set_xticks(x, var_list, rotation=30 if tilt else 0, ha="right" if tilt else "center")
    label = metric
    for v in VERTICALS.values():
        for m in v.metrics:
            if m.name == metric:
                label = f"{m.label} ({'higher' if m.higher_is_better else 'lower'} is better)"
    ax.set_ylabel(label)
    ax.set_title(title or metric)
    ax.legend(title="checkpoint", fontsize="small")
    fig.tight_layout()
    return fig


__all__ = ["plot_metric_bars"]
