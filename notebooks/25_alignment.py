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
# # 25 · Alignment objectives (did the alignment work, and how far did each checkpoint move?)
#
# **Purpose.** The trust verticals ask how alignment changed a model. This stage asks first whether each method did
# what it optimises, on held-out preference pairs, and how far each checkpoint moved from where it started. A method
# whose own objective is not above its chance level or its starting point (by interval) is marked *alignment not
# established*; its trust changes then say nothing about alignment.
#
# **Inputs.** The held-out HH pairs of the data stage (`<run_dir>/data/pref_test.jsonl`; `sft_test.jsonl` holds the
# same pairs), a seeded subset of `max_examples`; every checkpoint the run scores (`base` and each trained method's
# checkpoint, the profile's external ones), the references they need, and the run's reward model `rm`.
#
# **Outputs.** `<run_dir>/results/alignment.csv` (long format, one row per checkpoint and metric with a 95% bootstrap
# interval over held-out pairs), `<run_dir>/alignment/records/<checkpoint>.jsonl` (per pair: samples, rewards,
# margins and each metric's per-pair value, so the analysis' paired bootstrap works), `outputs.json` (with the
# status of each checkpoint).

# %% [markdown]
# ## Method
#
# * **Samples.** Each checkpoint answers every held-out prompt `n_samples` times (1), **sampled from its own
#   distribution** (temperature 1, no top-k or top-p, at most `max_new_tokens` tokens): the KL below is an expectation
#   under the policy, so greedy replies would not estimate it.
# * **How far it moved: KL.** For a prompt $x$ and the checkpoint's sample $y$, the `k1` estimator (TRL's default,
#   what its online trainers, PPO's among them, log as `objective/kl`) is
#   $\log \pi(y\mid x) - \log \pi_{\rm ref}(y\mid x) = \sum_t [\log \pi(y_t\mid x, y_{<t}) - \log \pi_{\rm ref}(y_t\mid x, y_{<t})]$,
#   unbiased for $\mathrm{KL}(\pi\,\|\,\pi_{\rm ref})(x)$; `k3` ($r - 1 - \log r$, $r = \pi_{\rm ref}(y)/\pi(y)$) is
#   the other choice (`kl_estimator`): also unbiased and never negative per sample, but dominated by a few samples once
#   the models are far apart. Both models score the same text with the engine's cached log-likelihood (fp32 LM head);
#   a sample that ended before `max_new_tokens` ended on EOS, which is scored too. `kl_from_reference` uses the
#   method's reference (base for SFT; the SFT it started from for PPO, DPO and the other online method; base's own is 0),
#   `kl_from_base` the base model. The value is the mean over prompts, with a bootstrap interval over prompts.
# * **Did it work: each method's own objective.**
#   * SFT: `sft_nll`, the held-out negative log-likelihood of the chosen replies (nats per token, per pair then averaged);
#     its starting point is base's.
#   * Reward model: `rm_accuracy`, the share of pairs whose chosen reply it scores above the rejected one (chance 0.5;
#     ties 0.5).
#   * DPO: the implicit reward $\beta\,[\log \pi(y\mid x) - \log \pi_{\rm ref}(y\mid x)]$ (reference SFT, $\beta$ the
#     DPO stage's): `dpo_reward_accuracy`, the share of pairs where the chosen reply's is higher (chance 0.5), and
#     `dpo_reward_margin`, chosen minus rejected (0 at the start).
#   * PPO and the other methods trained against the reward model: `mean_reward`, the reward model's score of the checkpoint's samples (its starting point: SFT's), and
#     `win_rate_vs_sft`, the share of prompts where its reply scores above SFT's (chance 0.5; ties 0.5).
#   * Against a starting point, each is also written as a **paired** difference on the same held-out pairs:
#     `sft_nll_change` (SFT's NLL minus base's, pair by pair) and `mean_reward_change` (the reward minus SFT's, prompt by
#     prompt), with a bootstrap interval over pairs.
# * **The rule.** An objective is above its chance level when its interval's lower end is (upper end, for the NLL), and
#   above its starting point when the interval of its paired difference excludes 0 in the better direction (two
#   separate intervals can overlap while the change is clear pair by pair). A method whose objectives are not all above is
#   *alignment not established* (`trust_utils.verticals.alignment_status`).

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
checkpoints: list = []  # checkpoint names to evaluate (empty: the run list from the profile, else base, sft, ppo, dpo); missing ones are skipped with a note
max_examples: int = 64  # held-out pairs scored (0 keeps all of pref_test; otherwise a seeded subset)
max_new_tokens: int = 48  # sample length at most (tokens)
kl_estimator: str = "k1"  # k1 (log pi - log ref of own samples, as TRL logs it) or k3
overrides: dict = {}  # any other field of AlignmentConfig (list: rlhf-trust params alignment)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "alignment")

# %%
from IPython.display import Markdown, display

from trust_utils.notebook import config_from_params, setup_notebook
from trust_utils.plots.verticals import plot_metric_bars
from trust_utils.verticals.alignment import AlignmentConfig, run
from trust_utils.verticals.common import load_vertical_records, load_vertical_results, malformed_table, results_table

cfg = config_from_params(AlignmentConfig, globals(), keep_default=("progress",))
setup_notebook(seed=cfg.seed, threads=cfg.threads)
summary = run(cfg)
print(f"scored {summary['checkpoints']} (references {summary['references_scored']}), skipped "
      f"{summary['skipped_checkpoints']}; {summary['n_pairs']} held-out pairs; reward model: {summary['reward_model']}; "
      f"DPO beta: {summary['dpo_beta']}; KL estimator: {summary['kl_estimator']}; model calls {summary['model_calls']}")
display(malformed_table({"pref_test": summary["malformed"]}))

# %% [markdown]
# ## Did the alignment work?
#
# Each aligned checkpoint's status under the rule above, with the numbers behind it.

# %%
display(Markdown("\n".join(f"* **{ck}**: {status}: {why}" for ck, (status, why) in summary["status"].items())
                 or "*No aligned checkpoint in this run.*"))

# %% [markdown]
# ## Results: each method's objective and how far each checkpoint moved

# %%
res = load_vertical_results(run_dir, "alignment")
display(results_table(res[~res["metric"].str.startswith("degenerate_")]))
for metric, title in (("mean_reward", "Mean reward of own samples (reward model)"),
                      ("kl_from_reference", "KL from the reference (nats)"), ("kl_from_base", "KL from base (nats)")):
    if (res["metric"] == metric).any():
        fig = plot_metric_bars(res, metric, title=title)

# %% [markdown]
# ## Degenerate samples
#
# The samples behind the KL and the rewards are generations: their shares of **empty**, **echo** and **repeat** outputs
# (`trust_utils.verticals.validity`) say whether a reward measures answers; `degenerate_loglik` counts pairs with a
# score that is not finite, a DPO margin of exactly 0 or a reward-model tie.

# %%
from trust_utils.results import load_results as _load_results
from trust_utils.verticals.validity import degenerate_table

display(degenerate_table(_load_results(run_dir), "alignment").round(3))

# %% [markdown]
# ## A few samples, with their rewards

# %%
rec = load_vertical_records(run_dir, "alignment")
rec = rec[rec["prompt"].notna()]  # the reward models (rm, rm-s1) have no samples
for _, r in rec.groupby("checkpoint", sort=False).head(1).iterrows():
    print(f"--- [{r['checkpoint']}] rewards {r.get('rewards')}")
    print("PROMPT:", r["prompt"][-160:])
    print("SAMPLE:", repr(r["samples"][0][:200]))
