"""The alignment stages: SFT, the Bradley-Terry reward model, PPO and DPO.

Each stage module has a typed config dataclass and one ``run(cfg)`` that the stage's notebook calls:

- :mod:`.sft` (``10_sft``): supervised fine-tuning of the base model on (prompt, chosen reply), loss on the reply only;
- :mod:`.reward` (``11_reward_model``): a sequence classifier with one output trained with the Bradley-Terry loss;
- :mod:`.ppo` (``12_ppo``): PPO from the SFT policy against the reward model, KL penalty to the SFT reference
  (TRL's ``trl.experimental.ppo`` is imported only in :mod:`.ppo_backend`);
- :mod:`.dpo` (``13_dpo``): direct preference optimisation from SFT with SFT as the reference.

The machinery they share (seeding, explicit TRL arguments, resume, NaN guard, the CSV training log, atomic
saving of full models or LoRA adapters, ``accelerate launch`` for several processes) is in :mod:`.common`.
"""
