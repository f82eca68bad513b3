"""The pipeline runner: executes the stage notebooks of a profile in order with papermill.

For each stage the runner
1. resolves its parameters (profile ``shared`` keys the stage has + the stage's own section + ``run_dir``) and
   checks them, for every stage before anything runs, against the stage's config dataclass (its fields and their
   annotated types: :mod:`trust_utils.params`) and the names its notebook's ``parameters`` cell declares; keys the
   cell declares are injected directly, the others packed into the cell's ``overrides`` dict. A stage without a
   config class is checked against its notebook cell alone;
2. computes a fingerprint of five parts — the notebook's code cells, the parameters, the upstream
   stages' runs, the source of the ``trust_utils`` modules the notebook can run
   (:mod:`trust_utils.codehash`) and the tracked library versions (and a sixth, the profile's ``kernels`` mode, when
   it is not ``native``: :mod:`trust_utils.kernel_modes`) — and skips the stage when its
   last run completed with the same fingerprint, the input files it recorded are unchanged and its
   ``outputs.json`` was written by that same pipeline run, and the outputs it recorded (its ``model/``, its
   ``records/``, its results table, the files its ``outputs.json`` names) are all there with the content hashes
   recorded when it completed (``force`` redoes it): deleting an output and rerunning redoes its stage;
3. executes the notebook into ``<run_dir>/<stage>/<notebook>`` and writes ``manifest.json``
   (with the fingerprint's parts and the outputs' hashes, so ``rlhf-trust status`` can say *why* a stage is stale).

One run per directory: a run holds ``<run_dir>/.lock`` (:mod:`trust_utils.runlock`) from before its first stage to
its end; a second run of the directory is refused naming the holder, the lock of a dead run is taken over. A stage
whose manifest says ``running`` while no run holds the lock was interrupted (``rlhf-trust status`` says so).

Interactive runs: the runner gives each execution an id (environment variable ``RLHF_TRUST_RUN_ID``, read by
:func:`trust_utils.manifest.write_stage_outputs`). A notebook executed by hand in JupyterLab writes its outputs into the
same run directory marked ``interactive``; the next pipeline run sees that the outputs are not the ones its manifest
recorded and redoes the stage (and, since its upstream identity changed, the stages after it).

A failing stage stops the run with an error naming the stage and the executed notebook; the
stages before it stay complete, so the next run resumes at the failed stage.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from .codehash import code_hash, stage_code
from .kernel_modes import DEFAULT_KERNELS, active_kernel_mode, kernel_mode_env
from .kernels import kernel_environment
from .manifest import (
    declared_outputs,
    hash_outputs,
    inputs_changed,
    outputs_changed,
    read_manifest,
    read_stage_outputs,
    versions,
    write_manifest,
)
from .models import model_provenance
from .params import config_fields
from .paths import notebooks_dir
from .planning import (
    RESERVED_PARAMS,
    PipelineError,
    StageFailed,
    StagePlan,
    _echo_checkpoints,
    _inspect,
    _prepare_checkpoints,
    check_checkpoints,
    checkpoint_plan,
    code_cells,
    injected_params,
    notebook_code_hash,
    notebook_parameters,
    resolve_params,
    stage_config_class,
    upstream_stages,
)
from .profiles import Profile
from .progress import follow
from .runlock import RunLock, RunLocked, holder
from .stages import Stage, get_stage
from .utils import atomic_write_text, hash_obj, write_json

log = logging.getLogger(__name__)

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
        cls = stage_config_class(stage, declared)
        if cls is not None:
            declared_anywhere.update(config_fields(cls))
        params = resolve_params(profile, stage, declared)
        plans[name] = StagePlan(stage, nb, params, declared, profile.run_dir / name, kernels=profile.kernels)
    unused = [k for k in profile.shared if k not in declared_anywhere]
    if unused:
        raise PipelineError(f"profile {profile.path}: shared parameter(s) {unused} are parameters of none of its stages "
                            f"(config fields or notebook cells); remove them or fix the spelling")
    check_checkpoints(profile, plans.values())
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
    """Identity of the upstream stages' last complete runs (fingerprint, finish time, id of the run that wrote
    their outputs — so outputs rewritten by hand count as a change)."""
    out = {}
    for dep in upstream_stages(profile, stage):
        m = read_manifest(profile.run_dir / dep)
        if m and m.get("status") == "complete":
            rec = read_stage_outputs(profile.run_dir / dep) or {}
            out[dep] = f"{m.get('fingerprint')}@{m.get('finished')}/{rec.get('run_id', '')}"
    return out


def fingerprint_parts(p: StagePlan, upstream: dict[str, str]) -> dict[str, Any]:
    """The five things a stage's result depends on besides its input files (see the module docstring)."""

    cells = code_cells(p.notebook)
    params = {k: v for k, v in p.params.items() if k not in RESERVED_PARAMS}
    code = stage_code(cells)
    p.extra["code_files"] = code
    parts = {"notebook": hash_obj(cells), "params": hash_obj(params), "upstream": upstream,
             "code": code_hash(code), "versions": hash_obj(versions())}
    # the kernel mode the stage's kernel will compute in; native adds nothing, so older runs stay up to date
    mode = active_kernel_mode({**os.environ, **kernel_mode_env(p.kernels)})
    return parts if mode == DEFAULT_KERNELS else {**parts, "kernels": mode}


def _fingerprint(p: StagePlan, upstream: dict[str, str]) -> str:
    parts = fingerprint_parts(p, upstream)
    p.extra["fingerprint_parts"] = parts
    return hash_obj(parts)


def stale_reasons(p: StagePlan, parts: dict[str, Any]) -> list[str]:
    """Why a completed stage's last run does not hold any more (empty: it is up to date)."""
    m = read_manifest(p.stage_dir)
    if not m or m.get("status") != "complete":
        return []
    old = m.get("fingerprint_parts")
    reasons: list[str] = []
    if old is None:
        if m.get("fingerprint") != hash_obj(parts):
            reasons.append("fingerprint from an older runner (no parts recorded)")
    else:
        names = {"notebook": "notebook code", "params": "parameters", "upstream": "upstream stages",
                 "code": "package code", "versions": "library versions", "kernels": "kernel mode"}
        for key, label in names.items():
            if old.get(key) != parts.get(key):
                if key == "upstream":
                    deps = sorted(d for d in set(old.get(key, {})) | set(parts.get(key, {}))
                                  if old.get(key, {}).get(d) != parts.get(key, {}).get(d))
                    label = f"upstream stages ({', '.join(deps)})"
                elif key == "code":
                    was, now = m.get("code_files", {}), p.extra.get("code_files", {})
                    files = sorted(f for f in set(was) | set(now) if was.get(f) != now.get(f))
                    if files:
                        label = f"package code ({', '.join(files[:4])}{', ...' if len(files) > 4 else ''})"
                reasons.append(label)
    changed = inputs_changed(m.get("inputs", {}))
    if changed:
        reasons.append(f"input changed: {changed[0]}")
    rec = read_stage_outputs(p.stage_dir)
    if rec is not None and rec.get("run_id") != m.get("run_id"):
        reasons.append(f"outputs rewritten outside this pipeline run ({rec.get('run_id') or 'no run id'})")
    reasons += outputs_changed(p.stage_dir.parent, m.get("output_hashes") or {})
    return reasons


def _record_outputs(p: StagePlan, summary: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The content hashes of what the completed stage produced (:func:`trust_utils.manifest.declared_outputs`)."""
    paths = declared_outputs(p.stage_dir, p.stage_dir.parent / "results" / f"{p.stage.name}.csv", summary,
                             p.stage.notebook)
    return hash_outputs(p.stage_dir.parent, paths)


def skip_reason(p: StagePlan, fingerprint: str) -> str | None:
    """Why the stage can be skipped, or None when it must run."""
    m = read_manifest(p.stage_dir)
    if not m or m.get("status") != "complete":
        return None
    if m.get("fingerprint") != fingerprint:
        return None
    if stale_reasons(p, p.extra.get("fingerprint_parts") or {}):
        return None
    return f"unchanged since {m.get('finished')}"


def _why_run(p: StagePlan, fingerprint: str, force: bool) -> str:
    m = read_manifest(p.stage_dir)
    if force:
        return "forced"
    if not m:
        return "first run"
    if m.get("status") != "complete":
        was = "interrupted" if m.get("status") == "running" else m.get("status")  # the lock is ours: it is dead
        return f"previous run {was}; resuming"
    reasons = stale_reasons(p, p.extra.get("fingerprint_parts") or {})
    # the fingerprint's parts are names ("parameters"); the checks of files say themselves what happened
    said = ("input changed", "output ", "outputs rewritten")
    return "; ".join(r if r.startswith(said) else f"{r} changed" for r in reasons) if reasons else "changed"


def _execute(p: StagePlan, out_nb: Path, log_output: bool, progress: bool, run_id: str = "") -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        # the kernel inherits the run's id and the allocator settings; the stage's own progress lines (training
        # steps, batches) show while its cells run
        with kernel_environment(run_id, p.kernels), follow(p.stage_dir):
            papermill.execute_notebook(str(p.notebook), str(out_nb),
                                       parameters=injected_params(p.stage, p.params, p.declared), kernel_name="python3",
                                       progress_bar=progress, log_output=log_output, cwd=str(p.stage_dir),
                                       request_save_on_cell_execute=True,
                                       # the kernel's own log (transport warnings, the interrupt at shutdown) is
                                       # noise in the runner's output; cell errors still reach the notebook
                                       extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as exc:
        raise StageFailed(p.stage.name, out_nb, f"{exc.ename}: {exc.evalue}") from None


#: The report's page: JupyterLab's template without the scripts it loads from a CDN (require.js, MathJax, mermaid,
#: the widget renderer), so ``report.html`` opens offline and runs no third-party code (math stays TeX text).
REPORT_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
#: What survives sanitising in the report's Markdown and HTML outputs: text markup, headings, lists, links and the
#: tables pandas writes (with their ``<style>`` block); anything else (``<img onerror=...>``, ``<script>``,
#: ``<iframe>``, event attributes, ``javascript:`` links) is escaped and shows as text.
REPORT_TAGS = ("a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div", "dl",
               "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "small", "span",
               "strong", "style", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul")
REPORT_ATTRIBUTES = {"*": ["class", "id", "title"], "a": ["href", "title", "class", "id"],
                     "td": ["class", "id", "colspan", "rowspan"], "th": ["class", "id", "colspan", "rowspan"],
                     "style": ["type"], "table": ["class", "id", "border"]}


def clean_report_html(html: Any) -> str:
    """Sanitise one piece of a report's HTML (bleach): keep :data:`REPORT_TAGS` and :data:`REPORT_ATTRIBUTES`, escape
    the rest (nbconvert's own ``clean_html`` would escape headings and table heads too)."""
    import bleach

    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(html, tags=REPORT_TAGS, attributes=REPORT_ATTRIBUTES, protocols=["http", "https", "mailto"],
                        strip=False, strip_comments=True)


def export_html(executed: Path, out: Path) -> Path:
    """Write an executed notebook as a standalone HTML page (figures inlined) that loads nothing from the network and
    carries no live markup from the values it shows: every Markdown cell and HTML or Markdown output is sanitised
    (:func:`clean_report_html`), JavaScript outputs are dropped, and the page has no script tags
    (:data:`REPORT_TEMPLATE`)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    tl = logging.getLogger("traitlets")
    level = tl.level
    tl.setLevel(logging.ERROR)  # nbconvert warns about figures without alt text: not actionable for generated plots
    try:
        exporter = HTMLExporter(template_name="lab", sanitize_html=True,
                                extra_loaders=[DictLoader({"rlhf_trust_report.html.j2": REPORT_TEMPLATE})],
                                template_file="rlhf_trust_report.html.j2", filters={"clean_html": clean_report_html})
        body, _ = exporter.from_filename(str(executed))
    finally:
        tl.setLevel(level)

    return atomic_write_text(out, body)


def _base_model_provenance(params: dict[str, Any]) -> dict[str, Any] | None:
    """What the stage's ``model`` parameter resolved to (directory, GGUF file hash, tiny recipe), if it has one.

    The base model exists once the stage has run (it built or converted it), so this only reads the cache.
    """
    if "model" not in params:
        return None

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
        _echo_checkpoints(profile, echo)
        echo("dry run: parameters valid; nothing executed")
        return plans
    profile.run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(profile.run_dir, profile.name).acquire(echo):
        _run_locked(profile, plans, force, log_output, progress, echo)
    return plans


def _run_locked(profile: Profile, plans: list[StagePlan], force: bool, log_output: bool, progress: bool,
                echo: Callable[[str], None]) -> None:
    """:func:`run`'s work once it holds the run directory's lock."""
    write_json(profile.run_dir / "run.json", {
        "profile": profile.name, "profile_path": str(profile.path), "description": profile.description,
        "shared": profile.shared, "stages": profile.stages, "selected": [p.stage.name for p in plans],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": versions(), "kernels": profile.kernels,
    })
    _prepare_checkpoints(profile, plans, echo)
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
        run_id = f"pipeline:{p.stage.name}:{time.time_ns():x}"
        manifest = {"stage": p.stage.name, "title": p.stage.title, "status": "running", "fingerprint": fp,
                    "fingerprint_parts": p.extra.get("fingerprint_parts"), "code_files": p.extra.get("code_files"),
                    "run_id": run_id, "params": p.params, "upstream": upstream, "notebook": str(p.notebook),
                    "executed_notebook": str(out_nb), "started": started, "versions": versions(),
                    "kernels": p.kernels}
        write_manifest(p.stage_dir, manifest)
        t0 = time.perf_counter()
        try:
            _execute(p, out_nb, log_output, progress, run_id)
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
                        base_model=_base_model_provenance(p.params),
                        output_hashes=_record_outputs(p, rec.get("outputs", {})))
        write_manifest(p.stage_dir, manifest)
        p.status = "done"
        echo(f"{tag}: done in {p.seconds:.1f}s -> {p.stage_dir}")
    echo(f"finished in {time.perf_counter() - total:.1f}s: "
         + ", ".join(f"{p.stage.name} {p.status}" for p in plans))


def status(profile: Profile) -> list[dict[str, Any]]:
    """One row per stage of the profile: ``done`` / ``stale`` (with why) / ``missing`` / ``failed`` / ``interrupted``
    / ``running (pid N)``, finish time, duration. A stage is ``running`` only while a run holds the directory's lock;
    a ``running`` manifest without one was left by a killed run: ``interrupted``.

    A stage is stale when a rerun would redo it: its parameters, notebook, package code, library versions, input
    files or upstream stages changed, or an upstream stage is itself stale or missing (it will rerun first).
    """
    rows = []
    plans = {p.stage.name: p for p in plan(profile)}
    live = holder(profile.run_dir)
    state: dict[str, str] = {}
    for name in profile.stage_names():
        p = plans[name]
        m = read_manifest(p.stage_dir) or {}
        why: list[str] = []
        if not m:
            st = "missing"
        elif m.get("status") == "running":
            st = f"running (pid {live.pid})" if live else "interrupted"
        elif m.get("status") != "complete":
            st = m.get("status", "unknown")
        else:
            upstream = _upstream(profile, p.stage)
            _fingerprint(p, upstream)
            why = stale_reasons(p, p.extra["fingerprint_parts"])
            pending = [d for d in p.stage.needs + p.stage.uses if d in plans and state.get(d, "").split(" ")[0]
                       in ("stale", "missing", "failed", "interrupted", "running")]
            if pending:
                why.append(f"upstream will rerun ({', '.join(pending)})")
            st = "stale" if why else "done"
        state[name] = st
        rows.append({"stage": name, "status": st, "why": "; ".join(why), "finished": m.get("finished", ""),
                     "seconds": m.get("seconds", "")})
    return rows


# names other modules and the tests use from the runner (defined in trust_utils.planning)
__all__ = ["PipelineError", "StageFailed", "RunLocked", "StagePlan", "RESERVED_PARAMS", "plan", "run", "status", "export_html",
           "fingerprint_parts", "stale_reasons", "skip_reason", "checkpoint_plan", "check_checkpoints", "code_cells",
           "notebook_parameters", "notebook_code_hash", "injected_params", "resolve_params", "stage_config_class",
           "_inspect", "_echo_checkpoints", "_prepare_checkpoints"]
