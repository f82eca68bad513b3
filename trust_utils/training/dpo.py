"""Stage ``dpo``: direct preference optimisation from the SFT model, with the SFT model as the frozen reference.

DPO (Rafailov et al., 2023) optimises the KL-regularised RLHF objective without a reward model or sampling. With the
implicit reward ``r(x, y) = beta * log(pi(y|x) / pi_ref(y|x))`` the Bradley-Terry loss on the preference pairs becomes

    L = -log sigmoid( beta * [log pi(y_w|x)/pi_ref(y_w|x) - log pi(y_l|x)/pi_ref(y_l|x)] ),

``beta`` (default 0.1, the DPO reference code's README value; the paper's beta is unconfirmed) sets how far the policy
may move from the reference. TRL's ``DPOTrainer`` logs the implicit rewards of chosen and rejected replies, their
margin and the reward accuracy (share of pairs with a positive margin), which the notebook plots.

The DPO reference code used lr 5e-7 (RMSprop, 150 warmup steps), batch 64, 1 epoch; the paper profiles follow it
(AdamW here). Output: ``<run_dir>/dpo/model`` (checkpoint ``dpo``), ``training_log.csv``, ``eval.json``.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from typing import Any, ClassVar

from ..models import load_causal_lm, load_tokenizer
from ..params import param
from ..utils import write_json
from .config import TrainConfig, lora_config, setup, trainer_kwargs
from .envelope import Report, Trained, run_method
from .inputs import load_rows, resolve_init
from .launch import worker_main
from .pairs import add_length_column, checked_train_pairs, held_out_pairs, preference_dataset
from .reuse import load_checkpoint_weights, prepare_checkpoints, save_trainer_model
from .summary import last_value, read_log

log = logging.getLogger(__name__)

STAGE = "dpo"


@dataclass
class DPOStageConfig(TrainConfig):
    """Parameters of ``13_dpo``."""

    STAGE: ClassVar[str] = "dpo"
    MODULE: ClassVar[str] = "dpo"

    init_from: str = "sft"
    beta: float = param(0.1, 'DPO temperature beta (KL strength)', cell=True)
    epochs: float = 1.0
    batch_size: int = 8
    learning_rate: float = 5e-7
    loss_type: str = param("sigmoid", "TRL DPO loss (sigmoid is the DPO paper's)")
    n_eval: int = param(0, 'held-out pairs for the implicit-reward evaluation (0 uses all)')


def build_trainer(cfg: DPOStageConfig, device: str, resume: str | None = None, eval_rows=None):
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig, DPOTrainer

    from . import callbacks  # imports transformers at its top (see its docstring)

    init = resolve_init(cfg)
    rows = load_rows(cfg, "pref_train", cfg.n_train)
    tok = load_tokenizer(init, padding_side="right")
    model = AutoModelForCausalLM.from_pretrained(init)
    load_checkpoint_weights(model, cfg, resume)
    ref = None if cfg.use_lora else AutoModelForCausalLM.from_pretrained(init)
    args = DPOConfig(**trainer_kwargs(cfg, device), beta=cfg.beta, max_length=cfg.max_length,
                     loss_type=[cfg.loss_type], dataset_num_proc=None, precompute_ref_log_probs=False,
                     disable_dropout=True)
    peft_config = lora_config(cfg, "CAUSAL_LM") if cfg.use_lora else None
    eval_ds = preference_dataset(eval_rows, cfg.STAGE) if eval_rows else None
    trainer = DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=preference_dataset(rows, cfg.STAGE),
                         eval_dataset=eval_ds, processing_class=tok, peft_config=peft_config,
                         callbacks=callbacks.standard_callbacks(cfg, resume))
    add_length_column(trainer)
    callbacks.replay_epoch_order(trainer, resume)
    return trainer, tok


def train(cfg: DPOStageConfig) -> None:
    """Train and save (in each process under ``accelerate launch``)."""
    device = setup(cfg)
    resume = prepare_checkpoints(cfg, is_main=os.environ.get("RANK", "0") == "0")
    trainer, tok = build_trainer(cfg, device, resume)
    trainer.train(resume_from_checkpoint=resume)
    save_trainer_model(trainer, tok, cfg)


def evaluate_implicit_rewards(cfg: DPOStageConfig, model_dir: str, rows: list[dict[str, Any]], device: str) -> dict:
    """Held-out implicit-reward accuracy and margin of the trained policy against the SFT reference."""
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig, DPOTrainer

    init = resolve_init(cfg)
    tok = load_tokenizer(model_dir, padding_side="right")
    kw = trainer_kwargs(cfg, device)
    # sequential evaluation: group_by_length would also reorder the eval set, and it has no length column
    kw.update(output_dir=str(cfg.stage_dir() / "eval_tmp"), save_strategy="no", disable_tqdm=True,
              train_sampling_strategy="random")
    args = DPOConfig(**kw, beta=cfg.beta, max_length=cfg.max_length, loss_type=[cfg.loss_type],
                     dataset_num_proc=None)
    trainer = DPOTrainer(model=load_causal_lm(model_dir, device=device).train(),
                         ref_model=AutoModelForCausalLM.from_pretrained(init), args=args,
                         train_dataset=preference_dataset(rows[:1], cfg.STAGE),
                         eval_dataset=preference_dataset(rows, cfg.STAGE), processing_class=tok)
    res = trainer.evaluate()
    shutil.rmtree(cfg.stage_dir() / "eval_tmp", ignore_errors=True)
    return {k.replace("eval_", ""): float(v) for k, v in res.items() if isinstance(v, (int, float))}


def _report(t: Trained) -> Report:
    """Held-out implicit rewards (``eval.json``) and the training log's summary."""
    cfg, rows = t.cfg, t.checked
    test = held_out_pairs(cfg)
    ev = evaluate_implicit_rewards(cfg, t.model_dir, test, t.device) if test else {}
    write_json(t.out / "eval.json", ev)
    df = read_log(cfg)
    return Report({
        "beta": cfg.beta,
        "steps": int(df["step"].max()) if not df.empty else 0,
        "final_train_loss": last_value(df, "loss"),
        "final_reward_accuracy": last_value(df, "rewards/accuracies"),
        "final_reward_margin": last_value(df, "rewards/margins"),
        "test_reward_accuracy": ev.get("rewards/accuracies"), "test_reward_margin": ev.get("rewards/margins"),
        "test_loss": ev.get("loss"), "n_train": len(rows), "n_test": len(test),
    }, files=["eval.json"])


def run(cfg: DPOStageConfig) -> dict[str, Any]:
    """DPO-train, save ``<run_dir>/dpo/model``, evaluate implicit rewards on held-out pairs, write outputs.json."""
    return run_method(cfg, train, _report, check=checked_train_pairs)


if __name__ == "__main__":
    worker_main(DPOStageConfig, train)
