"""Reuse and resume, keyed by content, and atomic saving of the final model.

A trained model is reused, and a Trainer checkpoint resumed, only under the same *reuse key*
(:meth:`.config.TrainConfig.reuse_parts`: settings, init model contents, data, code, library versions). Trainer
checkpoints go to ``<stage_dir>/checkpoints/checkpoint-<step>`` every ``save_steps`` (the last ``save_total_limit``
kept) with ``config.json`` beside them holding the key; a rerun resumes from them only under the same key, otherwise
they are removed and training starts afresh (:func:`prepare_checkpoints`). The final model is written to
``model.partial`` and renamed to ``model`` only when complete, with ``.train_config.json`` (key and parts) inside
(:func:`save_model_atomic`, :func:`save_trainer_model`); a rerun whose saved model carries the same key does not
retrain (:func:`reuse_decision`), it only redoes the cheap evaluation and the manifest. The decision, why, and the
key go to ``outputs.json`` (:func:`reuse_record`).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from ..models import is_complete_checkpoint
from ..utils import hash_obj, read_json, write_json
from .config import CHECKPOINT_DIR, TrainConfig

log = logging.getLogger(__name__)

#: the file inside a saved model that records the reuse key it was trained under.
MODEL_MARKER = ".train_config.json"
#: the last reuse decision of a stage, in its directory (read back by :func:`reuse_record`).
REUSE_FILE = "reuse.json"


# ------------------------------------------------------------------------------------------ resume and reuse
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


def reuse_record(cfg: TrainConfig, status: str) -> dict[str, Any]:
    """What outputs.json records about reuse: the decision (``trained``/``reused``), why, and the key with its parts."""
    p = cfg.stage_dir() / REUSE_FILE
    rec = read_json(p) if p.is_file() else reuse_decision(cfg)
    return {"decision": status, "why": rec.get("why", ""), "key": rec.get("key"), "parts": rec.get("parts")}


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
