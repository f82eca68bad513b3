"""What every alignment stage shares: the config base, explicit trainer arguments, resume, NaN guard,
the CSV training log, atomic saving (full model or LoRA adapter, merged on demand) and ``accelerate launch``.

Explicit, never TRL's silent defaults
    TRL's configs default ``bf16=True``, ``gradient_checkpointing=True`` and ``logging_steps=10``, and the
    Trainer reports to every installed tracker and *filters* NaN/inf losses out of the logged average
    (``logging_nan_inf_filter``). :func:`trainer_kwargs` sets all of these from the stage config: bf16 only
    on CUDA with bf16 support and on CPUs with native bf16 matmul (``bf16="auto"``, :func:`use_bf16`), ``report_to="none"``, ``seed``/``data_seed`` from one ``seed``,
    ``logging_nan_inf_filter=False`` so the :class:`NaNGuard` sees a diverged loss, ``disable_tqdm=False``.

Reuse and resume, keyed by content
    A trained model depends on more than the stage's settings: its code, the *weights* it starts from (for PPO also the reward
    model and the value model's init), the data files it reads and the training libraries. :meth:`TrainConfig.reuse_parts`
    collects all five (``settings``: the config hash without threads/logging/saving cadence; ``init``: the content
    fingerprint of each init model, :func:`trust_utils.models.model_fingerprint`; ``data``: hashes of the data stage's
    files; ``code``: the hash of the stage's training module and the package modules it imports,
    :meth:`TrainConfig.code_hash`; ``versions``: torch, transformers, trl, peft, accelerate, datasets, tokenizers)
    and hashes them into the
    *reuse key*. Trainer checkpoints go to ``<stage_dir>/checkpoints/checkpoint-<step>`` every ``save_steps`` (the last
    ``save_total_limit`` kept) with ``config.json`` beside them holding the key; a rerun resumes from them only under
    the same key, otherwise they are removed and training starts afresh. The final model is written to
    ``model.partial`` and renamed to ``model`` only when complete, with ``.train_config.json`` (key and parts) inside;
    a rerun whose saved model carries the same key does not retrain (:func:`reuse_decision`), it only redoes the cheap
    evaluation and the manifest. The decision, why, and the key go to ``outputs.json`` (``reuse``).

Several processes
    ``num_processes > 1`` runs the training part of a stage as
    ``accelerate launch --num_processes N --config_file configs/accelerate/<file>.yaml -m trust_utils.training.<stage>
    <config.json>`` (:func:`launch`); the evaluation and the manifest are then done by the calling process.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..paths import configs_dir, project_root, stage_dir
from ..utils import hash_obj, read_json, resolve_device, set_seed, set_threads, write_json
from ..params import ModelStageConfig, param

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
TRAIN_LOG = "training_log.csv"
MODEL_MARKER = ".train_config.json"
#: config fields that do not change what is trained (excluded from the resume / reuse hash).
_HASH_EXCLUDE = {"threads", "num_processes", "accelerate_config", "save_steps", "save_total_limit",
                 "logging_steps", "n_samples", "n_eval"}


#: libraries whose versions change what a training run produces (part of the reuse key).
TRAINING_LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers")


def training_versions() -> dict[str, str]:
    from ..manifest import versions

    v = versions()
    return {k: v.get(k, "missing") for k in TRAINING_LIBRARIES}


class TrainingError(RuntimeError):
    """A stage cannot train as configured; the message names the stage and what to fix."""


class TrainingDiverged(TrainingError):
    """A non-finite loss was logged: training stops with the stage and the step."""


# ------------------------------------------------------------------------------------------ config
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
    learning_rate: float = param(1e-5, 'AdamW learning rate')
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
        return hash_obj({k: v for k, v in asdict(self).items() if k not in _HASH_EXCLUDE})

    def reuse_parts(self) -> dict[str, Any]:
        """Everything a trained model depends on: settings, init model contents, data file hashes, training code,
        library versions.

        A saved model or Trainer checkpoint is reused only when all of these match (:func:`reuse_key`).
        """
        from ..models import ModelLoadError, model_fingerprint, resolve_checkpoint
        from ..utils import hash_file

        inits: dict[str, str] = {}
        for f in self.INIT_FIELDS:
            name = getattr(self, f)
            try:
                inits[f] = model_fingerprint(resolve_checkpoint(name, self.run_dir, self.model, self.cache_dir or None,
                                                                self.seed))
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
        from .. import codehash

        return codehash.code_hash(codehash.value_code([f"trust_utils.training.{cls.MODULE}"]))

    def reuse_key(self) -> str:
        return hash_obj(self.reuse_parts())

    def stage_dir(self) -> Path:
        return stage_dir(self.run_dir, self.STAGE)

    def validate(self) -> None:
        """Cheap checks before anything is loaded."""
        s = self.STAGE
        if self.batch_size < 1 or self.grad_accum < 1:
            raise TrainingError(f"stage '{s}': batch_size and grad_accum must be >= 1")
        if self.num_processes < 1:
            raise TrainingError(f"stage '{s}': num_processes must be >= 1")
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

    from ..utils import cpu_has_native_bf16

    if cfg.bf16 == "false":
        return False
    if device.startswith("cuda"):
        supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        if cfg.bf16 == "true" and not supported:
            raise TrainingError(f"stage '{cfg.STAGE}': bf16='true' needs a CUDA device with bf16 support "
                                f"(device is {device}); use bf16='auto'")
        return supported
    native = device == "cpu" and cpu_has_native_bf16()
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


# ------------------------------------------------------------------------------------------ inputs
def resolve_init(cfg: TrainConfig, name: str | None = None) -> str:
    """The model a stage starts from (a checkpoint name of the run or a model reference), with a clear error."""
    from ..models import ModelLoadError, resolve_checkpoint

    name = name or cfg.init_from
    try:
        return resolve_checkpoint(name, cfg.run_dir, cfg.model, cfg.cache_dir or None, cfg.seed)
    except ModelLoadError as exc:
        raise TrainingError(f"stage '{cfg.STAGE}' cannot start from {name!r}: {exc}") from None


def load_rows(cfg: TrainConfig, name: str, n: int = 0) -> list[dict[str, Any]]:
    """Prepared rows of the data stage (``sft_train``, ``pref_train``, ...); the first ``n`` when n > 0."""
    from ..data.prepare import load_prepared

    try:
        rows = load_prepared(cfg.run_dir, name)
    except (FileNotFoundError, ValueError) as exc:
        raise TrainingError(f"stage '{cfg.STAGE}': {exc}") from None
    return rows[:n] if n and n > 0 else rows


def data_file(cfg: TrainConfig, name: str) -> Path:
    from ..paths import resolve_run_dir

    return resolve_run_dir(cfg.run_dir) / "data" / f"{name}.jsonl"


def lora_config(cfg: TrainConfig, task_type: str):
    """A ``peft.LoraConfig`` from the stage config (target modules: PEFT's default for the architecture)."""
    from peft import LoraConfig

    targets = [t.strip() for t in cfg.lora_target_modules.split(",") if t.strip()] or None
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, task_type=task_type)


# ------------------------------------------------------------------------------------------ resume
def prepare_checkpoints(cfg: TrainConfig, is_main: bool = True) -> str | None:
    """The checkpoint to resume from (None: start afresh); clears checkpoints of a different config."""
    from transformers.trainer_utils import get_last_checkpoint

    ckpt = cfg.stage_dir() / CHECKPOINT_DIR
    marker = ckpt / "config.json"
    parts = cfg.reuse_parts()
    h = hash_obj(parts)
    if ckpt.is_dir() and (not marker.is_file() or read_json(marker).get("hash") != h):
        # resume only under the same key: settings, init weights, data and library versions all unchanged
        if is_main:
            log.info("stage '%s': %s changed since the checkpoints in %s were written; starting afresh", cfg.STAGE,
                     _what_changed(read_json(marker).get("parts") if marker.is_file() else None, parts), ckpt)
            shutil.rmtree(ckpt, ignore_errors=True)
    last = get_last_checkpoint(str(ckpt)) if ckpt.is_dir() else None
    if is_main:
        ckpt.mkdir(parents=True, exist_ok=True)
        write_json(marker, {"hash": h, "parts": parts, "config": cfg.to_json()})
    if last:
        log.info("stage '%s': resuming from %s", cfg.STAGE, last)
    return last


def checkpoint_step(path: str | None) -> int:
    if not path:
        return 0
    try:
        return int(Path(path).name.rsplit("-", 1)[-1])
    except ValueError:
        return 0


def _what_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """Which parts of a reuse key differ (``settings``, ``init``, ``data``, ``code``, ``versions``), for logs and outputs."""
    if not old:
        return "the reuse key (none recorded)"
    changed = [k for k in new if old.get(k) != new[k]]
    return ", ".join(changed) or "nothing"


def reuse_decision(cfg: TrainConfig) -> dict[str, Any]:
    """Whether the saved model can be kept: ``{"reuse": bool, "key", "parts", "why"}`` (written to outputs.json)."""
    from ..paths import is_complete_checkpoint

    parts = cfg.reuse_parts()
    key = hash_obj(parts)
    d = cfg.stage_dir() / "model"
    m = d / MODEL_MARKER
    if not is_complete_checkpoint(d) or not m.is_file():
        return {"reuse": False, "key": key, "parts": parts, "why": "no complete saved model"}
    rec = read_json(m)
    if rec.get("key") == key:
        return {"reuse": True, "key": key, "parts": parts, "why": "settings, init models, data, code and versions unchanged"}
    return {"reuse": False, "key": key, "parts": parts,
            "why": f"{_what_changed(rec.get('parts'), parts)} changed since the saved model was trained"}


def finished_model(cfg: TrainConfig) -> Path | None:
    """The stage's final model directory when it is complete and its reuse key matches (see :func:`reuse_decision`)."""
    return cfg.stage_dir() / "model" if reuse_decision(cfg)["reuse"] else None


# ------------------------------------------------------------------------------------------ callbacks
def _trainer_callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


class _Lazy:
    """Build the callback classes on first use, so importing this module does not import transformers."""

    _cache: dict[str, type] = {}

    @classmethod
    def get(cls, name: str) -> type:
        if name not in cls._cache:
            cls._cache.update(_make_callbacks())
        return cls._cache[name]


def _make_callbacks() -> dict[str, type]:
    TrainerCallback = _trainer_callback_base()

    class TrainingLogCallback(TrainerCallback):
        """Append every ``on_log`` record (with ``step``, ``epoch``, wall ``time_s``) to a CSV in the stage dir."""

        def __init__(self, path: Path, resume_step: int = 0, extra=None):
            self.path = Path(path)
            self.rows: list[dict[str, Any]] = []
            self.extra = extra
            self.t0 = time.perf_counter()
            if resume_step and self.path.is_file():
                import pandas as pd

                old = pd.read_csv(self.path)
                self.rows = old[old["step"] <= resume_step].to_dict("records")
            elif self.path.is_file():
                self.path.unlink()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            row = {"step": state.global_step, "epoch": state.epoch, "time_s": round(time.perf_counter() - self.t0, 3)}
            row.update({k: v for k, v in logs.items() if isinstance(v, (int, float, str, bool))})
            if self.extra is not None:
                row.update(self.extra(args, state))
            self.rows.append(row)
            import pandas as pd

            tmp = self.path.with_name(f".{self.path.name}.tmp")
            pd.DataFrame(self.rows).to_csv(tmp, index=False)
            os.replace(tmp, self.path)

    class NaNGuard(TrainerCallback):
        """Stop training with :class:`TrainingDiverged` when a logged loss is NaN or infinite."""

        def __init__(self, stage: str):
            self.stage = stage

        def on_log(self, args, state, control, logs=None, **kwargs):
            for k, v in (logs or {}).items():
                if "loss" in k and isinstance(v, (int, float)) and not math.isfinite(v):
                    raise TrainingDiverged(
                        f"stage '{self.stage}': non-finite {k}={v} at step {state.global_step} "
                        f"(epoch {state.epoch}); lower learning_rate or check the data. Earlier stages are untouched; "
                        f"checkpoints so far are in {args.output_dir}")

    return {"TrainingLogCallback": TrainingLogCallback, "NaNGuard": NaNGuard}


def TrainingLogCallback(*args, **kwargs):  # noqa: N802 - a factory that looks like the class
    return _Lazy.get("TrainingLogCallback")(*args, **kwargs)


def NaNGuard(stage: str):  # noqa: N802
    return _Lazy.get("NaNGuard")(stage)


def standard_callbacks(cfg: TrainConfig, resume: str | None, extra=None) -> list:
    from ..progress import trainer_callback

    return [NaNGuard(cfg.STAGE), TrainingLogCallback(cfg.stage_dir() / TRAIN_LOG, checkpoint_step(resume), extra),
            trainer_callback()]


# ------------------------------------------------------------------------------------------ saving
def _swap_in(tmp: Path, final: Path) -> Path:
    """Replace ``final`` by the complete directory ``tmp`` (rename; the old one is removed only after)."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _marker(cfg: TrainConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    parts = cfg.reuse_parts()
    return {"key": hash_obj(parts), "parts": parts, "hash": cfg.train_hash(), "stage": cfg.STAGE,
            "config": cfg.to_json(), **(extra or {})}


def save_model_atomic(model, tokenizer, cfg: TrainConfig, marker_extra: dict[str, Any] | None = None) -> Path:
    """Save a (possibly PEFT) model and its tokenizer to ``<stage_dir>/model`` via ``model.partial``.

    A PEFT model is merged into its base when ``cfg.merge_lora``; otherwise the adapter is saved together with the
    base's ``config.json`` (so the directory counts as a checkpoint; :func:`trust_utils.models.load_causal_lm`
    merges it on load).
    """
    final = cfg.stage_dir() / "model"
    tmp = final.with_name("model.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    is_peft = hasattr(model, "peft_config")
    if is_peft and cfg.merge_lora:
        model = model.merge_and_unload()
        is_peft = False
    model.save_pretrained(tmp)
    if is_peft:
        model.get_base_model().config.save_pretrained(tmp)
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp)
    write_json(tmp / MODEL_MARKER, _marker(cfg, {"lora_adapter": is_peft, **(marker_extra or {})}))
    return _swap_in(tmp, final)


def save_trainer_model(trainer, tokenizer, cfg: TrainConfig) -> Path:
    """Save a HF Trainer's model atomically from every process (DeepSpeed/FSDP gather through ``save_model``)."""
    final = cfg.stage_dir() / "model"
    tmp = final.with_name("model.partial")
    acc = trainer.accelerator
    main = acc.is_main_process
    if main and tmp.exists():
        shutil.rmtree(tmp)
    acc.wait_for_everyone()
    model = acc.unwrap_model(trainer.model)
    if cfg.use_lora and cfg.merge_lora:
        if main:
            save_model_atomic(model, tokenizer, cfg)
        acc.wait_for_everyone()
        return final
    trainer.save_model(str(tmp))
    if main:
        if hasattr(model, "peft_config"):
            model.get_base_model().config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / MODEL_MARKER, _marker(cfg, {"lora_adapter": hasattr(model, "peft_config")}))
        for junk in ("training_args.bin",):
            (tmp / junk).unlink(missing_ok=True)
        _swap_in(tmp, final)
    acc.wait_for_everyone()
    return final


# ------------------------------------------------------------------------------------------ launch
def default_accelerate_config(device: str) -> Path:
    """``ddp_cpu.yaml`` on CPU; ``deepspeed_zero2.yaml`` on GPUs (the paper's PPO launch used ZeRO-2)."""
    name = "ddp_cpu.yaml" if device == "cpu" else "deepspeed_zero2.yaml"
    return configs_dir() / "accelerate" / name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(cfg: TrainConfig, device: str, timeout: float | None = None) -> None:
    """Run ``python -m trust_utils.training.<module> <config.json>`` under ``accelerate launch`` with N processes."""
    sd = cfg.stage_dir()
    cfg_json = sd / "launch_config.json"
    write_json(cfg_json, cfg.to_json())
    acc_cfg = Path(cfg.accelerate_config) if cfg.accelerate_config else default_accelerate_config(device)
    if not acc_cfg.is_absolute():
        acc_cfg = project_root() / acc_cfg
    if not acc_cfg.is_file():
        raise TrainingError(f"stage '{cfg.STAGE}': accelerate config {acc_cfg} does not exist")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(cfg.num_processes),
           "--config_file", str(acc_cfg), "--main_process_port", str(_free_port()),
           "-m", f"trust_utils.training.{cfg.MODULE}", str(cfg_json)]
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(max(1, cfg.threads))
    env["PYTHONPATH"] = os.pathsep.join([str(project_root()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    log.info("stage '%s': %s", cfg.STAGE, " ".join(cmd))
    proc = subprocess.run(cmd, env=env, cwd=str(project_root()), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    (sd / "launch.log").write_text(proc.stdout or "", encoding="utf-8")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout or "").splitlines()[-25:])
        raise TrainingError(f"stage '{cfg.STAGE}': accelerate launch with {cfg.num_processes} processes failed "
                            f"(exit {proc.returncode}); full log in {sd / 'launch.log'}\n{tail}")


def worker_main(config_cls, train_fn, argv: list[str] | None = None) -> None:
    """Entry point of ``python -m trust_utils.training.<module> <config.json>`` (one per process)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit(f"usage: python -m {config_cls.MODULE and 'trust_utils.training.' + config_cls.MODULE} CONFIG.json")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    cfg = config_cls.from_json(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    train_fn(cfg)


def run_training(cfg: TrainConfig, train_fn, device: str) -> str:
    """Train in this process or under ``accelerate launch``; ``reused`` when the finished model is kept.

    The decision (with its key and, when retraining, what changed) is kept in ``<stage_dir>/reuse.json`` and goes
    into the stage's ``outputs.json`` through :func:`reuse_record`.
    """
    decision = reuse_decision(cfg)
    write_json(cfg.stage_dir() / "reuse.json", decision)
    if decision["reuse"]:
        log.info("stage '%s': model in %s was trained under the same key %s (%s); not retraining", cfg.STAGE,
                 cfg.stage_dir() / "model", decision["key"], decision["why"])
        return "reused"
    log.info("stage '%s': training (%s)", cfg.STAGE, decision["why"])
    if cfg.num_processes > 1:
        launch(cfg, device)
    else:
        train_fn(cfg)
    if finished_model(cfg) is None:
        raise TrainingError(f"stage '{cfg.STAGE}': training ended without a complete model in {cfg.stage_dir() / 'model'}")
    return "trained"


def reuse_record(cfg: TrainConfig, status: str) -> dict[str, Any]:
    """What outputs.json records about reuse: the decision (``trained``/``reused``), why, and the key with its parts."""
    p = cfg.stage_dir() / "reuse.json"
    rec = read_json(p) if p.is_file() else reuse_decision(cfg)
    return {"decision": status, "why": rec.get("why", ""), "key": rec.get("key"), "parts": rec.get("parts")}


# ------------------------------------------------------------------------------------------ summaries
def read_log(cfg: TrainConfig):
    import pandas as pd

    p = cfg.stage_dir() / TRAIN_LOG
    return pd.read_csv(p) if p.is_file() else pd.DataFrame()


def first_value(df, col: str) -> float | None:
    """The first logged (non-missing) value of ``col`` in a training log, or None."""
    if df is None or df.empty or col not in df or not df[col].notna().any():
        return None
    return float(df[col].dropna().iloc[0])


def last_value(df, col: str) -> float | None:
    if df is None or df.empty or col not in df:
        return None
    s = df[col].dropna()
    return float(s.iloc[-1]) if len(s) else None


def count_parameters(model) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": int(total), "trainable": int(trainable)}


@dataclass
class Timer:
    t0: float = dataclasses.field(default_factory=time.perf_counter)

    def __call__(self) -> float:
        return round(time.perf_counter() - self.t0, 3)


def generate_samples(model_dirs: dict[str, str], prompts: list[str], max_new_tokens: int = 32, device: str = "cpu",
                     max_prompt_tokens: int = 256) -> "Any":
    """Greedy continuations of ``prompts`` by each model (``{label: model dir}``): a DataFrame, one row per prompt."""
    import pandas as pd
    import torch

    from ..models import load_causal_lm, load_tokenizer

    rows = [{"prompt": p} for p in prompts]
    for label, ref in model_dirs.items():
        tok = load_tokenizer(ref, padding_side="left")
        model = load_causal_lm(ref, device=device)
        for row in rows:
            enc = tok(row["prompt"], return_tensors="pt", truncation=True, max_length=max_prompt_tokens).to(device)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            row[label] = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        del model
    return pd.DataFrame(rows)


def config_from_params(config_cls, namespace: dict[str, Any]):
    """Build a stage config from a notebook's parameters (the names of the dataclass's fields in ``namespace``)."""
    from ..notebook import config_from_params as build

    return build(config_cls, namespace, error=TrainingError)
