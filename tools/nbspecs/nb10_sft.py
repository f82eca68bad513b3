import sys; sys.path.insert(0, "tools"); sys.path.insert(0, "tools/nbspecs")
from nbbuild import write_notebook
from nb1x_common import RESUME_MD, SETUP, params

write_notebook("notebooks/10_sft.ipynb", [
("md", """
# 10 · Supervised fine-tuning (SFT)

**Purpose.** Teach the pretrained base model the dialogue format and the kind of reply the labellers preferred, before
any preference optimisation. PPO and DPO both start from this model, and the evaluation stages score it as its own
checkpoint (`sft`): the paper attributes most of the change in stereotypical bias to this step.

**Inputs.** The base model (the profile's `model`, checkpoint name `base`) and `<run_dir>/data/sft_train.jsonl`:
(prompt, completion) pairs whose completion is the *chosen* HH reply.

**Output.** `<run_dir>/sft/model` (checkpoint `sft`), `training_log.csv`, `samples.csv`, `outputs.json`.
"""),
("md", """
## The objective

For a prompt $x$ (the dialogue up to the last `Assistant:`) and its chosen reply $y = (y_1, \\dots, y_T)$, SFT minimises
the negative log-likelihood of the reply only:

$$\\mathcal{L}_{\\text{SFT}}(\\theta) = -\\frac{1}{\\sum T}\\sum_{(x,y)} \\sum_{t=1}^{T} \\log \\pi_\\theta(y_t \\mid x, y_{<t}).$$

The prompt tokens are inputs but carry no loss (their labels are masked to −100): the model should learn to *answer*,
not to imitate the human turns. An end-of-text token is appended to each reply so the model learns to stop.
TRL's `SFTTrainer` does this in its prompt-completion format with `completion_only_loss=True`.

**Hyperparameters of the paper.** 3 epochs, batch 32, AdamW, full fine-tuning. The learning rate differs between the
sources: the paper states **1e-5**, its released trlx script uses **1e-6** (betas 0.9/0.95, weight decay 1e-6, an
effectively constant schedule). The paper profiles use 1e-5; set `learning_rate` to 1e-6 to follow the code.
The tiny profile uses a much larger rate and a few dozen steps: its model is random and tiny.
"""),
("params", params("""
init_from: str = "base"  # the model to fine-tune: a checkpoint name of the run or a model reference
epochs: float = 3.0  # passes over the SFT set (paper 3)
batch_size: int = 32  # examples per step and process (paper 32)
learning_rate: float = 1e-5  # AdamW learning rate (paper text 1e-5; its released code 1e-6)
n_eval: int = 64  # held-out examples for the before/after loss
n_samples: int = 3  # held-out prompts shown with base and SFT continuations
sample_max_new_tokens: int = 32  # tokens generated per sample
""")),
("code", SETUP + """
from trust_utils.training.sft import SFTStageConfig, run

cfg = common.config_from_params(SFTStageConfig, globals())
print(f"torch threads: {n_threads}; config: {cfg}")
"""),
("md", "## Training\n\nOne call trains (resuming from a checkpoint if there is one), saves the model and evaluates it."),
("code", """
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="sft").to_frame())
"""),
("md", """
## Training curves

The loss is the mean NLL per completion token; `mean_token_accuracy` is the share of completion tokens predicted
exactly. For a real model the loss starts near the base model's perplexity on HH replies and falls slowly; a loss that
jumps up signals a learning rate that is too high.
"""),
("code", """
log = pd.read_csv(out_dir / "training_log.csv")
fig = tplots.curves(log, tplots.SFT_METRICS, title="SFT")
"""),
("md", """
## Held-out loss and sample continuations

The loss on held-out (prompt, chosen) pairs before and after SFT, and greedy continuations of a few held-out prompts
by the base and the SFT model.
"""),
("code", """
print(f"held-out completion NLL: base {summary['heldout_loss_before']}, sft {summary['heldout_loss_after']}")
samples = pd.read_csv(out_dir / "samples.csv").fillna("")
for _, row in samples.iterrows():
    print("PROMPT:", row["prompt"][-300:])
    print("  BASE:", row["base"][:200])
    print("  SFT: ", row["sft"][:200])
"""),
("md", RESUME_MD),
])
