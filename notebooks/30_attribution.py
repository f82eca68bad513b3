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
# # 30 · Data attribution (DataInf)
#
# **Question.** Which human-preference training examples moved each aligned model toward (or away from) the
# behaviour we measure on a trustworthiness benchmark? The paper (Li, Krishna, Lakkaraju, *More RLHF, More Trust?*,
# §6 of our paper notes) answers this with **DataInf**, an efficient influence-function method, applied separately to
# SFT, PPO (through its reward model) and DPO.
#
# **Inputs.** The prepared HH pairs (`<run_dir>/data/pref_{train,test}.jsonl`), the checkpoints the run has
# (`sft`, `dpo`, `rm`; missing ones are skipped with a note), and the toxicity records
# (`<run_dir>/toxicity/records/<checkpoint>.jsonl`) as the test ("trust") set when present.
#
# **Outputs** (in `<run_dir>/attribution/`): `scores_<stage>.csv` (one row per training example: id, HH subset,
# text snippets, influence score, normalised score) and `outputs.json`; the runner adds `manifest.json`.

# %% [markdown]
# ## Influence functions in one paragraph
#
# Train on examples $z_1,\dots,z_n$ to parameters $\hat\theta$. If we up-weighted one example $z_i$ by a tiny
# $\varepsilon$, the optimum would move by $-\varepsilon H^{-1} g_i$, where $g_i=\nabla_\theta \ell(z_i)$ and $H$ is the
# Hessian of the training loss (Koh & Liang, 2017). The test loss then changes, to first order, by
#
# $$\mathcal I(i) = -\, v^\top H^{-1} g_i, \qquad v = \nabla_\theta L_{\text{test}}.$$
#
# **Sign convention** (Koh & Liang, DataInf, the released code): $\mathcal I(i) > 0$ means up-weighting $z_i$ would
# *increase* the test loss. Our test losses reward the **post-alignment** behaviour (see below), so
#
# * **positive** score: the example pushes **against** what alignment produced,
# * **negative** score: the example pushes **toward** it.
#
# The costly part is the **inverse-Hessian-vector product** (iHVP) $h = H^{-1} v$: $H$ has as many rows as the
# model has parameters, so it cannot be formed, let alone inverted.

# %% [markdown]
# ## DataInf's closed form
#
# DataInf (Kwon et al., ICLR 2024) makes three approximations:
#
# 1. **Gauss-Newton / Fisher**: $H \approx G + \lambda I$ with $G = \frac1n\sum_i g_i g_i^\top$ (damping $\lambda$);
# 2. **block-diagonal**: each layer $l$ (here: each LoRA matrix, A or B of a linear module) is treated separately;
# 3. **swap inverse and average**: $(\frac1n\sum_i g_ig_i^\top + \lambda I)^{-1} \approx
#    \frac1n\sum_i (g_ig_i^\top + \lambda I)^{-1}$, and each rank-one term has a closed inverse (Sherman-Morrison).
#
# Per layer this gives
#
# $$\lambda_l = 0.1 \cdot \operatorname{mean}_i \operatorname{mean}(g_{il}^2), \qquad
# h_l = \frac{1}{n\lambda_l}\sum_i\Big[v_l - \frac{\langle v_l, g_{il}\rangle}{\lambda_l + \lVert g_{il}\rVert^2}\, g_{il}\Big],
# \qquad \mathcal I(i) = -\sum_l \langle h_l, g_{il}\rangle .$$
#
# With a single training example it is exact; in general it costs one pass over the stored per-example gradients.
# The tests check both the hand computation and the Sherman-Morrison identity. As the paper, we also show a
# **normalised** score in $[-1,1]$: positives divided by the largest positive, negatives by $|$most negative$|$
# (magnitudes are then comparable only within one sign).

# %% [markdown]
# ## From a full fine-tune to LoRA gradients
#
# DataInf is built for LoRA models, but our stages fine-tune every weight. As the released `convert_lora.py`, each
# selected linear layer's update $\Delta W = W_{ft} - W_{ref}$ is compressed by a truncated SVD at rank $r$
# (`lora_rank`, 4): $A$ = the top-$r$ rows of $V^\top$, $B = U_r\,\mathrm{diag}(S_r)$, so $W = W_{ref} + BA$. The
# selected layers are set to $W_{ref}+BA$ (the model the released code differentiated). The gradients with respect to
# $A$ and $B$ follow from the full-weight gradient $G = \partial L/\partial W$: $\partial L/\partial B = G A^\top$,
# $\partial L/\partial A = B^\top G$ (exact for $W = W_{ref} + BA$). Only the linear layers of the last `n_layers`
# transformer blocks are used (the released code: the last 4 GPT-J blocks), which keeps the per-example gradients
# small: one backward per example, batch size 1.
#
# | stage | model (LoRA-ised against) | training loss on an HH pair | test loss on (new, old) |
# |---|---|---|---|
# | `sft` | SFT model (base) | token-mean NLL of prompt + chosen, reply tokens only | NLL of the new continuation |
# | `rm` (PPO) | reward model (its initialisation, normally SFT) | Bradley-Terry $-\log\sigma(r_w - r_l)$, reward at the last non-pad token | BT loss preferring new over old |
# | `dpo` | DPO policy (SFT); reference = SFT | DPO loss with `beta` | DPO loss with $y_w$ = new, $y_l$ = old |
#
# **Fixes and choices.** The released DPO script applied `log_softmax` to the logits without gathering the reply
# tokens; we sum the per-token log-probs of the reply. Its DPO $\beta$ was 1.0; we default to 0.1, our DPO stage's
# value (`beta`). The test set is built from the toxicity generations of the post-alignment checkpoint ("new": sft,
# dpo, or ppo for the reward model) and its pre-alignment one ("old": base or sft) on the same prompts and sample,
# formatted `Human: {prompt}\nAssistant: {continuation}`; $v$ is the average test gradient. A run without those
# records falls back to the held-out HH pairs (chosen as new, rejected as old), and the summary says so. The training
# examples are a seeded subset of `n_train` HH pairs (the paper's subset size is unknown).

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
n_train: int = 64  # HH training pairs scored (a seeded subset of pref_train)
n_test: int = 16  # test pairs (new vs old continuation) averaged into the test gradient
overrides: dict = {}  # any other field of AttributionConfig (list: rlhf-trust params attribution)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.
#
# **The run's parameters.** Opened by hand (not by `rlhf-trust run`), it then takes the parameters the last run of this stage in `run_dir` used (`<run_dir>/<stage>/manifest.json`) for every one the parameters cell leaves at its default, and prints which values came from the run and which are yours; with no such run it lists where it differs from the run directory's profile. So the notebook is the same experiment as the pipeline's.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "attribution")

# %%
import pandas as pd
from IPython.display import display

from trust_utils import attribution, attribution_plots
from trust_utils.notebook import config_from_params, setup_notebook

cfg = config_from_params(attribution.AttributionConfig, globals())
setup_notebook(seed=cfg.seed, threads=cfg.threads)
summary = attribution.run(cfg)
for stage, why in summary["skipped"].items():
    print(f"skipped {stage}: {why}")

# %% [markdown]
# ## What was attributed
#
# Per stage: the model and its reference, how many training and test examples, where the test set came from, the
# selected layers, the gradient dimension, the SVD residual $\lVert\Delta W - BA\rVert/\lVert\Delta W\rVert$ (how
# much of the update rank $r$ keeps), and how many examples push against (+) or toward (−) the post-alignment behaviour.

# %%
rows = [{k: s[k] for k in ("description", "reference", "n_train", "n_test", "test_source", "grad_dim",
                           "n_positive", "n_negative", "time_s")} for s in summary["stages"].values()]
display(pd.DataFrame(rows, index=list(summary["stages"])))
for stage, s in summary["stages"].items():
    print(stage, "layers:", ", ".join(s["layers"]))
    print("   relative SVD residual per layer:", s["svd_rel_residual"])

# %% [markdown]
# ## Scores by HH subset
#
# Normalised influence of every scored training example, split by subset (helpful vs harmless). Mass left of zero:
# examples that push the model toward its post-alignment generations; right of zero: against them.

# %%
scores = {stage: attribution.load_scores(run_dir, stage) for stage in summary["stages"]}
fig = attribution_plots.score_histograms(scores)
if scores:
    display(pd.concat(scores.values()).groupby(["stage", "subset"])["score"].describe().round(6))

# %% [markdown]
# ## Most influential examples
#
# For each stage the five examples with the most positive score (up-weighting them would *raise* the test loss: they
# pull against the post-alignment behaviour) and the five most negative (they pull toward it).

# %%
pd.set_option("display.max_colwidth", 120)
for stage, df in scores.items():
    pos, neg = attribution.top_examples(df, k=5)
    print(f"=== {summary['stages'][stage]['description']}: most positive (against)")
    display(pos)
    print(f"=== {summary['stages'][stage]['description']}: most negative (toward)")
    display(neg)

# %% [markdown]
# ## Reading the scores
#
# * Scores are first-order estimates around the LoRA-ised model, restricted to the last blocks; they rank examples,
#   they do not predict the effect of retraining without them. REV2 of the paper noted the attribution gives no
#   insight into optimal data composition; treat it as a feasibility demonstration, as the paper did.
# * On the tiny profile the models barely train and the test set is small: the scores are noise and only show that
#   the pipeline runs.
