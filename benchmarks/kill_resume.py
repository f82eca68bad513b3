"""Kill -9 a tiny-profile run inside any stage, rerun it, and compare its results with an uninterrupted run.

    python benchmarks/kill_resume.py --seed 0                       # every stage of the tiny profile
    python benchmarks/kill_resume.py --stages sft,ethics --at 0.5:0.9 --workdir /tmp/kr --keep

First the tiny profile runs uninterrupted into ``<workdir>/clean`` (the runner's CLI, ``python -m trust_utils.cli run
--profile tiny --run-dir DIR``), which also measures each stage's duration (its manifest's ``seconds``) and, for a
training stage, how long its training lasts. Then, for each stage S of ``--stages`` (default: every stage the
profile runs, in its order), ``<workdir>/kill-S`` starts as the run directory a run has when it reaches S: a copy of
the uninterrupted one holding only the stages before S (S and every later stage removed, with every output their
manifests list, and the generation cache, so S computes everything again). The profile runs into it and every
process of the run gets SIGKILL at a random time inside S: the runner's process group and the notebook kernel's
(jupyter starts kernels in a session of their own, so a kill of the runner's group alone would leave the kernel
running). For a training stage the time is a uniform fraction in ``--at`` (drawn from ``--seed``) of the
uninterrupted run's training time after its first checkpoint, counted from the first checkpoint, so the rerun has
one to resume from whatever the machine's load; for any other stage it is that fraction of the stage's uninterrupted
duration, counted from the runner's "S: running" line (when the stage ends before that, as it can when the clean run
shared a busier machine, the kill is tried again from a fresh copy in half the window, up to four times). The same
command then runs again to the end, and every
``results/*.csv`` of the two run directories is compared row for row (all columns, NaN equal to NaN), and each
trained stage's ``model/*.safetensors`` byte for byte.

Starting from the copy instead of from nothing changes no value: the stages before S would be skipped as unchanged
at that point of a run anyway (their outputs are checked against their manifests' hashes, which a copy keeps); it
saves running them once per kill.

Prints one row per kill: the stage, when it was killed (seconds after the stage started, and the fraction), the
newest checkpoint on disk at the kill (training stages), the ``resumed_from`` the rerun recorded, the result rows
equal and differing (and the differing columns), and the trained models equal. No results column is excluded: none
holds a timestamp, but ``model_revision`` (the scored model directory's hash) covers the model's reuse marker,
which records the run directory: it differs between any two run directories and is left out (:data:`IGNORED`; the
weights are compared directly). ``--compare-only`` redoes the comparison of an existing ``--workdir``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import project_env  # noqa: E402  (this folder and the project root on the path first)

from trust_utils.checkpoints import METHODS  # noqa: E402
from trust_utils.profiles import load_profile  # noqa: E402

PROFILE = "tiny"

TRAINING_STAGES = tuple(m.stage for m in METHODS)  # every alignment method, from its declaration
#: results columns that differ between any two run directories, so they are left out of the comparison:
#: ``model_revision`` hashes the whole model directory, whose reuse marker (``.train_config.json``) holds the stage
#: config with its ``run_dir`` (and ``resumed_from``); the weights themselves are compared file by file instead
IGNORED = ("model_revision",)


def _cmd(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "trust_utils.cli", "run", "--profile", PROFILE, "--run-dir", str(run_dir),
            "--no-progress"]


def _env() -> dict[str, str]:
    return project_env({"PYTHONUNBUFFERED": "1"})


def run_to_end(run_dir: Path, log: Path) -> float:
    """Run the tiny profile into ``run_dir`` to its end; the seconds it took (raises when the run fails)."""
    t0 = time.perf_counter()
    with log.open("a") as f:
        subprocess.run(_cmd(run_dir), cwd=ROOT, env=_env(), stdout=f, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - t0


def after_first_checkpoint(run_dir: Path, stage: str) -> float:
    """Seconds of the uninterrupted stage's training after its first checkpoint: its training time times the share
    of steps after ``save_steps`` (steps from the last row of ``training_log.csv``, ``save_steps`` from its config)."""
    out = json.loads((run_dir / stage / "outputs.json").read_text())
    train_s = float(out["timings"]["train_s"])
    steps = max(int(out["outputs"].get("steps") or out["outputs"].get("updates") or 1), 1)
    save = int(out["outputs"]["config"]["save_steps"])
    return train_s * max(steps - save, 0) / steps


def stage_seconds(run_dir: Path, stage: str) -> float:
    """The uninterrupted stage's duration (its manifest's ``seconds``)."""
    return float(json.loads((run_dir / stage / "manifest.json").read_text())["seconds"])


def prefix_copy(clean: Path, dst: Path, stage: str, order: list[str]) -> None:
    """``dst`` as a run directory is when the run reaches ``stage``: ``clean`` without ``stage``, the stages after
    it, every output their manifests list, the generation cache and the run lock."""
    import shutil

    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(clean, dst, symlinks=True, ignore=shutil.ignore_patterns(".lock"))
    shutil.rmtree(dst / "cache", ignore_errors=True)
    for later in order[order.index(stage):]:
        manifest = dst / later / "manifest.json"
        outputs = json.loads(manifest.read_text()).get("output_hashes", {}) if manifest.is_file() else {}
        for rel in outputs:
            p = dst / rel
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
        shutil.rmtree(dst / later, ignore_errors=True)


def _kill_everything(proc: subprocess.Popen) -> None:
    """SIGKILL the runner's process group and the process group of every descendant (the kernel has its own)."""
    import psutil

    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        kids = []
    groups = {os.getpgid(proc.pid)}
    for k in kids:
        try:
            groups.add(os.getpgid(k.pid))
        except ProcessLookupError:
            pass
    for g in groups:
        try:
            os.killpg(g, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def newest_checkpoint(run_dir: Path, stage: str) -> int | None:
    steps = [int(p.name.rsplit("-", 1)[1]) for p in (run_dir / stage / "checkpoints").glob("checkpoint-*")]
    return max(steps) if steps else None


def kill_inside(run_dir: Path, stage: str, delay: float, log: Path, after_checkpoint: bool = True) -> float | None:
    """Start the run and SIGKILL it ``delay`` s after ``stage``'s first checkpoint appeared (``after_checkpoint``:
    so the rerun has one to resume from, whatever the machine's load) or after the stage started; seconds from the
    stage's start, None if the stage ended first (the run is then stopped)."""
    import select

    ckpts = run_dir / stage / "checkpoints"
    with log.open("ab") as f:
        proc = subprocess.Popen(_cmd(run_dir), cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        assert proc.stdout is not None
        fd, started, first, buf = proc.stdout.fileno(), None, None, b""
        while True:
            if select.select([fd], [], [], 0.05)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:  # the runner ended before the kill
                    proc.wait()
                    return None
                f.write(chunk)
                buf = (buf + chunk)[-4096:]
                if started is None and f"] {stage}: running".encode() in buf:
                    started = time.perf_counter()
                if started is not None and f"] {stage}: done".encode() in buf:  # the stage ended before the kill
                    _kill_everything(proc)
                    f.write(f"\n### {stage} ended before its kill; stopped\n".encode())
                    return None
            if started is not None and first is None and (not after_checkpoint or any(ckpts.glob("checkpoint-*"))):
                first = time.perf_counter()
            if first is not None and time.perf_counter() - first >= delay:
                _kill_everything(proc)
                what = "its first checkpoint" if after_checkpoint else "it started"
                f.write(f"\n### kill -9 {stage}, {delay:.1f}s after {what}\n".encode())
                return time.perf_counter() - started


def compare_results(a: Path, b: Path, ignore: tuple[str, ...] = IGNORED) -> tuple[int, int, list[str], list[str]]:
    """``(rows equal, rows differing, differing columns, files missing on one side)`` over ``results/*.csv``, the
    ``ignore`` columns left out."""
    import pandas as pd

    equal = differ = 0
    cols: set[str] = set()
    missing = []
    for fa in sorted((a / "results").glob("*.csv")):
        fb = b / "results" / fa.name
        if not fb.is_file():
            missing.append(fa.name)
            continue
        da, db = (pd.read_csv(f).drop(columns=list(ignore), errors="ignore") for f in (fa, fb))
        if list(da.columns) != list(db.columns) or len(da) != len(db):
            differ += max(len(da), len(db))
            cols.add(f"{fa.name}: shape/columns")
            continue
        same = (da == db) | (da.isna() & db.isna())
        equal += int(same.all(axis=1).sum())
        differ += int((~same.all(axis=1)).sum())
        cols.update(f"{fa.stem}.{c}" for c in da.columns if not same[c].all())
    missing += [fb.name for fb in (b / "results").glob("*.csv") if not (a / "results" / fb.name).is_file()]
    return equal, differ, sorted(cols), missing


def _model_hash(run_dir: Path, stage: str) -> str | None:
    files = sorted((run_dir / stage / "model").glob("*.safetensors"))
    if not files:
        return None
    h = hashlib.sha256()
    for p in files:
        h.update(p.read_bytes())
    return h.hexdigest()


def compare_models(a: Path, b: Path) -> tuple[int, int]:
    hashes = [(_model_hash(a, s), _model_hash(b, s)) for s in TRAINING_STAGES]
    present = [(x, y) for x, y in hashes if x is not None]
    return sum(x == y for x, y in present), len(present)


def resumed_from(run_dir: Path, stage: str) -> int | None:
    """The checkpoint step the stage's training resumed from, as its ``outputs.json`` records it."""
    p = run_dir / stage / "outputs.json"
    return json.loads(p.read_text())["outputs"].get("resumed_from") if p.is_file() else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    order = load_profile(PROFILE).stage_names()
    ap.add_argument("--stages", default=",".join(order), help="stages to kill, comma-separated (default: every "
                    f"stage of the {PROFILE} profile: {','.join(order)})")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    ap.add_argument("--at", default="0.1:0.9", help="kill at a uniform fraction lo:hi of the uninterrupted "
                    "stage's training time after its first checkpoint, counted from the first checkpoint (training "
                    "stages), or of its duration, counted from its start (the others)")
    ap.add_argument("--from-scratch", action="store_true",
                    help="start each kill run from an empty run directory instead of a copy holding the stages "
                         "before the killed one")
    ap.add_argument("--workdir", default="", help="where the run directories go (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the run directories")
    ap.add_argument("--compare-only", action="store_true",
                    help="only compare the run directories already in --workdir (kill details from its kills-*.json)")
    ap.add_argument("--kill-only", action="store_true",
                    help="use the uninterrupted run already in --workdir (or still running: the killed stage's "
                         "timing must be there); kill, rerun and record, compare later with --compare-only. Several "
                         "of these, one stage each, may run at once")
    args = ap.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    bad = [s for s in stages if s not in order]
    if bad:
        ap.error(f"--stages: {bad} are not stages of the {PROFILE} profile; choose from {','.join(order)}")
    lo, hi = (float(x) for x in args.at.split(":"))
    rng = random.Random(args.seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="kill_resume_"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "runs.log"
    print(f"workdir {work} (runner output in {log})", flush=True)
    clean = work / "clean"
    kills = {p.stem.split("-", 1)[1]: json.loads(p.read_text()) for p in work.glob("kills-*.json")}
    if not (args.compare_only or args.kill_only):
        print(f"uninterrupted run: {run_to_end(clean, log):.0f}s", flush=True)
    rows = []
    for stage in stages:
        rd = work / f"kill-{stage}"
        if not args.compare_only:
            training = stage in TRAINING_STAGES
            window = after_first_checkpoint(clean, stage) if training else stage_seconds(clean, stage)
            frac = rng.uniform(lo, hi)
            for tries in range(1, 5):
                if not args.from_scratch:
                    prefix_copy(clean, rd, stage, order)
                at = kill_inside(rd, stage, frac * window, log, after_checkpoint=training)
                if at is not None or args.from_scratch:
                    break
                # the stage ran faster than in the clean run (a machine less loaded now) and ended before the kill
                # (the run is stopped then, so no kill lands in a later stage): again, from a fresh copy, in half the
                # window
                window /= 2
            since = "after its first checkpoint" if training else "of it"
            kills[stage] = {"killed at": "not killed (ended first)" if at is None else
                            f"{at:.1f}s into the stage ({frac:.2f} of {window:.0f}s {since}"
                            f"{'' if tries == 1 else f', try {tries}: the window halved {tries - 1}x'})",
                            "checkpoint on disk": newest_checkpoint(rd, stage) if at is not None and training
                            else None,
                            "rerun s": f"{run_to_end(rd, log):.0f}"}
            (work / f"kills-{stage}.json").write_text(json.dumps(kills[stage], indent=1))
        if args.kill_only:
            continue
        eq, diff, cols, missing = compare_results(clean, rd)
        m_eq, m_n = compare_models(clean, rd)
        rows.append({"stage killed": stage, **kills.get(stage, {}), "resumed from": resumed_from(rd, stage),
                     "rows equal": eq, "rows differing": diff, "differing columns": ", ".join(cols) or "-",
                     "missing files": ", ".join(missing) or "-", "models equal": f"{m_eq}/{m_n}"})
        print(json.dumps(rows[-1]), flush=True)
    if rows:
        keys = list(rows[0])
        print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
        for r in rows:
            print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    if not args.keep and not args.workdir and not args.compare_only:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r["rows differing"] == 0 and r["missing files"] == "-" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
