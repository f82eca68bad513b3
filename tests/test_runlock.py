"""One run per directory: a second process's run is refused naming the holder, a dead holder's lock is taken over,
and ``status`` tells a live run from an interrupted one."""

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_pipeline import quiet, root, write_profile  # noqa: F401  (root is a fixture)

from trust_utils.cli import main
from trust_utils.pipeline import RunLocked, run, status
from trust_utils.profiles import load_profile
from trust_utils.runlock import LOCK_NAME, RunLock, holder, read_holder
from trust_utils.utils import read_json, write_json

REPO = Path(__file__).resolve().parents[1]
HOLD = ("import sys, time\nfrom trust_utils.runlock import RunLock\n"
        "RunLock(sys.argv[1], 'other').acquire(lambda m: None)\nprint('ready', flush=True)\ntime.sleep(300)\n")


def _holding_child(directory: Path) -> subprocess.Popen:
    """A second process that takes the lock and sleeps (returns once it holds it)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "ready"
    return child


def _kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)  # reaped: its pid is gone


def test_a_second_process_is_refused_naming_it_and_its_dead_lock_is_taken_over(root, capsys):  # noqa: F811
    path = write_profile(root, {"data": {"x": 1}, "sft": {}})
    run_dir = root / "runs" / "p"
    run(load_profile(path), echo=quiet, progress=False)
    # sft as a run killed mid-stage leaves it
    m = read_json(run_dir / "sft" / "manifest.json")
    write_json(run_dir / "sft" / "manifest.json", dict(m, status="running"))

    child = _holding_child(run_dir)
    try:
        rows = {r["stage"]: r["status"] for r in status(load_profile(path))}
        assert rows == {"data": "done", "sft": f"running (pid {child.pid})"}
        with pytest.raises(RunLocked) as exc:
            run(load_profile(path), echo=quiet, progress=False)
        msg = str(exc.value)
        assert f"pid {child.pid} on host {socket.gethostname()} since " in msg and "profile 'other'" in msg
        assert str(run_dir) in msg
        assert main(["run", "--profile", str(path), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"pid {child.pid}" in err and "Traceback" not in err
        # a dry run takes no lock
        assert [p.status for p in run(load_profile(path), dry_run=True, echo=quiet)] == ["planned", "planned"]
        assert read_json(run_dir / "sft" / "manifest.json")["status"] == "running", "the refused run touched nothing"
    finally:
        _kill(child)

    rows = {r["stage"]: r["status"] for r in status(load_profile(path))}
    assert rows == {"data": "done", "sft": "interrupted"}
    lines: list[str] = []
    plans = run(load_profile(path), echo=lines.append, progress=False)
    assert [p.status for p in plans] == ["skipped", "done"]
    note = next(line for line in lines if "taking over" in line)
    assert f"pid {child.pid}" in note and "no longer running" in note
    assert any("previous run interrupted; resuming" in line for line in lines)
    assert holder(run_dir) is None and (run_dir / LOCK_NAME).read_text() == "", "released: the record is emptied"
    assert [r["status"] for r in status(load_profile(path))] == ["done", "done"]


def test_a_lock_whose_recorded_process_is_gone_is_taken_over_even_if_an_orphan_keeps_the_flock(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / LOCK_NAME
    write_json(path, {"pid": dead.pid, "host": socket.gethostname(), "started": "then", "profile": "p"})
    fd = os.open(path, os.O_RDONLY)  # stands for an orphan that inherited the descriptor
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        assert holder(tmp_path) is None, "a recorded holder that is gone holds nothing"
        notes: list[str] = []
        lock = RunLock(tmp_path, "q").acquire(notes.append)
        assert len(notes) == 1 and f"pid {dead.pid}" in notes[0]
        assert read_holder(path).pid == os.getpid() and read_holder(path).profile == "q"
        lock.release()
    finally:
        os.close(fd)


def test_one_process_takes_the_lock_once_and_frees_it(tmp_path):
    assert holder(tmp_path) is None  # no lock file
    with RunLock(tmp_path, "p").acquire(quiet) as lock:
        rec = json.loads((tmp_path / LOCK_NAME).read_text())
        assert rec["pid"] == os.getpid() and rec["host"] == socket.gethostname() and rec["profile"] == "p"
        assert holder(tmp_path).pid == os.getpid()
        with pytest.raises(RunLocked, match=f"pid {os.getpid()}"):  # a second open of the file is a second run
            RunLock(tmp_path, "p").acquire(quiet)
    assert lock._fd is None and holder(tmp_path) is None
    RunLock(tmp_path).acquire(quiet).release()  # free again
