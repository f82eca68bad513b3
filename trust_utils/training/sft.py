"""Stage ``sft``: supervised fine-tuning of the base model on (prompt, chosen reply) pairs.

Objective: the negative log-likelihood of the completion given the prompt,
``L = -sum_t log pi(y_t | x, y_<t)``, summed over *completion tokens only* (TRL ``SFTTrainer`` in its
prompt-completion format with ``completion_only_loss=True``: the collator sets the labels of prompt tokens to -100;
``tests/test_training_sft.py`` checks it). An EOS token is appended to each completion so the model learns to stop.

Paper defaults (``configs/paper-pythia-*.yaml``): 3 epochs, batch 32, AdamW, full fine-tuning. The learning rate
differs between the sources: the paper states 1e-5, its released trlx script (``RLHF/llama_sft.py``) uses 1e-6 with
betas (0.9, 0.95), weight decay 1e-6 and an effectively constant schedule. We default to the paper's 1e-5 and expose
``learning_rate`` (set 1e-6 to follow the code).

Output: ``<run_dir>/sft/model`` (checkpoint name ``sft``), ``training_log.csv``, ``samples.csv`` (base vs SFT
greedy continuations of held-out prompts), ``outputs.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from ..models import load_causal_lm, load_tokenizer
from ..params import param, shared
from .config import TRAIN_LOG, TrainConfig, TrainingError, data_file, lora_config, setup, trainer_kwargs
from .envelope import Report, Trained, run_method
from .inputs import load_rows, resolve_init
from .launch import worker_main
from .reuse import load_checkpoint_weights, prepare_checkpoints, save_trainer_model
from .summary import generate_samples, last_value, read_log

log = logging.getLogger(__name__)

STAGE = "sft"


@dataclass
class SFTStageConfig(TrainConfig):
    """Parameters of ``10_sft`` (see :class:`~trust_utils.training.config.TrainConfig` for the shared ones)."""

    STAGE: ClassVar[str] = "sft"
    MODULE: ClassVar[str] = "sft"
    DATA_FILES: ClassVar[tuple[str, ...]] = ("sft_train",)

    model: str = shared("model", "tiny", cell=True)
    init_from: str = "base"
    epochs: float = 3.0
    max_steps: int = param(0, cell=True)
    batch_size: int = 32
    learning_rate: float = 1e-5
    n_eval: int = param(64, 'held-out examples for the before/after loss')
    n_samples: int = param(3, 'held-out prompts shown with base and SFT continuations')
    sample_max_new_tokens: int = param(32, 'tokens generated per sample')


def build_dataset(rows: list[dict[str, Any]]):
    from datasets import Dataset

    return Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])


def build_trainer(cfg: SFTStageConfig, device: str, resume: str | None = None):
    """The configured ``SFTTrainer`` (also used by the tests to inspect the loss mask)."""
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from . import callbacks  # imports transformers at its top (see its docstring)

    init = resolve_init(cfg)
    rows = load_rows(cfg, "sft_train", cfg.n_train)
    tok = load_tokenizer(init, padding_side="right")
    model = AutoModelForCausalLM.from_pretrained(init)
    load_checkpoint_weights(model, cfg, resume)
    args = SFTConfig(**trainer_kwargs(cfg, device), max_length=cfg.max_length, completion_only_loss=True,
                     packing=False, dataset_num_proc=None, eos_token=tok.eos_token)
    peft_config = lora_config(cfg, "CAUSAL_LM") if cfg.use_lora else None
    trainer = SFTTrainer(model=model, args=args, train_dataset=build_dataset(rows), processing_class=tok,
                         peft_config=peft_config, callbacks=callbacks.standard_callbacks(cfg, resume))
    callbacks.replay_epoch_order(trainer, resume)
    return trainer, tok


def train(cfg: SFTStageConfig) -> None:
    """Train and save (in each process under ``accelerate launch``)."""
    device = setup(cfg)
    resume = prepare_checkpoints(cfg, is_main=_is_main())
    trainer, tok = build_trainer(cfg, device, resume)
    trainer.train(resume_from_checkpoint=resume)
    save_trainer_model(trainer, tok, cfg)


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def heldout_loss(model_dir: str, rows: list[dict[str, Any]], max_length: int, device: str = "cpu") -> float:
    """Mean per-token NLL of the completions (prompt tokens masked), for a before/after comparison."""
    import torch

    tok = load_tokenizer(model_dir, padding_side="right")
    model = load_causal_lm(model_dir, device=device)
    tot, n = 0.0, 0
    for r in rows:
        p = tok(r["prompt"], add_special_tokens=False)["input_ids"]
        c = tok(r["completion"] + tok.eos_token, add_special_tokens=False)["input_ids"]
        ids = (p + c)[:max_length]
        labels = ([-100] * len(p) + c)[:max_length]
        if all(x == -100 for x in labels[1:]):
            continue
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids], device=device), labels=torch.tensor([labels], device=device))
        k = sum(1 for x in labels[1:] if x != -100)
        tot += float(out.loss) * k
        n += k
    return tot / max(n, 1)


def _check(cfg: SFTStageConfig, init: str) -> None:
    load_rows(cfg, "sft_train")  # fail early, before any process is launched


def _report(t: Trained) -> Report:
    """Held-out loss of base and SFT, their greedy samples (``samples.csv``), the training log's summary."""
    cfg, device = t.cfg, t.device
    test = load_rows(cfg, "sft_test", cfg.n_eval) if data_file(cfg, "sft_test").is_file() else []
    loss_before = heldout_loss(t.init, test, cfg.max_length, device) if test else None
    loss_after = heldout_loss(t.model_dir, test, cfg.max_length, device) if test else None
    samples = generate_samples({"base": t.init, "sft": t.model_dir}, [r["prompt"] for r in test[:cfg.n_samples]],
                               cfg.sample_max_new_tokens, device)
    samples.to_csv(t.out / "samples.csv", index=False)
    df = read_log(cfg)
    if df.empty:
        raise TrainingError(f"stage 'sft': no training log in {t.out / TRAIN_LOG}")
    return Report({
        "steps": int(df["step"].max()), "final_train_loss": last_value(df, "loss"),
        "heldout_loss_before": loss_before, "heldout_loss_after": loss_after, "n_eval": len(test),
        "n_train": len(load_rows(cfg, "sft_train", cfg.n_train)),
    }, files=["samples.csv"])


def run(cfg: SFTStageConfig) -> dict[str, Any]:
    """Fine-tune, save ``<run_dir>/sft/model``, compare held-out loss and samples with the base; write outputs.json."""
    return run_method(cfg, train, _report, check=_check, train_file="sft_train")


if __name__ == "__main__":
    worker_main(SFTStageConfig, train)
