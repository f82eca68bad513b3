"""Stage ``rloo``: REINFORCE Leave-One-Out (RLOO) from the SFT policy against our reward model, KL to the SFT reference.

RLOO (Kool et al., 2019; Ahmadian et al., 2024) is REINFORCE with a baseline that costs no value model: for each
prompt ``x`` the policy samples ``k`` completions ``y_1..y_k`` (``num_generations``), each gets the sequence reward

    R_i = r(x, y_i) - beta * sum_t (log pi(y_i,t) - log pi_ref(y_i,t))

(the reward model's score minus the summed first-order log-ratio to the frozen SFT reference, as TRL and the RLOO
paper do), and its advantage is its reward minus the mean reward of the *other* k - 1 completions of the same prompt:

    A_i = R_i - 1/(k-1) * sum_{j != i} R_j.

The loss is the policy gradient ``-A_i * log pi(y_i|x)`` (TRL ``RLOOTrainer``; with ``num_iterations`` = 1 the clipped
importance ratio is 1, so this is plain REINFORCE). **The paper has no RLOO**: it is the study's fifth alignment
method, added to compare a critic-free online method with PPO (same reward model, same reference) and DPO.

Reward model: *our* ``reward_model`` stage (checkpoint ``rm``, :mod:`.reward`), read through :func:`.reward_model.score`,
i.e. on ``prompt + completion + EOS`` right-padded and scored at the last real token, exactly as it was trained. TRL's
``reward_funcs`` also accepts the model itself, but then scores the decoded text *without* the EOS the reward model
was trained to read its score at, so the stage passes a reward function instead (:func:`reward_function`).

Pad and EOS: as for PPO, the policy tokenizer gets a pad token distinct from EOS
(:func:`trust_utils.training.padding.distinct_pad_token`) so the EOS that ends a completion stays a scored,
learnable token; the reward model must share the policy's tokenizer (:func:`.online.check_same_tokenizer`).

Batches: TRL counts ``batch_size`` in *completions*: a step of ``batch_size * grad_accum * num_processes``
completions holds that many divided by ``num_generations`` prompts, so that product must be divisible by
``num_generations`` (checked in :meth:`RLOOStageConfig.validate`).

Resume: ``RLOOTrainer`` is a HF ``Trainer``; a rerun after an interruption resumes from the last checkpoint in
``checkpoints/`` under the same reuse key. Output: ``<run_dir>/rloo/model`` (checkpoint ``rloo``),
``training_log.csv`` (per step: the RM score ``reward``, the per-token ``kl``, entropy, completion lengths), ``samples.csv``
(greedy replies of SFT and RLOO to held-out prompts, with their rewards).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, ClassVar

from ..params import param
from . import online
from .config import TrainConfig, TrainingError, lora_config, setup, trainer_kwargs
from .envelope import Report, Trained, run_method
from .inputs import load_rows, resolve_init
from .launch import worker_main
from .online import check_same_tokenizer, policy_tokenizer
from .reuse import load_checkpoint_weights, prepare_checkpoints, save_trainer_model
from .reward_model import load_reward_model, score
from .summary import first_value, last_value, read_log

log = logging.getLogger(__name__)

STAGE = "rloo"
#: the name of the reward function in TRL's logs (``rewards/<name>/mean``)
REWARD_NAME = "reward_model"
#: training curves the notebook plots
#: (``reward`` is the RM score without the KL penalty; ``kl`` the per-token mean log ratio to the reference)
RLOO_METRICS = ["reward", "kl", "reward_std", "frac_reward_zero_std", "loss", "entropy", "completions/mean_length",
                "grad_norm"]


@dataclass
class RLOOStageConfig(TrainConfig):
    """Parameters of ``14_rloo``. ``max_steps`` > 0 sets the optimizer steps; else ``epochs`` over the prompts."""

    STAGE: ClassVar[str] = "rloo"
    MODULE: ClassVar[str] = "rloo"
    DATA_FILES: ClassVar[tuple[str, ...]] = ("pref_train",)
    INIT_FIELDS: ClassVar[tuple[str, ...]] = ("init_from", "reward_model")

    init_from: str = param("sft", 'the policy to start from, also the frozen KL reference')
    reward_model: str = param("rm", 'the reward model (checkpoint name of the run or a directory with the same tokenizer)')
    epochs: float = param(1.0, 'passes over the prompts')
    max_steps: int = param(0, cell=True)
    batch_size: int = param(8, 'completions (not prompts) per step and process; a multiple of num_generations')
    learning_rate: float = param(1e-6, 'AdamW learning rate (TRL RLOO default)')
    num_generations: int = param(4, 'k completions sampled per prompt (the leave-one-out baseline averages the other k-1)')
    beta: float = param(0.05, 'KL coefficient (penalty on the summed log-ratio to the reference; TRL default)')
    max_completion_length: int = param(128, 'longest sampled completion in tokens')
    max_prompt_length: int = param(256, 'keep the last n prompt tokens (the end of the dialogue)')
    temperature: float = param(1.0, 'sampling temperature of the rollouts')
    normalize_advantages: bool = param(False, 'scale the advantages by their batch standard deviation')
    n_samples: int = param(3, 'held-out prompts for the before/after samples')
    sample_max_new_tokens: int = param(32, 'greedy tokens per sample')

    def validate(self) -> None:
        super().validate()
        s = self.STAGE
        if self.num_generations < 2:
            raise TrainingError(f"stage '{s}': num_generations must be >= 2 (the leave-one-out baseline needs a "
                                f"second completion per prompt), got {self.num_generations}")
        per_step = self.batch_size * self.grad_accum * self.num_processes
        if per_step % self.num_generations:
            raise TrainingError(f"stage '{s}': batch_size x grad_accum x num_processes ({per_step} completions) must "
                                f"be divisible by num_generations ({self.num_generations}); change batch_size")
        if self.beta < 0:
            raise TrainingError(f"stage '{s}': beta (KL coefficient) must be >= 0, got {self.beta}")
        if self.max_completion_length < 1 or self.max_prompt_length < 1:
            raise TrainingError(f"stage '{s}': max_completion_length and max_prompt_length must be >= 1")


# ------------------------------------------------------------------------------------------ pieces
def prompt_dataset(tok, rows: list[dict[str, Any]], max_prompt_length: int, stage: str = STAGE):
    """A ``prompt`` column, each prompt cut to its last ``max_prompt_length`` tokens (the end of the dialogue)."""
    from datasets import Dataset

    if not rows:
        raise TrainingError(f"stage '{stage}': the preference set is empty; check the data stage's drop report")
    prompts = []
    for r in rows:
        ids = tok(r["prompt"], add_special_tokens=False)["input_ids"]
        prompts.append(r["prompt"] if len(ids) <= max_prompt_length else tok.decode(ids[-max_prompt_length:]))
    return Dataset.from_dict({"prompt": prompts})


def reward_function(rm, rm_tok, max_length: int, device: str):
    """A TRL reward function scoring ``prompt + completion + EOS`` with our reward model (:func:`.reward_model.score`)."""
    def reward_model(prompts, completions, **kwargs) -> list[float]:
        return score(rm, rm_tok, list(prompts), list(completions), max_length, device=device)

    reward_model.__name__ = REWARD_NAME
    return reward_model


def build_trainer(cfg: RLOOStageConfig, device: str, resume: str | None = None):
    from transformers import AutoModelForCausalLM
    from trl import RLOOConfig, RLOOTrainer

    from . import callbacks  # imports transformers at its top (see its docstring)

    init = resolve_init(cfg)
    rm_path = resolve_init(cfg, cfg.reward_model)
    tok = policy_tokenizer(init)
    rm_tok = policy_tokenizer(rm_path, padding_side="right")
    check_same_tokenizer(tok, rm_tok, init, rm_path, cfg.STAGE)
    rows = load_rows(cfg, "pref_train", cfg.n_train)
    model = AutoModelForCausalLM.from_pretrained(init)
    load_checkpoint_weights(model, cfg, resume)
    model.generation_config.pad_token_id = tok.pad_token_id
    rm = load_reward_model(rm_path, device)
    rm.config.pad_token_id = rm_tok.pad_token_id
    kw = trainer_kwargs(cfg, device)
    kw.update(logging_first_step=False)
    args = RLOOConfig(**kw, num_generations=cfg.num_generations, beta=cfg.beta,
                      max_completion_length=cfg.max_completion_length, temperature=cfg.temperature,
                      normalize_advantages=cfg.normalize_advantages, disable_dropout=True, log_completions=False)
    peft_config = lora_config(cfg, "CAUSAL_LM") if cfg.use_lora else None
    trainer = RLOOTrainer(model=model, reward_funcs=reward_function(rm, rm_tok, cfg.max_length, device), args=args,
                          train_dataset=prompt_dataset(tok, rows, cfg.max_prompt_length, cfg.STAGE),
                          processing_class=tok, peft_config=peft_config,
                          callbacks=callbacks.standard_callbacks(cfg, resume))
    callbacks.replay_epoch_order(trainer, resume)
    return trainer, tok


def train(cfg: RLOOStageConfig) -> None:
    """Train and save (in each process under ``accelerate launch``)."""
    device = setup(cfg)
    resume = prepare_checkpoints(cfg, is_main=os.environ.get("RANK", "0") == "0")
    trainer, tok = build_trainer(cfg, device, resume)
    trainer.train(resume_from_checkpoint=resume)
    save_trainer_model(trainer, tok, cfg)


def _report(t: Trained) -> Report:
    """The training log's summary (RM score, KL, loss), then the online methods' scored samples."""
    cfg = t.cfg
    df = read_log(cfg)
    metrics = {
        "beta": cfg.beta, "num_generations": cfg.num_generations,
        "steps": int(df["step"].max()) if not df.empty and "step" in df else 0,
        "first_reward": first_value(df, "reward"), "final_reward": last_value(df, "reward"),
        "first_score": first_value(df, f"rewards/{REWARD_NAME}/mean"),
        "final_score": last_value(df, f"rewards/{REWARD_NAME}/mean"),
        "final_kl": last_value(df, "kl"), "final_loss": last_value(df, "loss"),
    }
    return online.report(t, metrics)


def run(cfg: RLOOStageConfig) -> dict[str, Any]:
    """RLOO-train, save ``<run_dir>/rloo/model``, score SFT and RLOO samples with the RM, write outputs.json."""
    return run_method(cfg, train, _report, check=online.check)  # the tokenizer check comes before any training


if __name__ == "__main__":
    worker_main(RLOOStageConfig, train)
