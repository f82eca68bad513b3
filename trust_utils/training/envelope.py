"""One envelope around every alignment method's ``run(cfg)``: what each stage does before and after its training.

:func:`run_method` validates the config, seeds, resolves the init model, runs the method's cheap checks (before any
process is launched), trains or reuses (:func:`.launch.run_training`), hands the result to the method's ``report``
(its evaluation and its own summary fields) and writes ``outputs.json`` with the fields every method shares::

    status, reuse, resumed_from, init_from, init_path, <report.head>, model_dir, <report.fields>, files, device, config

``resumed_from`` is the checkpoint step the training resumed from after an interruption, None for an uninterrupted
training (:func:`.reuse.prepare_checkpoints`); a resumed training ends with the weights of an uninterrupted one
(``tests/test_resume_equality.py``), so it marks provenance, not a different result.

with ``files`` = ``model/``, the training log and ``report.files``, the training file as input, and the timings
``train_s`` (validation to the end of training) and ``total_s``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..provenance import write_stage_outputs
from .config import TRAIN_LOG, TrainConfig, data_file, setup
from .inputs import resolve_init
from .launch import TrainFn, run_training
from .reuse import reuse_record
from .summary import Timer


@dataclass
class Trained:
    """What a method's ``report`` gets: the stage after its training (or reuse)."""

    cfg: TrainConfig
    device: str
    #: the resolved model the method started from
    init: str
    #: ``trained`` or ``reused``
    status: str
    #: what the method's ``check`` returned (its training rows, the reward model's path, ...); None without one
    checked: Any = None

    @property
    def out(self) -> Path:
        """The stage directory."""
        return self.cfg.stage_dir()

    @property
    def model_dir(self) -> str:
        """The trained model's directory."""
        return str(self.out / "model")


@dataclass
class Report:
    """A method's own part of ``outputs.json``: ``fields`` after ``model_dir``, ``head`` before it, and the
    ``files`` it wrote besides ``model/`` and the training log."""

    fields: dict[str, Any]
    files: list[str] = dataclasses.field(default_factory=list)
    head: dict[str, Any] = dataclasses.field(default_factory=dict)


def run_method(cfg: TrainConfig, train: TrainFn, report: Callable[[Trained], Report], *,
               check: Callable[[TrainConfig, str], Any] | None = None, train_file: str = "pref_train") -> dict[str, Any]:
    """Run one alignment stage: validate, set up, ``check(cfg, init)``, train or reuse, ``report``, ``outputs.json``.

    Args:
        cfg: the stage's config.
        train: trains and saves the model in one process (the method's ``train``; also what ``accelerate launch`` runs).
        report: evaluates the trained model and returns the method's summary fields and files.
        check: fails early on what would only fail after training (empty data, mismatched tokenizers); its return
            value is passed on as :attr:`Trained.checked`.
        train_file: the data stage's file the method trains on, recorded as the stage's input.

    Returns the summary written to ``outputs.json``.
    """
    cfg.validate()
    timer = Timer()
    device = setup(cfg)
    init = resolve_init(cfg)
    checked = check(cfg, init) if check is not None else None
    status = run_training(cfg, train, device)
    t_train = timer()
    own = report(Trained(cfg, device, init, status, checked))
    reuse = reuse_record(cfg, status)
    summary = {
        "status": status, "reuse": reuse, "resumed_from": reuse["resumed_from"], "init_from": cfg.init_from,
        "init_path": init,
        **own.head, "model_dir": "model", **own.fields,
        "files": ["model/", TRAIN_LOG, *own.files], "device": device, "config": cfg.to_json(),
    }
    write_stage_outputs(cfg.stage_dir(), summary, inputs=[data_file(cfg, train_file)],
                        timings={"train_s": t_train, "total_s": timer()})
    return summary
