"""Plots of the alignment stages (each returns its matplotlib Figure); the shared ones are in :mod:`trust_utils.plots`.

Theme, sizes and colours are :mod:`trust_utils.style`'s (splits: :func:`trust_utils.style.series_colors`).
"""

from __future__ import annotations

import pandas as pd

from .. import plots as _plots
from ..style import PANEL, REFERENCE_LINE, series_colors, styled

SFT_METRICS = ["loss", "mean_token_accuracy", "grad_norm", "learning_rate"]
RM_METRICS = ["loss", "accuracy", "margin", "grad_norm"]
PPO_METRICS = ["objective/scores", "objective/kl", "kl_coef", "objective/rlhf_reward", "loss/policy_avg",
               "loss/value_avg", "policy/clipfrac_avg", "policy/entropy_avg"]
DPO_METRICS = ["loss", "rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected"]


def step_rows(log: pd.DataFrame) -> pd.DataFrame:
    """The per-step rows of a training log (drops the trainer's end-of-training summary row)."""
    if "train_runtime" in log:
        log = log[log["train_runtime"].isna()]
    return log


@styled
def curves(log: pd.DataFrame, metrics: list[str], title: str = "", per_row: int = 4):
    """Training curves, ``per_row`` panels a row (missing metrics skipped)."""
    import matplotlib.pyplot as plt

    log = step_rows(log)
    metrics = [m for m in metrics if m in log.columns and log[m].notna().any()]
    if len(metrics) <= per_row:
        return _plots.training_curves(log, metrics, x="step", title=title)
    rows = -(-len(metrics) // per_row)
    fig, axes = plt.subplots(rows, per_row, figsize=(4.2 * per_row, 3.2 * rows), squeeze=False)
    for ax, m in zip(axes.flat, metrics, strict=False):  # the grid may have spare panels (turned off below)
        d = log[["step", m]].dropna()
        ax.plot(d["step"], d[m], marker="o" if len(d) < 30 else None, lw=1.5)
        ax.set_title(m)
        ax.set_xlabel("step")
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@styled
def margin_distribution(margins: pd.DataFrame, bins: int = 30):
    """Histogram of reward margins r(chosen) - r(rejected) by split, with the zero line (left of it: wrong order)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6.5, PANEL[1]))
    several = margins["split"].nunique() > 1
    sns.histplot(data=margins, x="margin", hue="split" if several else None, bins=bins,
                 palette=series_colors(sorted(set(margins["split"]))) if several else None,
                 element="step", stat="density", common_norm=False, ax=ax)
    ax.axvline(0, **REFERENCE_LINE)
    ax.set_xlabel("r(chosen) - r(rejected)")
    ax.set_title("reward margins")
    fig.tight_layout()
    return fig


@styled
def chosen_vs_rejected(margins: pd.DataFrame):
    """Scatter of r(rejected) vs r(chosen); points below the diagonal are ranked correctly."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    colors = series_colors(sorted(set(margins["split"])))
    for split, d in margins.groupby("split"):
        ax.scatter(d["r_chosen"], d["r_rejected"], s=10, alpha=0.6, label=split, color=colors[split])
    lo = float(min(margins["r_chosen"].min(), margins["r_rejected"].min()))
    hi = float(max(margins["r_chosen"].max(), margins["r_rejected"].max()))
    ax.plot([lo, hi], [lo, hi], **REFERENCE_LINE)
    ax.set_xlabel("r(chosen)")
    ax.set_ylabel("r(rejected)")
    ax.legend()
    fig.tight_layout()
    return fig
