"""Whether a saved model's weights can be loaded, from the safetensors headers alone, and what to do when not.

Used before a model is loaded (:func:`trust_utils.models.load_causal_lm`) and by the dry run's reference checks
(:func:`trust_utils.refs.check_ref`), so a cut-short file is named with its directory instead of failing deep inside
transformers.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path


def safetensors_problem(path: str | os.PathLike) -> str:
    """Why a ``.safetensors`` file cannot be loaded, from its header alone ("" when it looks whole).

    The format is an 8-byte little-endian header length, a JSON header giving each tensor's ``data_offsets``, then
    the data: a file cut short (an interrupted save or copy) has a header longer than the file, a header that is not
    JSON, or tensors that end past the data. Reads a few kilobytes, never the weights.
    """
    p = Path(path)
    size = p.stat().st_size
    if size < 8:
        return f"{p.name} has {size} bytes, fewer than the 8 of a safetensors header length"
    with open(p, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > size - 8:
            return f"{p.name}: its header says {n} bytes of header but the file has only {size} bytes (cut short?)"
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return f"{p.name}: the header is not valid JSON (damaged file)"
    if not isinstance(header, dict):
        return f"{p.name}: the header is not a JSON object (damaged file)"
    data = size - 8 - n
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)
            and isinstance(v.get("data_offsets"), list) and len(v["data_offsets"]) == 2]
    if len(ends) != sum(1 for k in header if k != "__metadata__"):
        return f"{p.name}: a tensor entry of the header has no data_offsets (damaged file)"
    if ends and max(ends) != data:
        return (f"{p.name}: the tensors need {max(ends)} bytes of data but the file holds {data} "
                f"({'cut short' if max(ends) > data else 'trailing bytes'})")
    return ""


def weights_problems(directory: str | os.PathLike) -> list[str]:
    """:func:`safetensors_problem` of every ``*.safetensors`` file directly in ``directory`` (non-empty ones only)."""
    out = []
    for f in sorted(Path(directory).glob("*.safetensors")):
        why = safetensors_problem(f)
        if why:
            out.append(why)
    return out


def checkpoint_hint(directory: Path) -> str:
    """What to do about a damaged model directory: a run's checkpoint (``<run>/<stage>/model``) is made again by
    rerunning its stage; any other folder must be saved or copied again."""
    if directory.name == "model" and (directory.parent / "manifest.json").is_file():
        stage = directory.parent.name
        return (f"it is checkpoint {stage!r} of run {directory.parent.parent}: delete {directory} and rerun "
                f"the {stage!r} stage (rlhf-trust run --profile <profile> --stages {stage} --force)")
    return "save or copy the model into that directory again"


__all__ = ["safetensors_problem", "weights_problems", "checkpoint_hint"]
