"""One declaration per parameter: a stage's config dataclass is its parameter schema.

A field is declared with :func:`param` (its default and its help text, once); the fields every stage of a kind shares
(``run_dir``, ``model``, ``seed``, ...) take their help from :data:`SHARED_HELP` via :func:`shared`, so a shared name
has one help text per meaning. A subclass that only changes a default redeclares the field with a plain default: its
help is found on the base class (:func:`field_help` walks the MRO).

The notebook's ``parameters`` cell shows only the parameters its lesson is about plus ``overrides`` (a dict of any
other field); :func:`build_config` merges dataclass defaults, the cell's values and the overrides. A name present in
the cell but not a field of the config (``run_dir`` where it is not a field, ``threads`` of the data notebook,
display-only knobs) is a *notebook-only* parameter: the runner injects it, the config ignores it.

Parameters renamed to unify the vocabulary are listed in :data:`RENAMES`; a profile or an ``overrides`` dict using an
old name fails with the new one.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
from typing import Any, Mapping

from .checkpoints import METHODS
from .registry import VERTICALS
from .stages import STAGES

#: The name of the notebook parameter that carries every config field the cell does not show.
OVERRIDES = "overrides"

#: Old parameter name -> new name (per stage; ``"*"`` applies to every stage).
RENAMES: dict[str, dict[str, str]] = {
    "data": {"source": "data_source"},
    "toxicity": {"num_samples": "n_samples"},
    "privacy": {"n_per_type": "max_examples"},
}

#: Help of the fields shared by several stage configs: one text per meaning.
SHARED_HELP: dict[str, str] = {
    "run_dir": "run directory (the runner sets it)",
    "model": "base model reference (tiny, smollm2-gguf, a directory or a hub id)",
    "cache_dir": "cache for converted models (empty: .cache in the project root)",
    "seed": "one seed for model init, data order, sampling and bootstrap resampling",
    "threads": "torch CPU threads per process (0 leaves torch's default)",
    "device": "auto (cuda if available, else cpu), cpu or cuda",
}


def param(default: Any = dataclasses.MISSING, help: str = "", *, choices: tuple[Any, ...] | None = None,
          cell: bool | None = None) -> Any:
    """A dataclass field with its help text (and allowed values) as metadata.

    ``cell=True`` marks a parameter the stage's lesson is about: its notebook's ``parameters`` cell shows it
    (:func:`cell_params`); ``cell=False`` unmarks one a base class marked; left out, the base's mark holds.
    Mutable defaults (lists, dicts) are copied per instance, so ``param([], "...")`` is safe.
    """
    meta = {"help": help, "choices": tuple(choices) if choices is not None else None}
    if cell is not None:
        meta["cell"] = cell
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda d=default: copy.deepcopy(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def shared(name: str, default: Any = dataclasses.MISSING, *, cell: bool | None = None) -> Any:
    """A field shared by several configs, with the help text of :data:`SHARED_HELP`."""
    return param(default, SHARED_HELP[name], cell=cell)



@dataclasses.dataclass
class ModelStageConfig:
    """The fields of a stage that loads the run's models on its own device: the base of the training stages'
    and the attribution stage's configs (one declaration for all of them)."""

    run_dir: str = shared("run_dir", "runs/tiny")
    model: str = shared("model", "tiny")
    cache_dir: str = shared("cache_dir", "")
    seed: int = shared("seed", 0)
    threads: int = shared("threads", 2)
    device: str = shared("device", "auto")

def field_help(config_cls: type, name: str) -> str:
    """The help text of field ``name``: the first class in the MRO that gives one."""
    for klass in config_cls.__mro__:
        f = getattr(klass, "__dataclass_fields__", {}).get(name)
        if f is not None and f.metadata.get("help"):
            return f.metadata["help"]
    return ""


def field_default(f: dataclasses.Field) -> Any:
    """A field's default value (a fresh copy for factories; ``MISSING`` when required)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def config_fields(config_cls: type) -> dict[str, dict[str, Any]]:
    """``{name: {type, default, help, choices}}`` of a config dataclass, in declaration order."""
    out = {}
    for f in dataclasses.fields(config_cls):
        choices = None
        for klass in config_cls.__mro__:
            g = getattr(klass, "__dataclass_fields__", {}).get(f.name)
            if g is not None and g.metadata.get("choices"):
                choices = g.metadata["choices"]
                break
        out[f.name] = {"type": f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type)),
                       "default": field_default(f), "help": field_help(config_cls, f.name), "choices": choices}
    return out


def load_config_class(ref: str) -> type:
    """Import ``"package.module:ClassName"`` (the :class:`~trust_utils.stages.Stage` ``config`` reference)."""
    mod, _, name = ref.partition(":")
    if not mod or not name:
        raise ValueError(f"config reference {ref!r} must look like 'package.module:ClassName'")
    return getattr(importlib.import_module(mod), name)


def renamed(stage: str, name: str) -> str | None:
    """The new name of a renamed parameter of ``stage``, or None."""
    return RENAMES.get(stage, {}).get(name) or RENAMES.get("*", {}).get(name)


def rename_message(stage: str, old: str) -> str:
    return f"parameter {old!r} of stage {stage!r} was renamed to {renamed(stage, old)!r}"


def stage_of(config_cls: type) -> str:
    """The stage name a config class belongs to (for messages and renames), from the stage registry."""
    ref_names = {f"{config_cls.__module__}:{config_cls.__qualname__}"}
    for s in STAGES:
        if s.config in ref_names:
            return s.name
    return getattr(config_cls, "STAGE", "") or config_cls.__name__


def build_config(config_cls: type, namespace: Mapping[str, Any], *, error: type[Exception] = ValueError,
                 keep_default: tuple[str, ...] = (), **fixed: Any) -> Any:
    """Dataclass defaults, then the fields present in ``namespace`` (a notebook's ``globals()``), then its
    ``overrides`` dict, then ``fixed`` (values the notebook sets itself).

    Raises ``error`` for an override that is not a field (naming the valid ones) or that uses a renamed name.
    """
    names = [f.name for f in dataclasses.fields(config_cls)]
    overrides = namespace.get(OVERRIDES) or {}
    if not isinstance(overrides, Mapping):
        raise error(f"{config_cls.__name__}: parameter 'overrides' must be a dict of field names to values, "
                    f"got {overrides!r}")
    stage = stage_of(config_cls)
    for key in overrides:
        if key in names:
            continue
        if renamed(stage, key):
            raise error(rename_message(stage, key))
        raise error(f"{config_cls.__name__}: 'overrides' names {key!r}, which is not one of its fields; "
                    f"valid: {', '.join(names)}")
    values = {n: namespace[n] for n in names if n in namespace and n not in keep_default}
    values.update(overrides)
    values.update(fixed)
    missing = [f.name for f in dataclasses.fields(config_cls)
               if f.name not in values and field_default(f) is dataclasses.MISSING]
    if missing:
        raise error(f"{config_cls.__name__}: required parameter(s) {missing} are set neither by the notebook nor in "
                    f"'overrides'")
    return config_cls(**values)


def _marked(config_cls: type, name: str) -> bool:
    """Whether field ``name`` is marked ``cell=True``: the first class in the MRO that gives it a ``cell`` mark
    decides (a subclass that only changes the default, or redeclares it without ``cell``, keeps its base's mark)."""
    for klass in config_cls.__mro__:
        f = getattr(klass, "__dataclass_fields__", {}).get(name)
        if f is not None and "cell" in f.metadata:
            return bool(f.metadata["cell"])
    return False


def cell_params(config_cls: type) -> tuple[str, ...]:
    """The config fields a stage's notebook shows in its parameters cell (besides ``run_dir`` and ``overrides``):
    those marked ``param(..., cell=True)``, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(config_cls) if f.name != "run_dir" and _marked(config_cls, f.name))


def _exercise_stages() -> tuple[str, ...]:
    """The stages whose notebook has a checked exercise, from the method and vertical declarations."""
    return (*(m.stage for m in METHODS if m.exercise), *(v.name for v in VERTICALS.values() if v.exercise))


#: Notebook-only parameters: in the cell but not fields of the config (``{stage: {name: (type, default, help)}}``).
#: The data notebook fixes torch's threads although data preparation has no use for them in its config; every
#: notebook with an exercise takes course mode's switch to the reference solutions.
_SOLUTIONS = ("bool", False, "fill the exercise cells with the reference solutions (teachers; the tiny profile sets it)")
NOTEBOOK_ONLY: dict[str, dict[str, tuple[str, Any, str]]] = {
    "data": {"threads": ("int", 2, SHARED_HELP["threads"])},
    **{stage: {"solutions": _SOLUTIONS} for stage in _exercise_stages()},
}


def _cell_type(annotation: str) -> str:
    base = str(annotation).split("|")[0].split("[")[0].strip()
    return {"tuple": "list"}.get(base, base)


def _cell_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return repr(value)


def parameters_cell(stage: str, config_cls: type) -> str:
    """The source of a notebook's ``parameters`` cell, generated from the config's fields (defaults and help) so the
    cell never drifts from the schema; ``tests/test_params.py`` checks every notebook against it."""
    fields = config_fields(config_cls)
    names = ["run_dir", *cell_params(config_cls)]
    lines = []
    for n in names:
        f = fields[n]
        default = f["default"]
        if default is dataclasses.MISSING:  # a required field (run_dir): the cell still needs a value to run by hand
            default = "runs/tiny" if n == "run_dir" else default
        lines.append(f"{n}: {_cell_type(f['type'])} = {_cell_value(default)}  # {f['help']}")
    for n, (t, d, h) in NOTEBOOK_ONLY.get(stage, {}).items():
        lines.append(f"{n}: {t} = {_cell_value(d)}  # {h} (notebook only)")
    lines.append(f"{OVERRIDES}: dict = {{}}  # any other field of {config_cls.__name__} "
                 f"(list: rlhf-trust params {stage})")
    return "\n".join(lines)
