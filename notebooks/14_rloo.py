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
# # 14 · RLOO against the reward model
#
# **Purpose.** A fifth alignment method: optimise the SFT policy for the reward model's score, like PPO, but with
# REINFORCE Leave-One-Out (RLOO) instead of PPO's value model and GAE. **The paper has no RLOO**; it compares SFT, PPO
# and DPO. RLOO is here to ask whether a critic-free online method, trained against the *same* reward model and the
# *same* KL reference as PPO, changes trustworthiness as PPO does. Its column appears in every vertical and in the
# analysis through the checkpoint registry; the paper comparison leaves it out (it averages PPO and DPO only).
#
# **Inputs.** The SFT model (`init_from`, also the frozen reference), our reward model (`reward_model`, checkpoint `rm`
# of stage `reward_model`), and the prompts of `pref_train` (replies are sampled from the policy).
#
# **Output.** `<run_dir>/rloo/model` (checkpoint `rloo`), `training_log.csv` (one row per step), `samples.csv`,
# `outputs.json`.

# %% [markdown]
# ## The RLOO estimator
#
# For each prompt $x$ the policy samples $k$ completions $y_1, \dots, y_k \sim \pi_\theta(\cdot\mid x)$ (`num_generations`).
# Each gets a sequence reward: the reward model's score minus the KL penalty to the SFT reference, the first-order log
# ratio summed over the completion's tokens (as in TRL and Ahmadian et al., 2024):
#
# $$R_i = r_\phi(x, y_i) - \beta \sum_t \big(\log\pi_\theta(y_{i,t}\mid x, y_{i,<t}) - \log\pi_{\text{SFT}}(y_{i,t}\mid x, y_{i,<t})\big).$$
#
# The baseline of completion $i$ is the mean reward of the *other* $k-1$ completions of the same prompt, so the advantage
#
# $$A_i = R_i - \frac{1}{k-1}\sum_{j \ne i} R_j$$
#
# is an unbiased estimate without a learned value model. The loss is the policy gradient
# $\mathcal{L}(\theta) = -\frac{1}{k}\sum_i A_i \log\pi_\theta(y_i\mid x)$ (TRL `RLOOTrainer`, one optimisation pass per
# batch of samples, so the importance ratio is 1). The logged loss is therefore close to 0 by construction: the
# advantages of a group sum to 0. Watch the reward and the KL instead.
#
# **Reward model.** Ours, from `11_reward_model`, read exactly as it was trained: on prompt + completion + EOS, at the
# last real token. TRL can take the reward model itself, but it would score the decoded text *without* the EOS, so the
# stage passes a small reward function that calls the same scoring code as the reward-model stage. As for PPO, the
# policy pads with a spare special token, not its EOS, so the EOS that ends a completion stays a trained token.
#
# **Settings.** The paper has no RLOO, so there is nothing to follow: $\beta = 0.05$ (PPO's initial KL coefficient in
# the paper's code, and TRL's RLOO default), $k = 4$ completions per prompt, and the PPO budget of each profile.
# `batch_size` counts completions, so a step of `batch_size` completions holds `batch_size / num_generations` prompts.

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
max_steps: int = 0  # optimizer steps; 0 lets epochs decide
learning_rate: float = 1e-06  # AdamW learning rate (TRL RLOO default)
overrides: dict = {}  # any other field of RLOOStageConfig (list: rlhf-trust params rloo)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.
#
# **The run's parameters.** Opened by hand (not by `rlhf-trust run`), it then takes the parameters the last run of this stage in `run_dir` used (`<run_dir>/<stage>/manifest.json`) for every one the parameters cell leaves at its default, and prints which values came from the run and which are yours; with no such run it lists where it differs from the run directory's profile. So the notebook is the same experiment as the pipeline's.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "rloo")

# %%
import pandas as pd
from IPython.display import display

from trust_utils.notebook import setup_notebook
from trust_utils.training import plots as tplots
from trust_utils.training.config import config_from_params
from trust_utils.training.rloo import RLOO_METRICS, RLOOStageConfig, run

cfg = config_from_params(RLOOStageConfig, globals())
n_threads = setup_notebook(seed=cfg.seed, threads=cfg.threads)
print(f"torch threads: {n_threads}; config: {cfg}")

# %% [markdown]
# ## Training
#
# `run` first checks that the reward model reads the policy's tokens (same vocabulary, special tokens and tokenization
# of a probe string). Then it trains, saves the policy, and scores a few held-out samples before and after.

# %%
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="rloo").to_frame())

# %% [markdown]
# ## Reward and KL curves
#
# * `reward`: the mean reward-model score of the sampled completions (TRL logs it without the KL penalty). It should
#   rise. `reward_std`: its spread in the batch; `frac_reward_zero_std`: the share of prompts whose $k$ completions
#   all got the same reward (such a group has zero advantages and gives no learning signal).
# * `kl`: the log ratio to the SFT reference, averaged over completion tokens (the penalty uses its sum over a
#   completion). It starts at 0 (the policy *is* the reference) and grows; a fast rise with a flat reward means the
#   policy drifts without gain.
# * `loss` (near 0 by construction, see above), `entropy`, the completions' mean length and the gradient norm.

# %%
log = pd.read_csv(out_dir / "training_log.csv")
log = log[log["loss"].notna()] if "loss" in log else log  # the Trainer's closing summary row has no loss
fig = tplots.curves(log, RLOO_METRICS, title="RLOO")
display(log[[c for c in ["step", "reward", "kl", "reward_std", "entropy"] if c in log]].tail(10))

# %% [markdown]
# ## Samples before and after RLOO (greedy, held-out prompts), with their reward-model scores

# %%
samples = pd.read_csv(out_dir / "samples.csv").fillna("")
for _, row in samples.iterrows():
    print("PROMPT:", row["prompt"][-300:])
    print(f"  SFT ({row['reward_sft']:+.2f}):", row["sft"][:200])
    print(f"  RLOO ({row['reward_rloo']:+.2f}):", row["rloo"][:200])

# %% [markdown]
# ## Checkpoints, resume and outputs
#
# Checkpoints are written to `checkpoints/` every `save_steps`; if the run is interrupted, rerunning the same command
# resumes from the last one (a changed configuration, SFT model or reward model starts afresh: both are part of the
# reuse key). The final model is written to `model.partial` and renamed to `model` only when complete. With `use_lora`
# the stage trains a LoRA adapter. A NaN or infinite loss stops training with an error naming the stage and the step.
