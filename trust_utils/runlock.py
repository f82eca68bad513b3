"""One run per directory: the advisory lock ``<run_dir>/.lock`` that ``rlhf-trust run`` holds while it runs.

The lock is two things at once:

* an ``fcntl.flock`` on the file, which the kernel drops when the holding process dies (even on ``kill -9``), so a
  dead run never blocks the next one;
* a JSON record in the file (``pid``, ``host``, ``started``, ``profile``), so a refused run can name the holder, and
  so a lock whose flock is still held by an orphan (a forked child that inherited the descriptor) but whose recorded
  process is gone on this host is taken over too.

The file is never deleted, only emptied on release: deleting it would let a waiting process lock the unlinked file
while a third one locks a new file under the same name, both believing they hold the directory.

:func:`holder` answers ``rlhf-trust status``: the record while the lock is held, ``None`` otherwise, so a
stage left ``running`` by a killed run reads as ``interrupted``. Orchestration: only the runner and the CLI use it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .planning import PipelineError

LOCK_NAME = ".lock"

#: How long a run keeps trying before it refuses: a ``status`` probing the lock holds it for microseconds.
RETRY_SECONDS = 1.0


class RunLocked(PipelineError):
    """Another live run holds the run directory (the CLI exits 2 with this message)."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a run directory's lock."""

    pid: int
    host: str
    started: str
    profile: str = ""

    def describe(self) -> str:
        prof = f", profile '{self.profile}'" if self.profile else ""
        return f"pid {self.pid} on host {self.host} since {self.started}{prof}"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one we may not signal still exists)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(path: Path) -> Holder | None:
    """The record in a lock file; None when the file is missing, empty (released) or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
        return Holder(int(data["pid"]), str(data["host"]), str(data["started"]), str(data.get("profile", "")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _try_flock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


def _dead_here(h: Holder | None) -> bool:
    """The recorded holder ran on this host and its process is gone."""
    return h is not None and h.host == socket.gethostname() and not pid_alive(h.pid)


def holder(directory: Path) -> Holder | None:
    """The live holder of ``directory``'s lock, or None when no run holds it (no file, flock free, or the recorded
    process is gone on this host)."""
    path = Path(directory) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if _try_flock(fd, fcntl.LOCK_SH):  # free: nobody holds it
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
    finally:
        os.close(fd)
    h = read_holder(path)
    return None if h is None or _dead_here(h) else h


class RunLock:
    """The lock of one run directory; a context manager (``with RunLock(dir, profile).acquire(note): ...``).

    Args:
        directory: the run directory (created by the caller).
        profile: the profile name recorded for a refused run's message.
    """

    def __init__(self, directory: str | os.PathLike, profile: str = ""):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.profile = profile
        self._fd: int | None = None

    def acquire(self, note: Callable[[str], None] = print) -> "RunLock":
        """Take the lock, or raise :class:`RunLocked` naming the live holder. A dead holder's lock is taken over
        (``note`` says whose)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by the notebooks' kernels
        except OSError as exc:
            raise PipelineError(f"cannot create the run lock {self.path}: {exc.strerror}; check that the run "
                                f"directory is writable") from None
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            if _try_flock(fd, fcntl.LOCK_EX):
                break
            h = read_holder(self.path)
            if _dead_here(h):  # an orphan keeps the flock but the run that took it is gone
                break
            if time.monotonic() >= deadline:
                os.close(fd)
                who = h.describe() if h else "a process that has not written its record yet"
                raise RunLocked(f"run directory {self.directory} is in use by another rlhf-trust run: {who}. "
                                f"Wait for it to finish, or stop it (kill {h.pid if h else '<pid>'}); the lock of a "
                                f"run that is no longer alive is taken over automatically")
            time.sleep(0.05)
        previous = read_holder(self.path)
        if previous is not None and previous.pid != os.getpid():
            note(f"note: taking over the lock of {self.directory}: its holder ({previous.describe()}) is no longer "
                 f"running; stages it left 'running' are redone")
        me = Holder(os.getpid(), socket.gethostname(), time.strftime("%Y-%m-%dT%H:%M:%S%z"), self.profile)
        # written in place: replacing the file would give it a new inode that the flock does not cover
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(asdict(me)) + "\n").encode("utf-8"), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        """Empty the record and drop the flock (the file stays: see the module docstring)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> "RunLock":
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


__all__ = ["LOCK_NAME", "RunLock", "RunLocked", "Holder", "holder", "read_holder", "pid_alive"]
