"""The analysis's figures: one per vertical, the overview, breakdowns, degenerate shares and the families figure
(orchestration: drawn in :mod:`trust_utils.style`).

* **Colours and style** are :mod:`trust_utils.style`'s, the same in every notebook: a checkpoint's bars and dots
  have its registry colour (Base grey, SFT blue, PPO orange, DPO green; an external checkpoint its declared one);
  with several models the bars take one :func:`trust_utils.style.series_colors` colour per model instead.
  ``checkpoint`` is always the model scored; "stage" only ever means a pipeline step.
* **Chance.** A panel of a metric with a registered chance level (``Metric.chance``: the forced-choice metrics,
  0.5) has it as a dashed line, labelled "chance"; a value near it says the forced choice finds nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..registry import TRUST_VERTICALS, VERTICALS, get_vertical
from ..style import (
    ERROR_COLOR,
    THRESHOLD_COLOR,
    checkpoint_color,
    checkpoint_label,
    figsize,
    series_colors,
    styled,
)
from .paper import V1_COLUMNS, v1_comparison
from .tables import MAX_DEGENERATE, order_checkpoints, prepare, series_order


def figure_title(key: str) -> str:
    """The heading (and figure title) of figure ``key``: ``overview``, ``degenerate``, a vertical, or
    ``<vertical>_breakdown``."""
    if key == "curve":
        return "Trust along the alignment path: each vertical's lead metric against KL from the reference"
    if key == "curve_step":
        return "Trust along the alignment path: each vertical's lead metric against training step"
    if key == "overview":
        return "Overview: headline metric of each vertical by checkpoint"
    if key == "degenerate":
        return "Degenerate outputs: share per vertical and checkpoint (headline setting)"
    if key == "families":
        return "Across model families: headline metric of each vertical by checkpoint"
    if key.endswith("_breakdown"):
        v = get_vertical(key[: -len("_breakdown")])
        return f"{v.title}: {v.headline.label} per variant and checkpoint"
    v = get_vertical(key)
    return f"{v.title}: {v.headline.label} by checkpoint"


def _new_figure(n_panels: int, ncols_max: int = 4, panel_w: float = 3.6, panel_h: float = 3.4):
    from matplotlib.figure import Figure

    ncols = max(1, min(n_panels, ncols_max))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig = Figure(figsize=figsize(ncols, nrows, (panel_w, panel_h)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def _ylabel(vertical: str, metric: str) -> str:
    m = get_vertical(vertical).metric(metric)
    return f"{m.label}\n({'higher' if m.higher_is_better else 'lower'} is better)"


def _chance_line(ax, vertical: str, metric: str) -> None:
    """The metric's chance level as a dashed line (nothing for a metric without one)."""
    chance = get_vertical(vertical).metric(metric).chance
    if chance is None:
        return
    ax.axhline(chance, color=THRESHOLD_COLOR, ls="--", lw=1, zorder=0)
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, chance), max(hi, chance * 1.15))
    ax.annotate("chance", (1.0, chance), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=7,
                color=THRESHOLD_COLOR)


def _bar_panel(ax, sub: pd.DataFrame, series: list[str], value_labels: bool = True, show_legend: bool = True) -> None:
    """Bars of ``value`` per checkpoint (x, in study order), one bar per series, with CI error bars."""
    checkpoints = order_checkpoints(sub["checkpoint"])
    series = [s for s in series if s in set(sub["series"])]
    width = 0.8 / max(1, len(series))
    colors = series_colors(series) if len(series) > 1 else None  # several models: one colour per model
    for j, s in enumerate(series):
        d = sub[sub["series"] == s].set_index("checkpoint")
        xs, ys, err_lo, err_hi, cols = [], [], [], [], []
        for i, st in enumerate(checkpoints):
            if st not in d.index:
                continue
            r = d.loc[st]
            xs.append(i + (j - (len(series) - 1) / 2) * width)
            ys.append(r["value"])
            lo, hi = r["ci_low"], r["ci_high"]
            err_lo.append(max(0.0, r["value"] - lo) if np.isfinite(lo) else 0.0)
            err_hi.append(max(0.0, hi - r["value"]) if np.isfinite(hi) else 0.0)
            cols.append(colors[s] if colors else checkpoint_color(st))
        bars = ax.bar(xs, ys, width=width * 0.92, color=cols, label=s if colors else None,
                      yerr=[err_lo, err_hi], capsize=3, error_kw={"elinewidth": 1, "ecolor": ERROR_COLOR})
        if value_labels and len(series) <= 2:
            ax.bar_label(bars, labels=[f"{y:.2f}" for y in ys], fontsize=7, padding=2)
    ax.set_xticks(range(len(checkpoints)), [checkpoint_label(s) for s in checkpoints])
    ax.set_xlabel("checkpoint")
    ymax = np.nanmax(np.r_[sub["value"].to_numpy(float), sub["ci_high"].to_numpy(float), 0.0])
    ymin = np.nanmin(np.r_[sub["value"].to_numpy(float), sub["ci_low"].to_numpy(float), 0.0])  # nats are negative
    ax.set_ylim(float(ymin) * 1.15, max(0.05, float(ymax) * 1.15))
    if colors and show_legend:
        ax.legend(title="model", fontsize=7, title_fontsize=7)


def panel_variants(df: pd.DataFrame, vertical: str, metric: str, max_panels: int = 6) -> list[str]:
    """Variants shown as panels: headline variant first, then the others in data order; only the
    headline one when there are more than ``max_panels`` (they go to the breakdown figure)."""
    vert = get_vertical(vertical)
    vs = list(dict.fromkeys(df[(df["vertical"] == vertical) & (df["metric"] == metric)]["variant"]))
    if vert.headline_variant in vs:
        vs.remove(vert.headline_variant)
        vs.insert(0, vert.headline_variant)
    if len(vs) > max_panels:
        return vs[:1]
    return vs


@styled
def plot_vertical(results: pd.DataFrame, vertical: str, metric: str | None = None,
                  variants: list[str] | None = None, max_panels: int = 6):
    """One vertical's metric (headline by default) per checkpoint, one panel per variant; None when no rows.

    Bars follow the study's order (Base, SFT, PPO, DPO), checkpoints the run lacks are skipped; error bars are
    the rows' bootstrap intervals; with several models, one bar colour per model (sorted by size).
    """
    df = prepare(results) if "series" not in results else results
    vert = get_vertical(vertical)
    metric = metric or vert.headline.name
    d = df[(df["vertical"] == vertical) & (df["metric"] == metric)] if len(df) else df
    if d.empty:
        return None
    variants = variants or panel_variants(d, vertical, metric, max_panels)
    fig, axes = _new_figure(len(variants))
    series = series_order(d)
    for i, (ax, var) in enumerate(zip(axes, variants, strict=True)):
        _bar_panel(ax, d[d["variant"] == var], series, show_legend=i == 0)
        _chance_line(ax, vertical, metric)
        ax.set_title(var + (" (headline)" if var == vert.headline_variant else ""), fontsize=10)
        ax.set_ylabel(_ylabel(vertical, metric))
    title = figure_title(vertical) if metric == vert.headline.name else f"{vert.title}: {vert.metric(metric).label} by checkpoint"
    fig.suptitle(title)
    return fig


@styled
def plot_overview(results: pd.DataFrame):
    """Every vertical's headline metric (headline variant) per checkpoint, one panel each; None when no rows."""
    made = _headline_panels(results, lambda v: VERTICALS[v].headline.name)
    if made is None:
        return None
    fig, panels = made
    for ax, v in panels:
        ax.set_ylabel(_ylabel(v, VERTICALS[v].headline.name))
    fig.suptitle(figure_title("overview"))
    return fig


def _headline_panels(results: pd.DataFrame, metric):
    """One bar panel per vertical with ``metric(vertical)`` rows in its headline variant, checkpoints as bars:
    ``(figure, [(axes, vertical), ...])``, or None when no vertical has such rows."""
    df = prepare(results) if "series" not in results else results

    def rows(v):
        return (df["vertical"] == v) & (df["metric"] == metric(v)) & (df["variant"] == VERTICALS[v].headline_variant)

    present = [v for v in TRUST_VERTICALS if len(df) and rows(v).any()]
    if not present:
        return None
    fig, axes = _new_figure(len(present), ncols_max=5, panel_w=3.2)
    series = series_order(df)
    for i, (ax, v) in enumerate(zip(axes, present, strict=True)):
        _bar_panel(ax, df[rows(v)], series, show_legend=i == 0)
        _chance_line(ax, v, metric(v))
        ax.set_title(f"{VERTICALS[v].title}\n({VERTICALS[v].headline_variant})", fontsize=10)
    return fig, list(zip(axes, present, strict=True))


@styled
def plot_breakdown(results: pd.DataFrame, vertical: str, metric: str | None = None):
    """Dot plot of a metric for every non-headline variant (e.g. privacy per PII type), checkpoints as colours,
    one panel per model; None when the vertical has no such variants."""
    df = prepare(results) if "series" not in results else results
    vert = get_vertical(vertical)
    metric = metric or vert.headline.name
    d = df[(df["vertical"] == vertical) & (df["metric"] == metric) & (df["variant"] != vert.headline_variant)] if len(df) else df
    if d.empty:
        return None
    variants = list(dict.fromkeys(d["variant"]))
    series = series_order(d)
    fig, axes = _new_figure(len(series), ncols_max=3, panel_w=4.6, panel_h=0.28 * len(variants) + 1.4)
    checkpoints = order_checkpoints(d["checkpoint"])
    for ax, s in zip(axes, series, strict=True):
        sub = d[d["series"] == s]
        for k, st in enumerate(checkpoints):
            r = sub[sub["checkpoint"] == st].set_index("variant").reindex(variants)
            y = np.arange(len(variants)) + (k - (len(checkpoints) - 1) / 2) * 0.15
            lo = (r["value"] - r["ci_low"]).clip(lower=0).fillna(0)
            hi = (r["ci_high"] - r["value"]).clip(lower=0).fillna(0)
            ax.errorbar(r["value"], y, xerr=[lo, hi], fmt="o", ms=4, lw=1, capsize=2,
                        color=checkpoint_color(st), label=checkpoint_label(st))
        ax.set_yticks(range(len(variants)), variants, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(_ylabel(vertical, metric).replace("\n", " "))
        ax.set_title(s, fontsize=10)
        ax.legend(title="checkpoint", fontsize=7, title_fontsize=7)
    fig.suptitle(figure_title(f"{vertical}_breakdown"))
    return fig


@styled
def plot_degenerate(results: pd.DataFrame, max_degenerate: float = MAX_DEGENERATE):
    """``degenerate_any`` of each vertical's headline setting per checkpoint, with the ``max_degenerate`` line; None
    when the run recorded no shares."""
    made = _headline_panels(results, lambda v: "degenerate_any")
    if made is None:
        return None
    fig, panels = made
    for ax, _ in panels:
        ax.axhline(max_degenerate, color=THRESHOLD_COLOR, ls="--", lw=1)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("Degenerate outputs (any)\n(dashed: max_degenerate)")
    fig.suptitle(figure_title("degenerate"))
    return fig


def figure_keys(results: pd.DataFrame, max_panels: int = 6) -> list[str]:
    """The figures a run's results give: ``overview``, each vertical with rows, and breakdowns."""
    df = prepare(results) if "series" not in results else results
    keys = ["overview"] if len(df) else []
    if len(df) and (df["metric"] == "degenerate_any").any():
        keys.append("degenerate")
    for v, vert in VERTICALS.items():
        d = df[(df["vertical"] == v) & (df["metric"] == vert.headline.name)] if len(df) else df
        if d.empty:
            continue
        keys.append(v)
        if d["variant"].nunique() > max_panels:
            keys.append(f"{v}_breakdown")
    return keys


def make_figure(results: pd.DataFrame, key: str, max_panels: int = 6, max_degenerate: float = MAX_DEGENERATE):
    if key == "overview":
        return plot_overview(results)
    if key == "degenerate":
        return plot_degenerate(results, max_degenerate)
    if key.endswith("_breakdown"):
        return plot_breakdown(results, key[: -len("_breakdown")])
    return plot_vertical(results, key, max_panels=max_panels)


@styled
def plot_families(results: pd.DataFrame, reference: pd.DataFrame | None = None, variant_aliases: dict | None = None):
    """The paper's figure layout across model families: one panel per vertical (headline metric and variant),
    checkpoint on x, one line per family (``model``, sorted by size) with the rows' intervals, and the v1
    paper's values as dashed lines for families that are v1 Pythia sizes. None when there are no rows."""
    df = prepare(results) if "series" not in results else results
    present = [v for v in TRUST_VERTICALS if len(df) and ((df["vertical"] == v) & (df["metric"] == VERTICALS[v].headline.name)
                                                    & (df["variant"] == VERTICALS[v].headline_variant)).any()]
    if not present:
        return None
    v1 = v1_comparison(df, reference, variant_aliases) if reference is not None else pd.DataFrame(columns=V1_COLUMNS)
    series = series_order(df)
    colors = series_colors(series)
    fig, axes = _new_figure(len(present), ncols_max=5, panel_w=3.4)
    for ax, v in zip(axes, present, strict=True):
        vert = VERTICALS[v]
        sub = df[(df["vertical"] == v) & (df["metric"] == vert.headline.name) & (df["variant"] == vert.headline_variant)]
        checkpoints = order_checkpoints(sub["checkpoint"])
        for s in series:
            d = sub[sub["series"] == s].set_index("checkpoint").reindex(checkpoints)
            if d["value"].isna().all():
                continue
            x = np.arange(len(checkpoints))
            err = np.vstack([(d["value"] - d["ci_low"]).clip(lower=0).fillna(0),
                             (d["ci_high"] - d["value"]).clip(lower=0).fillna(0)])
            ax.errorbar(x, d["value"], yerr=err, marker="o", ms=4, lw=1.5, capsize=3, color=colors[s], label=s)
            models = set(sub[sub["series"] == s]["model"])
            p = v1[v1["model"].isin(models) & (v1["vertical"] == v) & (v1["metric"] == vert.headline.name)
                   & (v1["run_variant"] == vert.headline_variant)] if len(v1) else v1
            if len(p):
                pv = p.groupby("checkpoint")["paper_value"].first().reindex(checkpoints)
                ax.plot(x, pv, ls="--", marker="x", ms=4, lw=1, color=colors[s], alpha=0.8)
        ax.set_xticks(range(len(checkpoints)), [checkpoint_label(st) for st in checkpoints])
        ax.set_xlabel("checkpoint")
        ax.set_ylabel(_ylabel(v, vert.headline.name))
        ax.set_title(f"{vert.title}\n({vert.headline_variant})", fontsize=10)
    axes[0].legend(title="model (dashed: paper v1)" if len(v1) else "model", fontsize=7, title_fontsize=7)
    fig.suptitle("Across model families: headline metric of each vertical by checkpoint")
    return fig


__all__ = ["figure_title", "panel_variants", "plot_vertical", "plot_overview", "plot_breakdown", "plot_degenerate",
           "figure_keys", "make_figure", "plot_families"]
