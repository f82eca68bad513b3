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

* **Cleaning.** Each entry records when it was written (``written``) and the producer key it was computed under
  (``producer``: the ``code`` part of its key, carried by the key :func:`cache_key` returns), so ``rlhf-trust clean``
  (:mod:`trust_utils.clean`) can drop what no current code can hit. A database from before the ``producer`` column
  gains it on open (existing entries stay readable, with no producer); an old entry that current code reads gets its
  producer filled in then.

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


class CacheKey(str):
    """A cache key (a plain ``str`` to every caller) that remembers the producer key it was made with, so
    :meth:`ResultCache.put_many` can record it beside the value without the callers passing it again."""

    producer: str | None = None


def cache_key(**parts: Any) -> CacheKey:
    """A 32-hex-digit key from named parts (sorted, JSON-encoded, schema version included); its ``producer`` is the
    ``code`` part (:func:`producer_key`), if any."""
    key = CacheKey(hash_obj({"schema": CACHE_SCHEMA, **parts}, 32))
    code = parts.get("code")
    key.producer = str(code) if code is not None else None
    return key


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
                            "meta TEXT, written REAL, producer TEXT)")
                cols = {r[1] for r in con.execute("PRAGMA table_info(entries)")}
                if "producer" not in cols:  # a database from before the column: add it, keep every entry
                    con.execute("ALTER TABLE entries ADD COLUMN producer TEXT")

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
        producer = {k: getattr(k, "producer", None) for k in keys}
        unmarked: list[tuple[str, str]] = []
        for i in range(0, len(keys), 500):
            chunk = [str(k) for k in keys[i:i + 500]]
            q = f"SELECT key, value, producer FROM entries WHERE key IN ({','.join('?' * len(chunk))})"
            for k, v, prod in con.execute(q, chunk):
                out[k] = json.loads(v)
                if prod is None and producer.get(k):
                    unmarked.append((producer[k], k))
        if unmarked:  # entries written before the producer column, hit by current code: record whose they are
            with self._conn() as tx:
                tx.executemany("UPDATE entries SET producer = ? WHERE key = ?", unmarked)
        self.hits += len(out)
        self.misses += len(keys) - len(out)
        return out

    def get(self, key: str, default: Any = None) -> Any:
        return self.get_many([key]).get(key, default)

    def put_many(self, items: Iterable[tuple[str, Any, dict | None]]) -> int:
        """Write ``(key, value, meta)`` triples in one transaction (all or nothing)."""
        rows = [(str(k), json.dumps(v, ensure_ascii=False), stable_json(m) if m is not None else None, time.time(),
                 getattr(k, "producer", None)) for k, v, m in items]
        if not self.enabled or not rows:
            return 0
        with self._conn() as con:
            con.executemany("INSERT OR REPLACE INTO entries (key, value, meta, written, producer) "
                            "VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def put(self, key: str, value: Any, meta: dict | None = None) -> None:
        self.put_many([(key, value, meta)])

    def __bool__(self) -> bool:  # an empty cache is still a cache (``cache or default`` must not drop it)
        return True

    def __len__(self) -> int:
        if not self.enabled:
            return 0
        return int(self._conn().con.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def drop(self, keep_producers: Iterable[str], older_than: float | None = None,
             dry_run: bool = False) -> tuple[int, int]:
        """Delete the entries whose producer is not in ``keep_producers`` (entries with no recorded producer
        included: no current code has read them since the column exists), and, with ``older_than`` (a Unix time),
        every entry written before it. Returns ``(entries, bytes of their keys, values and meta)``; ``dry_run``
        only counts. The file shrinks (``VACUUM``) when something was deleted."""
        if not self.enabled:
            return 0, 0
        keep = sorted(set(keep_producers))
        where = f"(producer IS NULL OR producer NOT IN ({','.join('?' * len(keep))}))" if keep else "1"
        args: list[Any] = list(keep)
        if older_than is not None:
            where = f"({where} OR written IS NULL OR written < ?)"
            args.append(float(older_than))
        con = self._conn().con
        n, size = con.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(key) + LENGTH(value) + COALESCE(LENGTH(meta), 0)),"
                              f" 0) FROM entries WHERE {where}", args).fetchone()
        if n and not dry_run:
            with self._conn() as tx:
                tx.execute(f"DELETE FROM entries WHERE {where}", args)
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("VACUUM")
        return int(n), int(size)

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
