"""Did the alignment work: the issue's rule, and the checkpoint-name helpers it and the stage need.

:func:`alignment_status` reads the ``alignment`` vertical's result rows (:mod:`.alignment`) and marks each aligned
checkpoint *established* or *not established*: a method whose own objective (:func:`objectives`) is not above its
chance level or its starting point, by interval, is *alignment not established*, and the analysis draws no trust
conclusion from it. Pure functions of rows; no model work.

Checkpoint names have the form ``<method>[@<step>][-s<seed>]`` (a path point of a method's training, a seed's
replicate), taken apart by :mod:`trust_utils.checkpoints` (``method_name``, ``reference_of``, ``parse_point``).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from ..checkpoints import METHODS_BY_NAME, method_name, parse_point, reference_of
from ..registry import get_metric

VERTICAL = "alignment"
VARIANT = "default"
CHANCE = 0.5

# ------------------------------------------------------------------------------------ checkpoint names
def _method_name(name: str) -> str:
    """``<method>[@<step>][-s<seed>]`` -> ``<method>`` (``dpo@12-s1`` -> ``dpo``)."""
    return method_name(name)


def _reference_of(name: str) -> str:
    """The checkpoint a scored policy's KL is measured from, of its seed (``dpo@12-s1`` -> ``sft-s1``, ``sft`` ->
    ``base``); ``""`` for base, the reward model and names of no method."""
    m = METHODS_BY_NAME.get(method_name(name))
    return reference_of(name) if m is not None and m.evaluated else ""


def _seed_suffix(name: str) -> str:
    """``-s<seed>`` of a name, or ``""``."""
    return parse_point(name).tag


def _sft_of(name: str) -> str:
    """The SFT checkpoint a checkpoint's win rate is measured against (its seed's SFT)."""
    return "sft" + _seed_suffix(name)


def _rm_of(name: str) -> str:
    """The reward model that judges a checkpoint's samples: its own seed's (the one its training optimised)."""
    return "rm" + _seed_suffix(name)


# ------------------------------------------------------------------------------------ did it work
Objective = tuple[str, str, "str | float"]  # (metric, "chance" | "start", a level or a starting checkpoint)


def objectives(method: str) -> tuple[Objective, ...]:
    """A method's objective metrics and what each must clear: a level (its chance level, or the starting point 0 of a
    margin) or the same metric of the checkpoint it started from. Derived from its declaration
    (:data:`trust_utils.checkpoints.METHODS`): the reward model (not scored by the verticals) its pairwise accuracy; a
    method trained against a reward model its mean reward (from its init's) and its win rate against its init; one
    with a reference and no reward model (DPO) its implicit-reward accuracy and margin; one started from base (SFT)
    its held-out NLL. ``()`` for base and names of no method."""
    m = METHODS_BY_NAME.get(method)
    if m is None:
        return ()
    if not m.evaluated:
        return (("rm_accuracy", "chance", CHANCE),)
    if m.reward_model:
        return (("mean_reward", "start", m.init), ("win_rate_vs_sft", "chance", CHANCE))
    if m.reference:
        return (("dpo_reward_accuracy", "chance", CHANCE), ("dpo_reward_margin", "start", 0.0))
    return (("sft_nll", "start", m.init),)


def start_of(name: str, target: str) -> str:
    """The checkpoint ``name`` is measured against for a "start" objective: ``base``, else ``target`` of its seed
    (``ppo-s1`` against ``sft`` -> ``sft-s1``)."""
    return target if target == "base" else target + _seed_suffix(name)


def paired_starts(name: str) -> list[tuple[str, str]]:
    """``[(metric, starting checkpoint), ...]`` of ``name``'s objectives measured against a starting point: the
    alignment stage writes each as a paired per-unit difference, metric ``<metric>_change``."""
    return [(metric, start_of(name, target)) for metric, kind, target in objectives(_method_name(name))
            if kind == "start" and isinstance(target, str)]


def alignment_status(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """``{checkpoint: ("established" | "not established", why)}`` for every checkpoint of the alignment rows but base.

    A checkpoint's method (``dpo@12-s1`` -> ``dpo``) has objective metrics (:func:`objectives`); each must be above
    its chance level or its starting point **by interval**: against a level, the interval's far end (``ci_low``
    where higher is better, else ``ci_high``) must clear it; against a starting point (SFT's NLL against base's,
    a reward-model method's mean reward against its SFT's, same seed suffix), the interval of the paired per-unit
    difference (metric ``<metric>_change``, on the same held-out pairs) must exclude 0 in the better direction. Rows
    without that difference (an older run's) fall back to the two separate intervals not overlapping, a conservative
    reading: a change two overlapping intervals hide can still be clear pair by pair. A missing row or interval, or a
    method with no objective here (an external checkpoint), is *not established*. ``rows``: result rows of one model
    (dicts or a DataFrame's ``to_dict("records")``).
    """
    table: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in rows:
        if r.get("vertical", VERTICAL) != VERTICAL or r.get("variant", VARIANT) != VARIANT:
            continue
        key = (str(r["checkpoint"]), str(r["metric"]))
        if key in table:
            raise ValueError(f"alignment_status: two rows for checkpoint {key[0]!r}, metric {key[1]!r}; pass one "
                             f"model's and one seed's rows at a time")
        table[key] = r
    out: dict[str, tuple[str, str]] = {}
    for ck in dict.fromkeys(c for c, _ in table):
        method = _method_name(ck)
        if method == "base":
            continue
        if not objectives(method):
            out[ck] = ("not established", f"no objective of its own is measured for {ck!r} (method {method!r})")
            continue
        fails, oks = [], []
        for metric, kind, target in objectives(method):
            ok, why = _clears(table, ck, metric, kind, target)
            (oks if ok else fails).append(why)
        out[ck] = ("not established", "; ".join(fails)) if fails else ("established", "; ".join(oks))
    return out


def _interval(r: Mapping[str, Any] | None) -> tuple[float, float] | None:
    if r is None:
        return None
    lo, hi = float(r.get("ci_low", math.nan)), float(r.get("ci_high", math.nan))
    return None if math.isnan(lo) or math.isnan(hi) else (lo, hi)


def _clears(table, ck: str, metric: str, kind: str, target) -> tuple[bool, str]:
    """Whether ``ck``'s ``metric`` interval is above (below, for a lower-is-better metric) its target, and why."""
    mine = _interval(table.get((ck, metric)))
    if mine is None:
        return False, f"no {metric} interval"
    higher = get_metric(VERTICAL, metric).higher_is_better
    lo, hi = mine
    if kind == "chance" or isinstance(target, float):
        ok = lo > target if higher else hi < target
        what = "chance" if kind == "chance" else "its starting point"
        return ok, f"{metric} [{lo:.3g}, {hi:.3g}] {'above' if ok else 'not above'} {what} {target:g}"
    start = start_of(ck, target)
    change = _interval(table.get((ck, f"{metric}_change")))
    if change is not None:  # the paired difference on the same units: the sharper test
        clo, chi = change
        ok = clo > 0 if higher else chi < 0
        return ok, (f"{metric} change from {start} [{clo:.3g}, {chi:.3g}] (paired) {'' if ok else 'not '}"
                    f"{'above' if higher else 'below'} 0")
    theirs = _interval(table.get((start, metric)))
    if theirs is None:
        return False, f"no {metric} interval of its starting point {start!r}"
    ok = lo > theirs[1] if higher else hi < theirs[0]
    better = "above" if higher else "below"
    return ok, (f"{metric} [{lo:.3g}, {hi:.3g}] {better if ok else 'not ' + better} {start}'s "
                f"[{theirs[0]:.3g}, {theirs[1]:.3g}]")



__all__ = ["alignment_status", "objectives", "paired_starts", "start_of", "CHANCE"]
