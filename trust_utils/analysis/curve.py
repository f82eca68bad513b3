"""Trust along the alignment path: each vertical's lead metric against training step and KL moved, per method and seed.

"More RLHF, more trust?" is a dose-response question. A run with ``path_points`` scores each method at points of its
training (``dpo@12``), and the ``alignment`` vertical records how far each scored checkpoint moved
(``kl_from_reference``: from SFT for the methods that start from it, from base for SFT; ``kl_from_base``). :func:`path_table`
joins the two: one row per model × vertical × method × seed × step, from the method's point 0 (its init, which has
moved 0 from its reference) through its path points to its endpoint (the stage's model, at the step its training
log ended on). Follow-up work on the same verticals (arXiv 2606.11046) reads trust regressions against KL, so a
PPO-vs-DPO difference can be told apart from a different distance moved.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from ..checkpoints import METHODS, init_of, parse_point, reference_of
from ..registry import get_vertical
from ..run import Run

PATH_COLUMNS = ("model", "vertical", "metric", "variant", "method", "seed", "step", "checkpoint", "value", "ci_low",
                "ci_high", "kl_from_reference", "kl_ref_low", "kl_ref_high", "kl_from_base")


def _training_outputs(run: Run) -> dict[str, dict[str, Any]]:
    """``{checkpoint: outputs}`` of every trained endpoint of the run (``dpo``, ``dpo-s1``): its stage's
    ``outputs.json`` summary (unreadable or missing ones left out)."""
    out: dict[str, dict[str, Any]] = {}
    for m in METHODS:
        for tag in run.seed_tags:
            f = run.training_dir(m.checkpoint + tag) / "outputs.json"
            try:
                out[m.checkpoint + tag] = json.loads(f.read_text(encoding="utf-8")).get("outputs") or {}
            except (OSError, ValueError):
                continue
    return out


def endpoint_steps(run: Run) -> dict[str, int]:
    """``{checkpoint: step}`` of every trained endpoint of the run: the last step of its training log as its stage's
    ``outputs.json`` records it (``steps``, or ``updates`` for PPO)."""
    steps = {c: rec.get("steps", rec.get("updates")) for c, rec in _training_outputs(run).items()}
    return {c: int(s) for c, s in steps.items() if isinstance(s, (int, float)) and s > 0}


def resumed_stages(run: Run) -> dict[str, int]:
    """``{checkpoint: step}`` of the run's trained endpoints whose training was resumed after an interruption (their
    stage's ``outputs.json`` ``resumed_from``): provenance for the report, since a resume equals an uninterrupted
    training (``tests/test_resume_equality.py``)."""
    resumed = {c: rec.get("resumed_from") for c, rec in _training_outputs(run).items()}
    return {c: s for c, s in resumed.items() if isinstance(s, int) and s > 0}


def _row(df: pd.DataFrame, vertical: str, metric: str, variant: str, checkpoint: str) -> dict[str, Any] | None:
    r = df[(df["vertical"] == vertical) & (df["metric"] == metric) & (df["variant"].astype(str) == variant)
           & (df["checkpoint"] == checkpoint)]
    return None if r.empty else r.iloc[0].to_dict()


def path_table(results: pd.DataFrame, leads: dict[str, str], final_steps: dict[str, int],
               primary_seed: int = 0) -> pd.DataFrame:
    """The dose-response table (columns :data:`PATH_COLUMNS`; see the module docstring).

    Args:
        results: the run's results (every vertical, the ``alignment`` vertical's KL rows among them).
        leads: ``{vertical: metric}`` the analysis leads each trust vertical with (its headline setting).
        final_steps: the endpoints' last steps (:func:`endpoint_steps`); an endpoint without one is left out.
        primary_seed: the seed of checkpoints without a ``-s<seed>`` suffix.
    """
    rows = []
    if results is None or results.empty:
        return pd.DataFrame(columns=list(PATH_COLUMNS))
    for model, df in results.groupby("model", sort=False):
        kl = df[df["vertical"] == "alignment"]

        def kl_of(name: str, metric: str) -> tuple[float, float, float]:
            if name == "base" or (metric == "kl_from_reference" and not reference_of(name)):
                return 0.0, 0.0, 0.0
            r = _row(kl, "alignment", metric, "default", name)
            return (math.nan,) * 3 if r is None else (float(r["value"]), float(r["ci_low"]), float(r["ci_high"]))

        for vertical, metric in leads.items():
            variant = get_vertical(vertical).headline_variant
            for m in METHODS:
                if not m.evaluated:
                    continue
                ends = sorted({c for c in df["checkpoint"].unique() if parse_point(c).checkpoint == m.checkpoint
                               and parse_point(c).step is None and c in final_steps})
                for end in ends:
                    p = parse_point(end)
                    seed = primary_seed if p.seed is None else p.seed
                    points = [(0, init_of(end))]
                    points += sorted((parse_point(c).step, c) for c in df["checkpoint"].unique()
                                     if parse_point(c).checkpoint == m.checkpoint and parse_point(c).step
                                     and parse_point(c).seed == p.seed)
                    points.append((final_steps[end], end))
                    for step, ck in points:
                        r = _row(df, vertical, metric, variant, ck)
                        if r is None:
                            continue
                        ref = (0.0, 0.0, 0.0) if step == 0 else kl_of(ck, "kl_from_reference")
                        rows.append({"model": model, "vertical": vertical, "metric": metric, "variant": variant,
                                     "method": m.checkpoint, "seed": seed, "step": int(step), "checkpoint": ck,
                                     "value": float(r["value"]), "ci_low": float(r["ci_low"]),
                                     "ci_high": float(r["ci_high"]), "kl_from_reference": ref[0],
                                     "kl_ref_low": ref[1], "kl_ref_high": ref[2],
                                     "kl_from_base": kl_of(ck, "kl_from_base")[0]})
    return pd.DataFrame(rows, columns=list(PATH_COLUMNS))


__all__ = ["PATH_COLUMNS", "endpoint_steps", "path_table", "resumed_stages"]
