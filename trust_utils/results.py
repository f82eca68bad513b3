"""The one results schema: long-format rows every vertical writes and the analysis reads.

Each vertical writes ``<run_dir>/results/<vertical>.csv`` (replaced atomically on rerun) with the
columns :data:`RESULT_COLUMNS`; ``checkpoint`` is the model scored (base, sft, ppo, dpo or an external checkpoint),
never a pipeline stage (a results file from before that column's rename, with ``stage`` instead, is refused with a
message to rerun the vertical). Per-example records (prompt, generation, parsed answer, score)
go beside it in ``<run_dir>/<vertical>/records/<checkpoint>.jsonl``. :func:`load_results` and
:func:`load_unit_values` are the only readers the analysis uses.

**Per-unit values in the records.** So that a change between two checkpoints can be bootstrapped over
the prompts both saw (paired), each record carries what it contributes to each metric:

* ``values``: ``{metric: number or None}`` (``None``: the record does not count in that metric, e.g. a
  toxicity prompt with no scored sample, an ethics answer left out by ``unparsed_as="exclude"``);
* the unit it belongs to: ``unit`` if present, else ``id`` (a prompt, statement, question);
* its variants: ``variant`` plus any in ``also_variants`` (privacy's per-type records also count in ``all``).

A unit's value of a metric is the mean of its records' non-None values (bias: the share of a statement's
samples); the metric is the mean over units with a value, which is what each vertical's rows hold
(:func:`check_unit_values` compares the two). A ratio metric such as an FNR over parsed answers is this
mean over the units that have a value, so recomputing it on a resampled set of units stays exact.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .provenance import versions_string
from .registry import VERTICALS, get_metric, get_vertical
from .run import Run
from .stats import bootstrap_ci
from .utils import atomic_write_text, hash_obj, read_jsonl, write_jsonl

RESULT_COLUMNS: tuple[str, ...] = (
    "vertical",          # registry name, e.g. "toxicity"
    "metric",            # registry metric name
    "variant",           # setting within the vertical, e.g. "benign/toxic", "adversarial", "phone number"
    "checkpoint",        # the model scored: base, sft, ppo, dpo or an external checkpoint's declared name
    "value",
    "ci_low", "ci_high",  # bootstrap interval (NaN when not computed)
    "n",                 # number of units (prompts, statements, questions) behind the value
    "higher_is_better",  # from the registry
    "scorer",            # what produced the score (classifier, parser, "loglik")
    "seed",
    "model",             # the profile's base model reference (same on every checkpoint's rows; the analysis groups by it)
    "config_hash",       # hash of the settings that produced the number
    "versions",          # key package versions
    "model_revision",    # the scored checkpoint's content fingerprint (a hub model: hub:<id>@<resolved commit>)
    "data_revision",     # the data source: a hub dataset's resolved commit, or bundled/local (files hashed in outputs.json)
)


def result_row(vertical: str, metric: str, variant: str, checkpoint: str, value: float, n: int,
               ci: tuple[float, float] | None = None, scorer: str = "", seed: int = 0,
               model: str = "", config: dict[str, Any] | None = None) -> dict[str, Any]:
    """One validated results row; ``higher_is_better`` is taken from the registry."""
    m = get_metric(vertical, metric)
    lo, hi = ci if ci is not None else (math.nan, math.nan)
    return {
        "vertical": vertical, "metric": metric, "variant": variant, "checkpoint": checkpoint, "value": float(value),
        "ci_low": float(lo), "ci_high": float(hi), "n": int(n), "higher_is_better": bool(m.higher_is_better),
        "scorer": scorer, "seed": int(seed), "model": model, "config_hash": hash_obj(config or {}, 12),
        "versions": versions_string(), "model_revision": "", "data_revision": "",
    }


def metric_rows(vertical: str, metric: str, variant: str, checkpoint: str, unit_values: Sequence[float],
                scorer: str = "", seed: int = 0, model: str = "", config: dict[str, Any] | None = None,
                n_boot: int = 1000) -> dict[str, Any]:
    """A results row for a mean over units, with its bootstrap interval computed here."""
    value, lo, hi = bootstrap_ci(unit_values, n_boot=n_boot, seed=seed)
    return result_row(vertical, metric, variant, checkpoint, value, len(unit_values), (lo, hi), scorer, seed, model, config)


def validate_results(df: pd.DataFrame, source: str = "results") -> pd.DataFrame:
    """Check columns and registry membership; raise naming the offending file and row."""
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if "checkpoint" in missing and "stage" in df.columns:
        # written before the column was renamed: its rows are not renamed silently (a rerun rewrites them whole)
        vertical = Path(source).stem if source.endswith(".csv") else "<vertical>"
        raise ValueError(f"{source}: an old results file, with a 'stage' column where 'checkpoint' is expected "
                         f"(the model scored); rerun the vertical: rlhf-trust run --profile P --stages {vertical}")
    if missing:
        raise ValueError(f"{source}: missing result columns {missing}; expected {list(RESULT_COLUMNS)}")
    for i, row in df.iterrows():
        try:
            get_metric(row["vertical"], row["metric"])
        except KeyError as exc:
            raise ValueError(f"{source}, row {i}: {exc.args[0]}") from None
    return df[list(RESULT_COLUMNS)]


def write_results(run: Run | str | os.PathLike, vertical: str, rows: Iterable[dict[str, Any]]) -> Path:
    """Replace ``<run>/results/<vertical>.csv`` with ``rows`` (validated)."""
    get_vertical(vertical)
    df = pd.DataFrame(list(rows), columns=list(RESULT_COLUMNS))
    bad = df[df["vertical"] != vertical]
    if len(bad):
        raise ValueError(f"rows for vertical {sorted(set(bad['vertical']))} cannot go into {vertical}.csv")
    validate_results(df, f"{vertical} results")
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return atomic_write_text(Run.open(run).results_dir() / f"{vertical}.csv", buf.getvalue())


def load_results(run: Run | str | os.PathLike) -> pd.DataFrame:
    """All verticals' rows of a run, in one long table (empty with the schema's columns if none)."""
    d = Run.open(run).results_dir()
    frames = []
    for f in sorted(d.glob("*.csv")):
        df = pd.read_csv(f, keep_default_na=False, na_values=[""])
        frames.append(validate_results(df, str(f)))
    if not frames:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def write_records(run: Run | str | os.PathLike, vertical: str, checkpoint: str, records: Iterable[dict]) -> Path:
    """Per-example records of one checkpoint on one vertical, for inspection."""
    return write_jsonl(Run.open(run).stage_dir(vertical) / "records" / f"{checkpoint}.jsonl", records)


# ------------------------------------------------------------------------------------ per-unit values
UNIT_COLUMNS: tuple[str, ...] = ("vertical", "variant", "metric", "checkpoint", "unit", "value")


def unit_values(records: Iterable[dict[str, Any]], vertical: str, checkpoint: str) -> pd.DataFrame:
    """Per-unit values of every metric in the records' ``values`` (columns :data:`UNIT_COLUMNS`).

    A unit whose records all hold ``None`` for a metric keeps a row with value NaN (it was evaluated, it
    just does not count), so pairing sees it on both sides. Records without ``values`` are ignored.
    """
    acc: dict[tuple[str, str, str], list[float]] = {}
    for i, r in enumerate(records):
        vals = r.get("values")
        if not vals:
            continue
        unit = r.get("unit", r.get("id"))
        if unit is None:
            raise ValueError(f"{vertical}/{checkpoint} record {i} has values but neither 'unit' nor 'id'")
        for variant in [r.get("variant", ""), *r.get("also_variants", ())]:
            for metric, x in vals.items():
                lst = acc.setdefault((str(variant), metric, str(unit)), [])
                if x is not None and not (isinstance(x, float) and math.isnan(x)):
                    lst.append(float(x))
    rows = [(vertical, var, m, checkpoint, u, float(np.mean(xs)) if xs else math.nan)
            for (var, m, u), xs in acc.items()]
    return pd.DataFrame(rows, columns=list(UNIT_COLUMNS))


def rows_from_unit_values(units: pd.DataFrame, metrics: Sequence[str], scorer: str = "", seed: int = 0,
                          model: str = "", config: dict[str, Any] | None = None, n_boot: int = 1000) -> list[dict]:
    """Results rows (with bootstrap intervals over units) for ``metrics`` of one vertical and checkpoint."""
    rows = []
    for (vertical, variant, metric, ckpt), g in units.groupby(["vertical", "variant", "metric", "checkpoint"], sort=False):
        if metric not in metrics:
            continue
        vals = g["value"].dropna().tolist()
        rows.append(metric_rows(vertical, metric, variant, ckpt, vals, scorer, seed, model, config, n_boot))
    return rows


def check_unit_values(rows: Iterable[dict[str, Any]], units: pd.DataFrame, tol: float = 1e-9) -> list[str]:
    """Rows whose value differs from the mean of the records' per-unit values (empty list: consistent).

    Rows of a metric the records carry no values for are not checked.
    """
    if units.empty:
        return []
    means = units.groupby(["variant", "metric"])["value"].mean()
    bad = []
    for r in rows:
        key = (r["variant"], r["metric"])
        if key not in means.index:
            continue
        m, v = float(means[key]), float(r["value"])
        if not ((math.isnan(m) and math.isnan(v)) or abs(m - v) <= tol):
            bad.append(f"{r['vertical']}/{r['checkpoint']} {r['metric']} [{r['variant']}]: row {v:.6g}, records {m:.6g}")
    return bad


def records_path(run: Run | str | os.PathLike, vertical: str, checkpoint: str) -> Path:
    return Run.open(run).dir / vertical / "records" / f"{checkpoint}.jsonl"


def load_records(run: Run | str | os.PathLike, vertical: str, checkpoint: str) -> list[dict[str, Any]]:
    """The per-example records of one checkpoint on one vertical (FileNotFoundError naming the file if absent)."""
    path = records_path(run, vertical, checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"no records {path}: run the {vertical} stage for checkpoint {checkpoint!r}")
    return list(read_jsonl(path))


def load_unit_values(run: Run | str | os.PathLike, verticals: Iterable[str] | None = None) -> pd.DataFrame:
    """Per-unit values of every vertical and checkpoint with records in the run (columns :data:`UNIT_COLUMNS`)."""
    run = Run.open(run)
    frames = []
    for v in verticals or VERTICALS:
        d = run.dir / v / "records"  # not stage_dir: reading must not create folders
        for p in sorted(d.glob("*.jsonl")) if d.is_dir() else []:
            frames.append(unit_values(read_jsonl(p), v, p.stem))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(UNIT_COLUMNS))
    return pd.concat(frames, ignore_index=True)
