import sys; sys.path.insert(0, "tools"); sys.path.insert(0, "tools/nbspecs")
from nbbuild import write_notebook
from nb1x_common import RESUME_MD, SETUP, params

write_notebook("notebooks/11_reward_model.ipynb", [
("md", """
# 11 · Bradley–Terry reward model

**Purpose.** Learn a scalar reward $r_\\phi(x, y)$ that orders replies the way the human labellers did. PPO
(`12_ppo`) maximises it. DPO does not need it.

**Inputs.** `<run_dir>/data/pref_{train,test}.jsonl` (prompt, chosen, rejected) and the model to start from
(`init_from`, by default the SFT model).

**Output.** `<run_dir>/reward_model/model` (checkpoint `rm`), `training_log.csv`, `margins.csv`, `outputs.json`.
"""),
("md", """
## The Bradley–Terry loss

The model is the policy's transformer with a one-output linear head; the reward of a reply is the head's output at
the last token of prompt + reply + end-of-text. The Bradley–Terry model says the labeller prefers $y_w$ over $y_l$ with
probability $\\sigma(r_\\phi(x, y_w) - r_\\phi(x, y_l))$, so training maximises the log-likelihood of the observed choices:

$$\\mathcal{L}_{\\text{RM}}(\\phi) = -\\mathbb{E}_{(x, y_w, y_l)} \\log \\sigma\\big(r_\\phi(x, y_w) - r_\\phi(x, y_l)\\big).$$

Only differences of rewards matter, so the scale and offset of $r_\\phi$ are arbitrary. `center_rewards_coefficient`
adds a small penalty on the mean reward to pin the offset.

**The paper's reward model.** It used an existing GPT-J-6B reward model (`Dahoas/gptj-rm-static`) with a *delta*
reward (the score of the generation minus that of the HH chosen reply). We train our own, initialised from the SFT
model as in InstructGPT. That keeps the study self-contained, and PPO needs the reward model to share the policy's
tokenizer.
"""),
("params", params("""
init_from: str = "sft"  # the model the reward model starts from: a checkpoint name of the run or a model reference
epochs: float = 1.0  # passes over the preference pairs
batch_size: int = 8  # pairs per step and process
learning_rate: float = 1e-5  # AdamW learning rate
center_rewards_coefficient: float = 0.0  # weight of the mean-reward penalty (0 disables it)
n_eval: int = 0  # held-out pairs to score (0 scores all)
""")),
("code", SETUP + """
from trust_utils.training.reward import RewardStageConfig, run

cfg = common.config_from_params(RewardStageConfig, globals())
print(f"torch threads: {n_threads}; config: {cfg}")
"""),
("md", "## Training"),
("code", """
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="reward_model").to_frame())
"""),
("md", """
## Training curves

`accuracy` is the share of pairs in each batch ranked correctly, and `margin` is the mean of $r(y_w) - r(y_l)$.
Training accuracy well above held-out accuracy means the reward model is memorising pairs.
"""),
("code", """
log = pd.read_csv(out_dir / "training_log.csv")
fig = tplots.curves(log, tplots.RM_METRICS, title="reward model")
"""),
("md", """
## Pairwise accuracy and the margin distribution

Held-out accuracy is the share of `pref_test` pairs with $r(\\text{chosen}) > r(\\text{rejected})$. Chance is 0.5.
Reward models trained on the full HH set reach about 0.65–0.70, since the labels themselves are noisy. Margins left
of zero are pairs the model orders wrongly.
"""),
("code", """
margins = pd.read_csv(out_dir / "margins.csv")
display(margins.groupby("split").agg(pairs=("margin", "size"), accuracy=("correct", "mean"),
                                     mean_margin=("margin", "mean"), median_margin=("margin", "median")).round(3))
if "subset" in margins and margins["subset"].nunique() > 1:
    display(margins.groupby(["split", "subset"])["correct"].mean().unstack().round(3))
fig = tplots.margin_distribution(margins)
fig2 = tplots.chosen_vs_rejected(margins)
"""),
("md", RESUME_MD),
])
