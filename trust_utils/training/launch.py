"""Where the training part of a stage runs: in this process, or under ``accelerate launch`` with several.

``num_processes > 1`` runs it as ``accelerate launch --num_processes N --config_file configs/accelerate/<file>.yaml
-m trust_utils.training.<module> <config.json>`` (:func:`launch`, each process entering :func:`worker_main`); the
evaluation and the manifest are then done by the calling process. :func:`run_training` first asks :mod:`.reuse`
whether the saved model can be kept.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable

from ..paths import configs_dir, project_root
from ..utils import write_json
from .config import TrainConfig, TrainingError
from .reuse import REUSE_FILE, finished_model, reuse_decision

log = logging.getLogger(__name__)

#: trains a stage in the calling process (a method module's ``train``).
TrainFn = Callable[[TrainConfig], None]


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


def worker_main(config_cls: type[TrainConfig], train_fn: TrainFn, argv: list[str] | None = None) -> None:
    """Entry point of ``python -m trust_utils.training.<module> <config.json>`` (one per process)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit(f"usage: python -m {config_cls.MODULE and 'trust_utils.training.' + config_cls.MODULE} CONFIG.json")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    cfg = config_cls.from_json(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    train_fn(cfg)


def run_training(cfg: TrainConfig, train_fn: TrainFn, device: str) -> str:
    """Train in this process or under ``accelerate launch``; ``reused`` when the finished model is kept.

    The decision (with its key and, when retraining, what changed) is kept in ``<stage_dir>/reuse.json`` and goes
    into the stage's ``outputs.json`` through :func:`.reuse.reuse_record`.
    """
    decision = reuse_decision(cfg)
    write_json(cfg.stage_dir() / REUSE_FILE, decision)
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
