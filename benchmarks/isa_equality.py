"""Do a profile's numbers depend on the CPU? Run it under each kernel mode, and compare with another machine's run.

    python benchmarks/isa_equality.py                                   # tiny, native and portable, compared
    python benchmarks/isa_equality.py --modes portable --save docs/records/isa_tiny_portable_<cpu>.json
    python benchmarks/isa_equality.py --modes portable --against docs/records/isa_tiny_portable_amd-epyc.json

Our machines are of two kinds: some are Intel Xeons with AVX512-bf16 (and AMX), others AMD EPYCs with AVX2 only.
The profiles pin ``dtype: float32`` (no kind computes in bf16, issue 19), but fp32 kernels still differ between
instruction sets and vendors in the order they sum, so training drifts and a sampled token flips. The profile key
``kernels: portable`` (:mod:`trust_utils.kernel_modes`) fixes the kernels of PyTorch (AVX2), MKL (its ``COMPATIBLE``
reproducibility branch) and oneDNN (AVX2) for every stage.

This runs the profile from scratch under each of ``--modes`` (``rlhf-trust run --kernels <mode>``), each into
``<workdir>/<mode>`` with its own generation cache, and prints each run's time, PyTorch's CPU capability under the
mode, and, between the first two runs, over every ``results/*.csv``: rows equal in every column, rows differing and
the largest absolute difference of ``value`` per vertical; and each trained stage's weights, byte for byte.

Across machines: ``--save FILE`` writes the last run's fingerprint (every result row's key, value and a hash of its
columns, and each trained model's hash, with the CPU, the mode and the commit); ``--against FILE`` compares the last
run with such a file written on another machine, row by row and model by model. The two machines must run the same
commit's code with the same library versions and the same number of threads (the profiles pin 2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import project_env  # noqa: E402
from kill_resume import IGNORED, TRAINING_STAGES, _model_hash, compare_models, compare_results  # noqa: E402

KEYS = ["vertical", "metric", "variant", "checkpoint"]


def capability(mode: str) -> str:
    """What PyTorch reports under ``mode``'s environment (``AVX512``, ``AVX2``, ...)."""
    from trust_utils.kernel_modes import kernel_mode_env

    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    return subprocess.run([sys.executable, "-c", code], env=project_env(kernel_mode_env(mode)), capture_output=True,
                          text=True, check=True).stdout.strip()


def cpu_name() -> str:
    """The CPU's model name (``lscpu``), with the vector extensions that choose kernels."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    name = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "unknown")
    flags = set(next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []))
    ext = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(ext) or 'no AVX2'}; {os.cpu_count()} CPUs)"


def run_profile(profile: str, run_dir: Path, mode: str, log: Path) -> float:
    """The profile from scratch into ``run_dir`` under kernel mode ``mode``; wall seconds."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        rc = subprocess.run([sys.executable, "-m", "trust_utils.cli", "run", "--profile", profile, "--run-dir",
                             str(run_dir), "--kernels", mode, "--no-progress"], cwd=ROOT, env=project_env(), stdout=fh,
                            stderr=subprocess.STDOUT).returncode
    if rc:
        raise SystemExit(f"the {profile} run into {run_dir} failed (exit {rc}); see {log}")
    return time.perf_counter() - t0


def value_differences(a: Path, b: Path) -> dict[str, tuple[int, float]]:
    """``{vertical: (rows whose value differs, largest absolute difference)}`` over the rows both runs have."""
    import pandas as pd

    out: dict[str, tuple[int, float]] = {}
    for fa in sorted((a / "results").glob("*.csv")):
        fb = b / "results" / fa.name
        if not fb.is_file():
            continue
        # one row per key in a results table (the merge refuses otherwise, so no pair is counted twice)
        m = pd.read_csv(fa).merge(pd.read_csv(fb), on=KEYS, suffixes=("_a", "_b"), validate="one_to_one")
        both = m["value_a"].notna() & m["value_b"].notna()
        diff = (m["value_a"] - m["value_b"]).abs()[both]
        nan_mismatch = int((m["value_a"].isna() != m["value_b"].isna()).sum())
        out[fa.stem] = (int((diff > 0).sum()) + nan_mismatch, float(diff.max()) if len(diff) else 0.0)
    return out


def fingerprint(run_dir: Path) -> dict[str, dict]:
    """``{"results": {file: {key: [value, row hash]}}, "models": {stage: hash}}`` of a run directory (the row hash
    covers every column but :data:`IGNORED`, in the file's order; a value that is not a number is None)."""
    import pandas as pd

    results: dict[str, dict[str, list]] = {}
    for f in sorted((run_dir / "results").glob("*.csv")):
        df = pd.read_csv(f).drop(columns=list(IGNORED), errors="ignore")
        rows: dict[str, list] = {}
        for rec in df.to_dict("records"):
            key = "|".join(str(rec[k]) for k in KEYS)
            text = json.dumps([None if pd.isna(v) else v for v in rec.values()], default=str)
            value = rec.get("value")
            rows[key] = [None if value is None or pd.isna(value) else float(value),
                         hashlib.sha256(text.encode()).hexdigest()[:16]]
        results[f.stem] = rows
    models = {s: h for s in TRAINING_STAGES if (h := _model_hash(run_dir, s)) is not None}
    return {"results": results, "models": models}


def compare_fingerprints(mine: dict, theirs: dict) -> dict[str, object]:
    """Rows equal (same hash), rows differing, the largest ``value`` difference, rows on one side only, and trained
    models equal among those both have (and those one side lacks), between two :func:`fingerprint` s."""
    equal = differ = one_side = 0
    worst = 0.0
    by_file: dict[str, int] = {}
    for name in sorted(set(mine["results"]) | set(theirs["results"])):
        a, b = mine["results"].get(name, {}), theirs["results"].get(name, {})
        one_side += len(set(a) ^ set(b))
        for key in set(a) & set(b):
            if a[key][1] == b[key][1]:
                equal += 1
                continue
            differ += 1
            by_file[name] = by_file.get(name, 0) + 1
            if a[key][0] is not None and b[key][0] is not None:
                worst = max(worst, abs(a[key][0] - b[key][0]))
    both = sorted(set(mine["models"]) & set(theirs["models"]))  # a run stopped early records fewer
    return {"equal": equal, "differ": differ, "one_side": one_side, "largest_value_difference": worst,
            "differing_by_file": by_file, "models_equal": sum(mine["models"][s] == theirs["models"][s] for s in both),
            "models": len(both), "models_one_side": sorted(set(mine["models"]) ^ set(theirs["models"]))}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    from trust_utils.kernel_modes import KERNEL_MODES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--modes", default="native,portable",
                    help=f"kernel modes to run, comma-separated, from {sorted(KERNEL_MODES)} (default: both)")
    ap.add_argument("--workdir", help="where the runs go (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir")
    ap.add_argument("--compare-only", action="store_true", help="use the runs an earlier call left in --workdir (a "
                    "run stopped early is fingerprinted as far as it got)")
    ap.add_argument("--save", help="write the last run's fingerprint to this JSON file")
    ap.add_argument("--against", help="compare the last run with a fingerprint saved on another machine")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in KERNEL_MODES]
    if unknown or not modes:
        ap.error(f"--modes: unknown {unknown}; use {sorted(KERNEL_MODES)}")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="isa-"))
    print(f"CPU: {cpu_name()}; commit {_commit()}; profile {args.profile}")
    seconds: dict[str, float] = {}
    for mode in modes:
        d = work / mode
        print(f"{mode:>9}: PyTorch's CPU capability {capability(mode)}")
        if args.compare_only:
            continue
        shutil.rmtree(d, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        seconds[mode] = run_profile(args.profile, d, mode, work / f"{mode}.log")
        print(f"{mode:>9}: {args.profile} from scratch in {seconds[mode]:.0f} s")
    if len(seconds) >= 2:
        a, b = modes[:2]
        print(f"{b} / {a}: {seconds[b] / seconds[a]:.2f}x the time")
    if len(modes) >= 2:
        a, b = (work / m for m in modes[:2])
        # the rows' versions column names a mode other than native, so it differs by construction here
        equal, differ, cols, missing = compare_results(a, b, (*IGNORED, "versions"))
        same_models, n_models = compare_models(a, b)
        print(f"{modes[0]} against {modes[1]} on this machine: result rows equal in every column but versions: {equal} of "
              f"{equal + differ}; files on one side only: {missing or 'none'}")
        for vertical, (n, worst) in value_differences(a, b).items():
            print(f"  {vertical:<13} value differs in {n} rows, largest absolute difference {worst:.3g}")
        print(f"trained models byte-identical: {same_models} of {n_models}")
    last = work / modes[-1]
    if args.save:
        rec = {"cpu": cpu_name(), "capability": capability(modes[-1]), "kernels": modes[-1], "profile": args.profile,
               "commit": _commit(), "date": time.strftime("%Y-%m-%d"), "seconds": seconds.get(modes[-1]),
               **fingerprint(last)}
        Path(args.save).write_text(json.dumps(rec, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        print(f"fingerprint of the {modes[-1]} run written to {args.save}")
    if args.against:
        theirs = json.loads(Path(args.against).read_text(encoding="utf-8"))
        c = compare_fingerprints(fingerprint(last), theirs)
        print(f"{modes[-1]} here ({cpu_name()}, commit {_commit()}) against {theirs.get('kernels')} on "
              f"{theirs.get('cpu')} (commit {theirs.get('commit')}, {theirs.get('date')}):")
        print(f"  result rows equal in every column: {c['equal']} of {c['equal'] + c['differ']} "
              f"(on one side only: {c['one_side']}); largest value difference {c['largest_value_difference']:.3g}; "
              f"differing rows by file: {c['differing_by_file'] or 'none'}")
        print(f"  trained models byte-identical: {c['models_equal']} of the {c['models']} both have"
              f"{'; on one side only: ' + ', '.join(c['models_one_side']) if c['models_one_side'] else ''}")
    if not args.keep and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
