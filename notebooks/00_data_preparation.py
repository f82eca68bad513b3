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
# # 00 · Preference data preparation
#
# **Purpose.** Turn human preference data (Anthropic Helpful-and-Harmless, "HH") into the two datasets every
# alignment stage trains on:
#
# * an **SFT set** of (prompt, completion) pairs, where the completion is the *chosen* reply, for supervised fine-tuning;
# * a **preference set** of (prompt, chosen, rejected) triples, for the reward model, PPO prompts and DPO.
#
# **Inputs.** One of three sources with the same interface: the Hugging Face hub (`Anthropic/hh-rlhf`, or
# `Dahoas/static-hh`, which the paper's training code used), a local directory laid out like the original repository
# (`<subset>/train.jsonl.gz`), or the small set bundled with this project (`data/hh-mini`, written by us).
#
# **Outputs** (in `<run_dir>/data/`): `sft_{train,test}.jsonl`, `pref_{train,test}.jsonl`, `drop_report.csv`,
# `lengths.csv`, `outputs.json`; the runner adds `manifest.json`.

# %% [markdown]
# ## How an HH row becomes a triple
#
# Each HH row holds two *whole* dialogues, `chosen` and `rejected`. Turns start with `\n\nHuman: ` and
# `\n\nAssistant: `, and the two dialogues share every turn except the **last Assistant reply**, which is the one a
# human labeller preferred (chosen) or not (rejected). So
#
# * **prompt** = the shared dialogue up to and including the last `\n\nAssistant:`,
# * **chosen / rejected** = the two final replies (prompt + reply gives back the original text).
#
# Rows that do not fit this shape are **dropped and counted by reason**, never silently: no Assistant turn,
# chosen and rejected diverging before the last reply, an empty reply, an identical pair, or a pair longer than the
# token limits below. The paper trained on ~100K HH triples; the tiny and CPU profiles use the bundled few hundred.

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
data_source: str = "bundled"  # where the preference data comes from: bundled | local | hub
n_train: int = 0  # training pairs to keep after filtering (0 keeps all)
n_test: int = 0  # held-out pairs to keep (0 keeps all)
threads: int = 2  # torch CPU threads per process (0 leaves torch's default) (notebook only)
overrides: dict = {}  # any other field of DataConfig (list: rlhf-trust params data)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.
#
# **The run's parameters.** Opened by hand (not by `rlhf-trust run`), it then takes the parameters the last run of this stage in `run_dir` used (`<run_dir>/<stage>/manifest.json`) for every one the parameters cell leaves at its default, and prints which values came from the run and which are yours; with no such run it lists where it differs from the run directory's profile. So the notebook is the same experiment as the pipeline's.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "data")

# %%
import pandas as pd
from IPython.display import display

from trust_utils import plots
from trust_utils.data.prepare import DataConfig, load_prepared, run
from trust_utils.notebook import config_from_params, setup_notebook
from trust_utils.run import Run

cfg = config_from_params(DataConfig, globals())
setup_notebook(seed=cfg.seed, threads=threads)
summary = run(cfg)
out_dir = Run.open(run_dir).stage_dir("data")
print(f"kept {summary['n_train']} training and {summary['n_test']} held-out pairs -> {out_dir}")

# %% [markdown]
# ## What was kept and what was dropped
#
# `parsed` rows per subset and split, then every drop reason with its count. A reason that appears here names
# rows of the source that could not be used; `dropped_examples.json` holds a few of each for inspection.

# %%
report = pd.read_csv(out_dir / "drop_report.csv")
display(report.pivot_table(index=["subset", "split"], columns="reason", values="count", aggfunc="sum", fill_value=0))

# %% [markdown]
# ## Length distributions
#
# Token lengths (under the base model's tokenizer) of the prompt and the two replies. Replies far longer than the
# others, or a chosen/rejected length gap, matter: a reward model can learn to prefer length instead of quality.

# %%
lengths = pd.read_csv(out_dir / "lengths.csv")
display(lengths.groupby("split")[["prompt", "chosen", "rejected"]].describe().T.round(1))
fig = plots.length_distributions(lengths)

# %% [markdown]
# ## A few examples

# %%
pairs = pd.DataFrame(load_prepared(run_dir, "pref_train"))
for _, row in pairs.groupby("subset").head(2).iterrows():
    print(f"--- [{row['subset']}] id={row['id']}")
    print("PROMPT:", row["prompt"][-400:])
    print("CHOSEN:", row["chosen"][:300])
    print("REJECTED:", row["rejected"][:300])
