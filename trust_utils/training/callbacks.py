"""The Trainer callbacks every method trains with: the CSV training log, the NaN guard and the progress line.

This module imports ``transformers`` at its top (the callbacks subclass ``TrainerCallback``), so the method modules
import it inside their ``build_trainer``, where transformers is loaded anyway: importing a method module (the
pipeline does, for its config class) stays cheap.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable

from transformers import TrainerCallback

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
                       extra: Callable[[Any, Any], dict[str, Any]] | None = None,
                       step_offset: int = 0) -> list[TrainerCallback]:
    """NaN guard, the training log (kept up to the resumed step; ``extra`` adds columns), the progress line and the
    path points (:mod:`.path_points`; ``step_offset``: steps done before this trainer started, PPO's restart)."""
    from .path_points import PathPointCallback

    return [NaNGuard(cfg.STAGE), TrainingLogCallback(cfg.stage_dir() / TRAIN_LOG, checkpoint_step(resume), extra),
            trainer_callback(), PathPointCallback(cfg, step_offset)]
