"""The runner's ``<stage_dir>/manifest.json``: the stage's resolved parameters, the fingerprint that decides whether
it is skipped, versions and timings, wrapped around the stage's own ``outputs.json`` (:mod:`trust_utils.provenance`),
and the content hashes of the stage's outputs (:func:`declared_outputs`, :func:`hash_outputs`): a completed stage
whose output is gone or edited is stale (:func:`outputs_changed`), so deleting an output and rerunning redoes the
stage that writes it.
Orchestration: value code never imports this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Iterator

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
from .utils import hash_obj, hash_path, read_json, write_json


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


# ------------------------------------------------------------------------------------------------ outputs
#: Files of a stage directory that are the runner's bookkeeping, never a stage's output.
_BOOKKEEPING = ("manifest.json", "outputs.json", "report.html")
#: Directories of a stage that are one output as a whole (their files are not listed one by one).
_WHOLE_DIRS = ("model",)


def _named_paths(value: Any) -> Iterator[str]:
    """Every string in an ``outputs.json`` summary (a file it names is one of them)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _named_paths(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _named_paths(v)


def declared_outputs(stage_dir: Path, results_file: Path, summary: dict[str, Any], notebook: str = "") -> list[Path]:
    """The outputs a completed stage must still have: its ``model/`` (whole), every file under ``records/``, every
    file or directory its ``outputs.json`` summary names inside its directory (a directory other than ``model/``
    counts file by file), and its results table ``results/<stage>.csv``; only those that exist, sorted."""

    stage_dir = stage_dir.resolve()
    skip = {stage_dir / n for n in (*_BOOKKEEPING, notebook) if n}
    found: set[Path] = set()
    candidates = [stage_dir / "model", stage_dir / "records"]
    for s in _named_paths(summary):
        if s and len(s) < 1024 and "\n" not in s:
            try:
                p = Path(s)
                candidates.append((p if p.is_absolute() else stage_dir / p).resolve())
            except (OSError, ValueError):
                continue
    for p in candidates:
        try:
            if p == stage_dir or stage_dir not in p.parents or p in skip or not p.exists():
                continue
        except OSError:
            continue
        whole = next((stage_dir / d for d in _WHOLE_DIRS if p == stage_dir / d or stage_dir / d in p.parents), None)
        if whole is not None:
            found.add(whole)
        elif p.is_dir():
            found.update(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        else:
            found.add(p)
    if results_file.is_file():
        found.add(results_file.resolve())
    return sorted(found)


def _hidden(rel: Path) -> bool:
    """Hidden files are not part of an output: markers others left in a model directory (the old ``.content_hash``)
    and temporary files."""
    return any(s.startswith(".") for s in rel.parts)


def _files(p: Path) -> list[Path]:
    """The files of an output directory, without hidden ones."""
    if not p.is_dir():
        raise FileNotFoundError(f"no such directory: {p}")
    return sorted(f for f in p.rglob("*") if f.is_file() and not _hidden(f.relative_to(p)))


def _hash_output(p: Path) -> str:
    """:func:`trust_utils.utils.hash_path` of a file, or of a directory's files but hidden ones."""
    return hash_path(p, skip=_hidden)


def _stat_signature(p: Path) -> str:
    """Sizes and modification times of a file or of every file under a directory: when it is unchanged the
    recorded content hash is trusted, so checking a model of gigabytes costs a few ``stat`` calls."""
    if p.is_file():
        st = p.stat()
        return hash_obj([st.st_size, st.st_mtime_ns])
    return hash_obj([(str(f.relative_to(p)), f.stat().st_size, f.stat().st_mtime_ns) for f in _files(p)])


def hash_outputs(base: Path, paths: Iterable[Path]) -> dict[str, dict[str, str]]:
    """``{path relative to base: {"hash": content hash, "stat": stat signature}}`` (:func:`_hash_output`)."""
    base = base.resolve()
    return {str(p.relative_to(base)): {"hash": _hash_output(p), "stat": _stat_signature(p)} for p in paths}


def outputs_changed(base: Path, recorded: dict[str, dict[str, str]]) -> list[str]:
    """Why the recorded outputs under ``base`` no longer hold: ``output missing: <path>`` or
    ``output changed: <path>`` (paths relative to ``base``); empty when every one is there, unchanged."""
    reasons = []
    for rel, rec in recorded.items():
        p = base / rel
        try:
            if _stat_signature(p) == rec.get("stat"):
                continue
            if _hash_output(p) != rec.get("hash"):
                reasons.append(f"output changed: {rel}")
        except (FileNotFoundError, NotADirectoryError):
            reasons.append(f"output missing: {rel}")
    return reasons


__all__ = ["read_manifest", "write_manifest", "inputs_changed", "declared_outputs", "hash_outputs", "outputs_changed",
           # re-exported for the runner, which reads both files
           "RUN_ID_ENV", "TRACKED_PACKAGES", "current_run_id", "hash_inputs", "read_stage_outputs", "versions",
           "versions_string", "write_stage_outputs"]
