"""Engine vs one-prompt-at-a-time generation (the paper code's way) on the same model and prompts.

    python benchmarks/bench_generation.py [--model smollm2-gguf] [--threads 2] [--batch-size 16]
                                          [--n-prompts 32] [--max-new-tokens 32]

The baseline is what the released evaluation code does: fp32, batch 1, one ``generate`` call per
prompt, no cache. The engine run uses :class:`trust_utils.generation.Engine` with its cache
DISABLED (``cache_dir=None``), so it does the same model work. Both decode greedily and stop at the
model's real EOS; throughput counts the new tokens actually produced (pad positions excluded).
Prompts are the bundled toxicity prompts behind the benign system prompt (what the toxicity vertical sends).
Peak memory is the process RSS sampled during each phase (and CUDA ``max_memory_allocated`` on GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class PeakRSS:
    """Peak resident memory of this process during a ``with`` block (sampled every 20 ms)."""

    def __init__(self):
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self):
        self.peak = self.proc.memory_info().rss
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def bench_prompts(n: int) -> list[str]:
    from trust_utils.verticals.toxicity import build_prompt, parse_prompt_lines, subset_file
    from trust_utils.verticals.common import Malformed, bundled_root

    items = []
    for subset in ("toxic", "nontoxic"):
        with open(subset_file(bundled_root(), subset), encoding="utf-8") as fh:
            items += parse_prompt_lines(fh, subset, Malformed())
    return [build_prompt("benign", it["text"]) for it in items[:n]]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--n-prompts", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--cache-dir", default="", help="model cache (converted models)")
    ap.add_argument("--json", default="", help="also write the numbers to this file")
    args = ap.parse_args(argv)

    import torch

    from trust_utils.generation import DecodingConfig, Engine
    from trust_utils.models import load_causal_lm, load_tokenizer, resolve_model_ref
    from trust_utils.utils import resolve_device, set_threads

    threads = set_threads(args.threads)
    device = resolve_device(args.device)
    resolved = resolve_model_ref(args.model, args.cache_dir or None)
    prompts = bench_prompts(args.n_prompts)
    cuda = device.startswith("cuda")

    # ---- baseline: the paper code's loop (fp32, batch 1, no cache)
    tok = load_tokenizer(resolved, args.cache_dir or None)
    model = load_causal_lm(resolved, device, torch.float32, args.cache_dir or None)
    eos = tok.eos_token_id
    base_out, base_tokens = [], 0
    with torch.inference_mode():  # warm-up (first-call kernel and allocator setup), not timed
        model.generate(**tok(prompts[0], return_tensors="pt").to(device), max_new_tokens=2, do_sample=False,
                       pad_token_id=eos)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with PeakRSS() as mem_base, torch.inference_mode():
        t0 = time.perf_counter()
        for p in prompts:
            ids = tok(p, return_tensors="pt").to(device)
            out = model.generate(**ids, max_new_tokens=args.max_new_tokens, do_sample=False, pad_token_id=eos,
                                 eos_token_id=eos)
            new = out[0, ids["input_ids"].shape[1]:]
            base_out.append(tok.decode(new, skip_special_tokens=True))
        t_base = time.perf_counter() - t0
    cuda_base = torch.cuda.max_memory_allocated() if cuda else 0
    del model
    import gc

    gc.collect()

    # ---- engine: batched, length-sorted, left-padded, cache disabled
    eng = Engine(resolved, device=device, dtype="auto", batch_size=args.batch_size, cache_dir=None, progress=False,
                 model_cache_dir=args.cache_dir or None)
    eng.model  # load outside the timed region, as the baseline's load is
    eng.generate(prompts[:2], DecodingConfig(max_new_tokens=2))  # warm-up, not timed
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    cfg = DecodingConfig(max_new_tokens=args.max_new_tokens)
    with PeakRSS() as mem_eng:
        t0 = time.perf_counter()
        eng_out = [r[0] for r in eng.generate(prompts, cfg)]
        t_eng = time.perf_counter() - t0
    cuda_eng = torch.cuda.max_memory_allocated() if cuda else 0
    eng_tokens = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in eng_out)
    base_tokens_text = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in base_out)

    res = {
        "model": args.model, "device": device, "dtype_engine": str(eng.torch_dtype).replace("torch.", ""),
        "threads": threads, "n_prompts": len(prompts), "max_new_tokens": args.max_new_tokens,
        "batch_size": args.batch_size,
        "baseline_seconds": round(t_base, 3), "engine_seconds": round(t_eng, 3),
        "baseline_tokens_per_s": round(base_tokens_text / t_base, 1),
        "engine_tokens_per_s": round(eng_tokens / t_eng, 1),
        "speedup": round((eng_tokens / t_eng) / (base_tokens_text / t_base), 2),
        "wall_speedup": round(t_base / t_eng, 2),
        "same_outputs": sum(a == b for a, b in zip(base_out, eng_out)),
        "peak_rss_mb_baseline": round(mem_base.peak / 2**20, 1), "peak_rss_mb_engine": round(mem_eng.peak / 2**20, 1),
    }
    if cuda:
        res.update(cuda_max_alloc_mb_baseline=round(cuda_base / 2**20, 1), cuda_max_alloc_mb_engine=round(cuda_eng / 2**20, 1))
    eng.close()
    print(f"model {args.model} on {device}, {threads} threads, {len(prompts)} prompts x {args.max_new_tokens} new tokens")
    print(f"  baseline (fp32, batch 1): {res['baseline_tokens_per_s']:8.1f} tok/s  {t_base:7.2f} s  "
          f"peak RSS {res['peak_rss_mb_baseline']} MB")
    print(f"  engine (batch {args.batch_size}, {res['dtype_engine']}): {res['engine_tokens_per_s']:8.1f} tok/s  "
          f"{t_eng:7.2f} s  peak RSS {res['peak_rss_mb_engine']} MB")
    print(f"  speedup {res['speedup']}x (tokens/s), {res['wall_speedup']}x (wall); "
          f"identical greedy outputs: {res['same_outputs']}/{len(prompts)}")
    if cuda:
        print(f"  CUDA max allocated: baseline {res['cuda_max_alloc_mb_baseline']} MB, engine {res['cuda_max_alloc_mb_engine']} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
