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
# # 11 · Bradley–Terry reward model
#
# **Purpose.** Learn a scalar reward $r_\phi(x, y)$ that orders replies the way the human labellers did. PPO
# (`12_ppo`) maximises it. DPO does not need it.
#
# **Inputs.** `<run_dir>/data/pref_{train,test}.jsonl` (prompt, chosen, rejected) and the model to start from
# (`init_from`, by default the SFT model).
#
# **Output.** `<run_dir>/reward_model/model` (checkpoint `rm`), `training_log.csv`, `margins.csv`, `outputs.json`.

# %% [markdown]
# ## The Bradley–Terry loss
#
# The model is the policy's transformer with a one-output linear head; the reward of a reply is the head's output at
# the last token of prompt + reply + end-of-text. The Bradley–Terry model says the labeller prefers $y_w$ over $y_l$ with
# probability $\sigma(r_\phi(x, y_w) - r_\phi(x, y_l))$, so training maximises the log-likelihood of the observed choices:
#
# $$\mathcal{L}_{\text{RM}}(\phi) = -\mathbb{E}_{(x, y_w, y_l)} \log \sigma\big(r_\phi(x, y_w) - r_\phi(x, y_l)\big).$$
#
# Only differences of rewards matter, so the scale and offset of $r_\phi$ are arbitrary. `center_rewards_coefficient`
# adds a small penalty on the mean reward to pin the offset.
#
# **The paper's reward model.** It used an existing GPT-J-6B reward model (`Dahoas/gptj-rm-static`) with a *delta*
# reward (the score of the generation minus that of the HH chosen reply). We train our own, initialised from the SFT
# model as in InstructGPT. That keeps the study self-contained, and PPO needs the reward model to share the policy's
# tokenizer.

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
learning_rate: float = 1e-05  # AdamW learning rate
epochs: float = 1.0  # passes over the training set (0 < epochs; max_steps > 0 overrides it)
overrides: dict = {}  # any other field of RewardStageConfig (list: rlhf-trust params reward_model)

# %%
import pandas as pd
from IPython.display import display

from trust_utils.notebook import setup_notebook
from trust_utils.training import common, plots as tplots


from trust_utils.training.reward import RewardStageConfig, run

cfg = common.config_from_params(RewardStageConfig, globals())
n_threads = setup_notebook(seed=cfg.seed, threads=cfg.threads)
print(f"torch threads: {n_threads}; config: {cfg}")

# %% [markdown]
# ## Training

# %%
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="reward_model").to_frame())

# %% [markdown]
# ## Training curves
#
# `accuracy` is the share of pairs in each batch ranked correctly, and `margin` is the mean of $r(y_w) - r(y_l)$.
# Training accuracy well above held-out accuracy means the reward model is memorising pairs.

# %%
log = pd.read_csv(out_dir / "training_log.csv")
fig = tplots.curves(log, tplots.RM_METRICS, title="reward model")

# %% [markdown]
# ## Pairwise accuracy and the margin distribution
#
# Held-out accuracy is the share of `pref_test` pairs with $r(\text{chosen}) > r(\text{rejected})$. Chance is 0.5.
# Reward models trained on the full HH set reach about 0.65–0.70, since the labels themselves are noisy. Margins left
# of zero are pairs the model orders wrongly.

# %%
margins = pd.read_csv(out_dir / "margins.csv")
display(margins.groupby("split").agg(pairs=("margin", "size"), accuracy=("correct", "mean"),
                                     mean_margin=("margin", "mean"), median_margin=("margin", "median")).round(3))
if "subset" in margins and margins["subset"].nunique() > 1:
    display(margins.groupby(["split", "subset"])["correct"].mean().unstack().round(3))
fig = tplots.margin_distribution(margins)
fig2 = tplots.chosen_vs_rejected(margins)

# %% [markdown]
# ## Checkpoints, resume and outputs
#
# Checkpoints are written to `checkpoints/` every `save_steps`; if the run is interrupted, rerunning the same command
# resumes from the last one (a changed configuration starts afresh). The final model is written to `model.partial` and
# renamed to `model` only when complete, so a half-written model is never mistaken for a finished one. With
# `use_lora` the stage trains a LoRA adapter and saves it (or, with `merge_lora`, the merged weights); evaluation loads
# either by checkpoint name. A NaN or infinite loss stops training with an error naming the stage and the step.
