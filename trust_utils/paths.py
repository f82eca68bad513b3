"""Where things live: the project root, its folders and the cache. Directories only: a run's own layout (stage
directories, checkpoints by name) is :class:`trust_utils.run.Run`'s. Imports nothing from the package."""

from __future__ import annotations

import os
from pathlib import Path


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


__all__ = ["project_root", "data_dir", "notebooks_dir", "configs_dir", "default_cache_dir", "resolve_run_dir"]
