"""Which base model can the default study afford? The same three pieces of work timed on each base model.

    python benchmarks/bench_base_models.py [--models smollm2-gguf,gemma3-270m-gguf] [--threads 2] [--repeats 2]

For each model reference (converted first, outside the timings; the conversion time is printed when it happens):
  (a) one SFT optimizer step at ``--batch-size`` x ``--seq-len`` tokens (default 4 x 128), through the SFT stage's
      TRL trainer on synthetic data (``bench_training``'s data and timing: one warm-up step excluded);
  (b) generating exactly ``--max-new-tokens`` (32) new tokens, greedily and without stopping at EOS (so every model
      does the same work), for ``--n-prompts`` (16) bundled toxicity prompts through the engine (cache disabled,
      batch 16, raw prompts);
  (c) the log-likelihood of ``--n-requests`` (32) TruthfulQA MC2 requests (``bench_likelihood``'s few-shot requests)
      through the engine (cache disabled, batch 16).
The models run in turn within each repeat (so a change in the shared machine's load touches both), and each piece's
best time over the repeats counts. Prints each piece's seconds per model, the ratio of every model to the first
(e.g. Gemma/SmolLM2), and the CPU model and thread count.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PIECES = ("sft_step", "generate", "loglik")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``) and its vector extensions that matter for matmuls."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = line.partition(":")
            if key.strip() == "model name":
                name = val.strip()
            elif key.strip() == "flags":
                flags = set(val.split())
    except OSError:
        pass
    ext = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(ext) or 'no AVX2'})"


def time_sft_step(model_dir: str, tok, threads: int, batch_size: int, seq_len: int, steps: int) -> float:
    """Seconds per SFT optimizer step (``steps`` timed after one warm-up step)."""
    from bench_training import _synthetic_run, _time_trainer

    from trust_utils.training import sft

    tmp = Path(tempfile.mkdtemp(prefix="bench_base_"))
    try:
        _synthetic_run(tmp, tok, batch_size * (steps + 2), seq_len)
        cfg = sft.SFTStageConfig(run_dir=str(tmp), model=model_dir, threads=threads, device="cpu", init_from="base",
                                 batch_size=batch_size, max_steps=steps + 1, max_length=seq_len + 8,
                                 logging_steps=1000, save_steps=10_000, learning_rate=1e-5)
        trainer, _ = sft.build_trainer(cfg, "cpu")
        sec = _time_trainer(trainer, steps)
        del trainer
        return sec
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        gc.collect()


def time_engine(model_dir: str, n_prompts: int, max_new_tokens: int, n_requests: int, batch_size: int,
                dtype: str) -> tuple[float, float, str]:
    """(generation seconds, log-likelihood seconds, engine dtype) with the engine's cache disabled."""
    from bench_generation import bench_prompts
    from bench_likelihood import requests

    from trust_utils.generation import DecodingConfig, Engine

    prompts = bench_prompts(n_prompts)
    ctxs, conts, _ = requests(max(1, n_requests), 4)
    ctxs, conts = ctxs[:n_requests], conts[:n_requests]
    eng = Engine(model_dir, device="cpu", dtype=dtype, batch_size=batch_size, cache_dir=None, progress=False)
    try:
        eng.model  # loaded outside the timings
        eng.generate(prompts[:2], DecodingConfig(max_new_tokens=2))  # warm-up
        eng.loglikelihood(ctxs[:2], conts[:2])
        cfg = DecodingConfig(max_new_tokens=max_new_tokens, stop_at_eos=False)
        t0 = time.perf_counter()
        eng.generate(prompts, cfg)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        eng.loglikelihood(ctxs, conts)
        t_ll = time.perf_counter() - t0
        return t_gen, t_ll, str(eng.torch_dtype).replace("torch.", "")
    finally:
        eng.close()
        del eng
        gc.collect()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="smollm2-gguf,gemma3-270m-gguf", help="model references; ratios to the first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="rounds over the models; each piece's best time counts")
    ap.add_argument("--batch-size", type=int, default=4, help="SFT batch")
    ap.add_argument("--seq-len", type=int, default=128, help="SFT tokens per sequence")
    ap.add_argument("--steps", type=int, default=3, help="timed SFT steps after one warm-up step")
    ap.add_argument("--n-prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--n-requests", type=int, default=32)
    ap.add_argument("--engine-batch-size", type=int, default=16)
    ap.add_argument("--dtype", default="auto", help="engine dtype (auto: the engine's choice, as the verticals')")
    ap.add_argument("--pieces", default=",".join(PIECES))
    ap.add_argument("--cache-dir", default="", help="model cache (converted models)")
    ap.add_argument("--json", default="", help="also write the numbers to this file")
    args = ap.parse_args(argv)
    import logging

    import transformers

    logging.basicConfig(level=logging.WARNING)
    transformers.logging.set_verbosity_error()
    from trust_utils.models import load_tokenizer, resolve_model_ref
    from trust_utils.utils import set_threads

    threads = set_threads(args.threads)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    pieces = [p for p in args.pieces.split(",") if p]
    unknown = set(pieces) - set(PIECES)
    if unknown:
        raise SystemExit(f"--pieces: unknown {sorted(unknown)}; choose from {', '.join(PIECES)}")
    resolved, resolve_s = {}, {}
    for m in models:
        t0 = time.perf_counter()
        resolved[m] = resolve_model_ref(m, args.cache_dir or None)
        resolve_s[m] = time.perf_counter() - t0
    best: dict[str, dict[str, float]] = {m: {} for m in models}
    dtype_used = ""
    for r in range(args.repeats):  # each measurement is printed as it is made: a long run can be read early
        for m in models:
            if "sft_step" in pieces:
                tok = load_tokenizer(resolved[m], args.cache_dir or None)
                sec = time_sft_step(resolved[m], tok, threads, args.batch_size, args.seq_len, args.steps)
                best[m]["sft_step"] = min(sec, best[m].get("sft_step", float("inf")))
                print(f"[round {r + 1}] {m} sft_step {sec:.2f}s", flush=True)
            if "generate" in pieces or "loglik" in pieces:
                t_gen, t_ll, dtype_used = time_engine(resolved[m], args.n_prompts, args.max_new_tokens,
                                                      args.n_requests, args.engine_batch_size, args.dtype)
                for k, v in (("generate", t_gen), ("loglik", t_ll)):
                    if k in pieces:
                        best[m][k] = min(v, best[m].get(k, float("inf")))
                        print(f"[round {r + 1}] {m} {k} {v:.2f}s", flush=True)
    ref = models[0]
    ratios = {m: {k: best[m][k] / best[ref][k] for k in pieces} for m in models[1:]}
    print(f"CPU {cpu_model()}; torch threads {threads}; engine dtype {dtype_used or '-'}; best of {args.repeats}")
    for m in models:
        print(f"  {m}: resolved in {resolve_s[m]:.1f}s ({resolved[m]})")
    labels = {"sft_step": f"SFT step {args.batch_size}x{args.seq_len}",
              "generate": f"generate {args.n_prompts}x{args.max_new_tokens}",
              "loglik": f"loglik {args.n_requests} requests"}
    print(f"{'piece':<24}" + "".join(f"{m:>20}" for m in models) + "".join(f"{m + '/' + ref:>38}" for m in models[1:]))
    for k in pieces:
        print(f"{labels[k]:<24}" + "".join(f"{best[m][k]:>19.2f}s" for m in models)
              + "".join(f"{ratios[m][k]:>37.2f}x" for m in models[1:]))
    res = {"cpu": cpu_model(), "threads": threads, "repeats": args.repeats, "engine_dtype": dtype_used,
           "seconds": best, "ratios_to": ref, "ratios": ratios, "resolve_seconds": resolve_s,
           "settings": {k: getattr(args, k) for k in ("batch_size", "seq_len", "steps", "n_prompts", "max_new_tokens",
                                                      "n_requests", "engine_batch_size")}}
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
