"""``rlhf-trust clean``: only what no current code can use is dropped (stale producers, old builders' models, the
parameter readings of notebooks that are gone), and it says what it freed."""

import os
import sqlite3
import subprocess
import sys
import time

from trust_utils.cache import DB_NAME, ResultCache, cache_key
from trust_utils.clean import clean, clean_models, clean_parameters, clean_results, current_producers
from trust_utils.cli import main
from trust_utils.models import builder_key
from trust_utils.planning import PARAMETERS_CACHE, parameters_cache_file


def _keys(db_dir):
    con = sqlite3.connect(str(db_dir / DB_NAME))
    try:
        return dict(con.execute("SELECT key, producer FROM entries"))
    finally:
        con.close()


def test_entries_record_their_producer_and_clean_drops_only_the_stale_one(tmp_path):
    current = sorted(current_producers())[0]
    now, stale = cache_key(kind="tox", code=current, text="a"), cache_key(kind="tox", code="0ld0ld0ld0ld0ld0", text="a")
    assert now.producer == current and now != stale
    db = ResultCache(tmp_path)
    db.put_many([(now, 0.25, {"kind": "tox"}), (stale, 0.5, {"kind": "tox"})])
    db.close()
    assert _keys(tmp_path) == {str(now): current, str(stale): "0ld0ld0ld0ld0ld0"}

    dry = clean_results(tmp_path, dry_run=True)
    assert (dry.count, len(_keys(tmp_path))) == (1, 2), "a dry run deletes nothing"
    assert dry.bytes == len(str(stale)) + len("0.5") + len('{"kind":"tox"}')
    freed = clean_results(tmp_path)
    assert freed.count == 1 and freed.bytes >= 0
    db = ResultCache(tmp_path)
    assert db.get_many([now, stale]) == {str(now): 0.25}
    db.close()


def test_older_than_drops_old_entries_of_current_code_too(tmp_path):
    current = sorted(current_producers())[0]
    old, new = cache_key(kind="gen", code=current, p="old"), cache_key(kind="gen", code=current, p="new")
    db = ResultCache(tmp_path)
    db.put_many([(old, "x", None), (new, "y", None)])
    db.close()
    con = sqlite3.connect(str(tmp_path / DB_NAME))
    con.execute("UPDATE entries SET written = ? WHERE key = ?", (time.time() - 3 * 86400, str(old)))
    con.commit()
    con.close()
    assert clean_results(tmp_path, older_than_days=5).count == 0
    assert clean_results(tmp_path, older_than_days=2).count == 1
    assert set(_keys(tmp_path)) == {str(new)}


def test_a_database_from_before_the_producer_column_stays_readable(tmp_path):
    current = sorted(current_producers())[0]
    read, unread = cache_key(kind="next", code=current, c="r"), cache_key(kind="next", code=current, c="u")
    con = sqlite3.connect(str(tmp_path / DB_NAME))
    con.execute("CREATE TABLE entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, meta TEXT, written REAL)")
    con.executemany("INSERT INTO entries VALUES (?, ?, NULL, ?)", [(str(read), "1", 0.0), (str(unread), "2", 0.0)])
    con.commit()
    con.close()
    db = ResultCache(tmp_path)
    assert db.get(read) == 1, "an entry of the old schema is still a hit"
    db.close()
    assert _keys(tmp_path) == {str(read): current, str(unread): None}, "a hit by current code records its producer"
    assert clean_results(tmp_path).count == 1  # the one no current code has read
    assert set(_keys(tmp_path)) == {str(read)}


def test_old_builders_models_and_dead_partial_builds_go_the_current_model_stays(tmp_path):
    models = tmp_path / "models"
    keep = [models / f"tiny-1a2b3c4d-0123456789-{builder_key()}", models / "my-own-model"]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    drop = [models / "tiny-1a2b3c4d-0123456789-deadbeef", models / f"tiny-x-y-{builder_key()}.partial-{dead.pid}"]
    for d in keep + drop:
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(b"\0" * 100)
    live = models / f"tiny-x-y-{builder_key()}.partial-{os.getpid()}"  # a build in progress
    live.mkdir()
    assert clean_models(models, dry_run=True).count == 2 and all(d.is_dir() for d in drop)
    freed = clean_models(models)
    assert (freed.count, freed.bytes) == (2, 200)
    assert all(d.is_dir() for d in keep + [live]) and not any(d.exists() for d in drop)


def test_the_parameter_cache_keeps_the_readings_of_current_notebooks(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    nb = root / "notebooks" / "00_data_preparation.ipynb"
    nb.write_text("{}")
    monkeypatch.setenv("RLHF_TRUST_ROOT", str(root))
    cache = tmp_path / "cache"
    current = parameters_cache_file(nb, cache)
    old = cache / PARAMETERS_CACHE / "0123456789abcdef-papermill0.1.json"
    for f in (current, old):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("{}")
    freed = clean_parameters(cache)
    assert (freed.count, freed.bytes) == (1, 2) and current.is_file() and not old.exists()


def test_the_command_prints_what_it_freed(tmp_path, capsys):
    stale = cache_key(kind="tox", code="0ld0ld0ld0ld0ld0", text="a")
    db = ResultCache(tmp_path / "gen")
    db.put_many([(stale, 0.5, None)])
    db.close()
    (tmp_path / "models" / "tiny-a-b-deadbeef").mkdir(parents=True)
    assert main(["clean", "--cache-dir", str(tmp_path / "gen"), "--cache-dir", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would free 1 entries" in out and "would free 1 folders" in out and len(_keys(tmp_path / "gen")) == 1
    assert main(["clean", "--cache-dir", str(tmp_path / "gen"), "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "freed 1 entries" in out and "freed 1 folders" in out and "in all" in out
    assert _keys(tmp_path / "gen") == {} and not (tmp_path / "models" / "tiny-a-b-deadbeef").exists()
    assert main(["clean", "--cache-dir", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert clean([tmp_path / "nope"], [tmp_path / "nope"]) == []
