"""Time one training step of each alignment stage (SFT, reward model, PPO update, DPO) on a model.

    python benchmarks/bench_training.py --model tiny --threads 2 --batch-size 4 --seq-len 128
    python benchmarks/bench_training.py --model smollm2-gguf --threads 2 --batch-size 2 --seq-len 128

Each stage runs on synthetic data with exactly ``--seq-len`` tokens per sequence (prompt half, reply half), through
the same TRL trainers the stages use, with one warm-up step excluded from the timing. Prints steps/s and tokens/s
(tokens processed by the trained model's forward: SFT batch x len; RM and DPO 2 x batch x len; PPO the rollout
prompt + generated reply tokens of one update) and the thread count in force.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _synthetic_run(run_dir: Path, tok, n: int, seq_len: int) -> None:
    import random

    from trust_utils.utils import write_jsonl

    rng = random.Random(0)
    vocab = [t for t in tok.get_vocab() if t.isalpha() and len(t) > 2][:2000] or ["word"]

    def text(k):
        s = " ".join(rng.choice(vocab) for _ in range(k))
        ids = tok(s, add_special_tokens=False)["input_ids"][:k]
        while len(ids) < k:
            ids += ids or [0]
        return tok.decode(ids[:k])

    half = seq_len // 2
    rows = []
    for i in range(n):
        p = "\n\nHuman: " + text(max(1, half - 8)) + "\n\nAssistant:"
        rows.append({"id": str(i), "subset": "bench", "prompt": p, "chosen": " " + text(half - 2),
                     "rejected": " " + text(half - 2)})
    d = run_dir / "data"
    for split in ("train", "test"):
        write_jsonl(d / f"pref_{split}.jsonl", rows)
        write_jsonl(d / f"sft_{split}.jsonl", ({"id": r["id"], "subset": "bench", "prompt": r["prompt"],
                                                "completion": r["chosen"]} for r in rows))


def _time_trainer(trainer, steps: int) -> float:
    """Seconds per optimizer step: train 1 + steps steps; the first is the warm-up."""
    from transformers import TrainerCallback

    stamps: list[float] = []

    class Stamp(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            stamps.append(time.perf_counter())

    trainer.add_callback(Stamp())
    trainer.train()
    if len(stamps) < 2:
        raise RuntimeError("benchmark needs at least 2 steps")
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny", help="model reference (tiny, smollm2-gguf, a directory)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=128, help="tokens per sequence (prompt + reply)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    ap.add_argument("--stages", default="sft,reward_model,ppo,dpo")
    ap.add_argument("--cache-dir", default="")
    args = ap.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    logging.basicConfig(level=logging.WARNING)
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    from trust_utils.models import load_tokenizer, resolve_model_ref
    from trust_utils.training import dpo, ppo, reward, sft

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model_dir = resolve_model_ref(args.model, args.cache_dir or None)
    prep_s = time.perf_counter() - t0
    tok = load_tokenizer(model_dir)
    tmp = Path(tempfile.mkdtemp(prefix="bench_training_"))
    n = args.batch_size * (args.steps + 2)
    _synthetic_run(tmp, tok, n, args.seq_len)
    common = dict(run_dir=str(tmp), model=model_dir, threads=args.threads, device="cpu",
                  batch_size=args.batch_size, max_steps=args.steps + 1, max_length=args.seq_len + 8,
                  logging_steps=1000, save_steps=10_000, learning_rate=1e-5)
    bs, L = args.batch_size, args.seq_len
    print(f"model {args.model} ({model_dir}); resolve {prep_s:.1f}s; torch threads {torch.get_num_threads()}; "
          f"batch {bs}; seq_len {L}; timed steps {args.steps}")
    print(f"{'stage':<13} {'s/step':>8} {'steps/s':>8} {'tokens/s':>9}")
    results = {}
    try:
        stages = args.stages.split(",")
        if "sft" in stages or any(s in stages for s in ("reward_model", "ppo", "dpo")):
            cfg = sft.SFTStageConfig(**common, init_from="base")
            trainer, _ = sft.build_trainer(cfg, "cpu")
            if "sft" in stages:
                sec = _time_trainer(trainer, args.steps)
                results["sft"] = (sec, bs * L / sec)
            else:
                trainer.train()
            from trust_utils.training.reuse import save_trainer_model

            save_trainer_model(trainer, _, cfg)
        if "reward_model" in stages or "ppo" in stages:
            cfg = reward.RewardStageConfig(**common, init_from="sft")
            trainer, rtok = reward.build_trainer(cfg, "cpu")
            sec = _time_trainer(trainer, args.steps)
            results["reward_model"] = (sec, 2 * bs * L / sec)
            from trust_utils.training.reuse import save_trainer_model

            save_trainer_model(trainer, rtok, cfg)
        if "ppo" in stages:
            half = L // 2
            cfg = ppo.PPOStageConfig(**{**common, "max_steps": args.steps + 1}, response_length=half,
                                     max_prompt_length=half, num_ppo_epochs=1, n_samples=0)
            ppo.train(cfg)
            from trust_utils.training.summary import read_log

            log = read_log(cfg)
            t = log["time_s"].tolist()
            sec = (t[-1] - t[0]) / (len(t) - 1)
            results["ppo"] = (sec, bs * L / sec)
        if "dpo" in stages:
            cfg = dpo.DPOStageConfig(**common, init_from="sft")
            trainer, _ = dpo.build_trainer(cfg, "cpu")
            sec = _time_trainer(trainer, args.steps)
            results["dpo"] = (sec, 2 * bs * L / sec)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, (sec, tps) in results.items():
        print(f"{name:<13} {sec:>8.3f} {1 / sec:>8.2f} {tps:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
