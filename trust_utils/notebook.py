"""Helpers the notebooks call at their start: logging to the notebook, threads, seeds, plot style."""

from __future__ import annotations

import logging
import sys

from .manifest import RUN_ID_ENV, read_manifest, read_stage_outputs
from .params import build_config
from .paths import resolve_run_dir
from .profiles import list_profiles, load_profile
from .stages import STAGE_NAMES, get_stage
from .style import apply_style
from .utils import read_json, set_seed, set_threads


def _say_how_results_are_kept() -> None:
    """Outside ``rlhf-trust run`` say where this notebook's results go and how the pipeline will treat them."""
    import os


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


def require_inputs(run_dir, stage: str) -> list[str]:
    """Fail early, with the command to run, when ``stage``'s inputs are not in ``run_dir``.

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
    return used_missing
