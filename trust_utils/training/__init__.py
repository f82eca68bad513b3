"""The alignment stages: SFT, the Bradley-Terry reward model, PPO and DPO (and the methods registered since).

Each stage module has a typed config dataclass and one ``run(cfg)`` that the stage's notebook calls:

- :mod:`.sft` (``10_sft``): supervised fine-tuning of the base model on (prompt, chosen reply), loss on the reply only;
- :mod:`.reward` (``11_reward_model``): a sequence classifier with one output trained with the Bradley-Terry loss;
- :mod:`.ppo` (``12_ppo``): PPO from the SFT policy against the reward model, KL penalty to the SFT reference
  (TRL's ``trl.experimental.ppo`` is imported only in :mod:`.ppo_backend`);
- :mod:`.dpo` (``13_dpo``): direct preference optimisation from SFT with SFT as the reference.

What they share: :mod:`.envelope` (``run_method``, the one envelope of every ``run``: set up, reuse or train, report,
``outputs.json``), :mod:`.config` (the config base, errors, explicit TRL arguments), :mod:`.inputs`, :mod:`.reuse`
(reuse key decisions, resume, atomic saving of full models or LoRA adapters), :mod:`.launch` (``accelerate launch``
for several processes), :mod:`.callbacks` (NaN guard, the CSV training log), :mod:`.summary`; the preference-pair
datasets (:mod:`.pairs`), the reward model as a value (:mod:`.reward_model`) and the online methods' shared parts
(:mod:`.online`). :mod:`.common` only re-exports a few names for callers outside the package.
"""
