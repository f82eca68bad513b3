"""Profiles: YAML files in ``configs/`` that name the model, the data and every stage's parameters.

A profile looks like::

    description: one line
    extends: other-profile        # optional: start from another profile and override
    run_dir: runs/tiny            # optional, default runs/<profile name>
    shared:                       # given once, passed to every stage whose notebook declares them
      seed: 0
      model: tiny
    stages:                       # the stages to run; a stage absent here is not run
      data: {source: bundled, n_train: 400}
      sft: {epochs: 1}
    baseline: base                # optional: the checkpoint changes are measured from
    checkpoints:                  # optional: existing models scored like base/sft/ppo/dpo
      sft: {ref: org/model-sft@main, label: SFT}
    kernels: portable             # optional: native (default) or portable CPU kernels

(``checkpoints`` and ``baseline``: :mod:`trust_utils.checkpoints`; ``kernels``: :mod:`trust_utils.kernel_modes`,
meant to give the same numbers on AVX2 and AVX-512 CPUs, Intel or AMD, at the cost of slower matmuls.)

Unknown stage names, and shared keys that no stage declares, are errors (typos must not pass
silently); per-stage keys are checked against each notebook's ``parameters`` cell by the runner.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .checkpoints import Checkpoint, CheckpointError, evaluation_list, parse_checkpoints
from .kernel_modes import DEFAULT_KERNELS, check_kernel_mode
from .paths import configs_dir, resolve_run_dir
from .stages import ALIGNMENT_STAGES, STAGE_NAMES, get_stage

_TOP_KEYS = {"description", "extends", "run_dir", "shared", "stages", "checkpoints", "baseline", "seeds", "kernels"}


class ProfileError(ValueError):
    """A profile that cannot be used as written."""


@dataclass
class Profile:
    name: str
    path: Path
    description: str
    run_dir: Path
    shared: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    baseline: str = "base"
    has_checkpoint_block: bool = False
    seeds: list[int] = field(default_factory=list)
    kernels: str = DEFAULT_KERNELS

    def evaluated_checkpoints(self) -> list[str] | None:
        """The checkpoint names the verticals score (None: no ``checkpoints:`` block, the default list)."""
        if not self.has_checkpoint_block:
            return None
        return evaluation_list(self.checkpoints, self.stages, "model" in self.shared)

    def stage_names(self) -> list[str]:
        """Stages the profile runs, in registry order; with ``seeds``, the alignment stages of every further seed
        (``sft-s1``, ``ppo-s1``, ...) follow the primary seed's, before the verticals."""
        names = [s for s in STAGE_NAMES if s in self.stages]
        aligned = [s for s in names if s in ALIGNMENT_STAGES]
        if not aligned or len(self.seeds) < 2:
            return names
        at = names.index(aligned[-1]) + 1
        extra = [f"{s}-s{seed}" for seed in self.seeds[1:] for s in aligned]
        return names[:at] + extra + names[at:]


def profile_path(name_or_path: str | os.PathLike) -> Path:
    """A profile name (``tiny``) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise ProfileError(f"profile file {p} does not exist")
        return p.resolve()
    cand = configs_dir() / f"{name_or_path}.yaml"
    if not cand.is_file():
        known = ", ".join(list_profiles()) or "(none)"
        raise ProfileError(f"no profile named {name_or_path!r} in {configs_dir()}; known profiles: {known}")
    return cand


def list_profiles() -> list[str]:
    """Names of the profiles in ``configs/`` (a file whose name starts with ``_`` is a base that profiles extend)."""
    return sorted(p.stem for p in configs_dir().glob("*.yaml") if not p.stem.startswith("_"))


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if path in seen:
        raise ProfileError(f"profile {path} extends itself (cycle: {' -> '.join(map(str, seen + (path,)))})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProfileError(f"profile {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProfileError(f"profile {path} must be a mapping with keys {sorted(_TOP_KEYS)}")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ProfileError(f"profile {path}: unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    parent = raw.pop("extends", None)
    if parent:
        base = _read_raw(profile_path(parent), seen + (path,))
        base.pop("description", None)
        base.pop("run_dir", None)
        # A stage mapped to null in the child removes it from the parent's plan.
        merged = _deep_merge(base, raw)
        merged["stages"] = {k: v for k, v in (merged.get("stages") or {}).items()
                            if not (k in (raw.get("stages") or {}) and raw["stages"][k] is None)}
        return merged
    return raw


def load_profile(name_or_path: str | os.PathLike, run_dir: str | os.PathLike | None = None,
                 kernels: str | None = None) -> Profile:
    """Read and check a profile. ``run_dir`` and ``kernels`` override the profile's own."""
    path = profile_path(name_or_path)
    raw = _read_raw(path)
    name = path.stem
    shared = raw.get("shared") or {}
    stages = raw.get("stages") or {}
    if not isinstance(shared, dict) or not isinstance(stages, dict):
        raise ProfileError(f"profile {path}: 'shared' and 'stages' must be mappings")
    for st, params in stages.items():
        try:
            get_stage(st)
        except KeyError as exc:
            raise ProfileError(f"profile {path}: {exc.args[0]}") from None
        if params is not None and not isinstance(params, dict):
            raise ProfileError(f"profile {path}: stage {st!r} must map to parameters (or be empty)")
    stages = {k: dict(v or {}) for k, v in stages.items()}
    rd = resolve_run_dir(run_dir or raw.get("run_dir") or f"runs/{name}")
    baseline = raw.get("baseline", "base")
    try:
        externals = parse_checkpoints(raw.get("checkpoints"), baseline, source=f"profile {path}")
    except CheckpointError as exc:
        raise ProfileError(str(exc)) from None
    return Profile(name=name, path=path, description=str(raw.get("description", "")).strip(),
                   run_dir=rd, shared=dict(shared), stages=stages, checkpoints=externals, baseline=baseline,
                   has_checkpoint_block=raw.get("checkpoints") is not None,
                   seeds=_seeds(raw.get("seeds"), shared, path),
                   kernels=_kernels(kernels or raw.get("kernels"), path))


def _kernels(value: Any, path: Path) -> str:
    """The profile's kernel mode (``native`` when absent)."""
    if value is None:
        return DEFAULT_KERNELS
    try:
        return check_kernel_mode(value if isinstance(value, str) else repr(value), f"profile {path}: 'kernels'")
    except ValueError as exc:
        raise ProfileError(str(exc)) from None


def _seeds(value: Any, shared: dict[str, Any], path: Path) -> list[int]:
    """The profile's training seeds: distinct whole numbers >= 0, the first being the run's primary seed
    (``shared.seed``, default 0), whose checkpoints keep their plain names."""
    if value is None:
        return []
    if not isinstance(value, list) or not value or not all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in value) or len(set(value)) != len(value):
        raise ProfileError(f"profile {path}: 'seeds' must be a list of distinct whole numbers >= 0, e.g. [0, 1, 2]; "
                           f"got {value!r}")
    primary = shared.get("seed", 0)
    if value[0] != primary:
        raise ProfileError(f"profile {path}: the first of 'seeds' ({value[0]}) is the run's primary seed and must "
                           f"equal shared 'seed' ({primary}); list {primary} first or change shared 'seed'")
    return list(value)
