"""Provenance of a computed value: package versions, and each stage's ``outputs.json``.

Each stage's package function records what it read and produced with :func:`write_stage_outputs`
(``<stage_dir>/outputs.json``): its summary, the inputs it read as ``{path: content hash}``, timings, versions and
the id of the pipeline execution that wrote it. This is value-side bookkeeping (any stage may call it); the runner's
own ``manifest.json``, which wraps it with the resolved parameters and the fingerprint, is :mod:`trust_utils.manifest`.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any, Iterable

from .kernel_modes import kernel_key
from .utils import hash_path, library_versions, read_json, write_json

#: Distributions whose versions go into every manifest and result row.
TRACKED_PACKAGES: tuple[str, ...] = (
    "rlhf-trust", "torch", "transformers", "trl", "datasets", "accelerate", "peft", "tokenizers",
    "papermill", "pandas", "numpy", "alt-profanity-check",
)


#: The runner sets this for the notebook kernel it starts; outputs.json records it (``interactive:...`` without it).
RUN_ID_ENV = "RLHF_TRUST_RUN_ID"


def current_run_id() -> str:
    """The pipeline execution that is writing, or ``interactive:<time>`` for a notebook run by hand."""
    return os.environ.get(RUN_ID_ENV) or f"interactive:{time.strftime('%Y-%m-%dT%H:%M:%S')}:{os.getpid()}"


def versions() -> dict[str, str]:
    """Installed versions of the tracked packages plus Python (``missing`` when absent), and the kernel mode this
    process computes in when it is not ``native`` (:mod:`trust_utils.kernel_modes`)."""
    return {"python": platform.python_version(), **library_versions(TRACKED_PACKAGES), **kernel_key()}


def versions_string() -> str:
    """Compact ``pkg=ver;...`` string of the versions that shape results (for result rows)."""
    v = versions()
    keys = ("rlhf-trust", "torch", "transformers", "trl", "kernels")
    return ";".join(f"{k}={v[k]}" for k in keys if k in v)


def hash_inputs(paths: Iterable[str | os.PathLike]) -> dict[str, str]:
    """``{absolute path: content hash}`` for files or directories a stage read."""
    return {str(Path(p).resolve()): hash_path(p) for p in paths}


def write_stage_outputs(stage_dir: str | os.PathLike, outputs: dict[str, Any],
                        inputs: Iterable[str | os.PathLike] = (), timings: dict[str, float] | None = None) -> Path:
    """Record a stage's summary (counts, metrics, files), the inputs it read, and timings.

    Args:
        stage_dir: the stage's directory in the run.
        outputs: small JSON-serialisable summary (file names relative to ``stage_dir``).
        inputs: files or directories read from outside the run directory (hashed here).
        timings: named durations in seconds.
    """
    record = {
        "run_id": current_run_id(),
        "outputs": outputs,
        "inputs": hash_inputs(inputs),
        "timings": timings or {},
        "versions": versions(),
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return write_json(Path(stage_dir) / "outputs.json", record)


def read_stage_outputs(stage_dir: str | os.PathLike) -> dict[str, Any] | None:
    p = Path(stage_dir) / "outputs.json"
    return read_json(p) if p.is_file() else None


__all__ = ["TRACKED_PACKAGES", "RUN_ID_ENV", "current_run_id", "versions", "versions_string", "hash_inputs",
           "write_stage_outputs", "read_stage_outputs"]
