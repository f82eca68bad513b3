"""``rlhf-trust clean``: bounded disk. Drops what no current code can use:

* **generation and score cache entries** (:class:`trust_utils.cache.ResultCache`) whose producer key (the ``code``
  part of their key: :func:`trust_utils.generation.engine_code_key` and
  :func:`trust_utils.verticals.scorers.scorer_code_key`) is not the current one, and, with ``older_than_days``, every
  entry written before then. An entry written before the cache recorded producers, and not read since, counts as
  not current (its producer is unknown; the next run recomputes it if it was);
* **model folders** in ``<cache>/models/`` made by other builder code (the name ends in a
  :func:`trust_utils.models.builder_key` that is not the current one), and the ``.partial-<pid>`` folders of
  builds whose process is gone;
* **the parameter cache** of :func:`trust_utils.planning._inspect` (``<cache>/notebook-parameters/``): the readings
  of notebook files that no longer exist in ``notebooks/``.

Every step reports what it freed (entries or files, bytes); ``dry_run`` only counts. Orchestration.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .cache import DB_NAME, ResultCache
from .generation import engine_code_key
from .models import builder_key
from .paths import notebooks_dir
from .planning import PARAMETERS_CACHE, parameters_cache_file
from .runlock import pid_alive
from .verticals.scorers import scorer_code_key

_BUILT = re.compile(r"-([0-9a-f]{8})$")
_PARTIAL = re.compile(r"\.partial-(\d+)$")


@dataclass
class Freed:
    """What one step freed (or, in a dry run, would free)."""

    what: str
    where: Path
    count: int
    bytes: int
    unit: str = "entries"

    def line(self, dry_run: bool = False) -> str:
        verb = "would free" if dry_run else "freed"
        return f"{self.what} {self.where}: {verb} {self.count} {self.unit}, {human(self.bytes)}"


def human(n: int) -> str:
    """Bytes for people: ``1.5 MB``."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def _size(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def current_producers() -> set[str]:
    """The producer keys the current code writes cache entries under."""
    return {engine_code_key(), scorer_code_key()}


def clean_results(directory: Path, older_than_days: float | None = None, dry_run: bool = False,
                  producers: Iterable[str] | None = None) -> Freed:
    """Drop a result cache's entries of other producers (and those older than ``older_than_days``)."""
    db = ResultCache(directory)
    try:
        before = _size(directory / DB_NAME)
        cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
        n, size = db.drop(current_producers() if producers is None else producers, cutoff, dry_run)
    finally:
        db.close()
    freed = size if dry_run else max(before - _size(directory / DB_NAME), 0)
    return Freed("generation/score cache", directory, n, freed)


def clean_models(models_dir: Path, dry_run: bool = False) -> Freed:
    """Delete the builder-keyed model folders of other builder code and the leftovers of dead builds."""
    current = builder_key()
    gone = []
    for d in sorted(models_dir.iterdir()) if models_dir.is_dir() else []:
        if not d.is_dir():
            continue
        partial = _PARTIAL.search(d.name)
        if partial:
            if not pid_alive(int(partial.group(1))):
                gone.append(d)
            continue
        built = _BUILT.search(d.name)
        if built and built.group(1) != current:
            gone.append(d)
    size = sum(_size(d) for d in gone)
    if not dry_run:
        for d in gone:
            shutil.rmtree(d)
    return Freed("models", models_dir, len(gone), size, "folders")


def clean_parameters(cache: Path, dry_run: bool = False) -> Freed:
    """Delete the parameter readings of notebook files that are no longer in ``notebooks/``."""
    folder = cache / PARAMETERS_CACHE
    current = {parameters_cache_file(nb, cache).name for nb in notebooks_dir().glob("*.ipynb")}
    gone = [f for f in sorted(folder.glob("*.json")) if f.name not in current] if folder.is_dir() else []
    size = sum(f.stat().st_size for f in gone)
    if not dry_run:
        for f in gone:
            f.unlink()
    return Freed("parameter cache", folder, len(gone), size, "files")


def clean(result_dirs: Iterable[Path], model_caches: Iterable[Path], older_than_days: float | None = None,
          dry_run: bool = False) -> list[Freed]:
    """Clean each result cache directory (holding ``cache.sqlite``) and each model cache (holding ``models/``
    and ``notebook-parameters/``); missing ones are passed over."""
    out = [clean_results(d, older_than_days, dry_run) for d in dict.fromkeys(result_dirs) if (d / DB_NAME).is_file()]
    for c in dict.fromkeys(model_caches):
        if (c / "models").is_dir():
            out.append(clean_models(c / "models", dry_run))
        if (c / PARAMETERS_CACHE).is_dir():
            out.append(clean_parameters(c, dry_run))
    return out


__all__ = ["Freed", "current_producers", "clean", "clean_results", "clean_models", "clean_parameters",
           "human"]
