"""What a method reads before training: the model it starts from and the data stage's prepared rows."""

from __future__ import annotations

from typing import Any

from ..models import ModelLoadError
from .config import TrainConfig, TrainingError


def resolve_init(cfg: TrainConfig, name: str | None = None) -> str:
    """The model a stage starts from (a checkpoint name of the run or a model reference), with a clear error."""
    name = name or cfg.init_from
    try:
        return cfg.resolve_model(name)
    except ModelLoadError as exc:
        raise TrainingError(f"stage '{cfg.STAGE}' cannot start from {name!r}: {exc}") from None


def load_rows(cfg: TrainConfig, name: str, n: int = 0) -> list[dict[str, Any]]:
    """Prepared rows of the data stage (``sft_train``, ``pref_train``, ...); the first ``n`` when n > 0."""
    # data.prepare imports pandas at its top: imported here so that importing a method module stays cheap
    from ..data.prepare import load_prepared

    try:
        rows = load_prepared(cfg.run, name)
    except (FileNotFoundError, ValueError) as exc:
        raise TrainingError(f"stage '{cfg.STAGE}': {exc}") from None
    return rows[:n] if n and n > 0 else rows
