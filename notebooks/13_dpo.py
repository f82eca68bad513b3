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
beta: float = 0.1  # DPO temperature beta (KL strength)
learning_rate: float = 5e-07  # AdamW learning rate
overrides: dict = {}  # any other field of DPOStageConfig (list: rlhf-trust params dpo)

# %%
import pandas as pd
from IPython.display import display

from trust_utils.notebook import setup_notebook
from trust_utils.training import common, plots as tplots


from trust_utils.training.dpo import DPOStageConfig, run

cfg = common.config_from_params(DPOStageConfig, globals())
n_threads = setup_notebook(seed=cfg.seed, threads=cfg.threads)
print(f"torch threads: {n_threads}; config: {cfg}")

# %% [markdown]
# ## Training

# %%
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="dpo").to_frame())

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
