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
# # 10 · Supervised fine-tuning (SFT)
#
# **Purpose.** Teach the pretrained base model the dialogue format and the kind of reply the labellers preferred, before
# any preference optimisation. PPO and DPO both start from this model, and the evaluation stages score it as its own
# checkpoint (`sft`): the paper attributes most of the change in stereotypical bias to this step.
#
# **Inputs.** The base model (the profile's `model`, checkpoint name `base`) and `<run_dir>/data/sft_train.jsonl`:
# (prompt, completion) pairs whose completion is the *chosen* HH reply.
#
# **Output.** `<run_dir>/sft/model` (checkpoint `sft`), `training_log.csv`, `samples.csv`, `outputs.json`.

# %% [markdown]
# ## The objective
#
# For a prompt $x$ (the dialogue up to the last `Assistant:`) and its chosen reply $y = (y_1, \dots, y_T)$, SFT minimises
# the negative log-likelihood of the reply only:
#
# $$\mathcal{L}_{\text{SFT}}(\theta) = -\frac{1}{\sum T}\sum_{(x,y)} \sum_{t=1}^{T} \log \pi_\theta(y_t \mid x, y_{<t}).$$
#
# The prompt tokens are inputs but carry no loss (their labels are masked to −100): the model should learn to *answer*,
# not to imitate the human turns. An end-of-text token is appended to each reply so the model learns to stop.
# TRL's `SFTTrainer` does this in its prompt-completion format with `completion_only_loss=True`.
#
# **Hyperparameters of the paper.** 3 epochs, batch 32, AdamW, full fine-tuning. The learning rate differs between the
# sources: the paper states **1e-5**, its released trlx script uses **1e-6** (betas 0.9/0.95, weight decay 1e-6, an
# effectively constant schedule). The paper profiles use 1e-5; set `learning_rate` to 1e-6 to follow the code.
# The tiny profile uses a much larger rate and a few dozen steps: its model is random and tiny.

# %% tags=["parameters"]
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
model: str = "tiny"  # base model reference (tiny, smollm2-gguf, a directory or a hub id)
max_steps: int = 0  # optimizer steps; 0 lets epochs decide
learning_rate: float = 1e-05  # AdamW learning rate
solutions: bool = False  # fill the exercise cells with the reference solutions (teachers; the tiny profile sets it) (notebook only)
overrides: dict = {}  # any other field of SFTStageConfig (list: rlhf-trust params sft)

# %% [markdown]
# **Inputs present?** Opened on its own, this notebook first checks that the stages it needs have run in `run_dir`, and if not says which `rlhf-trust run` command prepares them.
#
# **The run's parameters.** Opened by hand (not by `rlhf-trust run`), it then takes the parameters the last run of this stage in `run_dir` used (`<run_dir>/<stage>/manifest.json`) for every one the parameters cell leaves at its default, and prints which values came from the run and which are yours; with no such run it lists where it differs from the run directory's profile. So the notebook is the same experiment as the pipeline's.

# %%
from trust_utils.notebook import require_inputs

require_inputs(run_dir, "sft")

# %%
import pandas as pd
from IPython.display import display

from trust_utils.notebook import setup_notebook
from trust_utils.training import plots as tplots
from trust_utils.training.config import config_from_params
from trust_utils.training.sft import SFTStageConfig, run

cfg = config_from_params(SFTStageConfig, globals())
n_threads = setup_notebook(seed=cfg.seed, threads=cfg.threads)
print(f"torch threads: {n_threads}; config: {cfg}")

# %% [markdown]
# ## Training
#
# One call trains (resuming from a checkpoint if there is one), saves the model and evaluates it.

# %%
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="sft").to_frame())

# %% [markdown]
# ## Look inside: one training example
#
# One real row of `sft_train`, tokenised exactly as TRL's `SFTTrainer` does it (prompt + completion + EOS as one string;
# the prompt's tokens get the label −100). `in_loss` marks the tokens that carry loss; `logprob` is the trained model's
# log-probability of each of them. The loss is the mean of `−logprob` over those tokens, computed by
# `trust_utils.losses.sft_loss` and by the trainer's own `compute_loss`: the two numbers must be equal.
#
# Questions: how many tokens of this example carry loss? What would the loss be if the prompt were not masked (set every
# label to the token id and recompute with `trust_utils.losses.sft_loss`)?

# %%
from trust_utils import course
from trust_utils.data.prepare import load_prepared
from trust_utils.models import load_causal_lm, load_tokenizer

row = load_prepared(cfg.run_dir, "sft_train")[0]
sft_path = cfg.run.resolve("sft", cfg.model, cfg.cache_dir or None, cfg.seed)
lm, lm_tok = load_causal_lm(sft_path), load_tokenizer(sft_path, padding_side="right")
trainer = course.stage_trainer(cfg)  # the stage's own SFTTrainer, used only for its loss
inside = course.look_inside_sft(lm, lm_tok, row, cfg.max_length, trainer=trainer)
print(inside)
assert abs(inside.loss - inside.trainer_loss) < 1e-4, "the hand-computed loss differs from the trainer's"
display(inside.table)

# %% [markdown]
# > **Exercise (level 1): `masked_sft_loss`.** Write the loss TRL minimises. Given logits `(B, T, V)`, the ids, the prompt lengths and the attention mask of a right-padded batch, return the mean negative log-likelihood over the *reply* tokens (not the prompt, not the padding; one mean over all reply tokens of the batch).
# >
# > *Hint.* `logits[:, t]` predicts token `t + 1`: shift before comparing. `torch.nn.functional.cross_entropy` with `ignore_index=-100` does the masking for you.
# >
# > Replace the stub's body and run the cell: the check says which case fails and why. With the notebook parameter `solutions=True` (or `RLHF_TRUST_SOLUTIONS=1`) the reference solution is used instead.

# %%
from trust_utils.exercises import sft as exercise


def masked_sft_loss(logits, input_ids, prompt_lengths, attention_mask):
    # YOUR CODE HERE
    raise NotImplementedError

masked_sft_loss = exercise.solution_or(masked_sft_loss, solutions)
exercise.check_masked_sft_loss(masked_sft_loss)

# %% [markdown]
# ## Training curves
#
# The loss is the mean NLL per completion token; `mean_token_accuracy` is the share of completion tokens predicted
# exactly. For a real model the loss starts near the base model's perplexity on HH replies and falls slowly; a loss that
# jumps up signals a learning rate that is too high.

# %%
log = pd.read_csv(out_dir / "training_log.csv")
fig = tplots.curves(log, tplots.SFT_METRICS, title="SFT")

# %% [markdown]
# ## Held-out loss and sample continuations
#
# The loss on held-out (prompt, chosen) pairs before and after SFT, and greedy continuations of a few held-out prompts
# by the base and the SFT model.

# %%
print(f"held-out completion NLL: base {summary['heldout_loss_before']}, sft {summary['heldout_loss_after']}")
samples = pd.read_csv(out_dir / "samples.csv").fillna("")
for _, row in samples.iterrows():
    print("PROMPT:", row["prompt"][-300:])
    print("  BASE:", row["base"][:200])
    print("  SFT: ", row["sft"][:200])

# %% [markdown]
# ## Checkpoints, resume and outputs
#
# Checkpoints are written to `checkpoints/` every `save_steps`; if the run is interrupted, rerunning the same command
# resumes from the last one (a changed configuration starts afresh). The final model is written to `model.partial` and
# renamed to `model` only when complete, so a half-written model is never mistaken for a finished one. With
# `use_lora` the stage trains a LoRA adapter and saves it (or, with `merge_lora`, the merged weights); evaluation loads
# either by checkpoint name. A NaN or infinite loss stops training with an error naming the stage and the step.
