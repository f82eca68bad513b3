"""Progress lines a stage writes while it runs, and the runner's tail of them.

``rlhf-trust run`` executes a stage's notebook in a kernel via papermill, whose own bar only counts cells, so a
20-minute training cell looks frozen. The runner therefore names a progress file in the environment
(:data:`ENV_VAR`) before it starts the kernel (which inherits it), and :func:`follow` echoes that file's new lines
while the notebook runs. Inside the stage, :func:`report` appends one line (a no-op when no runner asked for
progress, e.g. in Jupyter or the tests); the engine reports its generation/scoring batches and the trainers their
logged steps with loss (:func:`trainer_callback`). Lines are rate-limited per topic so a fast loop costs nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

ENV_VAR = "RLHF_TRUST_PROGRESS"
PROGRESS_FILE = "progress.log"
MIN_INTERVAL_S = 5.0  # at most one line per topic this often (the last update of a loop always shows)

_last: dict[str, float] = {}


def report(message: str, topic: str = "", final: bool = False) -> bool:
    """Append ``message`` to the runner's progress file; False when none is set or the topic reported too recently."""
    path = os.environ.get(ENV_VAR)
    if not path:
        return False
    now = time.monotonic()
    if topic and not final and now - _last.get(topic, -1e9) < MIN_INTERVAL_S:
        return False
    if topic:
        _last[topic] = now
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} {message.strip()}\n")
    except OSError:  # progress must never fail a stage
        return False
    return True


class Bar:
    """A tqdm bar that also reports ``desc done/total (rate/s)`` to the progress file."""

    def __init__(self, bar, total: int, desc: str):
        self.bar, self.total, self.desc, self.done = bar, int(total), desc, 0
        self.t0 = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.bar.update(n)
        self.done += int(n)
        if self.total:
            rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
            report(f"{self.desc}: {self.done}/{self.total} ({rate:.2f}/s)", topic=f"bar:{self.desc}",
                   final=self.done >= self.total)

    def close(self) -> None:
        self.bar.close()


def trainer_callback():
    """A ``TrainerCallback`` that reports ``step n/N loss x`` at every logging step."""
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            keys = [k for k in ("loss", "objective/rlhf_reward", "rewards/margins", "accuracy") if k in logs]
            vals = " ".join(f"{k.split('/')[-1]} {float(logs[k]):.4g}" for k in keys)
            report(f"train step {state.global_step}/{state.max_steps} {vals}".rstrip(), topic="train",
                   final=state.global_step >= state.max_steps)

    return ProgressCallback()


@contextmanager
def follow(stage_dir: str | os.PathLike, echo: Callable[[str], None] | None = None, prefix: str = "    | ",
           poll_s: float = 1.0) -> Iterator[Path]:
    """While the block runs, name ``<stage_dir>/progress.log`` in the environment and echo its new lines.

    The file is emptied first, so it shows the current run only; the environment variable is restored after.
    """
    path = Path(stage_dir) / PROGRESS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")
    out = echo or (lambda s: print(s, file=sys.stderr, flush=True))
    old = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(path)
    stop = threading.Event()
    pos = 0

    def drain() -> None:
        nonlocal pos
        try:
            with open(path, "rb") as fh:
                fh.seek(pos)
                chunk = fh.read()
        except OSError:
            return
        complete, _, _ = chunk.rpartition(b"\n")  # only whole lines; a half-written one waits for the next poll
        if complete:
            pos += len(complete) + 1
            for line in complete.decode("utf-8", errors="replace").split("\n"):
                out(prefix + line)

    def loop() -> None:
        while not stop.wait(poll_s):
            drain()

    t = threading.Thread(target=loop, daemon=True, name="progress-tail")
    t.start()
    try:
        yield path
    finally:
        stop.set()
        t.join()
        drain()
        if old is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = old


__all__ = ["ENV_VAR", "PROGRESS_FILE", "report", "Bar", "trainer_callback", "follow"]
