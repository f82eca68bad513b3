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

This module is the *stage* only: loading and scoring a trained reward model (:mod:`.reward_model`) and the pair
datasets (:mod:`.pairs`) are value modules of their own, so the methods that use them (DPO, the online
methods, the attribution) do not depend on this module's code. ``load_reward_model`` and ``score`` stay importable from here.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, ClassVar

from ..models import load_tokenizer
from ..params import param
from .config import TrainConfig, lora_config, setup, trainer_kwargs
from .envelope import Report, Trained, run_method
from .inputs import load_rows, resolve_init
from .launch import worker_main
from .padding import distinct_pad_token
from .pairs import add_length_column, checked_train_pairs, held_out_pairs, preference_dataset
from .reuse import load_checkpoint_weights, prepare_checkpoints, save_trainer_model
from .reward_model import load_reward_model, score
from .summary import last_value, read_log

log = logging.getLogger(__name__)

STAGE = "reward_model"


@dataclass
class RewardStageConfig(TrainConfig):
    """Parameters of ``11_reward_model``."""

    STAGE: ClassVar[str] = "reward_model"
    MODULE: ClassVar[str] = "reward"

    init_from: str = "sft"
    epochs: float = param(1.0, cell=True)
    batch_size: int = 8
    learning_rate: float = 1e-5
    center_rewards_coefficient: float = param(0.0, 'weight of the mean-reward penalty (0 disables it)')
    n_eval: int = param(0, 'held-out pairs to score (0 scores all)')


def build_trainer(cfg: RewardStageConfig, device: str, resume: str | None = None):
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from . import callbacks  # imports transformers at its top (see its docstring)

    init = resolve_init(cfg)
    rows = load_rows(cfg, "pref_train", cfg.n_train)
    tok = load_tokenizer(init, padding_side="right")
    distinct_pad_token(tok, repr(init))  # saved with the model, so scoring and PPO pad the same way
    model = AutoModelForSequenceClassification.from_pretrained(init, num_labels=1)
    load_checkpoint_weights(model, cfg, resume)
    model.config.pad_token_id = tok.pad_token_id
    args = RewardConfig(**trainer_kwargs(cfg, device), max_length=cfg.max_length, dataset_num_proc=None,
                        center_rewards_coefficient=cfg.center_rewards_coefficient or None,
                        disable_dropout=True, eos_token=tok.eos_token)
    peft_config = lora_config(cfg, "SEQ_CLS") if cfg.use_lora else None
    trainer = RewardTrainer(model=model, args=args, train_dataset=preference_dataset(rows, cfg.STAGE),
                            processing_class=tok, peft_config=peft_config,
                            callbacks=callbacks.standard_callbacks(cfg, resume))
    add_length_column(trainer)
    callbacks.replay_epoch_order(trainer, resume)
    return trainer, tok


def train(cfg: RewardStageConfig) -> None:
    """Train and save (in each process under ``accelerate launch``)."""
    device = setup(cfg)
    resume = prepare_checkpoints(cfg, is_main=os.environ.get("RANK", "0") == "0")
    trainer, tok = build_trainer(cfg, device, resume)
    trainer.train(resume_from_checkpoint=resume)
    save_trainer_model(trainer, tok, cfg)


def evaluate_pairs(model_dir: str, rows: list[dict[str, Any]], max_length: int = 512, device: str = "cpu"):
    """Per-pair rewards and margins on ``rows``: a DataFrame with ``r_chosen, r_rejected, margin, correct``."""
    import pandas as pd

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


def _report(t: Trained) -> Report:
    """Pairwise accuracy and margins on train and held-out pairs (``margins.csv``), the training log's summary."""
    import pandas as pd

    cfg, train_rows = t.cfg, t.checked
    test_rows = held_out_pairs(cfg)
    frames = []
    for split, rows in (("train", train_rows[:max(cfg.n_eval, 256)] if cfg.n_eval else train_rows), ("test", test_rows)):
        if rows:
            d = evaluate_pairs(t.model_dir, rows, cfg.max_length, t.device)
            d.insert(0, "split", split)
            frames.append(d)
    margins = pd.concat(frames, ignore_index=True)
    margins.to_csv(t.out / "margins.csv", index=False)
    acc = margins.groupby("split")["correct"].mean().to_dict()
    df = read_log(cfg)
    return Report({
        "steps": int(df["step"].max()) if not df.empty else 0,
        "final_train_loss": last_value(df, "loss"),
        "train_accuracy": float(acc.get("train")) if "train" in acc else None,
        "test_accuracy": float(acc.get("test")) if "test" in acc else None,
        "test_mean_margin": float(margins.loc[margins.split == "test", "margin"].mean()) if test_rows else None,
        "n_train": len(train_rows), "n_test": len(test_rows),
    }, files=["margins.csv"])


def run(cfg: RewardStageConfig) -> dict[str, Any]:
    """Train the reward model, then report pairwise accuracy and margins on train and held-out pairs."""
    return run_method(cfg, train, _report, check=checked_train_pairs)


if __name__ == "__main__":
    worker_main(RewardStageConfig, train)
