"""Preference pairs as TRL datasets, shared by the methods that train on pairs (the reward model and DPO)."""

from __future__ import annotations

from typing import Any

from .config import TrainConfig, TrainingError, data_file
from .inputs import load_rows


def preference_dataset(rows: list[dict[str, Any]], stage: str):
    """A ``prompt, chosen, rejected`` dataset; an empty ``rows`` raises naming the stage."""
    from datasets import Dataset

    if not rows:
        raise TrainingError(f"stage '{stage}': the preference set is empty; check the data stage's drop report")
    return Dataset.from_list([{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows])


def checked_train_pairs(cfg: TrainConfig, init: str = "") -> list[dict[str, Any]]:
    """The training pairs (``n_train`` of ``pref_train``; 0 = all), refused before training when there are none.
    The ``check`` of :func:`.envelope.run_method` for the methods that train on pairs."""
    rows = load_rows(cfg, "pref_train", cfg.n_train)
    preference_dataset(rows, cfg.STAGE)  # empty set -> clear error before training
    return rows


def held_out_pairs(cfg: TrainConfig) -> list[dict[str, Any]]:
    """``n_eval`` held-out pairs (``pref_test``; 0 = all), none when the data stage wrote no test split."""
    return load_rows(cfg, "pref_test", cfg.n_eval) if data_file(cfg, "pref_test").is_file() else []


def add_length_column(trainer) -> None:
    """Give a tokenised pair dataset the ``length`` column ``group_by_length`` sorts by.

    The Trainer infers lengths only from an ``input_ids`` column; TRL's pair datasets have ``chosen_ids`` and
    ``rejected_ids`` (DPO also ``prompt_ids``), whose summed length is what one example costs.
    """
    ds = trainer.train_dataset
    if ds is None or not trainer.args.train_sampling_strategy == "group_by_length" or "length" in ds.column_names:
        return
    cols = [c for c in ds.column_names if c.endswith("_ids") and "mask" not in c]
    if not cols:
        return
    trainer.train_dataset = ds.map(lambda r: {"length": sum(len(r[c]) for c in cols)}, desc="lengths")
    # the Trainer drops columns outside the trainer's signature list before it builds the sampler; the
    # preference collators read only their own keys, so keeping "length" costs nothing
    trainer._set_signature_columns_if_needed()
    if "length" not in trainer._signature_columns:
        trainer._signature_columns = [*trainer._signature_columns, "length"]
