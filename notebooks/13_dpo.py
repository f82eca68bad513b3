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
# # 13 · Direct preference optimisation (DPO)
#
# **Purpose.** Align the SFT model to the preferences directly, without a reward model or sampling. DPO is the paper's
# second alignment method, next to PPO.
#
# **Inputs.** The SFT model (policy initialisation *and* frozen reference) and `<run_dir>/data/pref_{train,test}.jsonl`.
#
# **Output.** `<run_dir>/dpo/model` (checkpoint `dpo`), `training_log.csv`, `eval.json`, `outputs.json`.

# %% [markdown]
# ## The DPO loss
#
# The KL-regularised objective that PPO optimises has a closed-form optimum,
# $\pi^*(y\mid x) \propto \pi_{\text{ref}}(y\mid x)\exp(r(x,y)/\beta)$. Solving it for the reward gives an *implicit
# reward* $\hat r_\theta(x, y) = \beta \log \frac{\pi_\theta(y\mid x)}{\pi_{\text{ref}}(y\mid x)}$. Put into the Bradley–Terry
# likelihood, this gives a loss on the policy alone:
#
# $$\mathcal{L}_{\text{DPO}}(\theta) = -\mathbb{E}_{(x, y_w, y_l)} \log\sigma\Big(\beta \log\frac{\pi_\theta(y_w\mid x)}{\pi_{\text{ref}}(y_w\mid x)} - \beta\log\frac{\pi_\theta(y_l\mid x)}{\pi_{\text{ref}}(y_l\mid x)}\Big).$$
#
# $\beta$ plays the role of the KL coefficient: a small $\beta$ lets the policy move further from the reference.
# The default is **0.1**, the value in the reference DPO code's examples. The paper's $\beta$ is unconfirmed. That code
# also used lr 5e-7 (RMSprop, 150 warmup steps), batch 64 and 1 epoch. The paper profiles follow it, with AdamW.
#
# The trainer logs the implicit rewards of chosen and rejected replies, their **margin**, and the **reward accuracy**:
# the share of pairs where the chosen reply has the higher implicit reward.

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
learning_rate: float = 5e-07  # AdamW learning rate
beta: float = 0.1  # DPO temperature beta (KL strength)
solutions: bool = False  # fill the exercise cells with the reference solutions (teachers; the tiny profile sets it) (notebook only)
overrides: dict = {}  # any other field of DPOStageConfig (list: rlhf-trust params dpo)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.
#
# **The run's parameters.** Opened by hand (not by `rlhf-trust run`), it then takes the parameters the last run of this stage in `run_dir` used (`<run_dir>/<stage>/manifest.json`) for every one the parameters cell leaves at its default, and prints which values came from the run and which are yours; with no such run it lists where it differs from the run directory's profile. So the notebook is the same experiment as the pipeline's.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "dpo")

# %%
import pandas as pd
from IPython.display import display

from trust_utils.notebook import setup_notebook
from trust_utils.training import plots as tplots
from trust_utils.training.config import config_from_params
from trust_utils.training.dpo import DPOStageConfig, run

cfg = config_from_params(DPOStageConfig, globals())
n_threads = setup_notebook(seed=cfg.seed, threads=cfg.threads)
print(f"torch threads: {n_threads}; config: {cfg}")

# %% [markdown]
# ## Training

# %%
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="dpo").to_frame())

# %% [markdown]
# ## Look inside: one pair through DPO
#
# One pair of `pref_train`, tokenised as TRL's `DPOTrainer` does. The table has one row per reply token, chosen then
# rejected (prompt tokens carry no loss and are left out): `logp_policy` and `logp_ref`, the log-probability of the token
# under the DPO policy and the frozen SFT reference; `logratio`, their difference; `logratio_cumsum`, its running sum
# over the reply. A side's last row therefore holds its sequence log-ratio `log π(y|x) − log π_ref(y|x)`. The implicit
# rewards are `β · log-ratio`; the loss is `−log σ(reward_chosen − reward_rejected)`. The cell checks that the table's
# sums are the per-side sums the loss uses, and that the loss computed from the table, `trust_utils.losses.dpo_loss` and
# the trainer's own `compute_loss` agree.
#
# Questions: did training raise the chosen reply's log-ratio, lower the rejected one's, or both? What happens to the
# loss when `beta` doubles?

# %%
import math

from trust_utils import course
from trust_utils.data.prepare import load_prepared
from trust_utils.models import load_causal_lm, load_tokenizer

dpo_path = cfg.run.resolve("dpo", cfg.model, cfg.cache_dir or None, cfg.seed)
pair = load_prepared(cfg.run_dir, "pref_train")[0]
trainer = course.stage_trainer(cfg)  # its ref_model is the frozen SFT model
inside = course.look_inside_dpo(load_causal_lm(dpo_path), trainer.ref_model,
                                load_tokenizer(dpo_path, padding_side="right"), pair, cfg.beta, cfg.max_length,
                                trainer=trainer)
print(inside)
assert abs(inside.loss - inside.trainer_loss) < 1e-4, "the hand-computed loss differs from the trainer's"
for side in ("chosen", "rejected"):  # each side's rows; the last row's running sum is the sequence log-ratio
    with pd.option_context("display.max_rows", 80, "display.min_rows", 20):
        display(inside.table[inside.table["side"] == side].round(4).set_index(["side", "position"]))

sums = inside.table.groupby("side", sort=False)[["logp_policy", "logp_ref", "logratio"]].sum()
for side in ("chosen", "rejected"):  # the table's sums are the per-side sums of the loss
    for col in ("logp_policy", "logp_ref"):
        assert abs(sums.loc[side, col] - inside.extra[f"{col}_{side}"]) < 1e-3, (side, col)
    assert abs(sums.loc[side, "logratio"] - inside.extra[f"logratio_{side}"]) < 1e-3, side
sums["implicit_reward"] = cfg.beta * sums["logratio"]
margin = sums.loc["chosen", "implicit_reward"] - sums.loc["rejected", "implicit_reward"]
loss_from_table = max(0.0, -margin) + math.log1p(math.exp(-abs(margin)))  # -log sigmoid(margin), without overflow
assert abs(loss_from_table - inside.trainer_loss) < 1e-4, "the loss from the table differs from the trainer's"
display(sums.round(4))
print(f"margin {margin:.4f}; loss from the table {loss_from_table:.6f}, losses.dpo_loss {inside.loss:.6f}, "
      f"trainer {inside.trainer_loss:.6f}")

# %% [markdown]
# > **Exercise (level 1): `dpo_loss`.** Given the sequence log-probs of the chosen and rejected replies under the policy and the reference (tensors of shape `(B,)`) and β, return the DPO loss `mean(−log σ(β·[(π_c − ref_c) − (π_r − ref_r)]))`.
# >
# > *Hint.* a policy equal to its reference gives log 2 for any β; if your loss falls when the policy prefers the *rejected* reply, the sign is flipped.
# >
# > Replace the stub's body and run the cell: the check says which case fails and why. With the notebook parameter `solutions=True` (or `RLHF_TRUST_SOLUTIONS=1`) the reference solution is used instead.

# %%
from trust_utils.exercises import dpo as exercise


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    # YOUR CODE HERE
    raise NotImplementedError

dpo_loss = exercise.solution_or(dpo_loss, solutions)
exercise.check_dpo_loss(dpo_loss)

# %% [markdown]
# ## Loss, reward accuracy and margins
#
# At step 0 the policy equals the reference. All implicit rewards are then 0 and the loss is $\log 2 \approx 0.693$.
# The margin should grow and the accuracy should rise above 0.5. Often both implicit rewards *fall*, with the rejected
# one falling faster: DPO lowers the likelihood of both replies.

# %%
log = pd.read_csv(out_dir / "training_log.csv")
fig = tplots.curves(log, tplots.DPO_METRICS, title="DPO")

# %% [markdown]
# ## Held-out implicit rewards

# %%
ev = pd.read_json(out_dir / "eval.json", typ="series")
display(ev.to_frame("held-out").round(4))

# %% [markdown]
# ## Checkpoints, resume and outputs
#
# Checkpoints are written to `checkpoints/` every `save_steps`; if the run is interrupted, rerunning the same command
# resumes from the last one (a changed configuration starts afresh). The final model is written to `model.partial` and
# renamed to `model` only when complete, so a half-written model is never mistaken for a finished one. With
# `use_lora` the stage trains a LoRA adapter and saves it (or, with `merge_lora`, the merged weights); evaluation loads
# either by checkpoint name. A NaN or infinite loss stops training with an error naming the stage and the step.
