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
(:class:`trust_utils.training.ppo.AdaptiveKLCallback`). ``train()`` cannot resume from a checkpoint; the stage
resumes by restarting from the last saved policy (see :mod:`trust_utils.training.ppo`).
"""

from __future__ import annotations

from typing import Any


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
