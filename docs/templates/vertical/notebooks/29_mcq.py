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
# # 29 · MCQ (multiple choice by log-likelihood) — the template of a new vertical
#
# **Purpose.** Measure whether each checkpoint of the run puts the most likelihood on the true option of a
# multiple-choice question. Replace this text with what your vertical measures and what the paper found.
#
# **Inputs.** `data/bench-mini/mcq/items.jsonl` (bundled, written by us) or `<local_dir>/items.jsonl`. The
# checkpoints of the run.
#
# **Outputs** (in `<run_dir>`): `results/mcq.csv`, `mcq/records/<checkpoint>.jsonl`, `mcq/outputs.json`.

# %% [markdown]
# ## Method
#
# Context `Q: <question>\nA:`, each option scored as the continuation ` <option>` (sum of token log-probabilities,
# as lm-evaluation-harness does for multiple choice). An item is correct when the true option is the most likely.
# Chance level: one over the number of options.

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
checkpoints: list = []  # checkpoint names to evaluate (empty: the run list from the profile, else base, sft, ppo, dpo); missing ones are skipped with a note
max_examples: int = 0  # evaluate at most this many items per data file (0 keeps all; otherwise a seeded subset)
overrides: dict = {}  # any other field of MCQConfig (list: rlhf-trust params mcq)

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "mcq")

# %%
from IPython.display import display

from trust_utils import plots
from trust_utils.notebook import config_from_params, setup_notebook
from trust_utils.verticals.common import load_vertical_results, malformed_table
from trust_utils.verticals.mcq import MCQConfig, run

cfg = config_from_params(MCQConfig, globals(), progress=False)
setup_notebook(seed=cfg.seed, threads=cfg.threads)
summary = run(cfg)
print(f"{summary['n_items']} items, checkpoints evaluated: {summary['checkpoints']}, "
      f"skipped (not in the run yet): {summary['skipped_checkpoints']}")

# %% [markdown]
# ## Results
#
# One row per checkpoint and metric, with its 95% bootstrap interval and the number of items `n`.

# %%
res = load_vertical_results(run_dir, "mcq")
display(res[["metric", "variant", "checkpoint", "value", "ci_low", "ci_high", "n", "scorer"]].round(3))
display(malformed_table(summary["malformed"]))

# %%
fig = plots.metric_by_checkpoint(res, ["mcq_accuracy_loglik"], hue="metric")
