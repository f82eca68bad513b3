"""Engine vs one-prompt-at-a-time generation (the paper code's way) on the same model and prompts.

    python benchmarks/bench_generation.py [--model smollm2-gguf] [--threads 2] [--batch-size 0] [--dtype auto]
                                          [--n-prompts 64] [--max-new-tokens 32]

The baseline is what the released evaluation code does: fp32, batch 1, one ``generate`` call per
prompt, no cache. The engine run uses :class:`trust_utils.generation.Engine` with its cache
DISABLED (``cache_dir=None``), so it does the same model work. Both decode greedily and stop at the
model's real EOS; throughput counts the new tokens actually produced (pad positions excluded).
Prompts are the bundled toxicity prompts behind the benign system prompt (what the toxicity vertical sends).
Peak memory is the process RSS sampled during each phase (and CUDA ``max_memory_allocated`` on GPU).

``--batch-size 0`` lets the engine choose batches from free memory; ``--dtype auto`` is the engine's choice (bf16
on CUDA with bf16 and on CPUs with native bf16 matmul, else fp32). Each phase also prints its share of the
machine's matmul peak, measured in the same run with a large ``torch.matmul`` at that phase's dtype; FLOPs are
counted as 2 x matmul parameters x tokens fed (prompt, padding and generated tokens), so the share says how close
the phase came to the hardware, and padding counts as work done.
``--model`` also takes ``random:gpt-neox:<hidden>:<layers>:<heads>`` (random weights of that shape, the tiny
model's tokenizer: for GPUs without the hub), used by ``benchmarks/gpu_check.sh``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


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
    from trust_utils.verticals.common import Malformed, bundled_root
    from trust_utils.verticals.toxicity import build_prompt, parse_prompt_lines, subset_file

    items = []
    for subset in ("toxic", "nontoxic"):
        with open(subset_file(bundled_root(), subset), encoding="utf-8") as fh:
            items += parse_prompt_lines(fh, subset, Malformed())
    return [build_prompt("benign", it["text"]) for it in items[:n]]


def resolve_bench_model(ref: str, cache_dir: str | None, dtype, device: str = "cpu") -> str:
    """A model directory: a model reference, or ``random:gpt-neox:H:L:A`` built once with random weights.

    The random model has the Pythia layout at that shape (``intermediate = 4 x hidden``, rotary on a quarter of
    each head, untied head) but the tiny model's tokenizer and vocabulary, so decoded text re-encodes to the
    tokens generated; its head is therefore smaller than Pythia's 50k-word one (FLOP counts use the real size).
    Weights are initialised on ``device`` (seconds for 7B parameters on a GPU, minutes on a CPU).
    """
    from trust_utils.models import resolve_model_ref

    if not ref.startswith("random:"):
        return resolve_model_ref(ref, cache_dir)
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    from trust_utils.models import load_tokenizer

    _, arch, hidden, layers, heads = ref.split(":")
    if arch != "gpt-neox":
        raise ValueError(f"--model {ref!r}: only random:gpt-neox:<hidden>:<layers>:<heads> is supported")
    tiny = resolve_model_ref("tiny", cache_dir)
    out = Path(cache_dir or tempfile.gettempdir()) / "bench-models" / ref.replace(":", "-")
    if (out / "config.json").is_file():
        return str(out)
    tok = load_tokenizer(tiny, cache_dir)
    cfg = GPTNeoXConfig(hidden_size=int(hidden), num_hidden_layers=int(layers), num_attention_heads=int(heads),
                        intermediate_size=4 * int(hidden), vocab_size=len(tok), max_position_embeddings=2048,
                        rotary_pct=0.25, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                        pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    with torch.device(device):
        model = GPTNeoXForCausalLM(cfg).to(dtype)
    # never stop early at a random EOS: every row generates max_new_tokens, the worst case for the engine
    model.generation_config.eos_token_id = None
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=0, help="engine batch size (0: chosen from free memory)")
    ap.add_argument("--dtype", default="auto", help="engine dtype (auto, float32, bfloat16); the baseline is fp32")
    ap.add_argument("--n-prompts", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--cache-dir", default="", help="model cache (converted models)")
    ap.add_argument("--json", default="", help="also write the numbers to this file")
    ap.add_argument("--skip-baseline", action="store_true", help="engine only (no one-at-a-time run, no ratio)")
    args = ap.parse_args(argv)

    import torch
    from _common import FedTokens, matmul_params, matmul_peak_gflops

    from trust_utils.generation import DecodingConfig, Engine
    from trust_utils.models import load_causal_lm, load_tokenizer
    from trust_utils.utils import resolve_device, resolve_dtype, set_threads

    threads = set_threads(args.threads)
    device = resolve_device(args.device)
    eng_dtype = resolve_dtype(args.dtype, device)
    resolved = resolve_bench_model(args.model, args.cache_dir or None, eng_dtype, device)
    prompts = bench_prompts(args.n_prompts)
    cuda = device.startswith("cuda")

    # ---- baseline: the paper code's loop (fp32, batch 1, no cache)
    tok = load_tokenizer(resolved, args.cache_dir or None)
    base_out: list[str] = []
    base_fed, t_base, n_params = 0, 1e-9, 0
    model = None
    if not args.skip_baseline:
        model = load_causal_lm(resolved, device, torch.float32, args.cache_dir or None)
        n_params = matmul_params(model)
        gen_eos = model.generation_config.eos_token_id
        # the same stop tokens as the engine: the tokenizer's EOS and the generation config's
        eos_ids = sorted({tok.eos_token_id, *([gen_eos] if isinstance(gen_eos, int) else (gen_eos or []))} - {None})
        eos = tok.eos_token_id
        with torch.inference_mode():  # warm-up (first-call kernel and allocator setup), not timed
            model.generate(**tok(prompts[0], return_tensors="pt").to(device), max_new_tokens=2, do_sample=False,
                           pad_token_id=eos)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
    with PeakRSS() as mem_base, torch.inference_mode():
        t0 = time.perf_counter()
        for p in (prompts if model is not None else []):
            ids = tok(p, return_tensors="pt").to(device)
            out = model.generate(**ids, max_new_tokens=args.max_new_tokens, do_sample=False, pad_token_id=eos,
                                 eos_token_id=eos_ids)
            new = out[0, ids["input_ids"].shape[1]:]
            base_fed += out.shape[1] - 1  # prompt + generated tokens through the model (the last is never fed)
            base_out.append(tok.decode(new, skip_special_tokens=True))
        t_base = max(time.perf_counter() - t0, 1e-9)
    cuda_base = torch.cuda.max_memory_allocated() if cuda else 0
    del model
    import gc

    gc.collect()

    # ---- engine: batched, length-sorted, left-padded, cache disabled
    eng = Engine(resolved, device=device, dtype=args.dtype, batch_size=args.batch_size, cache_dir=None, progress=False,
                 model_cache_dir=args.cache_dir or None)
    eng.model  # load outside the timed region, as the baseline's load is
    eng.generate(prompts[:2], DecodingConfig(max_new_tokens=2))  # warm-up, not timed
    eng.batch_sizes_used.clear()
    n_params = n_params or matmul_params(eng.model)
    fed = FedTokens(eng.model)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    cfg = DecodingConfig(max_new_tokens=args.max_new_tokens)
    with PeakRSS() as mem_eng:
        t0 = time.perf_counter()
        eng_out = [r[0] for r in eng.generate(prompts, cfg)]
        t_eng = time.perf_counter() - t0
    cuda_eng = torch.cuda.max_memory_allocated() if cuda else 0
    fed.close()
    eng_tokens = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in eng_out)
    base_tokens_text = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in base_out)
    # the machine's matmul peak, now, at each phase's dtype
    peak_fp32 = matmul_peak_gflops(torch.float32, device) if not args.skip_baseline else float("nan")
    peak_eng = matmul_peak_gflops(eng.torch_dtype, device)
    gflops_base = 2 * n_params * base_fed / t_base / 1e9
    gflops_eng = 2 * n_params * fed.n / t_eng / 1e9
    base_tps = base_tokens_text / t_base if base_out else float("nan")

    res = {
        "model": args.model, "device": device, "dtype_engine": str(eng.torch_dtype).replace("torch.", ""),
        "threads": threads, "n_prompts": len(prompts), "max_new_tokens": args.max_new_tokens,
        "batch_size": args.batch_size, "batch_sizes_used": sorted(eng.batch_sizes_used), "matmul_params": n_params,
        "baseline_seconds": round(t_base, 3), "engine_seconds": round(t_eng, 3),
        "baseline_tokens_per_s": round(base_tps, 1),
        "engine_tokens_per_s": round(eng_tokens / t_eng, 1),
        "speedup": round((eng_tokens / t_eng) / base_tps, 2),
        "wall_speedup": round(t_base / t_eng, 2) if base_out else float("nan"),
        "same_outputs": sum(a == b for a, b in zip(base_out, eng_out, strict=False)),
        "peak_gflops_fp32": round(peak_fp32, 1), "peak_gflops_engine_dtype": round(peak_eng, 1),
        "baseline_gflops": round(gflops_base, 1), "engine_gflops": round(gflops_eng, 1),
        "baseline_share_of_peak": round(gflops_base / peak_fp32, 3), "engine_share_of_peak": round(gflops_eng / peak_eng, 3),
        "peak_rss_mb_baseline": round(mem_base.peak / 2**20, 1), "peak_rss_mb_engine": round(mem_eng.peak / 2**20, 1),
    }
    if cuda:
        res.update(cuda_max_alloc_mb_baseline=round(cuda_base / 2**20, 1), cuda_max_alloc_mb_engine=round(cuda_eng / 2**20, 1))
    eng.close()
    print(f"model {args.model} on {device}, {threads} threads, {len(prompts)} prompts x {args.max_new_tokens} new tokens")
    print(f"  matmul peak now: fp32 {res['peak_gflops_fp32']} GFLOP/s, {res['dtype_engine']} "
          f"{res['peak_gflops_engine_dtype']} GFLOP/s; {n_params / 1e6:.1f}M matmul params")
    print(f"  baseline (fp32, batch 1): {res['baseline_tokens_per_s']:8.1f} tok/s  {t_base:7.2f} s  "
          f"{res['baseline_gflops']} GFLOP/s = {100 * res['baseline_share_of_peak']:.1f}% of peak  "
          f"peak RSS {res['peak_rss_mb_baseline']} MB")
    print(f"  engine (batch {args.batch_size or 'auto'} -> {res['batch_sizes_used']}, {res['dtype_engine']}): "
          f"{res['engine_tokens_per_s']:8.1f} tok/s  {t_eng:7.2f} s  {res['engine_gflops']} GFLOP/s = "
          f"{100 * res['engine_share_of_peak']:.1f}% of peak  peak RSS {res['peak_rss_mb_engine']} MB")
    print(f"  speedup {res['speedup']}x (tokens/s), {res['wall_speedup']}x (wall); "
          f"identical greedy outputs: {res['same_outputs']}/{len(prompts)}")
    if cuda:
        print(f"  CUDA max allocated: baseline {res['cuda_max_alloc_mb_baseline']} MB, engine {res['cuda_max_alloc_mb_engine']} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
