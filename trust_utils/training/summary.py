"""What a stage reports after training: its training log's values, timings, parameter counts and greedy samples."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from ..models import load_causal_lm, load_tokenizer
from .config import TRAIN_LOG, TrainConfig


def read_log(cfg: TrainConfig):
    """The stage's training log (:data:`~.config.TRAIN_LOG`) as a DataFrame; empty when there is none."""
    import pandas as pd

    p = cfg.stage_dir() / TRAIN_LOG
    return pd.read_csv(p) if p.is_file() else pd.DataFrame()


def first_value(df, col: str) -> float | None:
    """The first logged (non-missing) value of ``col`` in a training log, or None."""
    if df is None or df.empty or col not in df or not df[col].notna().any():
        return None
    return float(df[col].dropna().iloc[0])


def last_value(df, col: str) -> float | None:
    """The last logged (non-missing) value of ``col`` in a training log, or None."""
    if df is None or df.empty or col not in df:
        return None
    s = df[col].dropna()
    return float(s.iloc[-1]) if len(s) else None


def count_parameters(model) -> dict[str, int]:
    """Total and trainable parameters of ``model``."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": int(total), "trainable": int(trainable)}


@dataclass
class Timer:
    """Seconds since it was made, rounded to ms, each time it is called."""

    t0: float = dataclasses.field(default_factory=time.perf_counter)

    def __call__(self) -> float:
        return round(time.perf_counter() - self.t0, 3)


def generate_samples(model_dirs: dict[str, str], prompts: list[str], max_new_tokens: int = 32, device: str = "cpu",
                     max_prompt_tokens: int = 256) -> "Any":
    """Greedy continuations of ``prompts`` by each model (``{label: model dir}``): a DataFrame, one row per prompt."""
    import pandas as pd
    import torch

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
