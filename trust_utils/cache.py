"""On-disk cache of generations and scores: one SQLite file per directory, in WAL mode.

Every generation and every score the evaluation engine computes goes through :class:`ResultCache`.

* **Keys** are hashes of everything that determines a value (see :func:`cache_key`): the model's
  content fingerprint (a hub model: its resolved commit), the dtype and device type it runs in, the *exact*
  formatted prompt, the decoding settings, the seed and sample index, the kind of value (``gen``, ``loglik``,
  ``next``, ``tox``...), and the code that computes it (:func:`producer_key`: the package modules that compute the
  value, their import closure, and the versions of the libraries they compute it with). So a value computed by other
  code is never read as a hit: an edit to the engine's decode loop regenerates, an edit to a vertical's parser does
  not (parsing runs after the cache). The key's inputs are stored beside the value (``meta``) so the cache can be
  inspected.
* **Atomicity.** A batch of values is written in one SQLite transaction, so a reader (or a
  rerun after a crash) sees either all of the batch or none of it; a partially written value is
  never read as complete. WAL mode lets several processes (notebooks of different verticals that
  share ``<run_dir>/cache/generations``) read while one writes; writers wait up to ``timeout``.
* **Resuming.** The engine writes each batch as soon as it is done, so an interrupted vertical
  continues where it stopped, and a rerun of a finished one does no model work.

Values are JSON (a string, a number, a list, a dict).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from .codehash import value_code
from .utils import hash_obj, library_versions, stable_json

#: Bump when the meaning of cached values or the parts of a key change (old entries are then never matched).
#: 2: keys carry the model's dtype and device type, and hub models their resolved commit.
#: 3: keys carry the code that computes the value and its libraries' versions (:func:`producer_key`).
CACHE_SCHEMA = 3
DB_NAME = "cache.sqlite"


def cache_key(**parts: Any) -> str:
    """A 32-hex-digit key from named parts (sorted, JSON-encoded, schema version included)."""
    return hash_obj({"schema": CACHE_SCHEMA, **parts}, 32)


def producer_key(modules: Iterable[str], libraries: Iterable[str]) -> str:
    """A hash of the code that computes cached values: the content of ``modules`` (dotted names in this package) and
    of every package module they import, but the registries, paths, progress and style modules
    (:func:`trust_utils.codehash.value_code`), and the versions of ``libraries``. Conservative on purpose: an edit
    anywhere in that closure recomputes the values."""

    return hash_obj({"code": value_code(list(modules)), "versions": library_versions(libraries)}, 16)


class ResultCache:
    """A key → JSON value store in ``<directory>/cache.sqlite``.

    Args:
        directory: folder of the database (created). ``None`` gives a cache that stores nothing
            (every lookup misses), for benchmarks and one-off calls.
        timeout: seconds a writer waits for a concurrent writer's lock.
    """

    def __init__(self, directory: str | os.PathLike | None, timeout: float = 60.0):
        self.directory = Path(directory) if directory else None
        self.timeout = timeout
        self._local = threading.local()
        self.hits = 0
        self.misses = 0
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._conn() as con:
                con.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                            "meta TEXT, written REAL)")

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    @property
    def path(self) -> Path | None:
        return self.directory / DB_NAME if self.directory is not None else None

    def _conn(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return _Tx(con)  # type: ignore[return-value]

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """``{key: value}`` for the keys present (missing keys are absent)."""
        keys = list(dict.fromkeys(keys))
        if not self.enabled or not keys:
            self.misses += len(keys)
            return {}
        out: dict[str, Any] = {}
        con = self._conn().con
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT key, value FROM entries WHERE key IN ({','.join('?' * len(chunk))})"
            for k, v in con.execute(q, chunk):
                out[k] = json.loads(v)
        self.hits += len(out)
        self.misses += len(keys) - len(out)
        return out

    def get(self, key: str, default: Any = None) -> Any:
        return self.get_many([key]).get(key, default)

    def put_many(self, items: Iterable[tuple[str, Any, dict | None]]) -> int:
        """Write ``(key, value, meta)`` triples in one transaction (all or nothing)."""
        rows = [(k, json.dumps(v, ensure_ascii=False), stable_json(m) if m is not None else None, time.time())
                for k, v, m in items]
        if not self.enabled or not rows:
            return 0
        with self._conn() as con:
            con.executemany("INSERT OR REPLACE INTO entries (key, value, meta, written) VALUES (?, ?, ?, ?)", rows)
        return len(rows)

    def put(self, key: str, value: Any, meta: dict | None = None) -> None:
        self.put_many([(key, value, meta)])

    def __bool__(self) -> bool:  # an empty cache is still a cache (``cache or default`` must not drop it)
        return True

    def __len__(self) -> int:
        if not self.enabled:
            return 0
        return int(self._conn().con.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None


class _Tx:
    """Context manager: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on a connection."""

    def __init__(self, con: sqlite3.Connection):
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.con.execute("COMMIT")
        else:
            self.con.execute("ROLLBACK")

    def execute(self, *a, **k):  # pragma: no cover - convenience
        return self.con.execute(*a, **k)
