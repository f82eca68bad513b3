"""What the runner checks before it runs anything: each stage's parameters and the checkpoints it will load.

- **Parameters.** A stage's notebook's ``parameters`` cell is read the way papermill reads it (cached on disk under
  the notebook's content hash), and the profile's values for the stage are checked against the stage's config
  dataclass (its fields and their annotated types, :mod:`trust_utils.params`): an unknown key is refused with the
  valid ones, a renamed one names its new name, a wrong type is refused; then the config is built and its
  ``validate()`` checks the ranges (:func:`validate_config`). Keys the cell declares are injected, the others packed
  into its ``overrides`` dict.
- **Checkpoints.** The names the vertical stages ask for, and every model reference the profile names, are checked
  before any model work (:func:`trust_utils.refs.check_refs`); the runner then writes ``<run_dir>/checkpoints.json``
  (:func:`trust_utils.run.write_checkpoints`) for the stages to read.

Orchestration code (:mod:`trust_utils.pipeline` is its only caller besides the CLI).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Iterable

from .checkpoints import BUILTIN_BY_NAME, CHECKPOINT_ORDER, CheckpointError, path_point_steps
from .params import OVERRIDES, config_fields, load_config_class, rename_message, renamed
from .paths import default_cache_dir
from .profiles import Profile
from .refs import check_ref, check_refs
from .run import RunDirError, run_dir_problem, write_checkpoints
from .stages import ALIGNMENT_STAGES, Stage, seed_of_stage
from .utils import atomic_write_text, hash_file, hash_obj

log = logging.getLogger(__name__)

#: Parameters the runner sets itself; a profile may not set them.
RESERVED_PARAMS = ("run_dir",)


class PipelineError(RuntimeError):
    """The run cannot start or continue; the message says what to fix."""


#: Failures that a rerun of the same command repeats: ``(name, test on "<exception>: <message>", what to do)``.
_FIX_FIRST: tuple[tuple[str, Callable[[str], bool], str], ...] = (
    # a full disk: torch's zip writer reports the short write as "unexpected pos N vs M", the OS as ENOSPC
    ("disk", lambda c: "No space left on device" in c or "unexpected pos" in c or "[Errno 28]" in c,
     "a write stopped short, as it does on a full disk: free space on the run directory's disk (`rlhf-trust clean "
     "--profile <profile>` reports and drops caches; a run's training checkpoints hold optimizer states), then "
     "rerun the same command: the stage resumes from its last complete checkpoint"),
    ("data file", lambda c: c.startswith(("DataFileError:", "UnicodeDecodeError:", "JSONDecodeError:")),
     "a data or record file is damaged or missing (named above): restore it from its source, or, if this run "
     "wrote it, delete it: the next run redoes the stage that writes it (or rerun with --force)"),
    ("results table", lambda c: "missing result columns" in c,
     "a results table lacks columns (named above): delete it and rerun, which redoes the vertical that writes "
     "it, or rerun that vertical with --force (`rlhf-trust run --stages <vertical> --force`)"),
    ("model", lambda c: c.startswith(("ModelLoadError:", "SafetensorError:", "HeaderTooLarge")) or
     "safetensors" in c.lower() or "Error while deserializing" in c,
     "a model's weights cannot be read (named above): delete that model directory and rerun, which redoes the "
     "stage that trains it (or rerun with --force); an external checkpoint must be downloaded again"),
)


def _fix_first(cause: str) -> tuple[str, str] | None:
    """``(name, what to do)`` of the first :data:`_FIX_FIRST` failure ``cause`` is, or ``None``."""
    return next(((name, advice) for name, test, advice in _FIX_FIRST if test(cause)), None)


def failure_advice(stage: str, cause: str) -> str:
    """What to do after stage ``stage`` failed with ``cause`` (``"<exception name>: <message>"``): fix a damaged
    file or model first where rerunning would fail the same way; otherwise resume."""
    fix = _fix_first(cause)
    if fix is not None:
        return f"rerunning the same command fails the same way: {fix[1]}."
    return f"completed stages are kept; rerun the same command to resume from '{stage}'."


class StageFailed(PipelineError):
    def __init__(self, stage: str, notebook: Path, cause: str):
        self.stage, self.notebook, self.cause = stage, notebook, cause
        self.advice = failure_advice(stage, cause)
        if (_fix_first(cause) or ("",))[0] == "disk":
            import shutil

            try:  # how much room the disk has now, beside the advice
                free = shutil.disk_usage(notebook.parent).free
                self.advice += f" ({free / 2**30:.1f} GiB free on {notebook.parent}'s disk now)"
            except OSError:
                pass
        super().__init__(f"stage '{stage}' failed: {cause}\n"
                         f"  open the executed notebook to see the failing cell: {notebook}\n"
                         f"  {self.advice}")


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
    kernels: str = "native"  # the profile's kernel mode (:mod:`trust_utils.kernel_modes`)


#: The folder of :func:`_inspect`'s files under the cache (``rlhf-trust clean`` drops those of no current notebook).
PARAMETERS_CACHE = "notebook-parameters"


def parameters_cache_file(path: str | Path, cache: Path | None = None) -> Path:
    """Where :func:`_inspect` keeps the reading of notebook ``path``: named by the file's content hash and
    papermill's version, under ``cache`` (default: the project's cache)."""
    key = f"{hash_file(path)}-papermill{version('papermill')}"
    return (cache or default_cache_dir()) / PARAMETERS_CACHE / f"{key}.json"


@lru_cache(maxsize=64)
def _inspect(path: str, mtime: float) -> dict[str, dict[str, Any]]:
    """papermill's reading of the notebook's parameters cell, kept on disk under the notebook file's content hash
    and papermill's version, so that a rerun that skips every stage need not import papermill and nbformat
    (seconds of start-up) to find out nothing changed."""


    cached = parameters_cache_file(path)
    if cached.is_file():
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # unreadable: inspect again and rewrite it
    import papermill

    params = papermill.inspect_notebook(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cached, json.dumps(params, default=str))
    except OSError as exc:  # a read-only cache only costs the start-up time
        log.debug("could not keep the parameters of %s in %s: %s", path, cached, exc)
    return params


def code_cells(path: str | Path) -> list[str]:
    """The sources of a notebook's code cells, as ``nbformat.read`` gives them (a list of lines joined), read as
    plain JSON: nbformat's import alone takes seconds, which a rerun that skips everything should not pay."""

    p = Path(path)
    try:
        nb = json.loads(p.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PipelineError(f"notebook {p} is not a readable .ipynb file ({exc}); restore it from git or "
                            f"regenerate it with `jupytext --to ipynb --update {p.with_suffix('.py')}`") from exc
    out = []
    for c in cells:
        if c.get("cell_type") == "code":
            src = c.get("source", "")
            out.append("".join(src) if isinstance(src, list) else src)
    return out


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
    return hash_obj(code_cells(path))


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


def _annotation_check(annotation: str) -> tuple[Callable[[Any], bool] | None, bool]:
    """The type check for a dataclass annotation string (``int``, ``list[str]``, ``str | None``) and whether None
    is allowed; ``(None, True)`` for annotations the runner does not check."""
    parts = [a.strip() for a in str(annotation).split("|")]
    optional = "None" in parts
    parts = [a for a in parts if a != "None"]
    if len(parts) != 1:
        return None, True
    base = parts[0].split("[")[0].strip().lower()
    base = {"tuple": "list", "sequence": "list", "mapping": "dict"}.get(base, base)
    return _TYPE_CHECKS.get(base), optional


def _check_field_type(stage: str, name: str, value: Any, annotation: str) -> None:
    check, optional = _annotation_check(annotation)
    if check is None or (value is None and optional):
        return
    if not check(value):
        raise PipelineError(f"stage '{stage}': parameter {name!r} must be {annotation}, got {value!r} "
                            f"({type(value).__name__})")


def stage_config_class(stage: Stage, declared: dict[str, dict[str, Any]] | None = None) -> type | None:
    """The stage's config dataclass, the schema of its parameters; None where the notebook cell is the schema: the
    stage names no config class, or its notebook's cell (``declared``) has no ``overrides`` parameter, i.e. the
    notebook does not build its config from the cell plus overrides (the tests' throwaway notebooks)."""

    if not stage.config or (declared is not None and OVERRIDES not in declared):
        return None

    try:
        return load_config_class(stage.config)
    except (ImportError, AttributeError, ValueError) as exc:
        raise PipelineError(f"stage '{stage.name}': cannot import its config class {stage.config!r}: {exc}") from None


def _valid_names(stage: Stage, declared: dict[str, dict[str, Any]]) -> list[str]:

    cls = stage_config_class(stage, declared)
    names = list(declared) + ([n for n in config_fields(cls) if n not in declared] if cls else [])
    return [n for n in names if n not in RESERVED_PARAMS and n != OVERRIDES]


def resolve_params(profile: Profile, stage: Stage, declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The stage's resolved parameters, flat: profile ``shared`` keys the stage has (a field of its config or a name
    in its notebook cell), then the stage's own section, then ``run_dir``.

    With a config class a key is valid when it is one of its fields or declared in the notebook cell, and its type is
    checked against the field's annotation; without one, the notebook cell is the schema. A renamed parameter fails
    with its new name. :func:`injected_params` splits the result into what papermill injects.
    """

    cls = stage_config_class(stage, declared)
    fields = config_fields(cls) if cls else {}
    base_name, train_seed = seed_of_stage(stage.name)
    own = dict(profile.stages.get(base_name, {}))
    for key in own:
        if key in RESERVED_PARAMS:
            raise PipelineError(f"profile {profile.path}: stage '{stage.name}' sets {key!r}, which the runner sets itself")
        if key == OVERRIDES and cls is not None:
            raise PipelineError(f"profile {profile.path}: stage '{stage.name}' sets {OVERRIDES!r}; write its keys "
                                f"directly in the stage's section instead")
        if key not in declared and key not in fields:
            if renamed(stage.name, key):
                raise PipelineError(f"profile {profile.path}: {rename_message(stage.name, key)}")
            valid = ", ".join(_valid_names(stage, declared))
            raise PipelineError(f"profile {profile.path}: stage '{stage.name}' has no parameter {key!r} "
                                f"(notebook {stage.notebook}); valid parameters: {valid}")
    params = {k: v for k, v in profile.shared.items() if k in declared or k in fields}
    params.update(own)
    if train_seed is not None:  # another training seed of an alignment stage (profile key ``seeds``)
        params["seed"] = train_seed
    if "run_dir" in declared or "run_dir" in fields:
        params["run_dir"] = str(profile.run_dir)
    for k, v in params.items():
        if k in fields:
            _check_field_type(stage.name, k, v, fields[k]["type"])
        else:
            _check_type(stage.name, k, v, declared[k])
    if cls is not None:
        validate_config(profile, stage, cls, params)
    return params


def validate_config(profile: Profile, stage: Stage, cls: type, params: dict[str, Any]) -> None:
    """Build the stage's config from its resolved parameters and call its ``validate()`` (ranges: counts >= 1 or a
    documented 0, never negative; the device), so ``--dry-run`` refuses what would fail only inside the notebook
    under the engine's name for it. Raises :class:`PipelineError` with the stage's own message (stage, parameter,
    value, what is allowed)."""
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        cfg = cls(**{k: v for k, v in params.items() if k in names})  # __post_init__ checks run here
        validate = getattr(cfg, "validate", None)
        if callable(validate):
            validate()
    except (ValueError, TypeError, RuntimeError) as exc:
        msg = str(exc)
        where = "" if f"stage '{stage.name}'" in msg else f"stage '{stage.name}': "
        raise PipelineError(f"profile {profile.path}: {where}{msg}") from None


def injected_params(stage: Stage, params: dict[str, Any], declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What papermill injects: the keys the notebook cell declares directly, every other key packed into its
    ``overrides`` dict (a stage without a config class gets ``params`` unchanged)."""

    if stage_config_class(stage, declared) is None:
        return dict(params)
    direct = {k: v for k, v in params.items() if k in declared}
    rest = {k: v for k, v in params.items() if k not in declared}
    if rest:
        if OVERRIDES not in declared:
            raise PipelineError(f"stage '{stage.name}': parameter(s) {sorted(rest)} are not in notebook "
                                f"{stage.notebook}'s parameters cell, which has no {OVERRIDES!r} to pass them")
        direct[OVERRIDES] = rest
    return direct


def upstream_stages(profile: Profile, stage: Stage) -> list[str]:
    """The stages whose runs a stage depends on: its ``needs`` and ``uses``, and, for a stage that reads the
    trained models (the verticals, the analysis), the same alignment stages of every further training seed."""
    deps = list(stage.needs + stage.uses)
    # an alignment stage depends on its own seed's stages only (its ``needs``/``uses`` carry the seed already)
    if stage.name not in ALIGNMENT_STAGES and seed_of_stage(stage.name)[1] is None:
        deps += [f"{d}-s{seed}" for seed in profile.seeds[1:] for d in deps if d in ALIGNMENT_STAGES]
    return deps


def checkpoint_plan(profile: Profile) -> list[tuple[str, str]]:
    """``(name, what it loads)`` for every checkpoint the profile's verticals would score: a model reference for
    ``base`` and the external checkpoints, ``<run_dir>/<stage>/model`` for the ones the run trains."""

    names = profile.evaluated_checkpoints()
    if names is None:  # the built-in list: base and the checkpoints this profile's stages train
        names = [n for n in CHECKPOINT_ORDER if n == "base" or BUILTIN_BY_NAME[n].producer in profile.stages]
    ext = {c.name: c for c in profile.checkpoints}
    out = []
    for n in names:
        if n in ext:
            out.append((n, ext[n].ref))
        elif n == "base":
            out.append((n, str(profile.shared.get("model", "tiny"))))
        else:
            out.append((n, f"{profile.run_dir / BUILTIN_BY_NAME[n].producer / 'model'} (trained by stage "
                           f"'{BUILTIN_BY_NAME[n].producer}')"))
    return out


def check_checkpoints(profile: Profile, plans: Iterable[StagePlan], online: bool = False) -> list[dict[str, str]]:
    """Check, before any model work, the names in the stages' ``checkpoints`` parameters and every model
    reference the profile names (``shared.model`` and the external checkpoints); offline unless ``online``.

    Returns one row per reference (:func:`trust_utils.refs.check_ref`); raises :class:`PipelineError`
    listing every problem. First checks that the run directory can be created and written
    (:func:`trust_utils.run.run_dir_problem`; the plan calls this, so ``--dry-run`` tells too).
    """

    if why := run_dir_problem(profile.run_dir):
        raise PipelineError(f"profile {profile.path}: {why}")
    known = list(CHECKPOINT_ORDER) + [c.name for c in profile.checkpoints]
    for p in plans:
        wanted = p.params.get("checkpoints") if "vertical" in p.stage.tags else None
        bad = [w for w in (wanted or []) if w not in known]
        if bad:
            raise PipelineError(f"profile {profile.path}: stage '{p.stage.name}' asks for unknown checkpoint(s) {bad}; "
                                f"known: {', '.join(known)}. Name an external model in the profile's 'checkpoints:' block")
    items = [(c.name, c.ref) for c in profile.checkpoints]
    if "model" in profile.shared and not any(c.name == "base" for c in profile.checkpoints):
        items.insert(0, ("base (shared model)", str(profile.shared["model"])))
    try:
        return check_refs(items, online=online)
    except CheckpointError as exc:
        raise PipelineError(f"profile {profile.path}: {exc}") from None


def _echo_checkpoints(profile: Profile, echo: Callable[[str], None]) -> None:
    """The dry run's list of every checkpoint the verticals would load (references checked offline)."""

    rows = checkpoint_plan(profile)
    echo(f"checkpoints the verticals would load ({len(rows)}; baseline '{profile.baseline}'):")
    for name, what in rows:
        state = check_ref(name, what)["status"] if not what.endswith(")") else "produced by this run"
        echo(f"  {name:<14} {what}  [{state}]")
    trained = [n for n, what in rows if what.endswith(")")]
    per_seed: list[str] = []  # one seed's trained checkpoints: each method's path points, then its endpoint
    for n in trained:
        block = {**profile.shared, **profile.stages.get(BUILTIN_BY_NAME[n].producer, {})}
        points = block.get("path_points") or []
        total = block.get("max_steps")
        steps = path_point_steps(points, total) if points and isinstance(total, int) and total > 0 else []
        if points:
            at = ", ".join(f"{n}@{k}" for k in steps) if steps else f"{points} of its steps"
            echo(f"  + path points of {n}: {at} (point 0 is its init)")
        per_seed += [*(f"{n}@{k}" for k in steps), n]
    for seed in profile.seeds[1:]:
        echo(f"  + training seed {seed}: {', '.join(f'{n}-s{seed}' for n in per_seed)} (in <stage>-s{seed}/)")
    if len(per_seed) > len(trained) or len(profile.seeds) > 1:
        total_scored = len(rows) - len(trained) + len(per_seed) * max(1, len(profile.seeds))
        echo(f"  = {total_scored} checkpoints scored by each vertical")


def _prepare_checkpoints(profile: Profile, plans: list[StagePlan], echo: Callable[[str], None]) -> None:
    """Before any stage runs: fail fast on hub references that cannot load (offline), and write
    ``<run_dir>/checkpoints.json`` for the vertical stages."""

    if any(p.stage.name not in ("data", "analysis") for p in plans):
        rows = check_checkpoints(profile, plans, online=True)
        hub = [r for r in rows if r["kind"] == "hub"]
        if hub:
            echo("hub models: " + ", ".join(f"{r['ref']} ({r['status']})" for r in hub))
    try:
        write_checkpoints(profile.run_dir, profile.checkpoints, profile.evaluated_checkpoints(), profile.baseline,
                          profile.seeds)
    except RunDirError as exc:  # made unwritable since the plan looked
        raise PipelineError(f"profile {profile.path}: {exc}") from None


