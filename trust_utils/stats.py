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


def _paired_boots(a: np.ndarray, b: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Finite bootstrap changes ``metric(b) - metric(a)`` over units resampled together (see
    :func:`paired_bootstrap_diff`)."""
    idx = np.random.default_rng(seed).integers(0, a.size, size=(n_boot, a.size))
    boots = _nanmean_rows(b[idx]) - _nanmean_rows(a[idx])
    return boots[np.isfinite(boots)]


def paired_bootstrap_test(base: Sequence[float] | np.ndarray, other: Sequence[float] | np.ndarray,
                          n_boot: int = 1000, alpha: float = 0.05,
                          seed: int = 0) -> tuple[float, float, float, int, float]:
    """:func:`paired_bootstrap_diff` plus the two-sided bootstrap p-value of "no change"
    (:func:`bootstrap_p_value` of the same resamples): ``(change, ci_low, ci_high, n, p)``."""
    a, b = np.asarray(base, float), np.asarray(other, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired values need two equally long 1-d arrays, got shapes {a.shape} and {b.shape}")
    n = a.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0, float("nan")
    point = float(_nanmean_rows(b[None])[0] - _nanmean_rows(a[None])[0])
    if n == 1 or n_boot <= 0 or not np.isfinite(point):
        return point, point, point, n, float("nan")
    boots = _paired_boots(a, b, n_boot, seed)
    if boots.size == 0:
        return point, float("nan"), float("nan"), n, float("nan")
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi), n, bootstrap_p_value(boots)


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
    return paired_bootstrap_test(base, other, n_boot, alpha, seed)[:4]


def bootstrap_p_value(boots: Sequence[float] | np.ndarray) -> float:
    """Two-sided p-value of "no change" from a bootstrap distribution of the change: twice the smaller share of
    resamples at or beyond zero on either side, each share counted as ``(k + 1) / (B + 1)`` so that it is never 0
    (Davison & Hinkley 1997, eq. 4.11), capped at 1. NaN without resamples."""
    x = np.asarray(boots, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    below = (np.sum(x <= 0) + 1) / (x.size + 1)
    above = (np.sum(x >= 0) + 1) / (x.size + 1)
    return float(min(1.0, 2 * min(below, above)))


def normal_p_value(diff: float, lo: float, hi: float, z: float = 1.959963984540054) -> float:
    """Two-sided p-value of "no change" from a symmetric normal-approximation interval ``[lo, hi]`` of ``diff``."""
    from scipy.stats import norm

    se = (hi - lo) / (2 * z)
    if not (np.isfinite(diff) and np.isfinite(se)) or se <= 0:
        return float("nan")
    return float(2 * norm.sf(abs(diff) / se))


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error rate), in the input's order; NaNs stay NaN and are
    not counted in the family."""
    p = np.asarray(pvalues, float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def benjamini_hochberg(pvalues: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate; ``scipy.stats.false_discovery_control``), in the
    input's order; NaNs stay NaN and are not counted in the family."""
    from scipy.stats import false_discovery_control

    p = np.asarray(pvalues, float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = false_discovery_control(p[ok], method="bh")
    return out


def two_level_bootstrap(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], n_boot: int = 1000,
                        alpha: float = 0.05, seed: int = 0) -> dict[str, float]:
    """A change measured on several training seeds, with both sources of variation: the seeds and the prompts.

    ``pairs[s] = (base_values, other_values)``: one training seed's per-unit values of the two checkpoints, paired by
    unit (NaN: the unit does not count on that side). The change is the mean over seeds of each seed's paired change
    (:func:`paired_bootstrap_diff`'s point). A resample draws the seeds with replacement, then, within each drawn
    seed, its units with replacement (a two-level, or hierarchical, bootstrap: Davison & Hinkley 1997, §3.8), and
    averages the drawn seeds' changes; the interval is the resamples' percentile interval and ``p`` the two-sided
    bootstrap p-value of "no change". ``between_seed_sd`` is the spread of the per-seed changes (NaN with one seed);
    with one seed the method is the paired bootstrap over units.

    Returns:
        ``{change, ci_low, ci_high, p_value, between_seed_sd, n_seeds}``.
    """
    arrs = [(np.asarray(a, float), np.asarray(b, float)) for a, b in pairs]
    for a, b in arrs:
        if a.shape != b.shape or a.ndim != 1 or a.size == 0:
            raise ValueError(f"each seed needs two equally long, non-empty 1-d arrays, got {a.shape} and {b.shape}")
    nan = float("nan")
    if not arrs:
        return {"change": nan, "ci_low": nan, "ci_high": nan, "p_value": nan, "between_seed_sd": nan, "n_seeds": 0}
    per_seed = np.array([_nanmean_rows(b[None])[0] - _nanmean_rows(a[None])[0] for a, b in arrs])
    point = float(np.mean(per_seed))
    sd = float(np.std(per_seed, ddof=1)) if len(arrs) > 1 else nan
    rng = np.random.default_rng(seed)
    k = len(arrs)
    boots = np.zeros(n_boot)
    for i in range(n_boot):
        total = 0.0
        for s in rng.integers(0, k, size=k):
            a, b = arrs[s]
            idx = rng.integers(0, a.size, size=a.size)
            total += _nanmean_rows(b[idx][None])[0] - _nanmean_rows(a[idx][None])[0]
        boots[i] = total / k
    boots = boots[np.isfinite(boots)]
    if n_boot <= 0 or boots.size == 0:
        return {"change": point, "ci_low": nan, "ci_high": nan, "p_value": nan, "between_seed_sd": sd, "n_seeds": k}
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return {"change": point, "ci_low": float(lo), "ci_high": float(hi), "p_value": bootstrap_p_value(boots),
            "between_seed_sd": sd, "n_seeds": k}
