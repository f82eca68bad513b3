"""The runner's ``<stage_dir>/manifest.json``: the stage's resolved parameters, the fingerprint that decides whether
it is skipped, versions and timings, wrapped around the stage's own ``outputs.json`` (:mod:`trust_utils.provenance`).
Orchestration: value code never imports this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .provenance import (
    RUN_ID_ENV,
    TRACKED_PACKAGES,
    current_run_id,
    hash_inputs,
    read_stage_outputs,
    versions,
    versions_string,
    write_stage_outputs,
)
from .utils import hash_path, read_json, write_json


def read_manifest(stage_dir: str | os.PathLike) -> dict[str, Any] | None:
    p = Path(stage_dir) / "manifest.json"
    return read_json(p) if p.is_file() else None


def write_manifest(stage_dir: str | os.PathLike, manifest: dict[str, Any]) -> Path:
    return write_json(Path(stage_dir) / "manifest.json", manifest)


def inputs_changed(recorded: dict[str, str]) -> list[str]:
    """Paths among ``recorded`` that are gone or whose content hash differs now."""
    changed = []
    for path, digest in recorded.items():
        try:
            if hash_path(path) != digest:
                changed.append(path)
        except FileNotFoundError:
            changed.append(path)
    return changed


__all__ = ["read_manifest", "write_manifest", "inputs_changed",
           # re-exported for the runner, which reads both files
           "RUN_ID_ENV", "TRACKED_PACKAGES", "current_run_id", "hash_inputs", "read_stage_outputs", "versions",
           "versions_string", "write_stage_outputs"]
