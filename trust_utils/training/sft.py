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

from . import common
from .common import TrainConfig, TrainingError
from ..params import param

log = logging.getLogger(__name__)

STAGE = "sft"


@dataclass
class SFTStageConfig(TrainConfig):
    """Parameters of ``10_sft`` (see :class:`~trust_utils.training.common.TrainConfig` for the shared ones)."""

    STAGE: ClassVar[str] = "sft"
    MODULE: ClassVar[str] = "sft"
    DATA_FILES: ClassVar[tuple[str, ...]] = ("sft_train",)

    init_from: str = "base"
    epochs: float = 3.0
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

    from ..models import load_tokenizer

    init = common.resolve_init(cfg)
    rows = common.load_rows(cfg, "sft_train", cfg.n_train)
    tok = load_tokenizer(init, padding_side="right")
    model = AutoModelForCausalLM.from_pretrained(init)
    args = SFTConfig(**common.trainer_kwargs(cfg, device), max_length=cfg.max_length, completion_only_loss=True,
                     packing=False, dataset_num_proc=None, eos_token=tok.eos_token)
    peft_config = common.lora_config(cfg, "CAUSAL_LM") if cfg.use_lora else None
    return SFTTrainer(model=model, args=args, train_dataset=build_dataset(rows), processing_class=tok,
                      peft_config=peft_config, callbacks=common.standard_callbacks(cfg, resume)), tok


def train(cfg: SFTStageConfig) -> None:
    """Train and save (in each process under ``accelerate launch``)."""
    device = common.setup(cfg)
    resume = common.prepare_checkpoints(cfg, is_main=_is_main())
    trainer, tok = build_trainer(cfg, device, resume)
    trainer.train(resume_from_checkpoint=resume)
    common.save_trainer_model(trainer, tok, cfg)


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def heldout_loss(model_dir: str, rows: list[dict[str, Any]], max_length: int, device: str = "cpu") -> float:
    """Mean per-token NLL of the completions (prompt tokens masked), for a before/after comparison."""
    import torch

    from ..models import load_causal_lm, load_tokenizer

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


def run(cfg: SFTStageConfig) -> dict[str, Any]:
    """Fine-tune, save ``<run_dir>/sft/model``, compare held-out loss and samples with the base; write outputs.json."""
    from ..manifest import write_stage_outputs

    cfg.validate()
    timer = common.Timer()
    device = common.setup(cfg)
    init = common.resolve_init(cfg)
    common.load_rows(cfg, "sft_train")  # fail early, before any process is launched
    status = common.run_training(cfg, train, device)
    t_train = timer()
    out = cfg.stage_dir()
    model_dir = str(out / "model")
    test = common.load_rows(cfg, "sft_test", cfg.n_eval) if common.data_file(cfg, "sft_test").is_file() else []
    loss_before = heldout_loss(init, test, cfg.max_length, device) if test else None
    loss_after = heldout_loss(model_dir, test, cfg.max_length, device) if test else None
    samples = common.generate_samples({"base": init, "sft": model_dir}, [r["prompt"] for r in test[:cfg.n_samples]],
                                      cfg.sample_max_new_tokens, device)
    samples.to_csv(out / "samples.csv", index=False)
    df = common.read_log(cfg)
    if df.empty:
        raise TrainingError(f"stage 'sft': no training log in {out / common.TRAIN_LOG}")
    summary = {
        "status": status, "reuse": common.reuse_record(cfg, status),
        "init_from": cfg.init_from, "init_path": init, "model_dir": "model",
        "steps": int(df["step"].max()), "final_train_loss": common.last_value(df, "loss"),
        "heldout_loss_before": loss_before, "heldout_loss_after": loss_after, "n_eval": len(test),
        "n_train": len(common.load_rows(cfg, "sft_train", cfg.n_train)),
        "files": ["model/", common.TRAIN_LOG, "samples.csv"],
        "device": device, "config": cfg.to_json(),
    }
    inputs = [common.data_file(cfg, "sft_train")]
    write_stage_outputs(out, summary, inputs=inputs, timings={"train_s": t_train, "total_s": timer()})
    return summary


if __name__ == "__main__":
    common.worker_main(SFTStageConfig, train)
