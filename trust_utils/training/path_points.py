"""Path points: copies of the policy kept along its training, scored like any checkpoint (``<method>@<step>``).

"More RLHF, more trust?" is a dose-response question, so a profile can ask for points along each method's
training (``path_points: [0.25, 0.5]``, fractions of its steps). :class:`PathPointCallback` saves the policy at
those optimizer steps (PPO: updates) to ``<stage_dir>/path/step-<N>/``, beside and independent of the resumable
Trainer checkpoints (``save_total_limit`` never removes them). Point 0 is the method's init (SFT for the methods
that start from it; base for SFT) and its end the stage's ``model``, so neither is copied. A point is written to
``step-<N>.partial`` and renamed when complete, with the stage's reuse key inside (``.train_config.json``); points
of another key (an earlier training) are removed when training starts, so a run never scores a stale point.
:meth:`trust_utils.run.Run.checkpoint_names` finds the complete ones.

This module imports ``transformers`` at its top (the callback subclasses ``TrainerCallback``); the method modules
import it inside ``build_trainer`` (see :mod:`.callbacks`).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from transformers import TrainerCallback

from ..checkpoints import PATH_DIR
from ..utils import read_json, write_json
from .config import TrainConfig
from .reuse import MODEL_MARKER

log = logging.getLogger(__name__)


def path_dir(cfg: TrainConfig) -> Path:
    return cfg.stage_dir() / PATH_DIR


def clear_stale_points(cfg: TrainConfig, keep_upto: int = 0) -> list[Path]:
    """Remove the path points that this training will not reproduce as they are: those of another reuse key, those
    after ``keep_upto`` (the step a resumed training continues from) and any left half-written."""
    d = path_dir(cfg)
    if not d.is_dir():
        return []
    key = cfg.reuse_key()
    removed = []
    for sub in sorted(d.iterdir()):
        step = sub.name[5:] if sub.name.startswith("step-") else ""
        marker = sub / MODEL_MARKER
        stale = (not step.isdigit() or int(step) > keep_upto or not marker.is_file()
                 or read_json(marker).get("key") != key)
        if stale:
            shutil.rmtree(sub, ignore_errors=True) if sub.is_dir() else sub.unlink(missing_ok=True)
            removed.append(sub)
    return removed


def save_point(model, tokenizer, cfg: TrainConfig, step: int) -> Path:
    """Save the policy (merged when it is a LoRA adapter, so a point loads as a plain model) as path point ``step``."""
    final = path_dir(cfg) / f"step-{step}"
    tmp = final.with_name(final.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    if hasattr(model, "peft_config"):
        import copy

        model = copy.deepcopy(model).merge_and_unload()
    model.save_pretrained(tmp)
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp)
    write_json(tmp / MODEL_MARKER, {"key": cfg.reuse_key(), "stage": cfg.STAGE, "path_point": step})
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def _policy(model):
    """The policy inside what a trainer hands its callbacks (DDP ``module``, TRL's policy-and-value wrapper)."""
    model = getattr(model, "module", model)
    return getattr(model, "policy", model)


class PathPointCallback(TrainerCallback):
    """Save the policy at the steps of ``cfg.path_points`` (``offset``: steps done before this trainer started,
    for PPO, which restarts from its last saved policy instead of resuming)."""

    def __init__(self, cfg: TrainConfig, offset: int = 0):
        self.cfg = cfg
        self.offset = offset
        self.steps: set[int] = set()

    def on_train_begin(self, args, state, control, **kwargs):
        total = self.offset + int(state.max_steps or 0)
        self.steps = set(self.cfg.path_steps(total)) if total > 0 else set()
        if state.is_world_process_zero:
            clear_stale_points(self.cfg, keep_upto=self.offset + int(state.global_step or 0))

    def on_step_end(self, args, state, control, **kwargs):
        step = self.offset + state.global_step
        if step not in self.steps or not state.is_world_process_zero:
            return
        tok = kwargs.get("processing_class") or kwargs.get("tokenizer")
        path = save_point(_policy(kwargs["model"]), tok, self.cfg, step)
        log.info("stage '%s': kept path point %s", self.cfg.STAGE, path)
