"""Helpers the notebooks call at their start: inputs present, the run's parameters, logging, threads, seeds, style.

A notebook opened by hand is the same experiment as the runner's: :func:`require_inputs`, the first call of every
notebook, also hands the notebook's parameters to :func:`run_parameters`, which replaces the values the parameters
cell left at their defaults by the ones the last pipeline run of that stage in ``run_dir`` used
(``<run_dir>/<stage>/manifest.json``, ``params``), and prints where each value came from; without such a run it lists
the parameters on which the notebook differs from the run directory's profile. Under the runner (``RLHF_TRUST_RUN_ID``
set: papermill has injected the profile's parameters) nothing is touched.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any, MutableMapping

from .manifest import RUN_ID_ENV, read_manifest, read_stage_outputs
from .params import NOTEBOOK_ONLY, OVERRIDES, build_config, config_fields, load_config_class
from .paths import notebooks_dir, resolve_run_dir
from .planning import notebook_parameters, resolve_params
from .profiles import list_profiles, load_profile
from .stages import STAGE_NAMES, Stage, get_stage
from .style import apply_style
from .utils import read_json, set_seed, set_threads


def _say_how_results_are_kept() -> None:
    """Outside ``rlhf-trust run`` say where this notebook's results go and how the pipeline will treat them."""
    if os.environ.get(RUN_ID_ENV):
        return
    logging.getLogger("trust_utils").info(
        "running outside `rlhf-trust run`: this notebook writes into its run_dir like the pipeline does, and marks its "
        "outputs.json 'interactive'; the next `rlhf-trust run` of that profile sees the change and redoes this stage "
        "and the stages after it. Set run_dir to a directory of your own to keep the pipeline's results untouched.")


def setup_notebook(seed: int = 0, threads: int = 0, level: int = logging.INFO) -> int:
    """Route the package's log to the notebook output, seed everything, fix the thread count, set the plot style.

    The style comes with matplotlib's backend resolved here, before any ``rc_context``: resolved inside one, the
    kernel shows no figure after the first (:func:`trust_utils.style.resolve_backend`).

    Returns the torch thread count in force.
    """
    logger = logging.getLogger("trust_utils")
    if not any(getattr(h, "_rlhf_trust", False) for h in logger.handlers):
        h = logging.StreamHandler(sys.stdout)
        h.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        h._rlhf_trust = True  # type: ignore[attr-defined]
        logger.addHandler(h)
    logger.setLevel(level)
    try:  # without ipywidgets tqdm falls back to text bars; its warning about that is noise in every notebook
        import warnings

        from tqdm import TqdmExperimentalWarning, TqdmWarning

        warnings.filterwarnings("ignore", category=TqdmWarning)
        warnings.filterwarnings("ignore", category=TqdmExperimentalWarning)
    except ImportError:  # pragma: no cover
        pass
    _say_how_results_are_kept()
    set_seed(seed)
    n = set_threads(threads)
    try:
        apply_style()  # the one theme of every figure, and the backend resolved (trust_utils.style)
    except ImportError:  # pragma: no cover
        pass
    return n


def config_from_params(config_cls, namespace: dict, *, keep_default: tuple[str, ...] = (),
                       error: type[Exception] = ValueError, **fixed):
    """Build a stage's config dataclass from the notebook's parameters (its ``globals()``).

    Values: the dataclass defaults, then every field the notebook's parameters cell sets, then the cell's
    ``overrides`` dict (any other field; ``rlhf-trust params <stage>`` lists them), then ``fixed``. An override that is
    not a field is an error naming the valid ones; names in the cell that are not fields (``run_dir`` where it is not
    one, display-only knobs) are notebook-only parameters and are ignored here (see :mod:`trust_utils.params`).

    Args:
        config_cls: the stage's config dataclass.
        namespace: where the parameters live (the notebook's ``globals()``).
        keep_default: fields that keep their defaults even if the namespace has a value of that name.
        error: exception type raised for bad overrides or a missing required field.
        **fixed: fields set by the notebook itself rather than by a parameter (e.g. ``progress=False``).
    """

    return build_config(config_cls, namespace, error=error, keep_default=keep_default, **fixed)


class MissingInputs(FileNotFoundError):
    """A notebook was opened before the stages it needs have run; the message names the command that runs them."""


def _stage_done(run_dir, name: str) -> bool:
    """A stage counts as done when the pipeline recorded it complete, a notebook run left its ``outputs.json``, or (a
    vertical) its ``results/<name>.csv`` is there."""

    d = resolve_run_dir(run_dir) / name
    m = read_manifest(d)
    if bool(m and m.get("status") == "complete") or read_stage_outputs(d) is not None:
        return True
    # a vertical's output is its results table: one copied in (or written by another tool) counts as well
    return (resolve_run_dir(run_dir) / "results" / f"{name}.csv").is_file()


def run_profile(run_dir) -> tuple[str, bool]:
    """``(profile name, recorded)``: the ``profile`` of ``<run_dir>/run.json`` (recorded), else a guess from the
    run directory's name when a profile of that name exists (``runs/tiny`` -> ``tiny``), else ``default``."""

    rd = resolve_run_dir(run_dir)
    rj = rd / "run.json"
    if rj.is_file():
        name = read_json(rj).get("profile")
        if name:
            return str(name), True
    known = list_profiles()
    return (rd.name if rd.name in known else "default"), False


def inputs_command(run_dir, stages: list[str], profile: str) -> str:
    """The ``rlhf-trust run`` command that runs ``stages`` for ``profile`` into ``run_dir``.

    ``--run-dir`` is added unless ``run_dir`` is the profile's own run directory.
    """

    cmd = f"rlhf-trust run --profile {profile} --stages {','.join(stages)}"
    try:
        own = load_profile(profile).run_dir
    except Exception:  # noqa: BLE001 - an unreadable profile only means we cannot tell; say --run-dir
        own = None
    if own is None or resolve_run_dir(own) != resolve_run_dir(run_dir):
        cmd += f" --run-dir {run_dir}"
    return cmd


def require_inputs(run_dir, stage: str, namespace: MutableMapping[str, Any] | None = None) -> list[str]:
    """Fail early, with the command to run, when ``stage``'s inputs are not in ``run_dir``; then, outside the runner,
    give the notebook the run's parameters (:func:`run_parameters`).

    ``namespace`` is the notebook's parameters (its ``globals()``); by default the caller's globals when the caller
    is an interactive ``__main__`` (a notebook kernel's cell), so every notebook gets the run's parameters through
    the call it already makes. Called from any other module (a test, a library) nothing is applied.

    A stage's hard inputs are its registry ``needs`` (:mod:`trust_utils.stages`), and those stages' own needs: all
    must be done (pipeline manifest ``complete``, or an interactive run's ``outputs.json``). The analysis stage has
    no hard needs but is useless without at least one of its ``uses`` (the verticals' results), so for stages that
    are not verticals and have no needs, "none of ``uses`` done" is missing input too. The verticals only *use*
    trained checkpoints (missing ones are skipped; ``base`` is always there): a note is logged, nothing raised.

    The command names the profile recorded in ``<run_dir>/run.json``, else one guessed from ``run_dir``'s name.

    Returns the used-but-missing stages (logged). Raises :class:`MissingInputs`.
    """

    st = get_stage(stage)
    needed: list[str] = []
    todo = list(st.needs)
    while todo:  # the needs of the needs: `ppo` needs `sft`, which needs `data`
        n = todo.pop(0)
        if n not in needed:
            needed.append(n)
            todo.extend(get_stage(n).needs)
    needed = [n for n in STAGE_NAMES if n in needed]  # run order
    missing = [n for n in needed if not _stage_done(run_dir, n)]
    used_missing = [n for n in st.uses if not _stage_done(run_dir, n)]
    profile, recorded = run_profile(run_dir)
    how = "" if recorded else f" (profile guessed from the run directory's name; no {run_dir}/run.json)"
    if not missing and not st.needs and st.uses and "vertical" not in st.tags and len(used_missing) == len(st.uses):
        missing = list(st.uses)
    if missing:
        # run every missing stage and what it needs itself, in run order
        run = [n for n in STAGE_NAMES if n in missing or (n in needed and not _stage_done(run_dir, n))]
        raise MissingInputs(
            f"{st.notebook} needs the output of stage(s) {', '.join(missing)}, not found in run_dir={run_dir!r}. "
            f"Prepare them with:\n    {inputs_command(run_dir, run, profile)}\n{how.strip()}".rstrip())
    if used_missing:
        logging.getLogger("trust_utils").info(
            "%s: stage(s) %s not in %s yet; they are skipped here (run them with `%s`)%s", st.notebook,
            ", ".join(used_missing), run_dir, inputs_command(run_dir, list(used_missing), profile), how)
    if namespace is None:
        caller = sys._getframe(1).f_globals  # the notebook's cell runs in the kernel's __main__ namespace
        namespace = caller if caller.get("__name__") == "__main__" else None
    if namespace is not None:
        report = run_parameters(run_dir, stage, namespace)
        if str(report):
            print(report)
    return used_missing


# ------------------------------------------------------------------------------------------ the run's parameters
def _same(a: Any, b: Any) -> bool:
    """Equal as the runner records values (JSON): a tuple default and the list a profile gives are the same."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def notebook_defaults(stage: Stage) -> dict[str, Any]:
    """The values a stage's notebook runs with when nothing is set: its config's field defaults (the parameters cell
    is generated from them, :func:`trust_utils.params.parameters_cell`) and its notebook-only parameters' defaults."""
    out: dict[str, Any] = {}
    if stage.config:
        out.update({k: f["default"] for k, f in config_fields(load_config_class(stage.config)).items()})
    out.update({k: d for k, (_t, d, _h) in NOTEBOOK_ONLY.get(stage.name, {}).items()})
    return out


def _in_force(namespace: MutableMapping[str, Any], name: str, defaults: dict[str, Any]) -> tuple[Any, str]:
    """The value the notebook's config would get for ``name`` and where it is set: ``overrides`` wins over the cell
    (:func:`trust_utils.params.build_config`), the default applies when neither sets it."""
    overrides = namespace.get(OVERRIDES) or {}
    if name in overrides:
        return overrides[name], "overrides"
    if name in namespace:
        return namespace[name], "cell"
    return defaults.get(name), "default"


@dataclass
class RunParameters:
    """What :func:`run_parameters` did to a notebook opened by hand.

    With a recorded run: ``taken``: name -> (the run's value, now in force; the notebook default it replaced);
    ``kept``: name -> (your value, kept; the value the run used); ``into_overrides``: the taken names set in
    ``overrides`` (the cell has no variable for them); ``run_dir_from``: the cell's spelling of ``run_dir`` when it was
    replaced by the run's spelling of the same directory. Without one: ``differs``: name -> (the notebook's value;
    the value the run directory's profile gives); ``paste``: the profile's values as lines for the parameters cell.
    ``source`` says where the values compared came from; ``note`` what was found when nothing was taken.
    """

    stage: str
    source: str = ""
    taken: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    kept: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    differs: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    into_overrides: list[str] = field(default_factory=list)
    run_dir_from: str = ""
    paste: str = ""
    note: str = ""

    def __str__(self) -> str:
        if not self.source:
            return self.note
        nb = get_stage(self.stage).notebook
        w = max(map(len, [*self.taken, *self.kept, *self.differs]), default=0)
        lines = []
        if self.differs or not self.taken and not self.kept and self.note:
            lines.append(f"Parameters of {nb}: {self.note}")
            if self.differs:
                lines += [f"  {k:<{w}}  notebook {v[0]!r}, profile {v[1]!r}" for k, v in self.differs.items()]
            if self.paste:
                lines.append(f"The profile's values, to paste at the end of the parameters cell:\n{self.paste}")
            return "\n".join(lines)
        same = "the same experiment as that run" if not self.kept else "that run but for the values kept below"
        lines.append(f"Parameters of {nb}, opened by hand: the values of the last run of stage '{self.stage}' "
                     f"({self.source}) replace the notebook's defaults, so this is {same}.")
        if self.run_dir_from:
            lines.append(f"  run_dir spelled as the run did (the same directory as {self.run_dir_from!r}), so a "
                         f"trained model the run saved is reused, not retrained")
        lines += [f"  {k:<{w}} = {v!r:<12} from the run{' (into overrides)' if k in self.into_overrides else ''}, "
                  f"notebook default {d!r}" for k, (v, d) in self.taken.items()]
        if self.kept:
            lines.append("Kept as set in this notebook (the run used another value; the results will differ):")
            lines += [f"  {k:<{w}} = {v!r:<12} yours (the run: {r!r})" for k, (v, r) in self.kept.items()]
        if not self.taken and not self.kept:
            lines.append("  every parameter already equals the run's")
        return "\n".join(lines)


def run_parameters(run_dir, stage: str, namespace: MutableMapping[str, Any]) -> RunParameters:
    """Give a notebook opened by hand the parameters of the run it reads and writes.

    When ``<run_dir>/<stage>/manifest.json`` records the parameters the runner resolved for the stage (``params``),
    every one the notebook left at its default is set to the run's value in ``namespace``: in the cell's variable
    when the cell has one, else in its ``overrides`` dict. Values the notebook sets otherwise (edited in the cell or
    in ``overrides``) are kept and listed. Without a recorded run nothing is changed: the parameters on which the
    notebook differs from the profile of ``run_dir`` (recorded in ``run.json``, else guessed from its name) are
    listed with the command that runs the profile's stage. Under the runner (``RLHF_TRUST_RUN_ID`` set) nothing is
    done: papermill injected the profile's values.
    """
    st = get_stage(stage)
    if os.environ.get(RUN_ID_ENV):
        return RunParameters(stage, note="")
    defaults = notebook_defaults(st)
    manifest = read_manifest(resolve_run_dir(run_dir) / stage) or {}
    recorded = manifest.get("params")
    if isinstance(recorded, dict) and recorded:
        return _take_recorded(RunParameters(stage, source=f"{run_dir}/{stage}/manifest.json, status "
                                                         f"{manifest.get('status', '?')}"),
                              recorded, namespace, defaults)
    name, recorded_name = run_profile(run_dir)
    how = "recorded in run.json" if recorded_name else "guessed from the run directory's name"
    rep = RunParameters(stage, source=f"profile {name!r} ({how})")
    where = f"no run of stage '{stage}' in {run_dir} (no {stage}/manifest.json)"
    try:
        profile = load_profile(name, run_dir)
        if stage not in profile.stages:
            rep.note = f"{where}, and its {rep.source} does not run it; the notebook's own values apply."
            return rep
        params = resolve_params(profile, st, notebook_parameters(notebooks_dir() / st.notebook))
    except Exception as exc:  # noqa: BLE001 - only advice: an unreadable profile must not stop the notebook
        rep.note = f"{where}; its {rep.source} cannot be read: {exc}"
        return rep
    return _compare_profile(rep, where, params, inputs_command(run_dir, [stage], name), namespace, defaults)


def _take_recorded(rep: RunParameters, recorded: dict[str, Any], namespace: MutableMapping[str, Any],
                   defaults: dict[str, Any]) -> RunParameters:
    rd = recorded.get("run_dir")
    if isinstance(rd, str) and isinstance(namespace.get("run_dir"), str) and rd != namespace["run_dir"] \
            and resolve_run_dir(rd) == resolve_run_dir(namespace["run_dir"]):
        # the same directory spelled as the runner did (absolute): a training stage's reuse key hashes its settings,
        # run_dir included, so 'runs/course' would retrain the model the run saved under '/.../runs/course'
        rep.run_dir_from = namespace["run_dir"]
        namespace["run_dir"] = rd
    for k, v in recorded.items():
        if k == "run_dir":
            continue
        current, where = _in_force(namespace, k, defaults)
        if _same(current, v):
            continue
        if where == "overrides" or (where == "cell" and not _same(current, defaults.get(k))):
            rep.kept[k] = (current, v)
        elif k in namespace or k not in defaults:
            namespace[k] = v
            rep.taken[k] = (v, defaults.get(k))
        else:  # a config field the cell does not show: the runner passed it in overrides, so do we
            namespace[OVERRIDES] = {**(namespace.get(OVERRIDES) or {}), k: v}
            rep.taken[k] = (v, defaults.get(k))
            rep.into_overrides.append(k)
    for k, d in defaults.items():  # set here, left at its default by the run
        current, set_in = _in_force(namespace, k, defaults)
        if k != "run_dir" and k not in recorded and set_in != "default" and not _same(current, d):
            rep.kept[k] = (current, d)
    return rep


def _compare_profile(rep: RunParameters, where: str, params: dict[str, Any], command: str,
                     namespace: MutableMapping[str, Any], defaults: dict[str, Any]) -> RunParameters:
    """List where the notebook's values differ from ``params``, the profile's resolved parameters for the stage
    (``where``: no recorded run, and where it was looked for; ``command``: the one that runs the profile's stage)."""
    for k, v in params.items():
        current, _ = _in_force(namespace, k, defaults)
        if k != "run_dir" and not _same(current, v):
            rep.differs[k] = (current, v)
    for k, d in defaults.items():  # set in the notebook where the profile keeps the default
        current, set_in = _in_force(namespace, k, defaults)
        if k != "run_dir" and k not in params and set_in != "default" and not _same(current, d):
            rep.differs[k] = (current, d)
    if rep.differs:
        cell = {k: v for k, (_mine, v) in rep.differs.items() if k in namespace}
        over = {**(namespace.get(OVERRIDES) or {}),
                **{k: v for k, (_mine, v) in rep.differs.items() if k not in namespace}}
        lines = [f"{k} = {v!r}" for k, v in cell.items()]
        rep.paste = "\n".join(lines + ([f"{OVERRIDES} = {over!r}"] if over else []))
        rep.note = (f"{where}, so nothing is taken from a run; this notebook's values differ from those of "
                    f"{rep.source} on the parameters below. For the profile's experiment set them in the parameters "
                    f"cell (names not in it go in `overrides`), or run `{command}`.")
    else:
        rep.note = f"{where}; this notebook's values equal those of {rep.source}."
    return rep
