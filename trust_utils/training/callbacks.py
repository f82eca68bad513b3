"""The Trainer callbacks every method trains with: the CSV training log, the NaN guard and the progress line; and
the resumable epoch order of ``group_by_length`` (:func:`replay_epoch_order`).

This module imports ``transformers`` at its top (the callbacks subclass ``TrainerCallback``), so the method modules
import it inside their ``build_trainer``, where transformers is loaded anyway: importing a method module (the
pipeline does, for its config class) stays cheap.
"""

from __future__ import annotations

import base64
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

from transformers import TrainerCallback, TrainerState
from transformers.trainer_callback import ExportableState

from ..progress import trainer_callback
from .config import TRAIN_LOG, TrainConfig, TrainingDiverged
from .reuse import checkpoint_step


class TrainingLogCallback(TrainerCallback):
    """Append every ``on_log`` record (with ``step``, ``epoch``, wall ``time_s``) to a CSV in the stage dir."""

    def __init__(self, path: Path, resume_step: int = 0, extra: Callable[[Any, Any], dict[str, Any]] | None = None):
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
    """Stop training with :class:`~.config.TrainingDiverged` when a logged loss is NaN or infinite."""

    def __init__(self, stage: str):
        self.stage = stage

    def on_log(self, args, state, control, logs=None, **kwargs):
        for k, v in (logs or {}).items():
            if "loss" in k and isinstance(v, (int, float)) and not math.isfinite(v):
                raise TrainingDiverged(
                    f"stage '{self.stage}': non-finite {k}={v} at step {state.global_step} "
                    f"(epoch {state.epoch}); lower learning_rate or check the data. Earlier stages are untouched; "
                    f"checkpoints so far are in {args.output_dir}")


def standard_callbacks(cfg: TrainConfig, resume: str | None,
                       extra: Callable[[Any, Any], dict[str, Any]] | None = None) -> list[TrainerCallback]:
    """NaN guard, the training log (kept up to the resumed step; ``extra`` adds columns), the progress line and the
    path points (:mod:`.path_points`)."""
    from .path_points import PathPointCallback

    return [NaNGuard(cfg.STAGE), TrainingLogCallback(cfg.stage_dir() / TRAIN_LOG, checkpoint_step(resume), extra),
            trainer_callback(), PathPointCallback(cfg)]


# ------------------------------------------------------------------------------------------ resumable sampling
class EpochOrderRNG(TrainerCallback, ExportableState):
    """The torch RNG state from which the current epoch's length-grouped order was drawn, saved in checkpoints.

    ``LengthGroupedSampler`` (``group_by_length``) draws each epoch's order from the *global* torch RNG when the
    epoch starts. HF Trainer restores that RNG from ``rng_state.pth`` only after it has skipped the trained batches
    of the resumed epoch, so a resume in the middle of an epoch drew that epoch's order from a different state and
    trained the rest of the epoch on other batches (a RandomSampler is immune: accelerate seeds it with
    ``data_seed + epoch``). This callback records ``(epoch, rng)`` at each draw (:class:`ReplayingSampler`); the
    Trainer writes it into ``trainer_state.json`` (``stateful_callbacks``), and a resume draws the interrupted
    epoch's order again from it. An uninterrupted run draws exactly as before.
    """

    def __init__(self, epoch: int | None = None, rng: str | None = None):
        self.epoch, self.rng = epoch, rng

    def state(self) -> dict[str, Any]:
        return {"args": {}, "attributes": {"epoch": self.epoch, "rng": self.rng}}


def _rng_to_str(t) -> str:
    return base64.b64encode(t.numpy().tobytes()).decode("ascii")


def _rng_from_str(s: str):
    import torch

    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


class ReplayingSampler:
    """Wraps a sampler that draws from the global torch RNG: records the state of each draw, replays a saved one."""

    def __init__(self, inner, record: EpochOrderRNG, replay: EpochOrderRNG | None = None):
        self.inner, self.record, self.replay, self.epoch = inner, record, replay, 0

    def __len__(self) -> int:
        return len(self.inner)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch  # the Trainer (through accelerate's DataLoaderShard) says which epoch is starting

    def __iter__(self):
        import torch

        replay, self.replay = self.replay, None
        if replay is not None and replay.epoch == self.epoch and replay.rng:
            keep = torch.get_rng_state()
            torch.set_rng_state(_rng_from_str(replay.rng))
            self.record.epoch, self.record.rng = replay.epoch, replay.rng
            order = list(self.inner)
            torch.set_rng_state(keep)  # the Trainer restores the checkpoint's RNG after skipping; leave it as found
            return iter(order)
        self.record.epoch, self.record.rng = self.epoch, _rng_to_str(torch.get_rng_state())
        return iter(list(self.inner))


class FastForwardSampler:
    """Wraps a sampler that draws each epoch's order from a generator of its own, seeded once (TRL's
    ``RepeatSampler`` of its online trainers): a fresh one would draw epoch 0's order for the resumed epoch e, so the first pass
    first draws and drops the e orders before it, as the uninterrupted run did (a no-op there: it starts at 0)."""

    def __init__(self, inner):
        self.inner, self.epoch, self.fresh = inner, 0, True

    def __len__(self) -> int:
        return len(self.inner)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        if self.fresh:
            self.fresh = False
            for _ in range(self.epoch):
                for _ in self.inner:
                    pass
        return iter(self.inner)


def replay_epoch_order(trainer, resume: str | None) -> None:
    """Make ``trainer``'s epoch order resumable: a length-grouped one (:class:`ReplayingSampler`) and TRL's
    seeded-once ``RepeatSampler`` (:class:`FastForwardSampler`); others (accelerate's sampler seeded with
    ``data_seed + epoch``) are untouched."""
    from transformers.trainer_pt_utils import LengthGroupedSampler
    from trl.trainer.utils import RepeatSampler

    record = EpochOrderRNG()
    replay = None
    if resume:
        saved = TrainerState.load_from_json(str(Path(resume) / "trainer_state.json")).stateful_callbacks
        attrs = (saved.get(EpochOrderRNG.__name__) or {}).get("attributes") or {}
        replay = EpochOrderRNG(attrs.get("epoch"), attrs.get("rng")) if attrs.get("rng") else None
    make = trainer._get_train_sampler

    def sampler(train_dataset=None):
        s = make(train_dataset)
        if isinstance(s, LengthGroupedSampler):
            return ReplayingSampler(s, record, replay)
        return FastForwardSampler(s) if isinstance(s, RepeatSampler) and s.shuffle else s

    trainer._get_train_sampler = sampler
    trainer.add_callback(record)
