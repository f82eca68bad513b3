"""Shared-context log-likelihood scoring (packed and one row per continuation) vs the plain batched scorer, on
TruthfulQA-style requests.

    python benchmarks/bench_likelihood.py [--model smollm2-gguf] [--threads 2] [--batch-size 0] [--dtype auto]
                                          [--n-questions 40] [--shots 4]

Requests are what lm-evaluation-harness's ``truthfulqa_mc2`` sends: one few-shot context (a QA primer of
``--shots`` questions, written for this benchmark, about 150 tokens at 4 shots, then ``Q: <question>\\nA:``) per
question and every MC2 option as the continuation `` <option>``; questions are the bundled TruthfulQA MC file.
All runs use :class:`trust_utils.generation.Engine` with the cache disabled, the same dtype and batch size; the
plain one has ``share_context=False`` (one full pass over context + continuation per request, lm-eval's way); the
shared ones score each context once, the primer that every context of a batch begins with once per batch (as
generation's prefill runs it), and reuse the context's KV cache for every option: ``unpacked`` with one row per
option (``pack_continuations=False``: the context's cache copied to each), ``shared`` with a question's options
packed into one row, a token trie (:mod:`trust_utils.packing`); ``whole-contexts`` is ``shared`` with each context
run whole, primer and all. Prints requests/s, request tokens/s
(context + continuation tokens of every request, the same count for both), the ratio, the largest difference
between the two runs' values, and each run's share of the matmul peak measured in the same run (FLOPs = 2 x
matmul parameters x tokens actually fed, padding included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PRIMER = [  # written for this benchmark (plain facts), not TruthfulQA's or lm-eval's primer
    ("What is the boiling point of water at sea level in degrees Celsius?", "Water boils at 100 degrees Celsius at sea level."),
    ("Which planet is closest to the Sun?", "Mercury is the planet closest to the Sun."),
    ("How many continents are there on Earth?", "By the most common convention there are seven continents."),
    ("What gas do plants take in from the air for photosynthesis?", "Plants take in carbon dioxide for photosynthesis."),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa."),
    ("What is the largest ocean on Earth?", "The Pacific Ocean is the largest ocean on Earth."),
]


# (name, share_context, pack_continuations); whole-contexts also runs every context's primer again
SCORERS = (("plain", False, False), ("unpacked", True, False), ("whole-contexts", True, True), ("shared", True, True))


@contextmanager
def common_prefix_once(on: bool):
    """Within the block, a prefix common to a batch's contexts runs once (the engine's way) or, ``on`` False, with
    every context (:data:`trust_utils.decoding.MIN_SHARED_PREFIX` out of reach)."""
    from trust_utils import decoding

    before = decoding.MIN_SHARED_PREFIX
    decoding.MIN_SHARED_PREFIX = before if on else 1 << 30
    try:
        yield
    finally:
        decoding.MIN_SHARED_PREFIX = before


def requests(n_questions: int, shots: int) -> tuple[list[str], list[str], int]:
    """(contexts, continuations, number of questions) from the bundled TruthfulQA MC file."""
    from trust_utils.verticals.common import Malformed, bundled_root
    from trust_utils.verticals.truthfulness import parse_questions

    path = bundled_root("truthfulqa") / "data" / "mc_task.json"
    qs = parse_questions(json.loads(path.read_text(encoding="utf-8")), Malformed())[:n_questions]
    primer = "".join(f"Q: {q}\nA: {a}\n\n" for q, a in PRIMER[:shots])
    ctxs, conts = [], []
    for q in qs:
        for opt, _ in q.mc2:
            ctxs.append(f"{primer}Q: {q.question}\nA:")
            conts.append(" " + opt)
    return ctxs, conts, len(qs)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=0, help="0: chosen from free memory")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--n-questions", type=int, default=40)
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--cache-dir", default="", help="model cache (converted models)")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs of each scorer, alternating; the best counts")
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)

    from _common import FedTokens, matmul_params, matmul_peak_gflops

    from trust_utils.generation import Engine
    from trust_utils.models import resolve_model_ref
    from trust_utils.utils import resolve_device, set_threads

    threads = set_threads(args.threads)
    device = resolve_device(args.device)
    resolved = resolve_model_ref(args.model, args.cache_dir or None)
    ctxs, conts, n_q = requests(args.n_questions, args.shots)
    runs: dict[str, dict] = {}
    engines = {}
    for name, share, pack in SCORERS:
        eng = Engine(resolved, device=device, dtype=args.dtype, batch_size=args.batch_size, cache_dir=None,
                     progress=False, model_cache_dir=args.cache_dir or None, share_context=share,
                     pack_continuations=pack)
        if engines:
            eng._model = next(iter(engines.values()))._model  # one model in memory for both scorers
        eng.loglikelihood(ctxs[:2], conts[:2])  # load and warm up, not timed
        engines[name] = eng
    tok = engines["plain"].tokenizer
    req_tokens = sum(len(tok(c + x)["input_ids"]) for c, x in zip(ctxs, conts, strict=True))
    # alternate the scorers and keep each one's best time: other load on a shared machine comes and goes
    for _ in range(max(1, args.repeats)):
        for name, eng in engines.items():
            eng.batch_sizes_used.clear()
            fed = FedTokens(eng.model)
            t0 = time.perf_counter()
            with common_prefix_once(name != "whole-contexts"):
                vals = eng.loglikelihood(ctxs, conts)
            dt = time.perf_counter() - t0
            fed.close()
            if name not in runs or dt < runs[name]["seconds"]:
                runs[name] = dict(seconds=dt, values=[v for v, _ in vals], fed=fed.n,
                                  batch_sizes=sorted(eng.batch_sizes_used), params=matmul_params(eng.model),
                                  dtype=str(eng.torch_dtype).replace("torch.", ""))
    dtype = engines["plain"].torch_dtype
    for eng in engines.values():
        eng.close()
    peak = matmul_peak_gflops(dtype, device)
    p, u, w, s = runs["plain"], runs["unpacked"], runs["whole-contexts"], runs["shared"]
    res = {"model": args.model, "device": device, "dtype": p["dtype"], "threads": threads, "questions": n_q,
           "requests": len(ctxs), "shots": args.shots, "batch_size": args.batch_size,
           "mean_context_tokens": round(sum(len(tok(c)["input_ids"]) for c in set(ctxs)) / len(set(ctxs)), 1),
           "request_tokens": req_tokens, "peak_gflops": round(peak, 1),
           "max_abs_diff": max(abs(a - b) for r in (u, w, s) for a, b in zip(p["values"], r["values"], strict=True))}
    for name, r in runs.items():
        gf = 2 * r["params"] * r["fed"] / r["seconds"] / 1e9
        res[name] = {"seconds": round(r["seconds"], 3), "requests_per_s": round(len(ctxs) / r["seconds"], 2),
                     "request_tokens_per_s": round(req_tokens / r["seconds"], 1), "tokens_fed": r["fed"],
                     "gflops": round(gf, 1), "share_of_peak": round(gf / peak, 3), "batch_sizes": r["batch_sizes"]}
    res["speedup"] = round(p["seconds"] / s["seconds"], 2)
    res["packing_speedup"] = round(u["seconds"] / s["seconds"], 2)
    res["prefix_speedup"] = round(w["seconds"] / s["seconds"], 2)
    print(f"model {args.model} on {device}, {res['dtype']}, {threads} threads; {n_q} questions, {len(ctxs)} requests, "
          f"{args.shots}-shot context of {res['mean_context_tokens']} tokens; matmul peak now {res['peak_gflops']} GFLOP/s")
    for name, _, _ in SCORERS:
        r = res[name]
        print(f"  {name:<14} {r['requests_per_s']:7.2f} req/s  {r['request_tokens_per_s']:8.1f} request tok/s  "
              f"{r['seconds']:7.2f} s  fed {r['tokens_fed']} tokens  {r['gflops']} GFLOP/s = "
              f"{100 * r['share_of_peak']:.1f}% of peak  batches {r['batch_sizes']}")
    print(f"  speedup {res['speedup']}x over plain; packing {res['packing_speedup']}x over unpacked, the common "
          f"prefix once {res['prefix_speedup']}x over whole contexts; largest |any - plain| = {res['max_abs_diff']:.2e}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
