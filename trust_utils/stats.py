"""Bootstrap confidence intervals, shared by every vertical and the analysis."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def bootstrap_ci(values: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], float] = np.mean,
                 n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap interval of ``statistic`` over resampled units.

    Resample the unit of analysis (a prompt, a statement, a question), not single generations,
    so that correlated samples of one prompt do not shrink the interval.

    Args:
        values: one number per unit (e.g. each prompt's max toxicity).
        statistic: reduces an array of units to a number.
        n_boot: bootstrap resamples.
        alpha: 1 - confidence level.
        seed: makes the interval reproducible.

    Returns:
        (value, ci_low, ci_high); NaNs when ``values`` is empty.
    """
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return float("nan"), float("nan"), float("nan")
    point = float(statistic(arr))
    if arr.size == 1 or n_boot <= 0:
        return point, point, point
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    boots = np.array([statistic(arr[row]) for row in idx]) if statistic is not np.mean else arr[idx].mean(axis=1)
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi)


def bootstrap_diff_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 1000, alpha: float = 0.05,
                      seed: int = 0, paired: bool = False) -> tuple[float, float, float]:
    """Difference of means ``mean(b) - mean(a)`` with a bootstrap interval.

    Args:
        paired: resample unit indices jointly (same prompts scored under both models).
    """
    a_arr, b_arr = np.asarray(a, float), np.asarray(b, float)
    if a_arr.size == 0 or b_arr.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    point = float(b_arr.mean() - a_arr.mean())
    if paired:
        if a_arr.size != b_arr.size:
            raise ValueError("paired bootstrap needs equally long arrays")
        idx = rng.integers(0, a_arr.size, size=(n_boot, a_arr.size))
        boots = b_arr[idx].mean(axis=1) - a_arr[idx].mean(axis=1)
    else:
        ia = rng.integers(0, a_arr.size, size=(n_boot, a_arr.size))
        ib = rng.integers(0, b_arr.size, size=(n_boot, b_arr.size))
        boots = b_arr[ib].mean(axis=1) - a_arr[ia].mean(axis=1)
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi)


def _nanmean_rows(x: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN (NaN for a row with no value), without numpy's all-NaN warning."""
    ok = ~np.isnan(x)
    cnt = ok.sum(axis=1)
    tot = np.where(ok, x, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def paired_bootstrap_diff(base: Sequence[float] | np.ndarray, other: Sequence[float] | np.ndarray,
                          n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float, int]:
    """Change ``metric(other) - metric(base)`` over units scored under both, with a paired percentile interval.

    ``base[i]`` and ``other[i]`` belong to the same unit (prompt). A resample draws unit indices with
    replacement and recomputes each side's metric on the *same* drawn units, so the correlation between
    the two checkpoints' answers to one prompt is kept. The metric is the mean of the units that have a
    value on that side (NaN = the unit does not count there), so a ratio over a subset of units (an FNR
    over parsed answers) is recomputed on each resampled set rather than averaged.

    Returns:
        (change on all units, ci_low, ci_high, number of paired units); NaNs and 0 when there are no units.
        Resamples in which one side has no value are dropped from the interval.
    """
    a, b = np.asarray(base, float), np.asarray(other, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired values need two equally long 1-d arrays, got shapes {a.shape} and {b.shape}")
    n = a.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    point = float(_nanmean_rows(b[None])[0] - _nanmean_rows(a[None])[0])
    if n == 1 or n_boot <= 0 or not np.isfinite(point):
        return point, point, point, n
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    boots = _nanmean_rows(b[idx]) - _nanmean_rows(a[idx])
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return point, float("nan"), float("nan"), n
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi), n
