"""Stage ``reward_model``: a Bradley-Terry reward model trained on the preference pairs.

The reward model r(x, y) is the policy's transformer with a scalar head (``AutoModelForSequenceClassification``,
``num_labels=1``; the score is read at the last non-padding token, the EOS appended to every reply; a tokenizer
that pads with EOS gets a distinct pad token first, :func:`.padding.distinct_pad_token`, else the score would be read
before the EOS and PPO, which needs the distinct pad, would read it elsewhere than training did). Under the
Bradley-Terry model the probability that a labeller prefers y_w to y_l is ``sigmoid(r(x, y_w) - r(x, y_l))``, so the
loss is ``-log sigmoid(r(x, y_w) - r(x, y_l))`` averaged over pairs (TRL ``RewardTrainer``).

It is initialised from the SFT model by default (``init_from="sft"``; any checkpoint name or model reference
works), as in InstructGPT. The paper itself used an off-the-shelf GPT-J-6B reward model (``Dahoas/gptj-rm-static``);
training our own keeps the study self-contained and lets PPO share the policy's tokenizer, which TRL's PPO requires.

Reports held-out pairwise accuracy (share of ``pref_test`` pairs with r(chosen) > r(rejected)) and the margin
distribution ``r(chosen) - r(rejected)`` (``margins.csv``). Output: ``<run_dir>/reward_model/model`` (checkpoint ``rm``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from . import common
from .common import TrainConfig, TrainingError
from .padding import distinct_pad_token
from ..params import param

log = logging.getLogger(__name__)

STAGE = "reward_model"


@dataclass
class RewardStageConfig(TrainConfig):
    """Parameters of ``11_reward_model``."""

    STAGE: ClassVar[str] = "reward_model"
    MODULE: ClassVar[str] = "reward"

    init_from: str = "sft"
    epochs: float = 1.0
    batch_size: int = 8
    learning_rate: float = 1e-5
    center_rewards_coefficient: float = param(0.0, 'weight of the mean-reward penalty (0 disables it)')
    n_eval: int = param(0, 'held-out pairs to score (0 scores all)')


def preference_dataset(rows: list[dict[str, Any]], stage: str):
    from datasets import Dataset

    if not rows:
        raise TrainingError(f"stage '{stage}': the preference set is empty; check the data stage's drop report")
    return Dataset.from_list([{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows])


def add_length_column(trainer) -> None:
    """Give a tokenised pair dataset the ``length`` column ``group_by_length`` sorts by.

    The Trainer infers lengths only from an ``input_ids`` column; TRL's pair datasets have ``chosen_ids`` and
    ``rejected_ids`` (DPO also ``prompt_ids``), whose summed length is what one example costs.
    """
    ds = trainer.train_dataset
    if ds is None or not trainer.args.train_sampling_strategy == "group_by_length" or "length" in ds.column_names:
        return
    cols = [c for c in ds.column_names if c.endswith("_ids") and "mask" not in c]
    if not cols:
        return
    trainer.train_dataset = ds.map(lambda r: {"length": sum(len(r[c]) for c in cols)}, desc="lengths")
    # the Trainer drops columns outside the trainer's signature list before it builds the sampler; the
    # preference collators read only their own keys, so keeping "length" costs nothing
    trainer._set_signature_columns_if_needed()
    if "length" not in trainer._signature_columns:
        trainer._signature_columns = [*trainer._signature_columns, "length"]


def load_reward_model(ref: str, device: str = "cpu"):
    """A reward model directory (full, or a LoRA adapter merged on load) in eval mode."""
    from pathlib import Path

    from transformers import AutoModelForSequenceClassification

    if (Path(ref) / "adapter_config.json").is_file():
        from peft import AutoPeftModelForSequenceClassification

        model = AutoPeftModelForSequenceClassification.from_pretrained(ref, num_labels=1).merge_and_unload()
    else:
        model = AutoModelForSequenceClassification.from_pretrained(ref, num_labels=1)
    return model.to(device).eval()


def build_trainer(cfg: RewardStageConfig, device: str, resume: str | None = None):
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from ..models import load_tokenizer

    init = common.resolve_init(cfg)
    rows = common.load_rows(cfg, "pref_train", cfg.n_train)
    tok = load_tokenizer(init, padding_side="right")
    distinct_pad_token(tok, repr(init))  # saved with the model, so scoring and PPO pad the same way
    model = AutoModelForSequenceClassification.from_pretrained(init, num_labels=1)
    model.config.pad_token_id = tok.pad_token_id
    args = RewardConfig(**common.trainer_kwargs(cfg, device), max_length=cfg.max_length, dataset_num_proc=None,
                        center_rewards_coefficient=cfg.center_rewards_coefficient or None,
                        disable_dropout=True, eos_token=tok.eos_token)
    peft_config = common.lora_config(cfg, "SEQ_CLS") if cfg.use_lora else None
    trainer = RewardTrainer(model=model, args=args, train_dataset=preference_dataset(rows, cfg.STAGE),
                            processing_class=tok, peft_config=peft_config,
                            callbacks=common.standard_callbacks(cfg, resume))
    add_length_column(trainer)
    return trainer, tok


def train(cfg: RewardStageConfig) -> None:
    import os

    device = common.setup(cfg)
    resume = common.prepare_checkpoints(cfg, is_main=os.environ.get("RANK", "0") == "0")
    trainer, tok = build_trainer(cfg, device, resume)
    trainer.train(resume_from_checkpoint=resume)
    common.save_trainer_model(trainer, tok, cfg)


def score(model, tok, prompts: list[str], replies: list[str], max_length: int = 512, batch_size: int = 8,
          device: str = "cpu") -> list[float]:
    """Rewards of ``prompt + reply + EOS`` (as in training), right-padded, read at the last real token.

    Texts are batched in order of length (little padding; each value is its own row's), returned in input order.
    """
    import torch

    texts = [p + r + ("" if r.endswith(tok.eos_token) else tok.eos_token) for p, r in zip(prompts, replies)]
    side = tok.padding_side
    tok.padding_side = "right"
    out: list[float] = [0.0] * len(texts)
    try:
        ids = tok(texts, truncation=True, max_length=max_length, add_special_tokens=False)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        for k in range(0, len(order), batch_size):
            batch = order[k:k + batch_size]
            enc = tok.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt").to(device)
            with torch.inference_mode():
                vals = model(**enc).logits[:, 0].float().cpu().tolist()
            for i, v in zip(batch, vals):
                out[i] = v
    finally:
        tok.padding_side = side
    return out


def evaluate_pairs(model_dir: str, rows: list[dict[str, Any]], max_length: int = 512, device: str = "cpu"):
    """Per-pair rewards and margins on ``rows``: a DataFrame with ``r_chosen, r_rejected, margin, correct``."""
    import pandas as pd

    from ..models import load_tokenizer

    tok = load_tokenizer(model_dir, padding_side="right")
    model = load_reward_model(model_dir, device)
    prompts = [r["prompt"] for r in rows]
    rc = score(model, tok, prompts, [r["chosen"] for r in rows], max_length, device=device)
    rr = score(model, tok, prompts, [r["rejected"] for r in rows], max_length, device=device)
    df = pd.DataFrame({"id": [r.get("id") for r in rows], "subset": [r.get("subset") for r in rows],
                       "r_chosen": rc, "r_rejected": rr})
    df["margin"] = df["r_chosen"] - df["r_rejected"]
    df["correct"] = df["margin"] > 0
    return df


def run(cfg: RewardStageConfig) -> dict[str, Any]:
    """Train the reward model, then report pairwise accuracy and margins on train and held-out pairs."""
    import pandas as pd

    from ..manifest import write_stage_outputs

    cfg.validate()
    timer = common.Timer()
    device = common.setup(cfg)
    init = common.resolve_init(cfg)
    train_rows = common.load_rows(cfg, "pref_train", cfg.n_train)
    preference_dataset(train_rows, cfg.STAGE)  # empty set -> clear error before training
    status = common.run_training(cfg, train, device)
    t_train = timer()
    out = cfg.stage_dir()
    model_dir = str(out / "model")
    test_rows = common.load_rows(cfg, "pref_test", cfg.n_eval) if common.data_file(cfg, "pref_test").is_file() else []
    frames = []
    for split, rows in (("train", train_rows[:max(cfg.n_eval, 256)] if cfg.n_eval else train_rows), ("test", test_rows)):
        if rows:
            d = evaluate_pairs(model_dir, rows, cfg.max_length, device)
            d.insert(0, "split", split)
            frames.append(d)
    margins = pd.concat(frames, ignore_index=True)
    margins.to_csv(out / "margins.csv", index=False)
    acc = margins.groupby("split")["correct"].mean().to_dict()
    df = common.read_log(cfg)
    summary = {
        "status": status, "reuse": common.reuse_record(cfg, status), "init_from": cfg.init_from, "init_path": init, "model_dir": "model",
        "steps": int(df["step"].max()) if not df.empty else 0,
        "final_train_loss": common.last_value(df, "loss"),
        "train_accuracy": float(acc.get("train")) if "train" in acc else None,
        "test_accuracy": float(acc.get("test")) if "test" in acc else None,
        "test_mean_margin": float(margins.loc[margins.split == "test", "margin"].mean()) if test_rows else None,
        "n_train": len(train_rows), "n_test": len(test_rows),
        "files": ["model/", common.TRAIN_LOG, "margins.csv"], "device": device, "config": cfg.to_json(),
    }
    write_stage_outputs(out, summary, inputs=[common.data_file(cfg, "pref_train")],
                        timings={"train_s": t_train, "total_s": timer()})
    return summary


if __name__ == "__main__":
    common.worker_main(RewardStageConfig, train)
