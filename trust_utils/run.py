"""A run as a value: its directory and its checkpoints, read once.

A stage is given a run directory as a string (the runner passes ``run_dir``, a notebook's parameters cell holds
one); its stage function turns it into a :class:`Run` once, with :meth:`Run.open`, and passes the value on. A
:class:`Run` holds the resolved directory and the profile's checkpoint block as the runner wrote it
(``<run_dir>/checkpoints.json``: the external checkpoints, what to evaluate, the baseline, the declared
comparisons), and answers every question about the run's checkpoints: where a trained one lives
(:meth:`checkpoint_path`), what a name resolves to (:meth:`resolve`), which ones the run has (:meth:`available`),
and their order, labels and colours (:meth:`order`, :meth:`label`, :meth:`color`, from the one registry in
:mod:`trust_utils.checkpoints`).

A :class:`Run` is immutable; a profile whose block changed is a new run value (:func:`write_checkpoints` then
:meth:`Run.open`).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from .checkpoints import (
    BUILTIN,
    CHECKPOINT_ORDER,
    PATH_DIR,
    RUN_FILE,
    SCHEMA,
    TRAINED,
    Checkpoint,
    CheckpointError,
    checkpoint_info,
    init_of,
    method_of,
    ordered_checkpoints,
    parse_point,
    point_info,
)
from .models import ModelLoadError, is_complete_checkpoint, resolve_model_ref
from .paths import resolve_run_dir
from .utils import write_json


@dataclass(frozen=True)
class Run:
    """One run directory and its checkpoint declarations.

    Attributes:
        dir: the resolved run directory.
        externals: the profile's external checkpoints (``checkpoints:`` block), in the order written.
        evaluate: the checkpoint names the run scores (``None``: no ``checkpoints.json``, e.g. a notebook run by
            hand; then the built-in order).
        baseline: the checkpoint every change is measured from (declared in the profile; default ``base``).
        has_file: whether the run has a ``checkpoints.json`` (the vertical stages record it as an input).
        seeds: the training seeds (profile key ``seeds``); the first is the primary one, whose checkpoints carry no
            suffix; another seed's are ``<name>-s<seed>`` in ``<run>/<stage>-s<seed>/`` (empty: one seed).
    """

    dir: Path
    externals: tuple[Checkpoint, ...] = ()
    evaluate: tuple[str, ...] | None = None
    baseline: str = "base"
    has_file: bool = False
    seeds: tuple[int, ...] = ()
    _by_name: dict[str, Checkpoint] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({c.name: c for c in self.externals})

    # ------------------------------------------------------------------------------------------- building
    @classmethod
    def open(cls, run_dir: str | os.PathLike | Run) -> Run:
        """The run at ``run_dir`` (relative paths from the project root), its ``checkpoints.json`` read once."""
        if isinstance(run_dir, Run):
            return run_dir
        d = resolve_run_dir(run_dir)
        rec = _read_checkpoints_file(d / RUN_FILE)
        if rec is None:
            return cls(d)
        evaluate = rec.get("evaluate")
        return cls(d, tuple(Checkpoint(**e) for e in rec.get("entries", [])),
                   tuple(evaluate) if evaluate is not None else None, rec.get("baseline", "base"), True,
                   tuple(int(x) for x in rec.get("seeds") or ()))

    # ------------------------------------------------------------------------------------------- directories
    def stage_dir(self, stage: str) -> Path:
        """``<run>/<stage>``, created if missing (:class:`RunDirError` naming the path when it cannot be)."""
        return make_dir(self.dir / stage)

    def results_dir(self) -> Path:
        """The one place every vertical writes its long-format results table to."""
        return self.stage_dir("results")

    @property
    def checkpoints_file(self) -> Path | None:
        """``<run>/checkpoints.json`` when the run has one (the vertical stages record it as an input)."""
        return self.dir / RUN_FILE if self.has_file else None

    # ------------------------------------------------------------------------------------------- checkpoints
    def external(self, name: str) -> Checkpoint | None:
        """The run's external checkpoint ``name``, or None."""
        return self._by_name.get(name)

    @property
    def primary_seed(self) -> int | None:
        """The training seed whose checkpoints carry no suffix (None: the run declares no seeds)."""
        return self.seeds[0] if self.seeds else None

    def seed_tag(self, seed: int | None) -> str:
        """``-s<seed>`` for a training seed other than the primary one (and in a run that declares seeds)."""
        if seed is None or self.primary_seed is None or int(seed) == self.primary_seed:
            return ""
        return f"-s{int(seed)}"

    @property
    def seed_tags(self) -> list[str]:
        """The checkpoint-name suffixes of the run's training seeds: ``""`` (the primary one), ``"-s1"``, ..."""
        return ["", *(f"-s{s}" for s in self.seeds[1:])]

    def training_dir(self, name: str) -> Path:
        """The stage directory that trains built-in checkpoint ``name`` (any point or seed of it):
        ``<run>/<stage>`` or ``<run>/<stage>-s<seed>``."""
        p = parse_point(name)
        return self.dir / f"{method_of(p.checkpoint).stage}{p.tag}"

    def checkpoint_path(self, name: str) -> Path:
        """Model directory of a trained checkpoint: ``<run>/<stage>/model`` for ``sft``, ``rm``, ``ppo``, ...;
        ``<run>/<stage>/path/step-<N>`` for a path point ``<name>@<N>`` (point 0 is the method's init);
        ``<run>/<stage>-s<seed>/...`` for another training seed.

        ``base`` is not a run directory: it is the profile's ``model`` reference (:meth:`resolve`).
        """
        p = parse_point(name)
        if p.step == 0:
            return self.checkpoint_path(init_of(name))
        d = self.training_dir(name)
        return d / "model" if p.step is None else d / PATH_DIR / f"step-{p.step}"

    def path_steps(self, name: str) -> list[int]:
        """The steps at which the run kept complete path points of trained checkpoint ``name`` (sorted)."""
        d = self.training_dir(name) / PATH_DIR
        if not d.is_dir():
            return []
        steps = []
        for sub in d.glob("step-*"):
            if sub.name[5:].isdigit() and is_complete_checkpoint(sub):
                steps.append(int(sub.name[5:]))
        return sorted(steps)

    def _expand(self, names: Iterable[str]) -> list[str]:
        """Each trained built-in name expanded to its seeds and, per seed, its kept path points then its endpoint."""
        out: list[str] = []
        for n in names:
            if n in self._by_name or n not in TRAINED:
                out.append(n)
                continue
            for tag in self.seed_tags:
                out += [f"{n}@{k}{tag}" for k in self.path_steps(n + tag)] + [n + tag]
        return out

    def checkpoint_names(self, wanted: Iterable[str] = ()) -> list[str]:
        """The names to evaluate: ``wanted`` when given, else the run's list, else the built-in order.

        Raises:
            CheckpointError: a wanted name is neither built-in nor one of the run's externals.
        """
        wanted = list(wanted)
        if not wanted:
            return self._expand(self.evaluate or CHECKPOINT_ORDER)
        known = [*CHECKPOINT_ORDER, *self._by_name]
        bad = [w for w in wanted if w not in known and w != "rm" and parse_point(w).checkpoint not in TRAINED]
        if bad:
            raise CheckpointError(f"unknown checkpoint name(s) {bad}; known: {', '.join(known)}. Name an external "
                                  f"model in the profile's 'checkpoints:' block")
        return wanted

    def available(self, wanted: Iterable[str] = CHECKPOINT_ORDER) -> list[str]:
        """The names among ``wanted`` that this run has (``base`` and the run's external ones always: their
        references were checked before the run)."""
        return [n for n in wanted
                if n == "base" or n in self._by_name or is_complete_checkpoint(self.checkpoint_path(n))]

    def resolve(self, name: str, base_model: str, cache_dir: str | os.PathLike | None = None, seed: int = 0) -> str:
        """What ``from_pretrained`` takes for checkpoint ``name``: an external's reference (even when it shadows a
        built-in name), the profile's base model, a trained checkpoint's directory, else ``name`` as a reference.

        Raises:
            ModelLoadError: the run has not produced that checkpoint yet.
        """
        ext = self._by_name.get(name)
        if ext is not None:
            return resolve_model_ref(ext.ref, cache_dir, seed)
        if name == "base":
            return resolve_model_ref(base_model, cache_dir, seed)
        if parse_point(name).checkpoint in TRAINED and name not in self._by_name:
            if parse_point(name).step == 0 and init_of(name) == "base":
                return resolve_model_ref(base_model, cache_dir, seed)
            path = self.checkpoint_path(name)
            if not is_complete_checkpoint(path):
                raise ModelLoadError(f"checkpoint '{name}' does not exist in {self.dir} (expected {path}); "
                                     f"run its stage first (rlhf-trust run --stages ...)")
            return str(path)
        return resolve_model_ref(name, cache_dir, seed)

    # ------------------------------------------------------------------------------------------- display
    def info(self, checkpoints: Iterable[str]) -> dict[str, Checkpoint]:
        """Label, colour and order of each results ``checkpoint`` value (built-ins, then this run's externals)."""
        return checkpoint_info(checkpoints, self.externals)

    def order(self, checkpoints: Iterable[str]) -> list[str]:
        """``checkpoints`` in the registry's order (the run's externals by their declared order; unknown last)."""
        return ordered_checkpoints(checkpoints, self.externals)

    def label(self, checkpoint: str) -> str:
        return self.info([checkpoint])[checkpoint].label

    def color(self, checkpoint: str) -> str:
        return self.info([checkpoint])[checkpoint].color

    def comparisons(self) -> dict[tuple[str, str], str]:
        """``{(model, checkpoint): baseline checkpoint}`` declared by the external checkpoints (``compare_to``)."""
        return {(c.model, c.checkpoint): c.compare_to for c in self.externals if c.compare_to}


# ------------------------------------------------------------------------------------ the run's file
def _read_checkpoints_file(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}); delete it and rerun the pipeline") from None
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
        got = rec.get("schema") if isinstance(rec, dict) else type(rec).__name__
        raise CheckpointError(f"{path} has schema {got!r}, expected {SCHEMA}; rerun the pipeline")
    return rec


def write_checkpoints(run_dir: str | os.PathLike, externals: list[Checkpoint], evaluate: list[str] | None,
                      baseline: str = "base", seeds: Iterable[int] = ()) -> Path:
    """Write ``<run_dir>/checkpoints.json`` (only when its content changes, so its hash stays put). The runner's
    entry point; stages read it back with :meth:`Run.open`."""
    path = resolve_run_dir(run_dir) / RUN_FILE
    rec = {"schema": SCHEMA, "baseline": baseline, "evaluate": list(evaluate) if evaluate is not None else None,
           "entries": [asdict(c) for c in externals]}
    if seeds:
        rec["seeds"] = [int(x) for x in seeds]
    if path.is_file():
        try:
            if json.loads(path.read_text(encoding="utf-8")) == rec:
                return path
        except (OSError, ValueError):
            pass
    make_dir(path.parent)
    write_json(path, rec)
    return path


# ------------------------------------------------------------------------------------ creating run directories
class RunDirError(OSError):
    """A run directory (or a stage's directory in it) cannot be created or written; the message names the path and
    what to do."""


def run_dir_problem(path: str | os.PathLike) -> str:
    """Why ``path`` cannot be (or be used as) a run directory, without creating anything ("" when it can).

    Walks up to the nearest existing ancestor: it must be a directory the user may write to (a regular file on the
    way, or a read-only directory, is named with what to do). The runner's plan calls it, so ``--dry-run`` tells.
    """
    p = Path(path)
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe == p and p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            return (f"run directory {p} is not writable; choose another run_dir (--run-dir) or make it writable "
                    f"(chmod u+w {p})")
        return ""
    if not probe.is_dir():
        return (f"run directory {p} cannot be created: {probe} is a file, not a directory; choose another run_dir "
                f"(--run-dir) or move that file away")
    if not os.access(probe, os.W_OK | os.X_OK):
        return (f"run directory {p} cannot be created: {probe} is not writable; choose another run_dir (--run-dir) "
                f"or make {probe} writable")
    return ""


def make_dir(path: str | os.PathLike) -> Path:
    """``mkdir -p`` for run and stage directories, turning an ``OSError`` into :class:`RunDirError` that names the path
    and what to do (instead of a bare traceback)."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = run_dir_problem(p) or f"{p} cannot be created ({exc.strerror or exc}); check the path and the disk"
        raise RunDirError(why) from exc
    return p


# ------------------------------------------------------------------------------------ the run being shown
#: Display info of the checkpoints of the run being shown (labels, colours and declared order of its external
#: checkpoints): a context variable, set by the analysis stage or a notebook (:func:`show_run`), so that a figure
#: or table drawn for one run in a thread or a test never sees another run's checkpoints.
_SHOWN: contextvars.ContextVar[dict[str, Checkpoint]] = contextvars.ContextVar("shown_checkpoints", default={})
_BUILTIN_SHOWN: dict[str, Checkpoint] = {c.checkpoint: c for c in BUILTIN if c.evaluated}


def _shown_info(run: Run | str | os.PathLike | None) -> dict[str, Checkpoint]:
    if run is None:
        return {}
    run = Run.open(run)
    if not run.externals:
        return {}
    return run.info(list(CHECKPOINT_ORDER) + [c.checkpoint for c in run.externals])


def show_run(run: Run | str | os.PathLike | None) -> dict[str, Checkpoint]:
    """Show the run's external checkpoints with their declared labels, colours and order (``None`` resets) in the
    current context (a notebook's kernel, the analysis stage)."""
    info = _shown_info(run)
    _SHOWN.set(info)
    return dict(info)


@contextlib.contextmanager
def showing_run(run: Run | str | os.PathLike | None) -> Iterator[dict[str, Checkpoint]]:
    """:func:`show_run` for the ``with`` block only."""
    token = _SHOWN.set(_shown_info(run))
    try:
        yield dict(_SHOWN.get())
    finally:
        _SHOWN.reset(token)


def shown_checkpoints() -> dict[str, Checkpoint]:
    """The display info set by :func:`show_run` (empty: only the built-ins)."""
    return dict(_SHOWN.get())


def shown_checkpoint(checkpoint: str) -> Checkpoint | None:
    """A results ``checkpoint`` value as shown: the shown run's external checkpoint, else the registry's built-in
    one, else None (the one lookup behind every label and colour)."""
    c = _SHOWN.get().get(checkpoint) or _BUILTIN_SHOWN.get(checkpoint)
    if c is None and (p := parse_point(checkpoint)).checkpoint in _BUILTIN_SHOWN and p.name == checkpoint:
        c = point_info(_SHOWN.get().get(p.checkpoint) or _BUILTIN_SHOWN[p.checkpoint], p)
    return c


def shown_label(checkpoint: str) -> str:
    """A checkpoint's label: the shown run's external checkpoint's, the registry's, else its name."""
    c = shown_checkpoint(checkpoint)
    return c.label if c is not None else checkpoint


__all__ = ["Run", "RunDirError", "run_dir_problem", "make_dir", "write_checkpoints", "show_run", "showing_run", "shown_checkpoints", "shown_checkpoint", "shown_label"]
