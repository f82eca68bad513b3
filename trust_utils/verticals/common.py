"""What every vertical shares: the base config, the checkpoint loop, data roots and malformed-row counting.

A vertical module defines a config dataclass that extends :class:`VerticalConfig`, a loader that
returns ``(items, malformed)`` (``malformed`` = ``{reason: count}``, see :class:`Malformed`) and an
``evaluate(engine, checkpoint, ...) -> (records, rows)`` function; its ``run(cfg)`` calls
:func:`run_vertical`, which for every checkpoint the run has

1. opens an :class:`~trust_utils.generation.Engine` (:func:`~trust_utils.generation.load_engine`),
2. calls ``evaluate``, which returns per-example records and long-format result rows,
3. adds the degenerate-output shares (:mod:`~trust_utils.verticals.validity`) as result rows, computed
   from the records' per-unit ``values`` (the contract in :mod:`trust_utils.results`), and checks that
   the vertical's own rows agree with those values (a mismatch is logged and listed in the summary),
4. writes ``<run_dir>/<vertical>/records/<checkpoint>.jsonl`` and frees the engine,

then writes ``<run_dir>/results/<vertical>.csv`` and ``<run_dir>/<vertical>/outputs.json``.
Checkpoints the run does not have yet are skipped with a logged note (and listed in the summary).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Sequence

from ..checkpoints import ordered_checkpoints
from ..params import param, shared, stage_of
from ..paths import data_dir
from ..provenance import write_stage_outputs
from ..registry import VERTICALS, get_vertical
from ..results import check_unit_values, rows_from_unit_values, unit_values, write_records, write_results
from ..run import Run
from ..utils import raise_problems, range_problems, read_jsonl, set_threads

log = logging.getLogger(__name__)

DATA_SOURCES = ("bundled", "local", "hub")


@dataclass
class VerticalConfig:
    """Parameters every vertical shares: the schema of its parameters (:mod:`trust_utils.params`; the notebook cell
    shows a few of them, the rest come through ``overrides``).

    Attributes:
        run_dir: the run directory.
        model: the base model reference (checkpoint ``base``).
        checkpoints: checkpoint names to evaluate; those the run lacks are skipped with a note. Empty: the run's
            list (``<run_dir>/checkpoints.json``, written by the runner from the profile, with its external
            checkpoints; else ``base, sft, ppo, dpo``; :func:`trust_utils.checkpoints.run_checkpoint_names`).
        seed: sampling seed (and bootstrap seed).
        threads: torch CPU threads (0 leaves torch's default).
        device, dtype, batch_size: engine settings (``batch_size`` 0 picks one from free memory).
        cache_dir: cache of converted models (shared; empty = the project default).
        gen_cache_dir: cache of generations and scores (empty = ``<run_dir>/cache/generations``).
        prompt_format: ``raw`` (the paper) | ``chat`` | ``hh``.
        max_examples: evaluate at most this many items per data file (0 = all; a seeded subset).
        n_boot: bootstrap resamples for confidence intervals.
        data_source: ``bundled`` (the project's mini sets) | ``local`` (a copy laid out like the
            original repository, in ``local_dir``) | ``hub`` (Hugging Face datasets).
        local_dir: for ``local``: the root of the copy (e.g. ``.../decodingtrust``).
        progress: show progress bars.
    """

    run_dir: str = shared("run_dir")
    model: str = shared("model", "tiny")
    checkpoints: list[str] = param(
        [], 'checkpoint names to evaluate (empty: the run list from the profile, else base, sft, ppo, dpo); '
            'missing ones are skipped with a note', cell=True)
    seed: int = shared("seed", 0)
    threads: int = shared("threads", 2)
    device: str = shared("device", "auto")
    dtype: str = param("auto", 'auto (bf16 on CUDA and on CPUs with native bf16 matmul, fp32 '
                                  'elsewhere), float32, bfloat16 or float16')
    batch_size: int = param(16, 'sequences per forward pass (0 sizes each batch from free memory: GPU memory, or '
                                'RAM on CPU, at most 64 rows there)')
    cache_dir: str = shared("cache_dir", "")
    gen_cache_dir: str = param("", 'cache of generations and scores (empty: <run_dir>/cache/generations)')
    prompt_format: str = param("raw", 'raw (the paper), chat (tokenizer chat template) or hh (Human/Assistant turns)')
    max_examples: int = param(0, 'evaluate at most this many items per data file (0 keeps all; otherwise a seeded subset)', cell=True)
    n_boot: int = param(1000, 'bootstrap resamples for the confidence intervals')
    data_source: str = param(
        "bundled", 'bundled (data/bench-mini), local (a copy laid out like the original, in local_dir) or hub',
        choices=DATA_SOURCES)
    local_dir: str = param("", 'for data_source local: the root of the copy (the notebook says which files it reads)')
    progress: bool = param(True, 'show progress bars')

    def __post_init__(self):
        if self.data_source not in DATA_SOURCES:
            raise ValueError(f"data_source must be one of {DATA_SOURCES}, not {self.data_source!r}")
        if self.data_source == "local" and not self.local_dir:
            raise ValueError("data_source='local' needs local_dir (a copy laid out like the original repository)")
        self.checkpoints = list(self.checkpoints)
        self.validate()

    #: whole-number fields a vertical's config may have, and what 0 means for each (None: it must be >= 1); a
    #: subclass's own fields are listed here too, so one table checks every vertical
    COUNTS: ClassVar[dict[str, str | None]] = {
        "batch_size": "sized from free memory", "max_examples": "all", "n_boot": "no interval",
        "threads": "torch's default", "n_samples": None, "max_new_tokens": None, "num_beams": None,
        "top_k": "top-k disabled",  # ethics checks its expect_n itself (>= 0, 0 = no check)
    }

    def validate(self) -> None:
        """Cheap range checks (the runner's plan and ``--dry-run`` call it, and so does the stage when its config is
        built): counts >= 1 or 0 where 0 has a documented meaning, never negative; ``device`` one of
        ``auto|cpu|cuda[:N]|mps``. Raises :class:`trust_utils.utils.ConfigError` naming the stage, the parameter, the
        value and what is allowed."""
        stage = stage_of(type(self))
        raise_problems(range_problems(stage, self, self.COUNTS))

    # Settings that do not change any number: left out of the results' config_hash.
    _NOT_IN_HASH = ("run_dir", "threads", "device", "batch_size", "cache_dir", "gen_cache_dir", "progress",
                    "checkpoints", "local_dir", "data_source", "n_boot")

    def hash_config(self) -> dict[str, Any]:
        """The settings that shape the numbers (``config_hash`` of the result rows)."""
        return {k: v for k, v in asdict(self).items() if k not in self._NOT_IN_HASH}

    def generation_cache(self, run: Run | None = None) -> Path:
        if self.gen_cache_dir:
            return Path(self.gen_cache_dir)
        return (run or Run.open(self.run_dir)).dir / "cache" / "generations"


# ------------------------------------------------------------------------------- malformed rows
class Malformed:
    """Count (and keep a few examples of) rows a loader could not use, by reason.

    Loaders call :meth:`add` instead of raising or skipping silently and return
    ``(items, malformed.report())`` (``{reason: count}``, logged once); the notebook shows the counts
    with :func:`malformed_table`.
    """

    def __init__(self, source: str = "", keep: int = 3):
        self.source = source
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}
        self.keep = keep

    def add(self, reason: str, where: str = "", example: Any = None) -> None:
        self.counts[reason] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < self.keep:
            ex.append(f"{where}: {str(example)[:200]}" if where else str(example)[:200])
        log.debug("%s: skipped a malformed row (%s) %s", self.source or "loader", reason, where)

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)

    def report(self) -> dict[str, int]:
        """Log one warning line with the counts (if any) and return them as a dict."""
        if self.counts:
            log.warning("%s: skipped %d row(s): %s", self.source or "loader", sum(self.counts.values()),
                        ", ".join(f"{r} x{n}" for r, n in sorted(self.counts.items())))
        return self.as_dict()


def malformed_table(reports: dict[str, dict[str, int]]):
    """A ``source, reason, count`` table of malformed rows (one row ``-, 0`` for a clean source)."""
    import pandas as pd

    rows = []
    for source, counts in reports.items():
        if not counts:
            rows.append({"source": source, "reason": "(none)", "count": 0})
        for reason, n in sorted(counts.items()):
            rows.append({"source": source, "reason": reason, "count": int(n)})
    return pd.DataFrame(rows, columns=["source", "reason", "count"])


# ------------------------------------------------------------------------------- data helpers
def bundled_root(benchmark: str = "decodingtrust") -> Path:
    """The project's mini copy of a benchmark (``data/bench-mini/<benchmark>``)."""
    return data_dir() / "bench-mini" / benchmark


def data_root(cfg: VerticalConfig, benchmark: str = "decodingtrust") -> Path:
    """The root a ``bundled`` or ``local`` loader reads (laid out like the original repository)."""
    if cfg.data_source == "bundled":
        return bundled_root(benchmark)
    if cfg.data_source == "local":
        root = Path(cfg.local_dir).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"local_dir {root} does not exist")
        return root
    raise ValueError("data_root is for bundled or local sources; hub loaders use datasets.load_dataset")


def subsample(items: Sequence[Any], n: int, seed: int) -> list[Any]:
    """At most ``n`` items (0 = all): a seeded choice, kept in the original order."""
    items = list(items)
    if n <= 0 or n >= len(items):
        return items
    keep = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in keep]


# ------------------------------------------------------------------------------- the loop
EvaluateFn = Callable[[Any, str], tuple[list[dict[str, Any]], list[dict[str, Any]]]]


def checkpoints_to_run(cfg: VerticalConfig, run: Run) -> tuple[list[str], list[str]]:
    """(checkpoints the run has, checkpoints asked for but missing)."""
    wanted = run.checkpoint_names(cfg.checkpoints)
    have = run.available(wanted)
    missing = [c for c in wanted if c not in have]
    return have, missing


def open_engine(cfg: VerticalConfig, checkpoint: str, run: Run | None = None, **overrides):
    """An engine for ``checkpoint`` with the config's device, dtype, batch size, caches and prompt format."""
    from ..generation import load_engine  # lazy: the engine imports torch; the config and loaders do not need it

    run = run or Run.open(cfg.run_dir)
    kw = dict(device=cfg.device, dtype=cfg.dtype, batch_size=cfg.batch_size, cache_dir=str(cfg.generation_cache(run)),
              seed=cfg.seed, prompt_format=cfg.prompt_format, model_cache_dir=cfg.cache_dir or None,
              progress=cfg.progress)
    kw.update(overrides)
    return load_engine(checkpoint, run, cfg.model, **kw)


def run_vertical(cfg: VerticalConfig, vertical: str, evaluate: EvaluateFn, inputs: Iterable[str | os.PathLike] = (),
                 summary: dict[str, Any] | None = None, engine_overrides: dict[str, Any] | None = None,
                 finalize: Callable[[Path], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Evaluate every available checkpoint with ``evaluate`` and write records, results and outputs.json.

    Args:
        cfg: the vertical's config.
        vertical: registry name (also the stage name).
        evaluate: ``(engine, checkpoint) -> (records, result rows)``.
        inputs: data files read from outside the run (hashed into outputs.json).
        summary: extra items for the summary (e.g. malformed-row counts, item counts).
        engine_overrides: extra :class:`~trust_utils.generation.Engine` arguments.
        finalize: called with the stage directory after the last checkpoint (e.g. to write extra tables);
            what it returns is added to the summary.

    Returns:
        The summary recorded in ``outputs.json`` (also holds ``results_file`` and ``records``).
    """
    if cfg.threads:
        set_threads(cfg.threads)
    t0 = time.perf_counter()
    run = Run.open(cfg.run_dir)
    out_dir = run.stage_dir(vertical)
    have, missing = checkpoints_to_run(cfg, run)
    for name in missing:
        log.info("%s: checkpoint %r is not in %s yet; skipped (run its stage to include it)", vertical, name, run.dir)
    all_rows: list[dict[str, Any]] = []
    degenerate: dict[str, dict[str, float]] = {}
    mismatches: list[str] = []
    records_files: dict[str, str] = {}
    timings: dict[str, float] = {}
    calls: dict[str, int] = {}
    engines: dict[str, dict[str, Any]] = {}  # dtype, device and batch sizes each checkpoint was evaluated with
    for name in have:
        t1 = time.perf_counter()
        engine = open_engine(cfg, name, run, **(engine_overrides or {}))
        try:
            log.info("%s: evaluating %s (%s)", vertical, name, engine.model_ref)
            records, rows = evaluate(engine, name)
            calls[name] = engine.model_calls
            engines[name] = engine.describe()
        finally:
            engine.close()
        rows, shares, bad = validity_rows(cfg, vertical, name, records, rows)
        degenerate[name], mismatches = shares, mismatches + bad
        path = write_records(run, vertical, name, records)
        records_files[name] = str(path.relative_to(out_dir))
        data_rev = _data_revision((summary or {}).get("source"))
        all_rows.extend(dict(r, model_revision=engine.fingerprint, data_revision=data_rev)
                        for r in _as_named_checkpoint(run, name, rows))
        timings[f"eval_{name}"] = round(time.perf_counter() - t1, 3)
        log.info("%s: %s done in %.1fs (%d model calls, %d records)", vertical, name, timings[f"eval_{name}"],
                 calls[name], len(records))
    results_file = write_results(run, vertical, all_rows)
    extra = finalize(out_dir) if finalize is not None else {}
    timings["total"] = round(time.perf_counter() - t0, 3)
    result = {
        "vertical": vertical, "checkpoints": have, "skipped_checkpoints": missing,
        "results_file": str(results_file), "records": records_files, "n_rows": len(all_rows),
        "model_calls": calls, "engine": engines, "config": cfg.hash_config(), "degenerate_any": degenerate,
        "unit_value_mismatches": mismatches, **(summary or {}), **extra,
    }
    checkpoints_file = [run.checkpoints_file] if run.checkpoints_file else []  # a changed block reruns the stage
    write_stage_outputs(out_dir, result, inputs=[*inputs, *checkpoints_file], timings=timings)
    return result


def validity_rows(cfg: VerticalConfig, vertical: str, checkpoint: str, records: list[dict[str, Any]],
                  rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, float], list[str]]:
    """``rows`` plus the degenerate-share rows from the records' ``values``, the ``degenerate_any`` share per
    variant, and the rows that disagree with the records' per-unit values (logged as warnings)."""
    units = unit_values(records, vertical, checkpoint)
    have = {r["metric"] for r in rows}
    wanted = [m.name for m in get_vertical(vertical).metrics if m.is_validity and m.name not in have]
    extra = rows_from_unit_values(units, wanted, scorer="validity", seed=cfg.seed, model=cfg.model,
                                  config=cfg.hash_config(), n_boot=cfg.n_boot)
    bad = check_unit_values(rows, units)
    for b in bad:
        log.warning("%s: a result row disagrees with the records' per-unit values (paired intervals would be "
                    "wrong): %s", vertical, b)
    if not extra and not units.empty:
        log.info("%s/%s: the records carry no degenerate shares", vertical, checkpoint)
    shares = {r["variant"]: round(float(r["value"]), 6) for r in extra if r["metric"] == "degenerate_any"}
    return rows + extra, shares, bad

def _data_revision(source: dict[str, Any] | None) -> str:
    """What a results row records of its data: a hub dataset's id and resolved commit, else the source kind."""
    if not source:
        return ""
    if source.get("kind") == "hub":
        return f"hub:{source.get('id', '')}@{source.get('resolved_revision') or source.get('revision') or 'main'}"
    return str(source.get("kind", ""))


def _as_named_checkpoint(run: Run, name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a profile's external checkpoint carry its declared ``checkpoint`` (the profile entry's ``stage`` key)
    and its family's ``model``."""
    ext = run.external(name)
    if ext is None:
        return rows
    return [dict(r, checkpoint=ext.checkpoint, model=ext.model) for r in rows]



# ------------------------------------------------------------------------------------------ one example (course mode)
def _full_texts(vertical: str, out: dict[str, Any]) -> str:
    """The preview's prompt as built, as the engine sends it (when it differs) and the generation, whole: the table
    cuts long cells (pandas' ``display.max_colwidth``) and shows line breaks as ``\\n``."""
    blocks = []
    as_is = out.get("formatted_prompt") == out.get("prompt")
    labels = {"prompt": "prompt (the engine sends it as is)" if as_is else "prompt",
              "formatted_prompt": "formatted_prompt (what the engine sends)", "generation": "generation"}
    for key, label in labels.items():
        if key in out and not (key == "formatted_prompt" and as_is):
            blocks.append(f"----- {vertical}, variant {out.get('variant')}: {label} -----\n{out[key]}")
    return "\n".join(blocks)


def vertical_example(vertical: str, engine, cfg: VerticalConfig, item: Any, variant: str | None = None,
                     generate: bool = True, show: bool = True):
    """One item of a vertical: its prompt (the vertical's own builder), the prompt as the engine formats it, the
    generation (from the run's cache when the stage ran) and what the vertical's own parser or rule reads from it.
    With ``show`` the prompt, the formatted prompt and the generation are printed in full first (the table that is
    returned cuts long texts).

    Each vertical module supplies ``example_prompt(cfg, item, variant) -> (variant, prompt, extra)`` and
    ``example_answer(cfg, item, variant, generations, extra) -> dict``. ``item``: toxicity ``{"text", ...}`` (a
    ``load_prompts`` item), bias a ``Statement``, ethics a ``Scenario``, truthfulness an ``MCQuestion``, privacy a
    ``build_items`` item. Returns a one-column DataFrame (field -> value).
    """
    import importlib

    import pandas as pd

    if vertical not in VERTICALS:
        raise ValueError(f"vertical_example: unknown vertical {vertical!r}; use one of {', '.join(VERTICALS)}")
    # imported by name: a vertical notebook depends on its own vertical's code only (trust_utils.codehash follows
    # static imports, and the calling notebook imports its vertical)
    m = importlib.import_module(VERTICALS[vertical].module)
    variant, prompt, extra = m.example_prompt(cfg, item, variant)
    formatted = engine.format_prompt(prompt)
    out: dict[str, Any] = {"variant": variant, "prompt": prompt, "formatted_prompt": formatted,
                           "n_prompt_tokens": len(engine._encode(formatted)), **extra}
    if generate:
        gens = engine.generate([prompt], cfg.decoding(), seed=cfg.seed, desc=f"{vertical} example")[0]
        out["generation"] = gens[0]
        out.update(m.example_answer(cfg, item, variant, gens, extra))
    if show:
        print(_full_texts(vertical, out))
    return pd.DataFrame({"value": pd.Series(out, dtype=object)})

__all__ = ["vertical_example", "VerticalConfig", "Malformed", "malformed_table", "bundled_root", "data_root", "subsample",
           "checkpoints_to_run", "open_engine", "run_vertical", "validity_rows", "DATA_SOURCES"]


# ------------------------------------------------------------------------------- notebook helpers
def load_vertical_results(run: Run | str | os.PathLike, vertical: str):
    """This vertical's rows of ``<run>/results/<vertical>.csv`` (validated)."""
    import pandas as pd

    from ..results import validate_results

    path = Run.open(run).results_dir() / f"{vertical}.csv"
    return validate_results(pd.read_csv(path, keep_default_na=False, na_values=[""]), str(path))


def load_vertical_records(run: Run | str | os.PathLike, vertical: str):
    """All checkpoints' per-example records of a vertical as one DataFrame (in the run's checkpoint order)."""
    import pandas as pd

    run = Run.open(run)
    d = run.stage_dir(vertical) / "records"
    frames = [pd.DataFrame(list(read_jsonl(p))).assign(checkpoint=p.stem) for p in sorted(d.glob("*.jsonl"))]
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    order = {c: i for i, c in enumerate(run.order(df["checkpoint"].unique()))}
    return df.sort_values("checkpoint", key=lambda s: s.map(order), kind="stable")


def results_table(df, metric: str | None = None):
    """``variant x checkpoint`` table of ``value [ci_low, ci_high]`` strings for one metric (all if ``None``)."""
    import pandas as pd

    if metric is not None:
        df = df[df["metric"] == metric]
    cell = df.apply(lambda r: f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]", axis=1)
    t = df.assign(cell=cell).pivot_table(index=["metric", "variant"], columns="checkpoint", values="cell", aggfunc="first",
                                         sort=False)
    return t[ordered_checkpoints(t.columns)] if len(t) else pd.DataFrame()
