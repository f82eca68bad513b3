"""Where things live: the project root, run directories, stage directories and checkpoints by name."""

from __future__ import annotations

import os
from pathlib import Path

from .checkpoints import CHECKPOINT_ORDER as _REGISTRY_ORDER
from .stages import STAGES, checkpoint_stage

#: Checkpoint names an evaluation stage may ask for, in the study's order (from :mod:`trust_utils.checkpoints`).
CHECKPOINT_ORDER: tuple[str, ...] = _REGISTRY_ORDER


def project_root() -> Path:
    """The repository root (holds ``configs/`` and ``notebooks/``); ``RLHF_TRUST_ROOT`` overrides."""
    env = os.environ.get("RLHF_TRUST_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    return here


def data_dir() -> Path:
    """The project's bundled datasets (written by us; see ``data/*/README.md``)."""
    return project_root() / "data"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def configs_dir() -> Path:
    return project_root() / "configs"


def default_cache_dir() -> Path:
    """Shared cache for converted models and tokenizers: ``RLHF_TRUST_CACHE`` or ``<root>/.cache``."""
    env = os.environ.get("RLHF_TRUST_CACHE")
    return Path(env).resolve() if env else project_root() / ".cache"


def resolve_run_dir(run_dir: str | os.PathLike) -> Path:
    """A run directory as an absolute path; relative paths are taken from the project root."""
    p = Path(run_dir).expanduser()
    return p if p.is_absolute() else (project_root() / p)


def stage_dir(run_dir: str | os.PathLike, stage: str) -> Path:
    """``<run_dir>/<stage>``, created if missing."""
    d = resolve_run_dir(run_dir) / stage
    d.mkdir(parents=True, exist_ok=True)
    return d


def results_dir(run_dir: str | os.PathLike) -> Path:
    """The one place every vertical writes its long-format results table to."""
    d = resolve_run_dir(run_dir) / "results"
    d.mkdir(parents=True, exist_ok=True)
    return d


def checkpoint_path(run_dir: str | os.PathLike, name: str) -> Path:
    """Model directory of checkpoint ``name`` (``sft``, ``rm``, ``ppo``, ``dpo``) in a run.

    ``base`` is not a run directory: it is the profile's ``model`` reference, resolved by
    :func:`trust_utils.models.resolve_model_ref`.
    """
    stage = checkpoint_stage(name)
    return resolve_run_dir(run_dir) / stage.name / "model"


def is_complete_checkpoint(path: Path) -> bool:
    """A saved model directory has a config and at least one weights file."""
    return (path / "config.json").is_file() and (
        any(path.glob("*.safetensors")) or any(path.glob("*.bin")) or (path / "adapter_config.json").is_file()
    )


def available_checkpoints(run_dir: str | os.PathLike, wanted: list[str] | tuple[str, ...] = CHECKPOINT_ORDER) -> list[str]:
    """The checkpoint names among ``wanted`` that this run has (``base`` and the profile's external ones always)."""
    from .checkpoints import external

    out = []
    for name in wanted:
        # a profile's external checkpoint counts as present: its reference was checked before the run
        if name == "base" or external(run_dir, name) is not None or is_complete_checkpoint(checkpoint_path(run_dir, name)):
            out.append(name)
    return out


__all__ = [
    "CHECKPOINT_ORDER", "project_root", "data_dir", "notebooks_dir", "configs_dir", "default_cache_dir",
    "resolve_run_dir", "stage_dir", "results_dir", "checkpoint_path", "is_complete_checkpoint",
    "available_checkpoints", "STAGES",
]
