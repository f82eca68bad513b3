# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 12 · PPO against the reward model
#
# **Purpose.** Optimise the SFT policy to get high reward from the reward model while staying close to the SFT
# model. This is the "RLHF" of the paper's title.
#
# **Inputs.** The SFT model (`init_from`), the reward model (`reward_model`, checkpoint `rm`), and the prompts of
# `pref_train` (prompts only: replies are sampled from the policy).
#
# **Output.** `<run_dir>/ppo/model` (checkpoint `ppo`), `training_log.csv` (one row per PPO update), `samples.csv`,
# `outputs.json`.

# %% [markdown]
# ## The objective
#
# For a prompt $x$ and a reply $y \sim \pi_\theta(\cdot\mid x)$, PPO maximises the reward with a KL penalty to the SFT
# reference policy:
#
# $$\max_\theta \; \mathbb{E}_{x, y \sim \pi_\theta}\Big[r_\phi(x, y) - \beta \log\frac{\pi_\theta(y\mid x)}{\pi_{\text{SFT}}(y\mid x)}\Big].$$
#
# Without the penalty the policy drifts to text that exploits the reward model ("reward hacking"). The paper writes the
# InstructGPT form, which has an optional term for the pretraining loss. It is not used here, as in trlx.
#
# **Per update** (TRL `trl.experimental.ppo`):
#
# 1. *Rollout.* Sample replies for a batch of prompts (temperature `temperature`, no top-k/top-p). Cut each reply after
#    the first end-of-text token and score prompt + reply with the reward model. TRL finds the end of a reply by its
#    first *pad* token, so a tokenizer that pads with its EOS (Pythia, SmolLM2) would drop the EOS from the loss and the
#    policy could not learn to stop; the stage pads with a spare special token of the same vocabulary instead (as the
#    reward model does), and the first EOS of every reply is scored and trained.
# 2. *Rewards per token.* $-\beta\,(\log\pi_\theta(y_t) - \log\pi_{\text{SFT}}(y_t))$ on every token, plus the RM
#    score on the last token.
# 3. *Advantages: GAE.* A value model $V$, initialised from the reward model, predicts the return at each token. With
#    $\delta_t = r_t + \gamma V_{t+1} - V_t$, the advantage is $\hat A_t = \sum_l (\gamma\lambda)^l \delta_{t+l}$ (`gamma`,
#    `lam`). The advantages are whitened.
# 4. *Clipped updates.* For `num_ppo_epochs` passes over `num_mini_batches` minibatches, minimise
#    $-\min(\rho_t \hat A_t, \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\hat A_t)$, where
#    $\rho_t = \pi_\theta/\pi_{\text{old}}$ and $\epsilon$ is `cliprange`. The value loss is clipped the same way
#    (`cliprange_value`) and weighted by `vf_coef`.
#
# **The KL coefficient $\beta$.** It is fixed (`kl_coef`) unless `adaptive_kl` is set. TRL's PPO has no adaptive
# controller, so the package adds the one of Ziegler et al. (2019) that trlx and the paper's code use (init 0.05, target
# 6, horizon 10000): after each update, $\beta \leftarrow \beta\,(1 + \operatorname{clip}(\mathrm{KL}/\text{target} - 1, -0.2, 0.2)\cdot n/\text{horizon})$,
# with $n$ the episodes of the update.
#
# **Paper/code settings** (trlx, `llama_ppo.py`): lr 4e-6 for 1.4B (2.3e-6 for 2.8B), batch 4, 4 PPO epochs,
# clip 0.2/0.2, vf_coef 1, γ 1, λ 0.95, max 128 new tokens. trlx trained only the top 4 layers
# (`num_layers_unfrozen=4`); here all weights are trained, or a LoRA adapter with `use_lora`.

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
max_steps: int = 0  # optimizer steps; 0 lets epochs decide
learning_rate: float = 4e-06  # AdamW learning rate
kl_coef: float = 0.05  # KL penalty coefficient beta (initial value when adaptive)
solutions: bool = False  # fill the exercise cells with the reference solutions (teachers; the tiny profile sets it) (notebook only)
overrides: dict = {}  # any other field of PPOStageConfig (list: rlhf-trust params ppo)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.
#
# **The run's parameters.** Opened by hand (not by `rlhf-trust run`), it then takes the parameters the last run of this stage in `run_dir` used (`<run_dir>/<stage>/manifest.json`) for every one the parameters cell leaves at its default, and prints which values came from the run and which are yours; with no such run it lists where it differs from the run directory's profile. So the notebook is the same experiment as the pipeline's.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "ppo")

# %%
import pandas as pd
from IPython.display import display

from trust_utils.notebook import setup_notebook
from trust_utils.training import plots as tplots
from trust_utils.training.config import config_from_params
from trust_utils.training.ppo import PPOStageConfig, run

cfg = config_from_params(PPOStageConfig, globals())
n_threads = setup_notebook(seed=cfg.seed, threads=cfg.threads)
print(f"torch threads: {n_threads}; config: {cfg}")

# %% [markdown]
# ## Training
#
# `run` first checks that the reward model reads the policy's tokens (same vocabulary, special tokens and tokenization
# of a probe string). Then it runs the PPO updates, saves the policy, and scores a few held-out samples before and after.

# %%
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="ppo").to_frame())

# %% [markdown]
# ## Look inside: one rollout
#
# One prompt of `pref_train`: the trained policy samples a response; per token we show its log-probability under the
# policy and the SFT reference, the KL estimate `logp − logp_ref` (or k3), the shaped reward `−kl_coef · kl` with the
# reward model's score added once, the value model's estimate, and the GAE advantage and return (`gamma`, `lam`). As in
# TRL's `PPOTrainer`, the score sits one position after the last response token (`score_offset=1`; 0 puts it on the last
# token, as InstructGPT describes). Advantages are shown before whitening, which needs a batch.
#
# Questions: where is the score added? Which tokens have the largest KL? With `gamma = 1`, why does the return at t = 0
# roughly equal the total reward?

# %%
from trust_utils import course
from trust_utils.data.prepare import load_prepared
from trust_utils.models import load_causal_lm, load_tokenizer
from trust_utils.training.reward_model import load_reward_model


def ck(name):
    return cfg.run.resolve(name, cfg.model, cfg.cache_dir or None, cfg.seed)


prompt = load_prepared(cfg.run_dir, "pref_train")[0]["prompt"]
ppo_tok = load_tokenizer(ck("ppo"), padding_side="left")
rollout = course.ppo_rollout(load_causal_lm(ck("ppo")), load_causal_lm(ck(cfg.init_from)),
                             load_reward_model(ck(cfg.reward_model)), load_reward_model(ck(cfg.value_init)), ppo_tok,
                             prompt, response_length=cfg.response_length, temperature=cfg.temperature,
                             kl_coef=cfg.kl_coef, kl_estimator=cfg.kl_estimator, gamma=cfg.gamma, lam=cfg.lam,
                             seed=cfg.seed, max_prompt_length=cfg.max_prompt_length)
print(repr(rollout.extra["response"]))
print(rollout)
display(rollout.table)

# %% [markdown]
# > **Exercise (level 2): `ppo_clipped_surrogate`.** Given the new and the old log-probs of the response tokens, their advantages and a mask (all `(B, T)`), and the clip range ε, return PPO's clipped policy loss: the masked mean of `max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε))` with `ρ = exp(logp − logp_old)`.
# >
# > *Hint.* the *max* of the two negated terms is the pessimistic (clipped) bound; the mean is over the unmasked tokens only.
# >
# > Replace the stub's body and run the cell: the check says which case fails and why. With the notebook parameter `solutions=True` (or `RLHF_TRUST_SOLUTIONS=1`) the reference solution is used instead.

# %%
from trust_utils.exercises import ppo as exercise


def ppo_clipped_surrogate(logprobs, old_logprobs, advantages, mask, cliprange):
    # YOUR CODE HERE
    raise NotImplementedError

ppo_clipped_surrogate = exercise.solution_or(ppo_clipped_surrogate, solutions)
exercise.check_ppo_clipped_surrogate(ppo_clipped_surrogate)

# %% [markdown]
# ## Per-update curves
#
# * `objective/scores`: the mean reward-model score of the sampled replies. It should rise.
# * `objective/kl`: the KL to the SFT reference summed over a reply. It starts at 0 (the policy *is* the reference) and
#   grows. A fast rise with flat scores means the policy is drifting without gain.
# * `kl_coef`: $\beta$ in force. `objective/rlhf_reward`: the score minus the KL penalty.
# * `loss/policy_avg`, `loss/value_avg`, `policy/clipfrac_avg` (the share of clipped ratios; above about 0.3 the
#   updates are too large), `policy/entropy_avg`.

# %%
log = pd.read_csv(out_dir / "training_log.csv")
fig = tplots.curves(log, tplots.PPO_METRICS, title="PPO")
display(log[[c for c in ["step", "objective/scores", "objective/kl", "kl_coef", "loss/value_avg"] if c in log]].tail(10))

# %% [markdown]
# ## Samples before and after PPO (greedy, held-out prompts), with their reward-model scores

# %%
samples = pd.read_csv(out_dir / "samples.csv").fillna("")
for _, row in samples.iterrows():
    print("PROMPT:", row["prompt"][-300:])
    print(f"  SFT ({row['reward_sft']:+.2f}):", row["sft"][:200])
    print(f"  PPO ({row['reward_ppo']:+.2f}):", row["ppo"][:200])

# %% [markdown]
# ## Checkpoints, resume and outputs
#
# Checkpoints are written to `checkpoints/` every `save_steps`; if the run is interrupted, rerunning the same command
# resumes from the last one (a changed configuration starts afresh). The final model is written to `model.partial` and
# renamed to `model` only when complete, so a half-written model is never mistaken for a finished one. With
# `use_lora` the stage trains a LoRA adapter and saves it (or, with `merge_lora`, the merged weights); evaluation loads
# either by checkpoint name. A NaN or infinite loss stops training with an error naming the stage and the step.
#
# PPO's trainer cannot resume its own checkpoints. After an interruption the stage restarts from the policy of the
# last checkpoint and runs only the remaining updates. The value model and the optimizer state start fresh; the
# last logged $\beta$ is kept.
