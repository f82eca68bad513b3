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
epochs: float = 1.0  # passes over the training set (0 < epochs; max_steps > 0 overrides it)
learning_rate: float = 1e-05  # AdamW learning rate
solutions: bool = False  # fill the exercise cells with the reference solutions (teachers; the tiny profile sets it) (notebook only)
overrides: dict = {}  # any other field of RewardStageConfig (list: rlhf-trust params reward_model)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.
#
# **The run's parameters.** Opened by hand (not by `rlhf-trust run`), it then takes the parameters the last run of this stage in `run_dir` used (`<run_dir>/<stage>/manifest.json`) for every one the parameters cell leaves at its default, and prints which values came from the run and which are yours; with no such run it lists where it differs from the run directory's profile. So the notebook is the same experiment as the pipeline's.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "reward_model")

# %%
import pandas as pd
from IPython.display import display

from trust_utils.notebook import setup_notebook
from trust_utils.training import plots as tplots
from trust_utils.training.config import config_from_params
from trust_utils.training.reward import RewardStageConfig, run

cfg = config_from_params(RewardStageConfig, globals())
n_threads = setup_notebook(seed=cfg.seed, threads=cfg.threads)
print(f"torch threads: {n_threads}; config: {cfg}")

# %% [markdown]
# ## Training

# %%
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="reward_model").to_frame())

# %% [markdown]
# ## Look inside: one preference pair
#
# One pair of `pref_train`, tokenised as TRL's `RewardTrainer` does (prompt + reply + EOS, chosen and rejected
# right-padded into one batch). The reward is the scalar head's output at the last real token (`reward_read_here`).
# The Bradley–Terry loss `−log σ(r_chosen − r_rejected)` from `trust_utils.losses` and the trainer's `compute_loss` must
# agree.
#
# Questions: is this pair ranked correctly (`margin > 0`)? What loss does a margin of 0 give, and why is it log 2?

# %%
from trust_utils import course
from trust_utils.data.prepare import load_prepared
from trust_utils.models import load_tokenizer
from trust_utils.training.reward import load_reward_model

pair = load_prepared(cfg.run_dir, "pref_train")[0]
rm_path = cfg.run.resolve("rm", cfg.model, cfg.cache_dir or None, cfg.seed)
rm, rm_tok = load_reward_model(rm_path), load_tokenizer(rm_path, padding_side="right")
inside = course.look_inside_reward(rm, rm_tok, pair, cfg.max_length, trainer=course.stage_trainer(cfg))
print(inside)
assert abs(inside.loss - inside.trainer_loss) < 1e-4, "the hand-computed loss differs from the trainer's"
display(inside.table[inside.table.reward_read_here])

# %% [markdown]
# > **Exercise (level 1): `bradley_terry_loss`.** Given the rewards of the chosen and the rejected replies of a batch of pairs (two tensors of shape `(B,)`), return the Bradley–Terry loss: the mean over pairs of `−log σ(r_chosen − r_rejected)`.
# >
# > *Hint.* `torch.nn.functional.logsigmoid` is stable for large margins, `torch.log(torch.sigmoid(x))` is not; mind the sign.
# >
# > Replace the stub's body and run the cell: the check says which case fails and why. With the notebook parameter `solutions=True` (or `RLHF_TRUST_SOLUTIONS=1`) the reference solution is used instead.

# %%
from trust_utils.exercises import reward_model as exercise


def bradley_terry_loss(r_chosen, r_rejected):
    # YOUR CODE HERE
    raise NotImplementedError

bradley_terry_loss = exercise.solution_or(bradley_terry_loss, solutions)
exercise.check_bradley_terry_loss(bradley_terry_loss)

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
