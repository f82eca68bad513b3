"""Stage ``ppo``: PPO of the SFT policy against the reward model, with a KL penalty to the SFT reference.

Objective (InstructGPT/Ziegler et al.): maximise ``E[r(x, y)] - beta * KL(pi(.|x) || pi_SFT(.|x))``. The KL enters as a
per-token reward ``-beta * (log pi(y_t) - log pi_SFT(y_t))``, the RM score is added on the last token; advantages come
from GAE (``gamma``, ``lam``) over a value model initialised from the reward model (``value_init``); the policy loss is
the clipped surrogate ``-min(rho A, clip(rho, 1-eps, 1+eps) A)`` (``cliprange``), the value loss is clipped too
(``cliprange_value``, weight ``vf_coef``). The paper's optional pretraining term (gamma in InstructGPT) is not used,
as in trlx. TRL's ``trl.experimental.ppo`` does the work; it is imported only in :mod:`.ppo_backend`.

KL coefficient: fixed ``kl_coef`` by default. TRL's PPOTrainer has no adaptive controller, so ``adaptive_kl=True``
adds :class:`AdaptiveKLCallback`, the controller of Ziegler et al. (2019) that trlx (and the paper's code: init 0.05,
target 6, horizon 10000) uses: after each update ``kl_coef *= 1 + clip(KL/target_kl - 1, -0.2, 0.2) * n/horizon``
with n the episodes of the update. The coefficient in force is logged as ``kl_coef`` in ``training_log.csv``.

Pad and EOS: TRL ends a response at its first *pad* token and masks everything from there on, so a tokenizer whose
pad token is its EOS (Pythia, SmolLM2) would lose the EOS from the losses, the KL and the RM's reading position: the
policy could not learn to stop. :func:`load_models` therefore gives the tokenizer a pad token distinct from EOS
(:func:`trust_utils.training.padding.distinct_pad_token`, a spare special token of the same vocabulary), and the
first EOS of each response stays a scored, learnable token. The saved policy's tokenizer keeps that pad token.

The reward model must share the policy's tokenizer (PPO feeds the policy's token ids to the RM):
:func:`.online.check_same_tokenizer` compares vocabularies, special tokens and the tokenization of a probe string and raises
naming both models otherwise.

Resume: ``PPOTrainer.train()`` cannot resume a checkpoint, so the stage does: each checkpoint also holds the value
model and the ``kl_coef`` in force (:func:`.ppo_backend.checkpoint_callback`), and a rerun after an interruption
starts from the last complete checkpoint's policy and value model, optimizer and scheduler state, data position and
RNG states (:func:`.ppo_backend.make_resumable`) and runs only the remaining updates: it ends with the weights
of an uninterrupted run (``tests/test_resume_equality.py``). Output: ``<run_dir>/ppo/model`` (checkpoint ``ppo``),
``training_log.csv`` (per update: score, KL, rewards, losses, clip fractions, kl_coef), ``samples.csv``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, ClassVar

from ..params import param
from . import online
from .config import TrainConfig, TrainingError, data_file, lora_config, setup, trainer_kwargs
from .envelope import Report, Trained, run_method
from .inputs import load_rows, resolve_init
from .launch import worker_main
from .online import check_same_tokenizer, policy_tokenizer
from .reuse import checkpoint_step, prepare_checkpoints, save_model_atomic
from .reward_model import load_reward_model
from .summary import first_value, last_value, read_log

log = logging.getLogger(__name__)

STAGE = "ppo"


@dataclass
class PPOStageConfig(TrainConfig):
    """Parameters of ``12_ppo``. ``max_steps`` > 0 sets the number of PPO updates; else ``epochs`` over the prompts."""

    STAGE: ClassVar[str] = "ppo"
    MODULE: ClassVar[str] = "ppo"
    DATA_FILES: ClassVar[tuple[str, ...]] = ("pref_train", "pref_test")
    INIT_FIELDS: ClassVar[tuple[str, ...]] = ("init_from", "reward_model", "value_init")

    init_from: str = "sft"
    reward_model: str = param("rm", 'the reward model: a checkpoint name of the run or a directory')
    value_init: str = param("rm", 'the model the value network starts from (a sequence classifier)')
    epochs: float = 1.0
    batch_size: int = 4
    learning_rate: float = 4e-6
    max_steps: int = param(0, cell=True)
    kl_coef: float = param(0.05, 'KL penalty coefficient beta (initial value when adaptive)', cell=True)
    adaptive_kl: bool = param(False, 'adapt kl_coef towards target_kl (Ziegler et al. controller)')
    target_kl: float = param(6.0, 'target KL per reply for the adaptive controller')
    kl_horizon: int = param(10000, 'horizon of the adaptive controller in episodes')
    kl_estimator: str = param("k1", 'k1 (log-ratio) or k3 (lower variance)')
    cliprange: float = param(0.2, 'policy ratio clipping epsilon')
    cliprange_value: float = param(0.2, 'value clipping')
    vf_coef: float = param(1.0, 'value loss weight')
    gamma: float = param(1.0, 'discount')
    lam: float = param(0.95, 'GAE lambda')
    num_ppo_epochs: int = param(4, 'optimisation passes over each rollout batch')
    num_mini_batches: int = param(1, 'minibatches per rollout batch')
    response_length: int = param(128, 'new tokens sampled per prompt')
    temperature: float = param(1.0, 'sampling temperature of the rollouts')
    missing_eos_penalty: float = param(0.0, 'subtracted from the score of replies without end-of-text (0 disables)')
    whiten_rewards: bool = param(False, 'whiten the per-token rewards')
    max_prompt_length: int = param(256, 'prompts are cut to their last n tokens')
    n_samples: int = param(3, 'held-out prompts shown before and after PPO')
    sample_max_new_tokens: int = param(32, 'tokens generated per sample')

    def validate(self) -> None:
        super().validate()
        if self.kl_estimator not in ("k1", "k3"):
            raise TrainingError(f"stage 'ppo': kl_estimator must be k1 or k3, got {self.kl_estimator!r}")
        if self.adaptive_kl and self.target_kl <= 0:
            raise TrainingError("stage 'ppo': adaptive_kl needs target_kl > 0")


# ------------------------------------------------------------------------------------------ adaptive KL
class AdaptiveKLController:
    """Ziegler et al. (2019) proportional controller of the KL coefficient (as in trlx)."""

    def __init__(self, init_kl_coef: float, target: float, horizon: int):
        self.value, self.target, self.horizon = float(init_kl_coef), float(target), int(horizon)

    def update(self, current_kl: float, n_steps: int) -> float:
        err = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + err * n_steps / self.horizon
        return self.value


def _adaptive_callback_cls():
    from transformers import TrainerCallback

    class AdaptiveKLCallback(TrainerCallback):
        """Update ``args.kl_coef`` after each PPO update from the logged ``objective/kl``."""

        def __init__(self, controller: AdaptiveKLController):
            self.controller = controller

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "objective/kl" in logs:
                args.kl_coef = self.controller.update(float(logs["objective/kl"]), int(args.batch_size))

    return AdaptiveKLCallback


def AdaptiveKLCallback(controller: AdaptiveKLController):  # noqa: N802
    return _adaptive_callback_cls()(controller)


# ------------------------------------------------------------------------------------------ training
def _prompt_dataset(tok, rows: list[dict[str, Any]], max_prompt_length: int):
    from datasets import Dataset

    ids = []
    for r in rows:
        x = tok(r["prompt"], add_special_tokens=False)["input_ids"]
        ids.append(x[-max_prompt_length:])  # keep the end of the dialogue (left truncation, as the paper's code)
    return Dataset.from_dict({"input_ids": ids})


def _episodes(cfg: PPOStageConfig, n_prompts: int) -> int:
    per_update = cfg.batch_size * cfg.grad_accum * cfg.num_processes
    if cfg.max_steps > 0:
        return cfg.max_steps * per_update
    return max(per_update, int(cfg.epochs * n_prompts))


def load_models(cfg: PPOStageConfig, policy_ref: str):
    """Tokenizer (pad distinct from EOS), policy, reference, reward and value models, after the tokenizer check."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    rm_path = resolve_init(cfg, cfg.reward_model)
    value_path = resolve_init(cfg, cfg.value_init)
    tok = policy_tokenizer(policy_ref)
    check_same_tokenizer(tok, policy_tokenizer(rm_path), policy_ref, rm_path)
    if value_path != rm_path:
        check_same_tokenizer(tok, policy_tokenizer(value_path), policy_ref, value_path)
    policy = AutoModelForCausalLM.from_pretrained(policy_ref)
    ref = None if cfg.use_lora else AutoModelForCausalLM.from_pretrained(resolve_init(cfg))
    reward_model = load_reward_model(rm_path)
    if (value_path == rm_path) or os.path.isfile(os.path.join(value_path, "adapter_config.json")):
        value_model = load_reward_model(value_path)
        value_model.train()
    else:
        value_model = AutoModelForSequenceClassification.from_pretrained(value_path, num_labels=1)
    for m in (reward_model, value_model):
        m.config.pad_token_id = tok.pad_token_id
    policy.generation_config.pad_token_id = tok.pad_token_id  # HF fills finished rows with it
    return tok, policy, ref, reward_model, value_model, rm_path


def train(cfg: PPOStageConfig) -> None:
    from . import callbacks, ppo_backend  # callbacks imports transformers at its top, ppo_backend trl lazily

    device = setup(cfg)
    is_main = os.environ.get("RANK", "0") == "0"
    resume = prepare_checkpoints(cfg, is_main=is_main, required=ppo_backend.CHECKPOINT_FILES)
    done = checkpoint_step(resume)
    policy_ref = resume if resume else resolve_init(cfg)
    tok, policy, ref, reward_model, value_model, _ = load_models(cfg, policy_ref)
    if resume:
        ppo_backend.load_value_model(value_model, resume)
    rows = load_rows(cfg, "pref_train", cfg.n_train)
    train_ds = _prompt_dataset(tok, rows, cfg.max_prompt_length)
    test_rows = load_rows(cfg, "pref_test") if data_file(cfg, "pref_test").is_file() else rows
    eval_ds = _prompt_dataset(tok, test_rows[:max(cfg.batch_size, 8)], cfg.max_prompt_length)
    per_update = cfg.batch_size * cfg.grad_accum * cfg.num_processes
    total_updates = -(-_episodes(cfg, len(rows)) // per_update)
    remaining = total_updates - done
    kl_coef = ppo_backend.saved_kl_coef(resume) if resume else cfg.kl_coef
    if resume:
        log.info("stage 'ppo': resuming after %d of %d updates from %s", done, total_updates, resume)
    if remaining <= 0:
        ppo_policy = policy
    else:
        kw = trainer_kwargs(cfg, device)
        kw.pop("max_steps")
        kw.update(logging_steps=1, logging_first_step=False)
        args = ppo_backend.make_config(
            **kw, total_episodes=remaining * per_update, num_mini_batches=cfg.num_mini_batches,
            num_ppo_epochs=cfg.num_ppo_epochs, local_rollout_forward_batch_size=cfg.batch_size,
            response_length=cfg.response_length, temperature=cfg.temperature, stop_token="eos",
            missing_eos_penalty=cfg.missing_eos_penalty or None, kl_coef=kl_coef, kl_estimator=cfg.kl_estimator,
            cliprange=cfg.cliprange, cliprange_value=cfg.cliprange_value, vf_coef=cfg.vf_coef, gamma=cfg.gamma,
            lam=cfg.lam, whiten_rewards=cfg.whiten_rewards, num_sample_generations=0, dataset_num_proc=None,
            sft_model_path=str(resolve_init(cfg)), reward_model_path=str(cfg.reward_model))

        def extra(a, state):
            return {"kl_coef": float(a.kl_coef)}

        # first: it sets the resumed step counters (global_step counts from the resumed update), which the path
        # points read
        extras = ppo_backend.checkpoint_callback(done, total_updates)
        cbs = [extras, *callbacks.standard_callbacks(cfg, resume, extra)]
        if cfg.adaptive_kl:
            cbs.append(AdaptiveKLCallback(AdaptiveKLController(kl_coef, cfg.target_kl, cfg.kl_horizon)))
        peft_config = lora_config(cfg, "CAUSAL_LM") if cfg.use_lora else None
        trainer = ppo_backend.make_trainer(args, tok, policy, ref, reward_model, value_model, train_ds, eval_ds,
                                           callbacks=cbs, peft_config=peft_config)
        extras.trainer = trainer
        ppo_backend.make_resumable(trainer, resume, done, total_updates)
        trainer.train()
        trainer.accelerator.wait_for_everyone()
        ppo_policy = ppo_backend.policy_of(trainer)
        is_main = trainer.accelerator.is_main_process
    if is_main:
        save_model_atomic(ppo_policy, tok, cfg, {"updates": total_updates})


def _report(t: Trained) -> Report:
    """The training log's summary (updates, scores, KL, value loss), then the online methods' scored samples."""
    cfg = t.cfg
    df = read_log(cfg)
    metrics = {
        "updates": int(df["step"].max()) if not df.empty else 0,
        "final_score": last_value(df, "objective/scores"), "first_score": first_value(df, "objective/scores"),
        "final_kl": last_value(df, "objective/kl"), "first_kl": first_value(df, "objective/kl"),
        "final_kl_coef": last_value(df, "kl_coef"), "adaptive_kl": cfg.adaptive_kl,
        "final_value_loss": last_value(df, "loss/value_avg"),
    }
    return online.report(t, metrics)


def run(cfg: PPOStageConfig) -> dict[str, Any]:
    """PPO-train, save ``<run_dir>/ppo/model``, score before/after samples with the RM, write outputs.json."""
    return run_method(cfg, train, _report, check=online.check)


if __name__ == "__main__":
    worker_main(PPOStageConfig, train)
