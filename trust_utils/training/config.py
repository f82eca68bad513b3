"""The stage config base every alignment method extends, its errors, and the explicit trainer arguments.

Explicit, never TRL's silent defaults
    TRL's configs default ``bf16=True``, ``gradient_checkpointing=True`` and ``logging_steps=10``, and the
    Trainer reports to every installed tracker and *filters* NaN/inf losses out of the logged average
    (``logging_nan_inf_filter``). :func:`trainer_kwargs` sets all of these from the stage config: bf16 only
    on CUDA with bf16 support and on CPUs with native bf16 matmul (``bf16="auto"``, :func:`use_bf16`), ``report_to="none"``, ``seed``/``data_seed`` from one ``seed``,
    ``logging_nan_inf_filter=False`` so the :class:`~.callbacks.NaNGuard` sees a diverged loss, ``disable_tqdm=False``.

Reuse key parts
    A trained model depends on more than the stage's settings: its code, the *weights* it starts from (for PPO also the reward
    model and the value model's init), the data files it reads and the training libraries. :meth:`TrainConfig.reuse_parts`
    collects all five (``settings``: the config hash without threads/logging/saving cadence; ``init``: the content
    fingerprint of each init model, :func:`trust_utils.models.model_fingerprint`; ``data``: hashes of the data stage's
    files; ``code``: the hash of the stage's training module and the package modules it imports,
    :meth:`TrainConfig.code_hash`; ``versions``: torch, transformers, trl, peft, accelerate, datasets, tokenizers)
    and hashes them into the *reuse key*; :mod:`.reuse` decides with it whether to resume or retrain.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from .. import codehash, utils
from ..checkpoints import TRAINED, path_point_steps
from ..kernel_modes import kernel_key
from ..models import ModelLoadError, model_fingerprint
from ..params import ModelStageConfig, build_config, field_help, param, stage_of
from ..provenance import versions
from ..run import Run
from ..utils import (
    hash_file,
    hash_obj,
    raise_problems,
    range_problems,
    resolve_device,
    set_seed,
    set_threads,
)

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
#: the CSV training log in the stage directory (:class:`.callbacks.TrainingLogCallback` writes it).
TRAIN_LOG = "training_log.csv"
#: config fields that do not change what is trained (excluded from the resume / reuse hash).
# where the run and the cache live is not what is trained (the init model and the data are keyed by content), so a
# run directory spelled relative in a notebook and absolute by the runner reuses the same model
_HASH_EXCLUDE = {"threads", "num_processes", "accelerate_config", "save_steps", "save_total_limit",
                 "logging_steps", "n_samples", "n_eval", "run_dir", "cache_dir"}


#: libraries whose versions change what a training run produces (part of the reuse key).
TRAINING_LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers")


def training_versions() -> dict[str, str]:
    """The installed versions of :data:`TRAINING_LIBRARIES` ("missing" when absent): the reuse key's ``versions``;
    with the kernel mode when it is not ``native`` (its weights differ in their last bits)."""
    v = versions()
    return {**{k: v.get(k, "missing") for k in TRAINING_LIBRARIES}, **kernel_key()}


class TrainingError(RuntimeError):
    """A stage cannot train as configured; the message names the stage and what to fix."""


class TrainingDiverged(TrainingError):
    """A non-finite loss was logged: training stops with the stage and the step."""



@dataclass
class TrainConfig(ModelStageConfig):
    """Parameters every alignment stage has (each stage's dataclass adds its own).

    ``max_steps`` > 0 overrides ``epochs``. ``batch_size`` is per process; the effective batch is
    ``batch_size * grad_accum * num_processes``.
    """

    STAGE: ClassVar[str] = ""
    MODULE: ClassVar[str] = ""
    #: the data stage's files the training reads (``<run_dir>/data/<name>.jsonl``); part of the reuse key.
    DATA_FILES: ClassVar[tuple[str, ...]] = ("pref_train",)
    #: config fields naming the models a stage starts from (checkpoint names or references); part of the reuse key.
    INIT_FIELDS: ClassVar[tuple[str, ...]] = ("init_from",)

    init_from: str = param("sft", 'the model to fine-tune: a checkpoint name of the run or a model reference')
    epochs: float = param(1.0, 'passes over the training set (0 < epochs; max_steps > 0 overrides it)')
    max_steps: int = param(0, 'optimizer steps; 0 lets epochs decide')
    batch_size: int = param(8, 'examples per step and process')
    grad_accum: int = param(
        1, 'gradient accumulation steps (effective batch is batch_size x grad_accum x num_processes)')
    learning_rate: float = param(1e-5, 'AdamW learning rate', cell=True)
    weight_decay: float = param(0.0, 'AdamW weight decay')
    lr_scheduler: str = param(
        "constant", 'transformers scheduler name (constant, linear, cosine, constant_with_warmup)')
    warmup_steps: int = param(0, 'linear warmup steps')
    max_grad_norm: float = param(1.0, 'gradient clipping')
    max_length: int = param(512, 'longest prompt plus reply in tokens (longer pairs are truncated or dropped by TRL)')
    n_train: int = param(0, 'use the first n training rows (0 uses all)')
    gradient_checkpointing: bool = param(
        False, 'recompute activations in backward (less memory, slower); on for the paper profiles')
    bf16: str = param("auto", 'auto (bf16 on CUDA with bf16 and on CPUs with native bf16 matmul), true or false')
    group_by_length: bool = param(True, 'batch examples of similar length together (less padding, faster)')
    use_lora: bool = param(False, 'train a LoRA adapter instead of all weights')
    lora_r: int = param(16, 'LoRA rank')
    lora_alpha: int = param(32, 'LoRA scaling alpha')
    lora_dropout: float = param(0.05, 'LoRA dropout')
    lora_target_modules: str = param("", "comma-separated module names (empty: PEFT's default for the architecture)")
    merge_lora: bool = param(False, 'save the adapter merged into the base weights (else the adapter directory)')
    path_points: list[float] = param(
        [], 'fractions of the training steps, each in (0, 1), at which a copy of the policy is kept and scored as '
            '<method>@<step> (its point 0 is its init, its end the stage\'s model)')
    save_steps: int = param(200, 'write a resumable checkpoint every n steps')
    save_total_limit: int = param(2, 'keep the last n checkpoints')
    logging_steps: int = param(5, 'log (CSV and progress bar) every n steps')
    num_processes: int = param(1, 'processes; above 1 runs the training under accelerate launch')
    accelerate_config: str = param(
        "", 'accelerate config file (empty: configs/accelerate/ddp_cpu.yaml on CPU, deepspeed_zero2.yaml on GPU)')

    # -------------------------------------------------------------- helpers
    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise TypeError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
        return cls(**data)

    def train_hash(self) -> str:
        """Hash of the settings that change what is trained (not threads, logging, saving cadence)."""
        # no path points leaves the key of a run from before they existed unchanged
        return hash_obj({k: v for k, v in asdict(self).items()
                         if k not in _HASH_EXCLUDE and not (k == "path_points" and not v)})

    def reuse_parts(self) -> dict[str, Any]:
        """Everything a trained model depends on: settings, init model contents, data file hashes, training code,
        library versions.

        A saved model or Trainer checkpoint is reused only when all of these match (:func:`reuse_key`).
        """
        inits: dict[str, str] = {}
        for f in self.INIT_FIELDS:
            name = getattr(self, f)
            try:
                inits[f] = model_fingerprint(self.resolve_model(name))
            except ModelLoadError:
                inits[f] = f"missing:{name}"  # resolve_init raises the user-facing error before training
        data: dict[str, str] = {}
        for name in self.DATA_FILES:
            path = data_file(self, name)
            data[name] = hash_file(path) if path.is_file() else "missing"
        return {"settings": self.train_hash(), "init": inits, "data": data, "code": self.code_hash(),
                "versions": training_versions()}

    @classmethod
    def code_hash(cls) -> str:
        """Content hash of the package code that trains this stage: its module and everything that module imports,
        but the registries, paths, progress and style modules (:data:`trust_utils.codehash.VALUE_NEUTRAL`).

        An edit to the loss, the trainer wiring or a helper they call retrains; an edit elsewhere (a vertical, the
        analysis, a newly registered method) does not. ``MODULE`` names it, so a worker run as ``python -m``
        (``__main__``) gets the same hash.
        """
        return codehash.code_hash(codehash.value_code([f"trust_utils.training.{cls.MODULE}"]))

    def reuse_key(self) -> str:
        return hash_obj(self.reuse_parts())

    @functools.cached_property
    def run(self) -> Run:
        """The run this stage trains in (``run_dir`` and its ``checkpoints.json``, read once)."""
        return Run.open(self.run_dir)

    @property
    def seed_tag(self) -> str:
        """``-s<seed>`` when this stage trains another seed than the run's primary one (profile key ``seeds``)."""
        return self.run.seed_tag(self.seed)

    def stage_dir(self) -> Path:
        """``<run>/<stage>``, or ``<run>/<stage>-s<seed>`` for another training seed (kept apart: models,
        checkpoints, logs)."""
        return self.run.stage_dir(self.STAGE + self.seed_tag)

    def resolve_model(self, name: str) -> str:
        """What ``from_pretrained`` takes for a model this stage starts from: a trained checkpoint name of the run
        (``sft``, ``rm``) of this stage's seed, else ``base`` or a reference. The base model is the same for every
        seed (a ``tiny`` base is built with the run's primary seed)."""
        if name in TRAINED:
            name = name + self.seed_tag
        primary = self.run.primary_seed
        return self.run.resolve(name, self.model, self.cache_dir or None, self.seed if primary is None else primary)

    def path_steps(self, total: int) -> list[int]:
        """The steps (1 .. total-1) of ``path_points`` in a training of ``total`` steps."""
        return path_point_steps(self.path_points, total)

    #: whole-number fields a training stage may have, and what 0 means for each (None: it must be >= 1; "" : the
    #: field's help says); the methods' own fields are listed too, so one table checks every stage
    COUNTS: ClassVar[dict[str, str | None]] = {
        "max_steps": "epochs decide", "n_train": "all", "warmup_steps": "no warmup", "threads": "torch's default",
        "n_eval": "", "n_samples": "no samples shown", "max_length": None, "save_steps": None, "logging_steps": None,
        "lora_r": None, "sample_max_new_tokens": None, "response_length": None, "max_prompt_length": None,
        "max_completion_length": None, "num_generations": None, "num_ppo_epochs": None, "num_mini_batches": None,
        "kl_horizon": None, "batch_size": None, "grad_accum": None, "num_processes": None,
    }

    def validate(self) -> None:
        """Cheap checks before anything is loaded: the runner's plan (and ``--dry-run``) and the stage call it. Counts
        are >= 1, or 0 where 0 has a documented meaning, never negative; ``device`` is ``auto|cpu|cuda[:N]|mps``.
        Raises :class:`TrainingError` naming the stage, the parameter, the value and what is allowed."""
        s = self.STAGE or stage_of(type(self))
        counts = {k: (v if v != "" else f"as its help says: {field_help(type(self), k)}") for k, v in self.COUNTS.items()}
        problems = range_problems(s, self, counts)
        if not isinstance(self.epochs, (int, float)) or isinstance(self.epochs, bool) or not (
                self.epochs > 0 or self.max_steps > 0):
            problems.append(f"stage '{s}': parameter 'epochs' is {self.epochs!r}; allowed: a number > 0 (or set "
                            f"max_steps >= 1)")
        if not isinstance(self.path_points, list) or not all(
                isinstance(f, (int, float)) and not isinstance(f, bool) and 0 < f < 1 for f in self.path_points):
            problems.append(f"stage '{s}': parameter 'path_points' is {self.path_points!r}; allowed: a list of "
                            f"fractions of the training steps, each strictly between 0 and 1 (e.g. [0.25, 0.5])")
        raise_problems(problems, TrainingError)
        if self.learning_rate <= 0:
            raise TrainingError(f"stage '{s}': learning_rate must be > 0, got {self.learning_rate}")
        if self.bf16 not in ("auto", "true", "false"):
            raise TrainingError(f"stage '{s}': bf16 must be auto, true or false, got {self.bf16!r}")
        if self.merge_lora and not self.use_lora:
            log.warning("stage '%s': merge_lora is set but use_lora is not; nothing to merge", s)


def setup(cfg: TrainConfig) -> str:
    """Seed, fix torch threads, and return the device actually used (``auto`` resolved)."""
    set_seed(cfg.seed)
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    if device == "mps":  # the stages are tested on CPU and CUDA only
        device = "cpu"
    return device


def use_bf16(cfg: TrainConfig, device: str) -> bool:
    """bf16 mixed precision (autocast; master weights stay fp32).

    ``auto`` is True on a CUDA device with bf16 and on a CPU with native bf16 matmul (AVX512-bf16 / AMX,
    :func:`trust_utils.utils.cpu_has_native_bf16`), where ``TrainingArguments(bf16=True, use_cpu=True)`` runs CPU
    autocast. Without native support bf16 matmul is emulated (measured 0.56 vs 48 GFLOPS fp32 on a 2-core AVX2
    CPU), so ``auto`` stays fp32 there; ``true`` forces it on a CPU anyway (with a warning) and fails on a GPU
    without bf16.
    """
    import torch

    if cfg.bf16 == "false":
        return False
    if device.startswith("cuda"):
        supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        if cfg.bf16 == "true" and not supported:
            raise TrainingError(f"stage '{cfg.STAGE}': bf16='true' needs a CUDA device with bf16 support "
                                f"(device is {device}); use bf16='auto'")
        return supported
    native = device == "cpu" and utils.cpu_has_native_bf16()  # looked up on the module: tests patch it
    if cfg.bf16 == "true" and not native:
        log.warning("stage '%s': bf16='true' on %s without native bf16 matmul: emulated, much slower than fp32",
                    cfg.STAGE, device)
        return device == "cpu"
    return native


def trainer_kwargs(cfg: TrainConfig, device: str) -> dict[str, Any]:
    """Every ``TrainingArguments`` field the stages rely on, set explicitly (see the module docstring)."""
    out = cfg.stage_dir() / CHECKPOINT_DIR
    return dict(
        output_dir=str(out),
        num_train_epochs=float(cfg.epochs),
        max_steps=int(cfg.max_steps) if cfg.max_steps > 0 else -1,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_steps,
        max_grad_norm=cfg.max_grad_norm,
        optim="adamw_torch",
        gradient_checkpointing=cfg.gradient_checkpointing,
        # batches of similar lengths pad less (stages with pair datasets add a "length" column)
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        bf16=use_bf16(cfg, device),
        fp16=False,
        use_cpu=(device == "cpu"),
        report_to="none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        logging_strategy="steps",
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        logging_nan_inf_filter=False,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="no",
        disable_tqdm=False,
        dataloader_num_workers=0,
        push_to_hub=False,
    )


def data_file(cfg: TrainConfig, name: str) -> Path:
    """``<run_dir>/data/<name>.jsonl``: a file of the data stage that a method reads (hashed into its reuse key)."""
    return cfg.run.dir / "data" / f"{name}.jsonl"


def lora_config(cfg: TrainConfig, task_type: str):
    """A ``peft.LoraConfig`` from the stage config (target modules: PEFT's default for the architecture)."""
    from peft import LoraConfig

    targets = [t.strip() for t in cfg.lora_target_modules.split(",") if t.strip()] or None
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, task_type=task_type)


def config_from_params(config_cls: type[TrainConfig], namespace: dict[str, Any]) -> TrainConfig:
    """Build a stage config from a notebook's parameters (the names of the dataclass's fields in ``namespace``).

    :func:`trust_utils.params.build_config` with :class:`TrainingError` for bad overrides, as the notebooks'
    ``trust_utils.notebook.config_from_params`` does, without importing the notebook helpers into the training code.
    """
    return build_config(config_cls, namespace, error=TrainingError)
