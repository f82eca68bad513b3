import sys; sys.path.insert(0, "tools"); sys.path.insert(0, "tools/nbspecs")
from nbbuild import write_notebook
from nb1x_common import RESUME_MD, SETUP, params

write_notebook("notebooks/13_dpo.ipynb", [
("md", """
# 13 · Direct preference optimisation (DPO)

**Purpose.** Align the SFT model to the preferences directly, without a reward model or sampling. DPO is the paper's
second alignment method, next to PPO.

**Inputs.** The SFT model (policy initialisation *and* frozen reference) and `<run_dir>/data/pref_{train,test}.jsonl`.

**Output.** `<run_dir>/dpo/model` (checkpoint `dpo`), `training_log.csv`, `eval.json`, `outputs.json`.
"""),
("md", """
## The DPO loss

The KL-regularised objective that PPO optimises has a closed-form optimum,
$\\pi^*(y\\mid x) \\propto \\pi_{\\text{ref}}(y\\mid x)\\exp(r(x,y)/\\beta)$. Solving it for the reward gives an *implicit
reward* $\\hat r_\\theta(x, y) = \\beta \\log \\frac{\\pi_\\theta(y\\mid x)}{\\pi_{\\text{ref}}(y\\mid x)}$. Put into the Bradley–Terry
likelihood, this gives a loss on the policy alone:

$$\\mathcal{L}_{\\text{DPO}}(\\theta) = -\\mathbb{E}_{(x, y_w, y_l)} \\log\\sigma\\Big(\\beta \\log\\frac{\\pi_\\theta(y_w\\mid x)}{\\pi_{\\text{ref}}(y_w\\mid x)} - \\beta\\log\\frac{\\pi_\\theta(y_l\\mid x)}{\\pi_{\\text{ref}}(y_l\\mid x)}\\Big).$$

$\\beta$ plays the role of the KL coefficient: a small $\\beta$ lets the policy move further from the reference.
The default is **0.1**, the value in the reference DPO code's examples. The paper's $\\beta$ is unconfirmed. That code
also used lr 5e-7 (RMSprop, 150 warmup steps), batch 64 and 1 epoch. The paper profiles follow it, with AdamW.

The trainer logs the implicit rewards of chosen and rejected replies, their **margin**, and the **reward accuracy**:
the share of pairs where the chosen reply has the higher implicit reward.
"""),
("params", params("""
init_from: str = "sft"  # the policy to start from, also the frozen reference
beta: float = 0.1  # DPO temperature beta (KL strength)
loss_type: str = "sigmoid"  # TRL DPO loss (sigmoid is the DPO paper's)
epochs: float = 1.0  # passes over the preference pairs
batch_size: int = 8  # pairs per step and process
learning_rate: float = 5e-7  # AdamW learning rate (DPO reference code 5e-7)
n_eval: int = 0  # held-out pairs for the implicit-reward evaluation (0 uses all)
""")),
("code", SETUP + """
from trust_utils.training.dpo import DPOStageConfig, run

cfg = common.config_from_params(DPOStageConfig, globals())
print(f"torch threads: {n_threads}; config: {cfg}")
"""),
("md", "## Training"),
("code", """
summary = run(cfg)
out_dir = cfg.stage_dir()
display(pd.Series({k: v for k, v in summary.items() if k not in ("config", "files")}, name="dpo").to_frame())
"""),
("md", """
## Loss, reward accuracy and margins

At step 0 the policy equals the reference. All implicit rewards are then 0 and the loss is $\\log 2 \\approx 0.693$.
The margin should grow and the accuracy should rise above 0.5. Often both implicit rewards *fall*, with the rejected
one falling faster: DPO lowers the likelihood of both replies.
"""),
("code", """
log = pd.read_csv(out_dir / "training_log.csv")
fig = tplots.curves(log, tplots.DPO_METRICS, title="DPO")
"""),
("md", "## Held-out implicit rewards"),
("code", """
ev = pd.read_json(out_dir / "eval.json", typ="series")
display(ev.to_frame("held-out").round(4))
"""),
("md", RESUME_MD),
])
