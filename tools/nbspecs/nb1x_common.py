"""Parameter lines and cells shared by the alignment notebooks (10_sft ... 13_dpo)."""

# Shared parameters of every alignment stage (trust_utils.training.common.TrainConfig). No '=' in help comments.
COMMON_HEAD = '''
run_dir: str = "runs/tiny"  # run directory (the runner sets it)
model: str = "tiny"  # base model reference (tiny, smollm2-gguf, a directory or a hub id)
cache_dir: str = ""  # cache for converted models (empty: .cache in the project root)
seed: int = 0  # one seed for model init, data order (seed and data_seed) and sampling
threads: int = 2  # torch CPU threads per process
device: str = "auto"  # auto (cuda if available, else cpu), cpu or cuda
'''

COMMON_TAIL = '''
max_steps: int = 0  # optimizer steps; 0 lets epochs decide
grad_accum: int = 1  # gradient accumulation steps (effective batch is batch_size x grad_accum x num_processes)
weight_decay: float = 0.0  # AdamW weight decay
lr_scheduler: str = "constant"  # transformers scheduler name (constant, linear, cosine, constant_with_warmup)
warmup_steps: int = 0  # linear warmup steps
max_grad_norm: float = 1.0  # gradient clipping
max_length: int = 512  # longest prompt plus reply in tokens (longer pairs are truncated or dropped by TRL)
n_train: int = 0  # use the first n training rows (0 uses all)
gradient_checkpointing: bool = False  # recompute activations in backward (less memory, slower); on for the paper profiles
bf16: str = "auto"  # auto (bf16 on CUDA with bf16 and on CPUs with native bf16 matmul), true or false
group_by_length: bool = True  # batch examples of similar length together (less padding, faster)
use_lora: bool = False  # train a LoRA adapter instead of all weights
lora_r: int = 16  # LoRA rank
lora_alpha: int = 32  # LoRA scaling alpha
lora_dropout: float = 0.05  # LoRA dropout
lora_target_modules: str = ""  # comma-separated module names (empty: PEFT's default for the architecture)
merge_lora: bool = False  # save the adapter merged into the base weights (else the adapter directory)
save_steps: int = 200  # write a resumable checkpoint every n steps
save_total_limit: int = 2  # keep the last n checkpoints
logging_steps: int = 5  # log (CSV and progress bar) every n steps
num_processes: int = 1  # processes; above 1 runs the training under accelerate launch
accelerate_config: str = ""  # accelerate config file (empty: configs/accelerate/ddp_cpu.yaml on CPU, deepspeed_zero2.yaml on GPU)
'''


def params(stage_specific: str) -> str:
    return COMMON_HEAD.strip("\n") + "\n" + stage_specific.strip("\n") + "\n" + COMMON_TAIL.strip("\n")


SETUP = '''
import pandas as pd
from IPython.display import display

from trust_utils.notebook import setup_notebook
from trust_utils.training import common, plots as tplots

n_threads = setup_notebook(seed=seed, threads=threads)
'''

RESUME_MD = '''
## Checkpoints, resume and outputs

Checkpoints are written to `checkpoints/` every `save_steps`; if the run is interrupted, rerunning the same command
resumes from the last one (a changed configuration starts afresh). The final model is written to `model.partial` and
renamed to `model` only when complete, so a half-written model is never mistaken for a finished one. With
`use_lora` the stage trains a LoRA adapter and saves it (or, with `merge_lora`, the merged weights); evaluation loads
either by checkpoint name. A NaN or infinite loss stops training with an error naming the stage and the step.
'''
