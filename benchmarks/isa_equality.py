"""Do a profile's numbers depend on the CPU's instruction set? Run it natively and with AVX-512 switched off.

    python benchmarks/isa_equality.py                     # the tiny profile, into a temporary directory
    python benchmarks/isa_equality.py --profile tiny --workdir /tmp/isa --keep

Our machines are of two kinds: some have AVX512-bf16 (and AMX), others AVX2 only. The profiles pin ``dtype: float32``
so that no kind computes in bf16 (issue 19), but fp32 kernels still differ between instruction sets in the order they
sum. This runs the profile twice from scratch on this one machine, into ``<workdir>/native`` and ``<workdir>/avx2``,
the second with the three libraries that pick kernels by CPU capped at AVX2:

* ``ATEN_CPU_CAPABILITY=avx2``: PyTorch's own vectorised kernels (softmax, layer norm, reductions, sampling);
* ``MKL_ENABLE_INSTRUCTIONS=AVX2``: MKL's GEMM, which PyTorch's fp32 matmuls call on x86;
* ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN (bf16 matmuls, some fused kernels).

It prints the capability each run's PyTorch reports, each run's time, and then, over every ``results/*.csv``: rows
equal in every column, rows differing, and for the differing ones the largest absolute difference of ``value`` per
vertical; and each trained stage's model weights, byte for byte. Each run has its own generation cache (the default,
under the run directory); the converted models and the tiny model are shared inputs.

An AMD AVX2 machine is not exactly this: MKL may choose other kernels on a non-Intel CPU. On an AVX2-only machine
the cap changes nothing, so both runs are native there (the script says so).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from kill_resume import IGNORED, compare_models, compare_results  # noqa: E402  (this folder on the path first)

AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for k in AVX2:
        env.pop(k, None)
    return env | extra


def capability(extra: dict[str, str]) -> str:
    """What PyTorch reports under ``extra``'s environment (``AVX512``, ``AVX2``, ...)."""
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    return subprocess.run([sys.executable, "-c", code], env=_env(extra), capture_output=True, text=True,
                          check=True).stdout.strip()


def run_profile(profile: str, run_dir: Path, extra: dict[str, str], log: Path) -> float:
    """The profile from scratch into ``run_dir`` under ``extra``'s environment; wall seconds."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        rc = subprocess.run([sys.executable, "-m", "trust_utils.cli", "run", "--profile", profile, "--run-dir",
                             str(run_dir), "--no-progress"], cwd=ROOT, env=_env(extra), stdout=fh,
                            stderr=subprocess.STDOUT).returncode
    if rc:
        raise SystemExit(f"the {profile} run into {run_dir} failed (exit {rc}); see {log}")
    return time.perf_counter() - t0


def value_differences(a: Path, b: Path) -> dict[str, tuple[int, float]]:
    """``{vertical: (rows whose value differs, largest absolute difference)}`` over the rows both runs have."""
    import pandas as pd

    keys = ["vertical", "metric", "variant", "checkpoint"]
    out: dict[str, tuple[int, float]] = {}
    for fa in sorted((a / "results").glob("*.csv")):
        fb = b / "results" / fa.name
        if not fb.is_file():
            continue
        # one row per key in a results table (the merge refuses otherwise, so no pair is counted twice)
        m = pd.read_csv(fa).merge(pd.read_csv(fb), on=keys, suffixes=("_a", "_b"), validate="one_to_one")
        both = m["value_a"].notna() & m["value_b"].notna()
        diff = (m["value_a"] - m["value_b"]).abs()[both]
        nan_mismatch = int((m["value_a"].isna() != m["value_b"].isna()).sum())
        n = int((diff > 0).sum()) + nan_mismatch
        out[fa.stem] = (n, float(diff.max()) if len(diff) else 0.0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--workdir", help="where the two runs go (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir")
    ap.add_argument("--compare-only", action="store_true", help="compare the two runs an earlier call left")
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="isa-"))
    native, capped = work / "native", work / "avx2"
    caps = {"native": capability({}), "avx2": capability(AVX2)}
    print(f"PyTorch CPU capability: native {caps['native']}, capped {caps['avx2']}")
    if caps["native"] == caps["avx2"]:
        print("this CPU has no more than AVX2: both runs are native here, and equal by construction")
    if not args.compare_only:
        for d in (native, capped):
            shutil.rmtree(d, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        for name, d, extra in (("native", native, {}), ("avx2", capped, AVX2)):
            secs = run_profile(args.profile, d, extra, work / f"{name}.log")
            print(f"{name:>6}: {args.profile} from scratch in {secs:.0f} s")
    equal, differ, cols, missing = compare_results(native, capped, IGNORED)
    same_models, n_models = compare_models(native, capped)
    print(f"result rows equal in every column: {equal} of {equal + differ}; differing columns: {cols or 'none'}; "
          f"files on one side only: {missing or 'none'}")
    for vertical, (n, worst) in value_differences(native, capped).items():
        print(f"  {vertical:<13} value differs in {n} rows, largest absolute difference {worst:.3g}")
    print(f"trained models byte-identical: {same_models} of {n_models}")
    if not args.keep and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
