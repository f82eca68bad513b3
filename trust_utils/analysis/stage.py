"""The analysis stage: :class:`AnalysisConfig`, and :func:`run`, which reads the run's results, writes the tables,
draws and saves the figures and records ``outputs.json`` (orchestration).

Figures are saved under the run, ``<run_dir>/analysis/figures/<figure>.png|pdf`` (the stage's outputs, hashed in its
manifest), and copied to ``figures_dir`` as ``<figure>_<run directory name>.*``, so two run directories of one
profile never overwrite each other's copies (an empty ``figures_dir`` makes no copies)."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..models import SMOLLM2_REF
from ..params import param, shared
from ..paths import project_root
from ..provenance import write_stage_outputs
from ..reference import PAPER_RESULTS
from ..registry import TRUST_VERTICALS, VERTICALS
from ..results import load_results, load_unit_values
from ..run import Run
from ..style import checkpoint_label, save_figure, use_run_checkpoints
from ..utils import ConfigError, count_problems, raise_problems
from ..verticals.alignment_status import alignment_status
from .curve import endpoint_steps, path_table, resumed_stages
from .curve_figure import paper_directions, plot_curve
from .figures import figure_keys, figure_title, make_figure, plot_families
from .leading import lead_metric
from .multiplicity import add_multiplicity
from .paper import load_reference, v1_comparison, v2_headline_comparison
from .seeds import seed_changes
from .tables import (
    MAX_DEGENERATE,
    _share,
    attach_units,
    change_table,
    changes_against,
    degenerate_shares,
    model_label,
    order_checkpoints,
    prepare,
    v1_table,
)

log = logging.getLogger(__name__)


@dataclass
class AnalysisConfig:
    """Parameters of the analysis stage (the schema of its parameters: :mod:`trust_utils.params`).

    Attributes:
        run_dir: run directory whose ``results/`` is analysed.
        profile: the run's name in the outputs; empty: the ``profile`` of ``<run_dir>/run.json``
            (written by the runner), else the run directory's name.
        figures_dir: where copies of the figures go, named ``<figure>_<run directory name>``; relative paths are
            taken from the project root; empty: no copies (the figures themselves are in ``<run_dir>/analysis/figures``).
        dpi: PNG resolution.
        max_panels: a vertical with more variants than this shows only its headline variant in its
            figure and gets a ``<vertical>_breakdown`` figure for the rest.
        variant_aliases: ``{"<vertical>:<paper variant>": "<run variant>"}`` for the paper comparison.
        max_degenerate: a change (or a value compared with the paper) is not interpretable when the share of
            degenerate outputs behind either side exceeds this.
        n_boot: paired bootstrap resamples for the interval of a change.
        seed: bootstrap seed.
    """

    #: The stage's name for :func:`trust_utils.params.stage_of` while the stage registry still names this class
    #: ``trust_utils.analysis:AnalysisConfig`` (its module is now :mod:`trust_utils.analysis.stage`).
    STAGE: ClassVar[str] = "analysis"

    run_dir: str = shared("run_dir")
    profile: str = param(
        "", "the run's name in the outputs; empty takes it from the run's run.json, else the run directory name")
    figures_dir: str = param(
        "figures", 'where copies of the figures go, named by run directory (relative: from the project root; empty: none)')
    dpi: int = param(150, 'PNG resolution of the saved figures')
    max_panels: int = param(
        6, 'a vertical with more variants than this gets its headline panel plus a breakdown figure')
    variant_aliases: dict[str, str] = param(
        {}, 'paper variant to run variant for the paper comparison, keyed like ethics:adversarial')
    max_degenerate: float = param(
        MAX_DEGENERATE, "a change is not interpretable when more than this share of either side's outputs is degenerate", cell=True)
    n_boot: int = param(1000, 'paired bootstrap resamples for the interval of a change', cell=True)
    seed: int = shared("seed", 0)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Cheap range checks (the runner's plan, ``--dry-run`` and the stage, when its config is built). Raises
        :class:`trust_utils.utils.ConfigError` naming the parameter, its value and what is allowed."""
        if not 0.0 <= float(self.max_degenerate) <= 1.0:
            raise ConfigError(f"stage 'analysis': max_degenerate must be a share between 0 and 1, not "
                              f"{self.max_degenerate!r}")
        if int(self.n_boot) < 0:
            raise ConfigError(f"stage 'analysis': n_boot must be >= 0 (0 gives no interval), not {self.n_boot!r}")
        raise_problems(count_problems("analysis", self, {"dpi": None, "max_panels": None, "n_boot": "no interval"}))
    formats: tuple[str, ...] = param(("png", "pdf"), 'file formats the figures are saved in')


@dataclass
class AnalysisResult:
    """What the notebook displays: the tables, the figures (by key) and their files."""

    profile: str
    results: pd.DataFrame
    changes: pd.DataFrame
    v1: pd.DataFrame
    v2: pd.DataFrame
    reference: pd.DataFrame
    figures: dict[str, Any]
    figure_files: dict[str, list[str]]
    tables: dict[str, str]
    notes: list[str]
    degenerate: pd.DataFrame = field(default_factory=pd.DataFrame)
    v1_table: pd.DataFrame | None = None
    path: pd.DataFrame = field(default_factory=pd.DataFrame)
    seed_changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    alignment: pd.DataFrame = field(default_factory=pd.DataFrame)
    leads: dict[str, tuple[str, str]] = field(default_factory=dict)


#: base models that are already instruction-tuned and preference-aligned (the report says so, issue 18)
ALIGNED_BASES: dict[str, str] = {SMOLLM2_REF: "SmolLM2-135M-Instruct, which its authors trained with SFT and DPO"}


def save_run_figure(fig: Any, key: str, run: Run, cfg: "AnalysisConfig") -> tuple[list[str], list[str]]:
    """Save a figure as ``<run_dir>/analysis/figures/<key>.<format>`` and copy it to ``cfg.figures_dir`` as
    ``<key>_<run directory name>.<format>``; returns ``(files, copies)``."""
    files = save_figure(fig, run.stage_dir("analysis") / "figures" / key, cfg.formats, cfg.dpi)
    copies: list[str] = []
    if cfg.figures_dir:
        fig_dir = Path(cfg.figures_dir)
        fig_dir = fig_dir if fig_dir.is_absolute() else project_root() / fig_dir
        fig_dir.mkdir(parents=True, exist_ok=True)
        for f in files:
            copies.append(str(shutil.copyfile(f, fig_dir / f"{key}_{run.dir.name}{Path(f).suffix}")))
    return [str(f) for f in files], copies


def resolve_profile_name(run: Run | str | Path, profile: str = "") -> str:
    if profile:
        return profile
    run = Run.open(run)
    rj = run.dir / "run.json"
    if rj.is_file():
        try:
            name = json.loads(rj.read_text(encoding="utf-8")).get("profile")
            if name:
                return str(name)
        except (OSError, ValueError):
            pass
    return run.dir.name


def run(cfg: AnalysisConfig) -> AnalysisResult:
    """Load the run's results, compute the tables, draw and save the figures, record ``outputs.json``."""
    t0 = time.perf_counter()
    run = Run.open(cfg.run_dir)
    out_dir = run.stage_dir("analysis")
    profile = resolve_profile_name(run, cfg.profile)
    use_run_checkpoints(run)  # labels, colours and order of the profile's external checkpoints
    raw = load_results(run)
    df = prepare(raw)
    reference = load_reference()
    notes: list[str] = []
    if df.empty:
        notes.append(f"no results in {run.results_dir()}: run at least one vertical stage first")
        log.warning(notes[-1])
    units, unit_notes = attach_units(load_unit_values(run), df)
    notes += unit_notes
    t1 = time.perf_counter()
    declared = run.comparisons()
    if any(b != "base" for b in declared.values()):
        changes = changes_against(df, declared, units=units, max_degenerate=cfg.max_degenerate, n_boot=cfg.n_boot,
                                  seed=cfg.seed)
    else:
        changes = change_table(df, units, cfg.max_degenerate, cfg.n_boot, cfg.seed)
    # did each method do its own job: a method whose alignment is not established is kept out of the findings
    align_rows = df[df["vertical"] == "alignment"] if len(df) else df
    status: dict[str, tuple[str, str]] = {}
    for _, g in align_rows.groupby("model", sort=False) if len(align_rows) else []:
        status.update(alignment_status(g.to_dict("records")))
    if len(changes):
        changes["alignment"] = [status.get(c, ("", ""))[0] for c in changes["checkpoint"]]
        changes = add_multiplicity(changes)
    for ck, (state, why) in status.items():
        if state != "established" and "@" not in ck:
            notes.append(f"alignment not established for {checkpoint_label(ck)}: {why}; its trust changes are "
                         f"left out of the findings")
    for ck, step in resumed_stages(run).items():
        notes.append(f"{checkpoint_label(ck)} was trained in two parts (resumed from step {step} after an "
                     f"interruption); a resume restores every state and equals an uninterrupted training "
                     f"(tests/test_resume_equality.py)")
    for m in (sorted(set(df["model"])) if len(df) else []):
        if m in ALIGNED_BASES:
            notes.append(f"the base model {m} is {ALIGNED_BASES[m]}: its 'base' is already aligned, so base -> SFT -> "
                         f"PPO/DPO here re-aligns an aligned model on HH; a change from base is a change of alignment "
                         f"data and recipe, not what alignment does to a pretrained model (the paper's design; the "
                         f"gemma profile starts from a pretrained base)")
    leads = {v: lead_metric(df, v, cfg.max_degenerate) for v in TRUST_VERTICALS if len(df) and (df["vertical"] == v).any()}
    lead_names = {v: m for v, (m, _) in leads.items()}
    seeds_table = seed_changes(changes, units, lead_names, status, cfg.n_boot, cfg.seed)
    path = path_table(df, lead_names, endpoint_steps(run), run.primary_seed if run.primary_seed is not None else cfg.seed)
    alignment = align_rows.assign(status=[status.get(c, ("", ""))[0] for c in align_rows["checkpoint"]]) if len(
        align_rows) else align_rows
    v1 = v1_comparison(df, reference, cfg.variant_aliases, cfg.max_degenerate)
    v2 = v2_headline_comparison(df, reference, max_degenerate=cfg.max_degenerate)
    degenerate = degenerate_shares(df)
    bad = changes[changes["headline"] & ~changes["interpretable"].astype(bool)] if len(changes) else changes
    for r in bad.itertuples():
        notes.append(f"{r.vertical} ({model_label(r.model)}): the headline change Base -> {checkpoint_label(r.checkpoint)} is "
                     f"not interpretable: {_share(r.degenerate_base)} / {_share(r.degenerate)} of the outputs are "
                     f"degenerate ({r.guard} > {cfg.max_degenerate:g})")
    if len(df) and v1.empty:
        notes.append("no model of this run is a Pythia size of the v1 paper (70m, 160m, 410m, 2.8b, 6.9b): "
                     "the per-model comparison is empty")
    tables = {"changes": "changes.csv", "paper_v1": "paper_v1_comparison.csv", "paper_v2": "paper_v2_headline.csv",
              "degenerate": "degenerate_shares.csv", "path": "path.csv", "seed_changes": "seed_changes.csv"}
    path.to_csv(out_dir / tables["path"], index=False)
    seeds_table.to_csv(out_dir / tables["seed_changes"], index=False)
    changes.to_csv(out_dir / tables["changes"], index=False)
    degenerate.to_csv(out_dir / tables["degenerate"], index=False)
    v1.to_csv(out_dir / tables["paper_v1"], index=False)
    v2.to_csv(out_dir / tables["paper_v2"], index=False)
    t2 = time.perf_counter()
    figures, files, copies = {}, {}, {}
    # the figure the study exists for comes first: trust against KL moved, then against training step
    for key, x in (("curve", "kl_from_reference"), ("curve_step", "step")):
        fig = plot_curve(path, x, paper_directions(v2)) if path["checkpoint"].str.contains("@").any() or (
            path["step"] > 0).any() else None
        if fig is not None:
            figures[key] = fig
            files[key], copies[key] = save_run_figure(fig, key, run, cfg)
    for key in figure_keys(df, cfg.max_panels):
        fig = make_figure(df, key, cfg.max_panels, cfg.max_degenerate)
        if fig is None:
            continue
        figures[key] = fig
        files[key], copies[key] = save_run_figure(fig, key, run, cfg)
    fam = family_outputs(cfg, df, v1, reference, run)
    if "figure" in fam:
        figures["families"], files["families"], copies["families"] = fam["figure"], fam["files"], fam["copies"]
    if "table_file" in fam:
        tables["paper_v1_table"] = fam["table_file"]
    t3 = time.perf_counter()
    head = changes[changes["headline"]] if len(changes) else changes
    summary = [{"vertical": r.vertical, "model": model_label(r.model), "seed": int(r.seed), "checkpoint": r.checkpoint,
                "abs_change": round(float(r.abs_change), 6),
                "rel_change": None if not np.isfinite(r.rel_change) else round(float(r.rel_change), 6),
                "direction": r.direction, "interpretable": bool(r.interpretable),
                "ci_excludes_zero": None if r.ci_excludes_zero is pd.NA else bool(r.ci_excludes_zero),
                "ci_method": r.ci_method, "n_paired": int(r.n_paired)}
               for r in head.itertuples()]
    outputs = {
        "profile": profile, "n_result_rows": int(len(df)),
        "verticals": [v for v in VERTICALS if len(df) and (df["vertical"] == v).any()],
        "checkpoints": order_checkpoints(df["checkpoint"]) if len(df) else [], "models": sorted(set(df["model"])) if len(df) else [],
        "figures": {k: {"title": figure_title(k), "files": files[k], "copies": copies[k]} for k in figures},
        "tables": tables, "headline_changes": summary,
        "paper_v2": [{"vertical": r.vertical, "model": model_label(r.model) if r.model else "",
                      "run_rel_change": None if not np.isfinite(r.run_rel_change) else round(float(r.run_rel_change), 6),
                      "paper_rel_change": None if not np.isfinite(r.paper_rel_change) else float(r.paper_rel_change),
                      "interpretable": bool(r.interpretable),
                      "same_direction": None if r.same_direction is pd.NA else bool(r.same_direction)}
                     for r in v2.itertuples()],
        "max_degenerate": cfg.max_degenerate, "n_paired_changes": int((changes["ci_method"] == "paired_bootstrap").sum()),
        "n_paper_v1_matches": int(len(v1)), "notes": notes,
        "alignment_status": {k: list(v) for k, v in status.items()},
        "leads": {v: {"metric": m, "why": why} for v, (m, why) in leads.items()},
        "seed_changes": [{k: (None if isinstance(x, float) and not np.isfinite(x) else
                              (bool(x) if isinstance(x, (bool, np.bool_)) else x)) for k, x in r.items()
                          if k in ("vertical", "method", "metric", "n_seeds", "change", "ci_low", "ci_high",
                                   "between_seed_sd", "p_holm", "alignment")} | {
                             "survives_holm": None if r["survives_holm"] is pd.NA else bool(r["survives_holm"])}
                         for r in seeds_table.to_dict("records")],
    }
    inputs = [PAPER_RESULTS] + sorted(run.results_dir().glob("*.csv"))
    write_stage_outputs(out_dir, outputs, inputs=inputs,
                        timings={"load": round(t1 - t0, 3), "tables": round(t2 - t1, 3), "figures": round(t3 - t2, 3)})
    return AnalysisResult(profile, df, changes, v1, v2, reference, figures, files, tables, notes, degenerate,
                          fam.get("table"), path, seeds_table, alignment, leads)


def family_outputs(cfg: "AnalysisConfig", df: pd.DataFrame, v1: pd.DataFrame, reference: pd.DataFrame,
                   run: Run) -> dict[str, Any]:
    """The cross-family figure and the v1 table of :func:`run`: written when the run has several models or v1
    matches; returns ``{figure, files, copies, table, table_file}`` (empty when neither applies)."""
    out: dict[str, Any] = {}
    n_models = df["model"].nunique() if len(df) else 0
    if n_models > 1 or len(v1):
        fig = plot_families(df, reference, cfg.variant_aliases)
        if fig is not None:
            out["figure"] = fig
            out["files"], out["copies"] = save_run_figure(fig, "families", run, cfg)
    if len(v1):
        out["table"] = v1_table(v1)
        out["table_file"] = "paper_v1_table.csv"
        out["table"].to_csv(run.stage_dir("analysis") / out["table_file"], index=False)
    return out


__all__ = ["AnalysisConfig", "AnalysisResult", "resolve_profile_name", "run", "family_outputs", "save_run_figure"]
