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
def prepare_checkpoints(cfg: TrainConfig, is_main: bool = True, required: tuple[str, ...] = ()) -> str | None:
    """The checkpoint to resume from (None: start afresh); clears checkpoints of a different config.

    The newest *complete* ``checkpoint-N`` is taken (:func:`checkpoint_problem`; ``required`` names files a method
    adds to its checkpoints); one cut off mid-save by a kill is skipped with a logged note and removed, so the
    rerun falls back to the one before instead of failing. The step resumed from goes to ``reuse.json``
    (``resumed_from``, None when training starts afresh) and from there into the saved model's marker and
    ``outputs.json`` (:func:`reuse_record`).
    """
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
    last = last_complete_checkpoint(ckpt, required, remove_incomplete=is_main) if ckpt.is_dir() else None
    if is_main:
        ckpt.mkdir(parents=True, exist_ok=True)
        write_json(marker, {"hash": h, "parts": parts, "config": cfg.to_json()})
        _note_resume(cfg, checkpoint_step(last) if last else None)
    if last:
        log.info("stage '%s': resuming from %s", cfg.STAGE, last)
    return last


def _note_resume(cfg: TrainConfig, step: int | None) -> None:
    """Record ``resumed_from`` in the stage's ``reuse.json`` (read by :func:`_marker` and :func:`reuse_record`)."""
    p = cfg.stage_dir() / REUSE_FILE
    rec = read_json(p) if p.is_file() else {}
    rec["resumed_from"] = step
    write_json(p, rec)


#: what every HF Trainer checkpoint holds besides its weights (``trainer_state.json`` is written last)
TRAINER_FILES = ("config.json", "trainer_state.json", "scheduler.pt")


def _safetensors_problem(p: Path) -> str | None:
    """Why ``p`` is not a whole safetensors file: its header's last tensor must end exactly at the file's end."""
    import json
    import struct

    size = p.stat().st_size
    try:
        with p.open("rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n)) if 8 + n <= size else None
    except (struct.error, ValueError, UnicodeDecodeError):
        header = None
    if header is None:
        return f"{p.name} is truncated (no whole header)"
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    return None if size == 8 + n + end else f"{p.name} is truncated ({size} of {8 + n + end} bytes)"


def checkpoint_problem(path: Path, required: tuple[str, ...] = ()) -> str | None:
    """Why a ``checkpoint-N`` directory cannot be resumed (None when it is complete).

    Complete: ``trainer_state.json`` parses and says step N, the weights (``model*.safetensors`` or a LoRA
    ``adapter_model.safetensors``) are whole, the optimizer (``optimizer.pt``, or DeepSpeed's ``global_step*``
    folder) and an ``rng_state*.pth`` are there, every ``.pt``/``.pth`` file is a whole zip archive (``torch.save``
    writes its index at the end, so a cut-off file has none), and the ``required`` files exist.
    """
    import zipfile

    for name in (*TRAINER_FILES, *required):
        if not (path / name).is_file():
            return f"no {name}"
    try:
        step = read_json(path / "trainer_state.json").get("global_step")
    except ValueError:
        return "trainer_state.json does not parse"
    if step != checkpoint_step(str(path)):
        return f"trainer_state.json says step {step}"
    weights = sorted(path.glob("model*.safetensors")) or sorted(path.glob("adapter_model.safetensors"))
    if not weights:
        return "no model weights"
    for p in [*weights, *(path / r for r in required if r.endswith(".safetensors"))]:
        problem = _safetensors_problem(p)
        if problem:
            return problem
    if not (path / "optimizer.pt").is_file() and not any(path.glob("global_step*")):
        return "no optimizer.pt"
    if not any(path.glob("rng_state*.pth")):
        return "no rng_state.pth"
    for p in [*path.glob("*.pt"), *path.glob("*.pth")]:
        if not zipfile.is_zipfile(p):
            return f"{p.name} is truncated"
    return None


def last_complete_checkpoint(ckpt: Path, required: tuple[str, ...] = (), remove_incomplete: bool = True) -> str | None:
    """The newest complete ``checkpoint-N`` in ``ckpt`` (:func:`checkpoint_problem`); newer incomplete ones are
    logged and (``remove_incomplete``) removed, so the Trainer's checkpoint rotation does not count them."""
    found = sorted((p for p in ckpt.glob("checkpoint-*") if p.is_dir() and checkpoint_step(str(p)) > 0),
                   key=lambda p: checkpoint_step(str(p)), reverse=True)
    for p in found:
        problem = checkpoint_problem(p, required)
        if problem is None:
            return str(p)
        log.warning("%s is incomplete (%s; cut off while saving?); skipping it%s", p, problem,
                    " and removing it" if remove_incomplete else "")
        if remove_incomplete:
            shutil.rmtree(p, ignore_errors=True)
    return None


def load_checkpoint_weights(model, cfg: TrainConfig, resume: str | None) -> None:
    """Give a HF-Trainer stage's freshly loaded ``model`` the weights of the checkpoint it resumes (full fine-tuning).

    ``Trainer._load_from_checkpoint`` reads ``model.safetensors`` with ``load_state_dict(strict=False)`` and no key
    conversion, so a weight that ``save_pretrained`` writes under its original checkpoint name (GPT-NeoX/Pythia:
    ``embed_out.weight`` for the model's ``lm_head``) is silently *not* restored: a resumed run trained the rest of
    the model on the init's output layer. ``from_pretrained`` converts the names, so the checkpoint is loaded with it
    and copied in; the Trainer's own partial reload then writes the same values again. The model itself stays loaded
    from its init, since trainers read their reference from ``config._name_or_path`` (TRL's online trainers). A LoRA checkpoint
    holds only the adapter, which the Trainer restores with PEFT.
    """
    if not resume or cfg.use_lora:
        return
    saved = type(model).from_pretrained(resume)
    model.load_state_dict(saved.state_dict())


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
        return {"reuse": True, "key": key, "parts": parts, "why": "settings, init models, data, code and versions unchanged",
                "resumed_from": rec.get("resumed_from")}
    return {"reuse": False, "key": key, "parts": parts,
            "why": f"{_what_changed(rec.get('parts'), parts)} changed since the saved model was trained"}


def finished_model(cfg: TrainConfig) -> Path | None:
    """The stage's final model directory when it is complete and its reuse key matches (see :func:`reuse_decision`)."""
    return cfg.stage_dir() / "model" if reuse_decision(cfg)["reuse"] else None


def reuse_record(cfg: TrainConfig, status: str) -> dict[str, Any]:
    """What outputs.json records about reuse: the decision (``trained``/``reused``), why, the key with its parts, and
    ``resumed_from``: the checkpoint step the model's training resumed from after an interruption (None: it ran
    uninterrupted; a reused model keeps the value it was saved with)."""
    p = cfg.stage_dir() / REUSE_FILE
    rec = read_json(p) if p.is_file() else reuse_decision(cfg)
    return {"decision": status, "why": rec.get("why", ""), "key": rec.get("key"), "parts": rec.get("parts"),
            "resumed_from": rec.get("resumed_from")}


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
    p = cfg.stage_dir() / REUSE_FILE
    resumed = read_json(p).get("resumed_from") if p.is_file() else None
    return {"key": hash_obj(parts), "parts": parts, "hash": cfg.train_hash(), "stage": cfg.STAGE,
            "config": cfg.to_json(), "resumed_from": resumed, **(extra or {})}


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
