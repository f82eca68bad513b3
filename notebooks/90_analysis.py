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
# # 90 · Analysis and comparison with the paper
#
# **Purpose.** Put the five trustworthiness verticals side by side across the alignment pipeline (the base model, then
# SFT, then PPO and DPO, both started from the SFT model) and compare the *changes* with what the reference study
# reported (Li, Krishna, Lakkaraju, "More RLHF, More Trust?", arXiv 2404.18870).
#
# **Input.** Only the run's one long results table (`<run_dir>/results/<vertical>.csv`, read with
# `trust_utils.results.load_results`), the per-prompt values in its records (`<run_dir>/<vertical>/records/`, read with
# `trust_utils.results.load_unit_values`, for the paired intervals of a change) and the paper's reported numbers, which the package keeps as data in
# `trust_utils/reference/paper_results.csv`. Nothing below is typed in by hand.
#
# **Outputs.** Figures in `<run_dir>/analysis/figures/<figure>.png|pdf` (copied to `figures/<figure>_<run dir name>.*` in the project root), `changes.csv`,
# `paper_v1_comparison.csv`, `paper_v2_headline.csv`, `degenerate_shares.csv` and `outputs.json` in `<run_dir>/analysis/`; the runner
# also writes this executed notebook as `report.html`.
#
# > **Read the numbers with their setting in mind.** With the tiny or CPU profiles (a random or 135M-parameter model,
# > a few hundred training pairs and a few dozen prompts per vertical) the numbers below **demonstrate the method,
# > not the paper's result**: they show that the pipeline measures, compares and reports the way the study did.
# > Only a run at the paper's model sizes and data (the `paper-*` profiles, on a GPU) can confirm or refute the paper.

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
max_degenerate: float = 0.5  # a change is not interpretable when more than this share of either side's outputs is degenerate
n_boot: int = 1000  # paired bootstrap resamples for the interval of a change
overrides: dict = {}  # any other field of AnalysisConfig (list: rlhf-trust params analysis)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.
#
# **The run's parameters.** Opened by hand (not by `rlhf-trust run`), it then takes the parameters the last run of this stage in `run_dir` used (`<run_dir>/<stage>/manifest.json`) for every one the parameters cell leaves at its default, and prints which values came from the run and which are yours; with no such run it lists where it differs from the run directory's profile. So the notebook is the same experiment as the pipeline's.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "analysis")

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import Markdown, display

from trust_utils.analysis import figures, leading, paper, tables
from trust_utils.analysis import stage as analysis_stage
from trust_utils.notebook import config_from_params, setup_notebook

setup_notebook()
pd.set_option("display.max_rows", 200)
pd.set_option("display.max_colwidth", 120)
cfg = config_from_params(analysis_stage.AnalysisConfig, globals(), keep_default=("formats",))
result = analysis_stage.run(cfg)
for note in result.notes:
    display(Markdown(f"**Note:** {note}"))
print(f"profile {result.profile!r}: {len(result.results)} result rows, {len(result.figures)} figures")


def show(key):
    fig = result.figures.get(key)
    if fig is None:
        display(Markdown(f"*This run has no results for this figure ({key}).*"))
        return
    display(fig)
    print("saved:", ", ".join(result.figure_files[key]))


# %% [markdown]
# ## More RLHF, more trust? Trust along the alignment path
#
# The question is a dose-response one. With `path_points` in the profile each method is scored at points of its
# training (`dpo@12`: DPO after 12 steps; point 0 is its init, SFT), and the `alignment` stage records how far every
# scored checkpoint moved (`kl_from_reference`: from SFT for the methods that start from it, from base for SFT). Each panel is a
# vertical's lead metric (the paper's where its outputs are readable, else its likelihood view) against the KL
# moved, one line per method; with several training `seeds` the line is the seeds' mean and the band their range.
# A PPO-vs-DPO difference at equal KL is a difference of method; one along a single line is a dose effect. The
# panel's title says which way the paper found PPO and DPO moved that vertical.

# %%
show("curve")
show("curve_step")

# %% [markdown]
# ## Did the alignment do its own job?
#
# Each method on its own objective, on held-out HH pairs (the `alignment` vertical): SFT's held-out NLL of the chosen
# replies (against base's), the reward model's pairwise accuracy (chance 0.5), DPO's implicit-reward accuracy (chance
# 0.5) and margin (0 at its start), and, for the methods trained against the reward model, their mean reward (against
# SFT's) and win rate against SFT (chance 0.5). A method whose objective is not above its chance level or starting
# point by interval is marked **not established**; its trust changes are left out of the findings below.

# %%
al = result.alignment
if len(al):
    keep = ["checkpoint", "metric", "value", "ci_low", "ci_high", "n", "status"]
    objectives = al[~al["metric"].str.startswith("degenerate_")][keep]
    display(tables.styled_table(objectives.reset_index(drop=True),
                                {"value": "{:.3f}", "ci_low": "{:.3f}", "ci_high": "{:.3f}"}))
else:
    display(Markdown("*This run has no alignment checks (add the `alignment` stage to the profile).*"))

# %% [markdown]
# ## Across training seeds: the change, its prompt interval, the seed spread and the correction
#
# For each vertical's lead metric and each method, the change from base averaged over the training seeds; the
# primary seed's paired interval over prompts (what a one-seed study reads) beside a two-level bootstrap over seeds
# and prompts, the between-seed standard deviation, and Holm / Benjamini-Hochberg adjusted p-values over the family
# (interpretable changes of methods whose alignment is not refuted). With one seed the two intervals coincide.

# %%
sc = result.seed_changes
if len(sc):
    cols = ["vertical", "metric", "method", "n_seeds", "change", "prompt_ci_low", "prompt_ci_high", "ci_low",
            "ci_high", "between_seed_sd", "p_holm", "survives_holm", "survives_bh", "alignment"]
    display(tables.styled_table(sc[cols], {c: "{:.3f}" for c in cols[4:11]}))

# %% [markdown]
# ## What the run holds
#
# Rows per vertical and checkpoint (and model). A checkpoint missing here was not evaluated in this run (for instance a run
# that stopped after SFT); it is skipped in every figure and table below.

# %%
res = result.results
if len(res):
    res = res.assign(model=res["model"].map(tables.model_label))
    display(res.pivot_table(index=["vertical"], columns=["model", "checkpoint"], values="value", aggfunc="count",
                            fill_value=0).reindex(columns=tables.order_checkpoints(res["checkpoint"]), level=1))

# %% [markdown]
# ## Do the numbers measure anything? Degenerate outputs: share per vertical and checkpoint (headline setting)
#
# A small or freshly fine-tuned model often answers with nothing, repeats the prompt, or loops; a metric computed from
# such outputs measures the output format, not trustworthiness (an MC1 accuracy of 0 from empty answers is not a drop in
# truthfulness). Every vertical records the share of **degenerate** outputs per checkpoint and setting: **empty**,
# **unparsed** (the answer parser found no answer, where the vertical parses), **echo** (the reply starts with five or
# more prompt words in a row, or is wholly a run of the prompt; a correct answer may repeat an option or the asked fact)
# and **repeat** (loops: a line three times, copies of one line, an n-gram three times back to back); **any** is their
# union (definitions: `trust_utils.verticals.validity`). Likelihood-scored metrics (TruthfulQA MC1/MC2 by
# log-likelihood, the ethics Yes/No likelihood) read no generation; their guard is **loglik ties**, the share of items
# whose candidate scores are all equal or not finite.
#
# **A change is not interpretable** when the guard share of the base or of the aligned checkpoint exceeds `max_degenerate`
# (a parameter, 0.5 by default). Such a change is listed, but its direction reads "not interpretable" and it is never counted
# as agreeing or disagreeing with the paper. The figure shows `degenerate_any` of each vertical's headline setting (the
# dashed line is `max_degenerate`); the table below has every check for the headline settings, and
# `degenerate_shares.csv` every setting.

# %%
show("degenerate")
deg = tables.degenerate_shares(result.results, headline_only=True)
if len(deg):
    display(deg.assign(model=deg["model"].map(tables.model_label)).set_index(
        ["model", "vertical", "variant", "checkpoint"]).drop(columns="seed").round(3))
else:
    display(Markdown("*This run recorded no degenerate shares (its results predate them): every change is taken "
                     "as interpretable.*"))

# %% [markdown]
# ## How to read the figures
#
# Each bar is one number of the results table: the metric of one checkpoint, averaged over the vertical's units
# (prompts, statements, questions). The **error bar is its 95% bootstrap interval**: the units were resampled with
# replacement many times and the interval holds the middle 95% of the resampled means, so it shows how much the number
# would move with a different sample of prompts of the same kind. Bars run in the study's order, **Base -> SFT -> PPO ->
# DPO** (PPO and DPO are two alternatives that both start from SFT, not a sequence). When a run holds several models,
# each model has its own bar colour, ordered by size, so the same change can be followed across model sizes. Each axis
# label says whether higher or lower is better.

# %% [markdown]
# ## Figure 1 · Overview: headline metric of each vertical by checkpoint
#
# One panel per vertical, each at its headline metric and setting: the compact view of the whole study. Read it for
# the *direction* of each vertical from Base to the aligned models, not for levels across panels (the metrics differ).

# %%
show("overview")

# %% [markdown]
# ## Figures 2 onwards · one figure per vertical
#
# Each vertical's headline metric by checkpoint, in the order of the vertical registry
# (`trust_utils.registry.VERTICALS`): its metric, how to read the panels and what the paper found come from the
# vertical's declaration. Each section leads with the paper's metric where it is interpretable, and otherwise with
# the vertical's likelihood view (`readable`: forced choice, exposure, ...), which needs no readable generation; the
# section says which and why. The paper comparison below stays on the paper's metric. All this comes from the
# declaration, so a newly registered vertical gets its section here with no edit to this notebook. A
# vertical that reports more settings than fit as panels also gets a breakdown: the same metric per variant, one dot
# per checkpoint with its interval.

# %%
from trust_utils.registry import VERTICALS

for number, vertical in enumerate(VERTICALS.values(), start=2):
    lead, why = leading.lead_metric(result.results, vertical.name, max_degenerate)
    metric = vertical.metric(lead)
    direction = "higher" if metric.higher_is_better else "lower"
    chance = "" if metric.chance is None else f" Chance level: {metric.chance:.3g} (dashed line)."
    display(Markdown(f"## Figure {number} · {vertical.title}: {metric.label} by checkpoint\n\n"
                     f"**Metric: {metric.label}**, {direction} is better.{chance} *Why this metric:* {why}.\n\n"
                     f"{vertical.reading if lead == vertical.headline.name else metric.description}\n\n"
                     f"*The paper:* {vertical.paper}"))
    if lead != vertical.headline.name:  # the likelihood view leads; the paper's metric follows, marked as such
        display(figures.plot_vertical(result.results, vertical.name, metric=lead))
        display(Markdown(f"*The paper's metric, {vertical.headline.label}, for comparison (not interpretable in this "
                         f"run: its changes are marked so in the tables):*"))
    show(vertical.name)
    if f"{vertical.name}_breakdown" in result.figures:
        display(Markdown(f"### Figure {number}b · {vertical.title}: {metric.label} per variant and checkpoint"))
        show(f"{vertical.name}_breakdown")

# %% [markdown]
# ## Change from Base to each aligned checkpoint
#
# For every vertical, metric and setting: the change from the base model to SFT, PPO and DPO, **absolute** (in the
# metric's units) and **relative** (divided by the base value), and whether it is **better or worse** given the
# metric's direction.
#
# **Is a change more than noise?** Both checkpoints answered the *same* prompts, so the interval of a change comes from
# a **paired bootstrap**: the prompts (statements, questions) present in both checkpoints' records are drawn with
# replacement, both checkpoints' metric is recomputed on the same draw (from each record's per-prompt values; a ratio such
# as an FNR over parsed answers is recomputed on the drawn set), and the interval holds the middle 95% of the
# `n_boot` resampled changes. `paired n` is the number of shared prompts. Pairing removes the prompt-to-prompt variation
# both checkpoints share, so the interval is narrower than one from two separate intervals; identical answers give
# [0, 0]. When a run has no per-prompt values (older records), the interval falls back to a normal approximation from the
# two rows' intervals (`paired n` reads "n/a (normal approx.)"), which treats the checkpoints as independent and is
# conservative. "excludes 0: yes" marks a change whose interval does not include zero. `degenerate (base / checkpoint)` are
# the guard shares; a change above `max_degenerate` on either side reads "not interpretable".
#
# **Reading many changes at once.** Each vertical × contrast is one test, so some changes exclude zero by chance
# alone. `p` is the paired bootstrap's two-sided p-value of "no change"; in brackets, **Holm's** adjusted p-value over
# the family of every interpretable headline change of the run (one per vertical and checkpoint; Benjamini-Hochberg's
# is in `changes.csv` as `p_bh`). A change *survives the correction* when its Holm p-value is below 0.05.
#
# The table shows each vertical's headline metric; `changes.csv` holds every metric and setting.

# %%
head = result.changes[result.changes["headline"]] if len(result.changes) else result.changes
display(Markdown(f"Intervals from {n_boot} paired resamples; changes with more than {max_degenerate:.0%} "
                 "degenerate outputs on either side are not interpretable."))
display(tables.format_changes(head))
if len(head):
    family = head[head["p_holm"].notna()]
    survivors = family[family["survives_holm"].fillna(False).astype(bool)]
    display(Markdown(f"**{len(survivors)} of the {len(family)} interpretable headline changes survive Holm's "
                     f"correction**" + (": " + ", ".join(f"{r.vertical} {r.checkpoint}" for r in survivors.itertuples())
                                        if len(survivors) else ".")))
print(f"all {len(result.changes)} rows: {result.tables['changes']} in the analysis stage directory")

# %% [markdown]
# ## Compared with the paper (1): the v2 headline changes
#
# The published (ICLR 2025) version reports each vertical's change as an **average over its models and over the two
# RLHF methods** (e.g. machine ethics: FNR 56.8% -> 38.3% / 40.3%, "31% better"). The run's number is computed the
# same way: the mean of the PPO and DPO values (whichever the run has) against the base value, relative to base. With
# several models, the "all models (mean)" row divides the across-model mean of the aligned values by that of the base
# values. `same_direction` says whether the run moved the same way as the paper (toxicity has no number in the paper:
# "small, model-dependent"). `run_degenerate` is the largest guard share among the base and aligned values; above
# `max_degenerate` the row is not interpretable, `same_direction` is n/a and the model is left out of the pooled row.

# %%
v2 = result.v2.assign(model=result.v2["model"].map(lambda m: tables.model_label(m) if m else ""))
display(tables.styled_table(  # styled tables escape every value (a model name is text, never markup)
    v2[["vertical", "metric", "variant", "model", "run_base", "run_aligned", "aligned_checkpoints", "run_rel_change",
        "run_direction", "run_degenerate", "interpretable", "paper_rel_change", "paper_direction", "same_direction",
        "run_note", "paper_note"]],
    {"run_base": "{:.3f}", "run_aligned": "{:.3f}", "run_rel_change": "{:+.0%}", "run_degenerate": "{:.0%}",
     "paper_rel_change": "{:+.0%}"}))

# %% [markdown]
# ## Compared with the paper (2): the v1 per-model numbers
#
# The first version of the paper evaluated off-the-shelf Pythia models (70M, 160M, 410M, 2.8B, 6.9B) and their SFT,
# PPO and DPO versions; its per-model numbers survive in the released plotting scripts. When this run's model is one of
# those Pythia sizes (a hub id such as `EleutherAI/pythia-2.8b` or a directory named like it), each of its values is
# shown beside the paper's. Mind the mapping: the paper's truthfulness and privacy are percentages (shown here on the
# 0-1 scale), its ethics "FPR" is our false-negative rate, its bias "agreeability" is our agreement index, and
# whether its toxicity is the expected maximum or the mean toxicity is not known (compared with our expected
# maximum). The paper scored toxicity with Perspective API; our scorer differs, so toxicity levels are not comparable.
# A run value with more than `max_degenerate` degenerate outputs behind it (`interpretable` False) is not compared:
# `paper_in_run_ci` is n/a.

# %%
if len(result.v1):
    display(tables.styled_table(result.v1.assign(model=result.v1["model"].map(tables.model_label))
                                .drop(columns=["source", "note", "paper_unit"]),
                                {c: "{:.3f}" for c in ["paper_value", "run_value", "run_ci_low", "run_ci_high",
                                                       "run_minus_paper", "run_degenerate"]}))
else:
    display(Markdown("*No model of this run is a v1 Pythia size, so there is nothing to put side by side. "
                     "For orientation, the paper's v1 values (0-1 scale):*"))
    ref = result.reference[result.reference["version"] == "v1"]
    ref = ref.assign(value=paper.reference_as_rate(ref))
    display(ref.pivot_table(index=["vertical", "metric", "variant", "model"], columns="checkpoint", values="value")
            .reindex(columns=["base", "sft", "ppo", "dpo"]).round(3))

# %% [markdown]
# ## Across model families, and the v1 table by size and checkpoint
#
# **Across model families: headline metric of each vertical by checkpoint.**
#
# When the run scores several model families (e.g. the `paper-v1-pythia` profile: five Pythia sizes, each with its
# released SFT, PPO and DPO checkpoints, named in the profile's `checkpoints:` block), this figure puts them in the
# paper's layout: the checkpoint on x, one line per family (sorted by size) with each row's bootstrap interval, and,
# for families that are v1 Pythia sizes, the paper's v1 value as a dashed line of the same colour.
#
# The table below it is the v1 comparison in the paper's table layout: one row per vertical, setting and model size,
# one column per checkpoint, each cell `run [interval] / paper`; `*` marks a paper value outside the run's interval.
#
# **Which checkpoint a change is measured from is declared, not guessed.** The profile's `baseline` (default `base`)
# and each external checkpoint's `compare_to` name it; changes of a checkpoint declared against another checkpoint (say, a
# DPO model against its SFT model) are measured from that checkpoint, and `changes.csv` then has a `baseline` column.

# %%
show("families") if "families" in result.figures else display(Markdown("*One model family and no v1 Pythia size: "
                                                                         "no cross-family figure.*"))
if result.v1_table is not None and len(result.v1_table):
    display(result.v1_table)

# %% [markdown]
# ## Files written
#
# The figures (PNG for reading, PDF for print), the four tables, and `outputs.json` with the summary the runner copies
# into the stage's `manifest.json`.

# %%
for key, paths in result.figure_files.items():
    print(f"{key:<20}", *paths)
for name, fname in result.tables.items():
    print(f"{name:<20}", fname)
