"""The one results schema: long-format rows every vertical writes and the analysis reads.

Each vertical writes ``<run_dir>/results/<vertical>.csv`` (replaced atomically on rerun) with the
columns :data:`RESULT_COLUMNS`; per-example records (prompt, generation, parsed answer, score)
go beside it in ``<run_dir>/<vertical>/records/<checkpoint>.jsonl``. :func:`load_results` is the
only reader the analysis uses.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from .manifest import versions_string
from .paths import results_dir, stage_dir
from .registry import get_metric, get_vertical
from .stats import bootstrap_ci
from .utils import atomic_write_text, hash_obj, write_jsonl

RESULT_COLUMNS: tuple[str, ...] = (
    "vertical",          # registry name, e.g. "toxicity"
    "metric",            # registry metric name
    "variant",           # setting within the vertical, e.g. "benign/toxic", "adversarial", "phone number"
    "stage",             # model stage / checkpoint name: base, sft, ppo, dpo
    "value",
    "ci_low", "ci_high",  # bootstrap interval (NaN when not computed)
    "n",                 # number of units (prompts, statements, questions) behind the value
    "higher_is_better",  # from the registry
    "scorer",            # what produced the score (classifier, parser, "loglik")
    "seed",
    "model",             # the profile's base model reference (same on every stage's rows; the analysis groups by it)
    "config_hash",       # hash of the settings that produced the number
    "versions",          # key package versions
)


def result_row(vertical: str, metric: str, variant: str, stage: str, value: float, n: int,
               ci: tuple[float, float] | None = None, scorer: str = "", seed: int = 0,
               model: str = "", config: dict[str, Any] | None = None) -> dict[str, Any]:
    """One validated results row; ``higher_is_better`` is taken from the registry."""
    m = get_metric(vertical, metric)
    lo, hi = ci if ci is not None else (math.nan, math.nan)
    return {
        "vertical": vertical, "metric": metric, "variant": variant, "stage": stage, "value": float(value),
        "ci_low": float(lo), "ci_high": float(hi), "n": int(n), "higher_is_better": bool(m.higher_is_better),
        "scorer": scorer, "seed": int(seed), "model": model, "config_hash": hash_obj(config or {}, 12),
        "versions": versions_string(),
    }


def metric_rows(vertical: str, metric: str, variant: str, stage: str, unit_values: Sequence[float],
                scorer: str = "", seed: int = 0, model: str = "", config: dict[str, Any] | None = None,
                n_boot: int = 1000) -> dict[str, Any]:
    """A results row for a mean over units, with its bootstrap interval computed here."""
    value, lo, hi = bootstrap_ci(unit_values, n_boot=n_boot, seed=seed)
    return result_row(vertical, metric, variant, stage, value, len(unit_values), (lo, hi), scorer, seed, model, config)


def validate_results(df: pd.DataFrame, source: str = "results") -> pd.DataFrame:
    """Check columns and registry membership; raise naming the offending file and row."""
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing result columns {missing}; expected {list(RESULT_COLUMNS)}")
    for i, row in df.iterrows():
        try:
            get_metric(row["vertical"], row["metric"])
        except KeyError as exc:
            raise ValueError(f"{source}, row {i}: {exc.args[0]}") from None
    return df[list(RESULT_COLUMNS)]


def write_results(run_dir: str | os.PathLike, vertical: str, rows: Iterable[dict[str, Any]]) -> Path:
    """Replace ``<run_dir>/results/<vertical>.csv`` with ``rows`` (validated)."""
    get_vertical(vertical)
    df = pd.DataFrame(list(rows), columns=list(RESULT_COLUMNS))
    bad = df[df["vertical"] != vertical]
    if len(bad):
        raise ValueError(f"rows for vertical {sorted(set(bad['vertical']))} cannot go into {vertical}.csv")
    validate_results(df, f"{vertical} results")
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return atomic_write_text(results_dir(run_dir) / f"{vertical}.csv", buf.getvalue())


def load_results(run_dir: str | os.PathLike) -> pd.DataFrame:
    """All verticals' rows of a run, in one long table (empty with the schema's columns if none)."""
    d = results_dir(run_dir)
    frames = []
    for f in sorted(d.glob("*.csv")):
        df = pd.read_csv(f, keep_default_na=False, na_values=[""])
        frames.append(validate_results(df, str(f)))
    if not frames:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def write_records(run_dir: str | os.PathLike, vertical: str, checkpoint: str, records: Iterable[dict]) -> Path:
    """Per-example records of one checkpoint on one vertical, for inspection."""
    return write_jsonl(stage_dir(run_dir, vertical) / "records" / f"{checkpoint}.jsonl", records)
