"""The pipeline runner: executes the stage notebooks of a profile in order with papermill.

For each stage the runner
1. resolves its parameters (profile ``shared`` keys the notebook declares + the stage's own
   section + ``run_dir``) and checks them against the notebook's ``parameters`` cell, for every
   stage before anything runs;
2. computes a fingerprint of the notebook's code, the parameters and the upstream stages'
   manifests, and skips the stage when its last run completed with the same fingerprint and the
   input files it recorded are unchanged (``force`` redoes it);
3. executes the notebook into ``<run_dir>/<stage>/<notebook>`` and writes ``manifest.json``.

A failing stage stops the run with an error naming the stage and the executed notebook; the
stages before it stay complete, so the next run resumes at the failed stage.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import nbformat

from .manifest import inputs_changed, read_manifest, read_stage_outputs, versions, write_manifest
from .paths import notebooks_dir
from .profiles import Profile, ProfileError
from .stages import STAGES, Stage, get_stage
from .utils import hash_obj, write_json

log = logging.getLogger(__name__)

#: Parameters the runner sets itself; a profile may not set them.
RESERVED_PARAMS = ("run_dir",)


class PipelineError(RuntimeError):
    """The run cannot start or continue; the message says what to fix."""


class StageFailed(PipelineError):
    def __init__(self, stage: str, notebook: Path, cause: str):
        self.stage, self.notebook, self.cause = stage, notebook, cause
        super().__init__(f"stage '{stage}' failed: {cause}\n"
                         f"  open the executed notebook to see the failing cell: {notebook}\n"
                         f"  completed stages are kept; rerun the same command to resume from '{stage}'.")


@dataclass
class StagePlan:
    stage: Stage
    notebook: Path
    params: dict[str, Any]
    declared: dict[str, dict[str, Any]]
    stage_dir: Path
    status: str = "pending"  # pending | skipped | done | failed
    reason: str = ""
    seconds: float = 0.0
    fingerprint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=64)
def _inspect(path: str, mtime: float) -> dict[str, dict[str, Any]]:
    import papermill

    return papermill.inspect_notebook(path)


def notebook_parameters(path: str | Path) -> dict[str, dict[str, Any]]:
    """The notebook's declared parameters: ``{name: {inferred_type_name, default, help}}``."""
    p = Path(path)
    if not p.is_file():
        raise PipelineError(f"notebook {p} does not exist")
    params = _inspect(str(p), p.stat().st_mtime)
    if not params:
        raise PipelineError(f"notebook {p} has no cell tagged 'parameters'")
    return params


def notebook_code_hash(path: str | Path) -> str:
    """Hash of the notebook's code cells only, so re-saving outputs or markdown does not rerun it."""
    nb = nbformat.read(str(path), as_version=4)
    return hash_obj([c.source for c in nb.cells if c.cell_type == "code"])


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, (list, tuple)),
    "dict": lambda v: isinstance(v, dict),
}


def _check_type(stage: str, name: str, value: Any, spec: dict[str, Any]) -> None:
    tname = (spec.get("inferred_type_name") or "").strip()
    check = _TYPE_CHECKS.get(tname.split("[")[0].lower())
    if check is not None and value is not None and not check(value):
        raise PipelineError(f"stage '{stage}': parameter {name!r} must be {tname}, got {value!r} ({type(value).__name__})")


def resolve_params(profile: Profile, stage: Stage, declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The parameters papermill injects into ``stage``'s notebook."""
    own = profile.stages.get(stage.name, {})
    for key in own:
        if key in RESERVED_PARAMS:
            raise PipelineError(f"profile {profile.path}: stage '{stage.name}' sets {key!r}, which the runner sets itself")
        if key not in declared:
            valid = ", ".join(k for k in declared if k not in RESERVED_PARAMS)
            raise PipelineError(f"profile {profile.path}: stage '{stage.name}' has no parameter {key!r} "
                                f"(notebook {stage.notebook}); valid parameters: {valid}")
    params = {k: v for k, v in profile.shared.items() if k in declared}
    params.update(own)
    if "run_dir" in declared:
        params["run_dir"] = str(profile.run_dir)
    for k, v in params.items():
        _check_type(stage.name, k, v, declared[k])
    return params


def plan(profile: Profile, only: Iterable[str] | None = None) -> list[StagePlan]:
    """Validate a profile against the notebooks and return the stages to consider, in order.

    Args:
        profile: the loaded profile.
        only: restrict to these stage names (they must be in the profile).
    """
    names = profile.stage_names()
    if only:
        only = list(only)
        for n in only:
            get_stage(n)  # unknown names raise with the list of known ones
            if n not in names:
                raise PipelineError(f"stage '{n}' is not in profile '{profile.name}' (its stages: {', '.join(names)})")
        selected = [n for n in names if n in only]
    else:
        selected = names
    nb_dir = notebooks_dir()
    plans: dict[str, StagePlan] = {}
    declared_anywhere: set[str] = set()
    for name in names:  # validate every stage of the profile, not only the selected ones
        stage = get_stage(name)
        nb = nb_dir / stage.notebook
        if not nb.is_file():
            raise PipelineError(f"stage '{name}' needs notebook {nb}, which does not exist")
        declared = notebook_parameters(nb)
        if "run_dir" not in declared:
            raise PipelineError(f"notebook {nb} must declare a 'run_dir' parameter")
        declared_anywhere.update(declared)
        params = resolve_params(profile, stage, declared)
        plans[name] = StagePlan(stage, nb, params, declared, profile.run_dir / name)
    unused = [k for k in profile.shared if k not in declared_anywhere]
    if unused:
        raise PipelineError(f"profile {profile.path}: shared parameter(s) {unused} are declared by none of its stages' "
                            f"notebooks; remove them or fix the spelling")
    for name in selected:
        for need in plans[name].stage.needs:
            if need in selected:
                continue
            m = read_manifest(profile.run_dir / need)
            if not m or m.get("status") != "complete":
                raise PipelineError(f"stage '{name}' needs stage '{need}', which is not selected and has not completed "
                                    f"in {profile.run_dir}; add it to the profile or to --stages")
    return [plans[n] for n in selected]


def _upstream(profile: Profile, stage: Stage) -> dict[str, str]:
    """Identity of the upstream stages' last complete runs (fingerprint + finish time)."""
    out = {}
    for dep in stage.needs + stage.uses:
        m = read_manifest(profile.run_dir / dep)
        if m and m.get("status") == "complete":
            out[dep] = f"{m.get('fingerprint')}@{m.get('finished')}"
    return out


def _fingerprint(p: StagePlan, upstream: dict[str, str]) -> str:
    params = {k: v for k, v in p.params.items() if k not in RESERVED_PARAMS}
    return hash_obj({"notebook": notebook_code_hash(p.notebook), "params": params, "upstream": upstream})


def skip_reason(p: StagePlan, fingerprint: str) -> str | None:
    """Why the stage can be skipped, or None when it must run."""
    m = read_manifest(p.stage_dir)
    if not m or m.get("status") != "complete":
        return None
    if m.get("fingerprint") != fingerprint:
        return None
    if inputs_changed(m.get("inputs", {})):
        return None
    return f"unchanged since {m.get('finished')}"


def _why_run(p: StagePlan, fingerprint: str, force: bool) -> str:
    m = read_manifest(p.stage_dir)
    if force:
        return "forced"
    if not m:
        return "first run"
    if m.get("status") != "complete":
        return f"previous run {m.get('status')}; resuming"
    if m.get("fingerprint") != fingerprint:
        return "notebook, parameters or upstream stages changed"
    changed = inputs_changed(m.get("inputs", {}))
    return f"input changed: {changed[0]}" if changed else "changed"


def _execute(p: StagePlan, out_nb: Path, log_output: bool, progress: bool) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .progress import follow

    try:
        with follow(p.stage_dir):  # the stage's own progress lines (training steps, batches) while its cells run
            papermill.execute_notebook(str(p.notebook), str(out_nb), parameters=p.params, kernel_name="python3",
                                       progress_bar=progress, log_output=log_output, cwd=str(p.stage_dir),
                                       request_save_on_cell_execute=True,
                                       # the kernel's own log (transport warnings, the interrupt at shutdown) is
                                       # noise in the runner's output; cell errors still reach the notebook
                                       extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as exc:
        raise StageFailed(p.stage.name, out_nb, f"{exc.ename}: {exc.evalue}") from None


def export_html(executed: Path, out: Path) -> Path:
    """Write an executed notebook as a standalone HTML page (code hidden by nothing; figures inlined)."""
    from nbconvert import HTMLExporter

    tl = logging.getLogger("traitlets")
    level = tl.level
    tl.setLevel(logging.ERROR)  # nbconvert warns about figures without alt text: not actionable for generated plots
    try:
        body, _ = HTMLExporter().from_filename(str(executed))
    finally:
        tl.setLevel(level)
    from .utils import atomic_write_text

    return atomic_write_text(out, body)


def _base_model_provenance(params: dict[str, Any]) -> dict[str, Any] | None:
    """What the stage's ``model`` parameter resolved to (directory, GGUF file hash, tiny recipe), if it has one.

    The base model exists once the stage has run (it built or converted it), so this only reads the cache.
    """
    if "model" not in params:
        return None
    from .models import model_provenance

    try:
        return model_provenance(params["model"], params.get("cache_dir") or None, params.get("seed", 0))
    except Exception as exc:  # provenance must never fail a completed stage
        return {"ref": params["model"], "error": str(exc)}


def run(profile: Profile, only: Iterable[str] | None = None, force: bool = False, dry_run: bool = False,
        log_output: bool = False, progress: bool = True, echo: Callable[[str], None] = print) -> list[StagePlan]:
    """Run (or, with ``dry_run``, only validate and print) a profile's stages.

    Returns the plans with their status: ``skipped``, ``done`` or ``planned`` (dry run).
    Raises :class:`StageFailed` naming the stage and its executed notebook when a stage fails.
    """
    plans = plan(profile, only)
    echo(f"profile '{profile.name}' ({profile.path.name}) -> run directory {profile.run_dir}")
    if profile.description:
        echo(f"  {profile.description}")
    if dry_run:
        for i, p in enumerate(plans, 1):
            m = read_manifest(p.stage_dir)
            state = m.get("status") if m else "not run"
            echo(f"[{i}/{len(plans)}] {p.stage.name:<13} {p.stage.notebook:<27} ({state})")
            for k, v in p.params.items():
                if k != "run_dir":
                    echo(f"      {k} = {v!r}")
            p.status = "planned"
        echo("dry run: parameters valid; nothing executed")
        return plans
    profile.run_dir.mkdir(parents=True, exist_ok=True)
    write_json(profile.run_dir / "run.json", {
        "profile": profile.name, "profile_path": str(profile.path), "description": profile.description,
        "shared": profile.shared, "stages": profile.stages, "selected": [p.stage.name for p in plans],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions(),
    })
    total = time.perf_counter()
    for i, p in enumerate(plans, 1):
        upstream = _upstream(profile, p.stage)
        fp = _fingerprint(p, upstream)
        p.fingerprint = fp
        tag = f"[{i}/{len(plans)}] {p.stage.name}"
        reason = None if force else skip_reason(p, fp)
        if reason:
            p.status, p.reason = "skipped", reason
            echo(f"{tag}: skipped ({reason}; --force to redo)")
            continue
        why = _why_run(p, fp, force)
        echo(f"{tag}: running {p.stage.notebook} ({why})")
        p.stage_dir.mkdir(parents=True, exist_ok=True)
        out_nb = p.stage_dir / p.stage.notebook
        started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        manifest = {"stage": p.stage.name, "title": p.stage.title, "status": "running", "fingerprint": fp,
                    "params": p.params, "upstream": upstream, "notebook": str(p.notebook),
                    "executed_notebook": str(out_nb), "started": started, "versions": versions()}
        write_manifest(p.stage_dir, manifest)
        t0 = time.perf_counter()
        try:
            _execute(p, out_nb, log_output, progress)
        except StageFailed as exc:
            manifest.update(status="failed", error=exc.cause, seconds=round(time.perf_counter() - t0, 2))
            write_manifest(p.stage_dir, manifest)
            p.status = "failed"
            raise
        except KeyboardInterrupt:
            manifest.update(status="interrupted", seconds=round(time.perf_counter() - t0, 2))
            write_manifest(p.stage_dir, manifest)
            echo(f"{tag}: interrupted; completed stages are kept, rerun the same command to resume")
            raise
        if p.stage.html_report:
            export_html(out_nb, p.stage_dir / "report.html")
        p.seconds = time.perf_counter() - t0
        rec = read_stage_outputs(p.stage_dir) or {}
        manifest.update(status="complete", finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        seconds=round(p.seconds, 2), outputs=rec.get("outputs", {}),
                        inputs=rec.get("inputs", {}), timings=rec.get("timings", {}),
                        base_model=_base_model_provenance(p.params))
        write_manifest(p.stage_dir, manifest)
        p.status = "done"
        echo(f"{tag}: done in {p.seconds:.1f}s -> {p.stage_dir}")
    echo(f"finished in {time.perf_counter() - total:.1f}s: "
         + ", ".join(f"{p.stage.name} {p.status}" for p in plans))
    return plans


def status(profile: Profile) -> list[dict[str, Any]]:
    """One row per stage of the profile: status, finish time, duration."""
    rows = []
    for name in profile.stage_names():
        m = read_manifest(profile.run_dir / name) or {}
        rows.append({"stage": name, "status": m.get("status", "not run"), "finished": m.get("finished", ""),
                     "seconds": m.get("seconds", "")})
    return rows


__all__ = ["PipelineError", "StageFailed", "ProfileError", "plan", "run", "status", "notebook_parameters", "STAGES"]
