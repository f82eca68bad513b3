"""What ``kernels: portable`` costs: the same workloads under each kernel mode, in one run, as ratios.

    python benchmarks/bench_kernel_modes.py [--model smollm2-gguf] [--n-questions 12] [--n-prompts 16]

Each workload runs in a fresh process per mode (the libraries read the mode's variables when they load,
:mod:`trust_utils.kernel_modes`), native first, then portable, on the same machine one after the other:

* the fp32 matmul peak (``_common.matmul_peak_gflops``, 1024 x 1024);
* ``bench_likelihood.py``: packed shared-context scoring (``shared``) and the plain scorer, requests/s;
* ``bench_generation.py --skip-baseline``: the engine's batched decoding, new tokens/s.

Prints each measure per mode and portable's share of native's rate (below 1: portable is slower).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

PEAK = ("import sys; sys.path.insert(0, {here!r}); import torch; from _common import matmul_peak_gflops; "
        "torch.set_num_threads({threads}); print(matmul_peak_gflops(torch.float32))")


def _env(mode: str) -> dict[str, str]:
    from _common import project_env

    from trust_utils.kernel_modes import kernel_mode_env

    return project_env(kernel_mode_env(mode))


def _json_run(script: str, args: list[str], mode: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "res.json"
        subprocess.run([sys.executable, str(HERE / script), *args, "--json", str(out)], env=_env(mode), check=True,
                       stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def measure(mode: str, args: argparse.Namespace) -> dict[str, float]:
    """The workloads' rates under ``mode``."""
    peak = float(subprocess.run([sys.executable, "-c", PEAK.format(here=str(HERE), threads=args.threads)],
                                env=_env(mode), check=True, capture_output=True, text=True).stdout.strip())
    common = ["--model", args.model, "--threads", str(args.threads), "--dtype", "float32"]
    lik = _json_run("bench_likelihood.py", [*common, "--n-questions", str(args.n_questions), "--repeats", "1"], mode)
    gen = _json_run("bench_generation.py", [*common, "--n-prompts", str(args.n_prompts), "--max-new-tokens",
                                            str(args.max_new_tokens), "--skip-baseline"], mode)
    return {"matmul peak (GFLOP/s)": peak,
            "likelihood, packed (req/s)": lik["shared"]["requests_per_s"],
            "likelihood, plain (req/s)": lik["plain"]["requests_per_s"],
            "generation (new tok/s)": gen["engine_tokens_per_s"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-questions", type=int, default=12)
    ap.add_argument("--n-prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    args = ap.parse_args(argv)
    res = {mode: measure(mode, args) for mode in ("native", "portable")}
    print(f"model {args.model}, fp32, {args.threads} threads")
    print(f"  {'measure':<28} {'native':>9} {'portable':>9}  portable/native")
    for k in res["native"]:
        a, b = res["native"][k], res["portable"][k]
        print(f"  {k:<28} {a:9.2f} {b:9.2f}  {b / a:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
