"""Preference pairs as TRL datasets, shared by the methods that train on pairs (the reward model and DPO)."""

from __future__ import annotations

from typing import Any

from .config import TrainingError


def preference_dataset(rows: list[dict[str, Any]], stage: str):
    """A ``prompt, chosen, rejected`` dataset; an empty ``rows`` raises naming the stage."""
    from datasets import Dataset

    if not rows:
        raise TrainingError(f"stage '{stage}': the preference set is empty; check the data stage's drop report")
    return Dataset.from_list([{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows])


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
