"""The one module that imports ``trl.experimental.ppo`` (an experimental API: if it moves or changes, only this
file needs to follow).

What TRL's ``PPOTrainer`` (1.12) does per update, for the record:
1. sample ``batch_size`` prompts, generate responses with the policy (``temperature``, top-k 0, top-p 1);
2. truncate each response after the first EOS (``stop_token="eos"``), score prompt+response with the reward model
   at the last real token; optionally subtract ``missing_eos_penalty`` when there is no EOS;
3. per-token reward = ``-kl_coef * KL_t`` (k1: ``log pi - log pi_ref``, or k3) plus the RM score on the last token;
4. GAE (``gamma``, ``lam``) over the value model's per-token values, advantages whitened;
5. ``num_ppo_epochs`` passes over ``num_mini_batches`` minibatches: clipped policy loss (``cliprange``), clipped value
   loss (``cliprange_value``) weighted by ``vf_coef``.
``kl_coef`` is read from ``args`` at every update, so an adaptive controller can change it between updates
(:class:`trust_utils.training.ppo.AdaptiveKLCallback`). ``train()`` cannot resume from a checkpoint and its
checkpoints hold only the policy; :func:`checkpoint_callback` adds the value model and ``kl_coef`` to them and
:func:`make_resumable` puts a new trainer where the interrupted one was (optimizer, schedule, data position,
RNG), so a resumed run ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ..utils import read_json, write_json


def make_config(**kwargs: Any):
    """A ``PPOConfig``; every field the stage relies on is passed explicitly by the caller."""
    from trl.experimental.ppo import PPOConfig

    return PPOConfig(**kwargs)


def make_trainer(args, tokenizer, policy, ref_policy, reward_model, value_model, train_dataset, eval_dataset,
                 callbacks: list | None = None, peft_config=None):
    """A ``PPOTrainer`` (``ref_policy`` None with a PEFT policy: the reference is the adapter-disabled model)."""
    from trl.experimental.ppo import PPOTrainer

    return PPOTrainer(args=args, processing_class=tokenizer, model=policy, ref_model=ref_policy,
                      reward_model=reward_model, value_model=value_model, train_dataset=train_dataset,
                      eval_dataset=eval_dataset, callbacks=callbacks, peft_config=peft_config)


def policy_of(trainer):
    """The trained policy (unwrapped from accelerate and from the policy+value wrapper)."""
    wrapper = trainer.accelerator.unwrap_model(trainer.model)
    return getattr(wrapper, "policy", wrapper)


def value_model_of(trainer):
    wrapper = trainer.accelerator.unwrap_model(trainer.model)
    return getattr(wrapper, "value_model", None)


# ------------------------------------------------------------------------------------------ exact resume
#: what the stage adds to each PPO checkpoint: the value model (TRL saves only the policy) and the KL coefficient
VALUE_FILE = "value_model.safetensors"
STATE_FILE = "ppo_state.json"
CHECKPOINT_FILES = (VALUE_FILE, STATE_FILE)


def checkpoint_callback(done: int, total_updates: int):
    """A callback that makes PPO checkpoints resumable: it saves :data:`CHECKPOINT_FILES` beside each checkpoint
    (``trainer`` must be set once the trainer exists) and, on a resume after ``done`` updates, continues the
    interrupted run's update count, episode count and length (``train()`` restarts them at 0), so logs, checkpoint
    names and the save cadence are those of the uninterrupted run."""
    from transformers import TrainerCallback

    class PPOCheckpointExtras(TrainerCallback):
        trainer = None

        def on_train_begin(self, args, state, control, **kwargs):
            if done:
                state.global_step, state.episode, state.max_steps = done, done * args.batch_size, total_updates

        def on_save(self, args, state, control, **kwargs):
            from safetensors.torch import save_model

            if self.trainer is None or not self.trainer.accelerator.is_main_process:
                return
            d = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            save_model(value_model_of(self.trainer), str(d / VALUE_FILE))
            # written last: its presence marks the checkpoint complete (trust_utils.training.reuse.checkpoint_problem)
            write_json(d / STATE_FILE, {"kl_coef": float(args.kl_coef), "step": int(state.global_step),
                                        "epoch_rng": getattr(self.trainer.dataloader, "epoch_rng", None)})

    return PPOCheckpointExtras()


def load_value_model(value_model, resume: str) -> None:
    """The value model's weights as saved in the checkpoint ``resume`` (:data:`VALUE_FILE`)."""
    from safetensors.torch import load_model

    load_model(value_model, str(Path(resume) / VALUE_FILE))


def saved_kl_coef(resume: str) -> float:
    """The KL coefficient in force for the update after the checkpoint (the adaptive controller's, if on)."""
    return float(read_json(Path(resume) / STATE_FILE)["kl_coef"])


def _rng_str(state) -> str:
    return base64.b64encode(state.numpy().tobytes()).decode("ascii")


def _rng_tensor(s: str):
    import torch

    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


class ResumableLoader:
    """The PPO dataloader, recording the global RNG state at each pass's start; on a resume its first pass skips
    the batches the interrupted run had used and restores the checkpoint's RNG states where that run was.

    ``DataLoader(shuffle=True)`` draws each pass's order (and a worker seed) from the *global* torch RNG when the
    pass starts. So the pass a checkpoint lies inside is drawn again from its recorded start state
    (:attr:`epoch_rng`, saved in :data:`STATE_FILE`), and the checkpoint's RNG (saved after that draw) is restored
    after the skip; a checkpoint that ends a pass restores it before the next pass starts, as the uninterrupted run
    drew that pass from it. Recording consumes no randomness: an uninterrupted run is unchanged.
    """

    def __init__(self, loader):
        self.loader, self.epoch_rng, self.resume = loader, None, None

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        import torch

        if self.resume is None:
            self.epoch_rng = _rng_str(torch.get_rng_state())
            yield from self.loader
            return
        (skip, epoch_rng, restore), self.resume = self.resume, None
        while skip >= len(self.loader):
            for _ in self.loader:
                pass
            skip -= len(self.loader)
        if skip == 0:
            restore()
        elif epoch_rng:
            torch.set_rng_state(_rng_tensor(epoch_rng))
        self.epoch_rng = _rng_str(torch.get_rng_state())
        it = iter(self.loader)
        for _ in range(skip):
            next(it)
        if skip:
            restore()
        yield from it


def make_resumable(trainer, resume: str | None, done: int, total_updates: int) -> None:
    """Wrap the trainer's dataloader (:class:`ResumableLoader`); with ``resume``, continue from that checkpoint
    exactly: optimizer state, a scheduler over all ``total_updates`` at update ``done``, the data position and the
    RNG states (the policy and value weights are loaded by the caller)."""
    import torch

    loader = trainer.dataloader = ResumableLoader(trainer.dataloader)
    if not resume:
        return
    ckpt = Path(resume)
    raw = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
    trainer.lr_scheduler = None  # PPOTrainer sized it for the remaining updates; the schedule spans all of them
    trainer.create_scheduler(num_training_steps=total_updates, optimizer=raw)
    trainer.optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
    trainer.lr_scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", weights_only=True))
    trainer.callback_handler.lr_scheduler = trainer.lr_scheduler
    loader.resume = (done, read_json(ckpt / STATE_FILE).get("epoch_rng"), lambda: trainer._load_rng_state(resume))
