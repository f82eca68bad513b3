"""Where a stage's data came from: the ``source`` record of ``outputs.json`` (kind, id, revision, resolved commit).

Every hub loader (the five verticals, the HH data stage) takes a ``revision`` parameter (a branch, tag or commit;
empty = ``main``) and passes it to ``datasets.load_dataset`` / ``hf_hub_download``. :func:`source_info` records
what was asked for *and* the commit SHA it resolved to (:func:`trust_utils.utils.resolve_hub_revision`), so a
result can be traced to the exact dataset files even after ``main`` moves. Offline the SHA comes from the local
Hugging Face cache, or reads ``unresolved:<revision>``; bundled and local sources have no revision (their files
are hashed into the manifest's inputs instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import utils


def source_info(kind: str, dataset_id: str = "", revision: str = "", path: str = "") -> dict[str, Any]:
    """``{kind, id, revision, resolved_revision}`` for ``outputs.json``.

    Args:
        kind: ``bundled``, ``local`` or ``hub``.
        dataset_id: the hub id (``hub``); a local directory laid out like the hub repository is recorded as such.
        revision: the revision asked for (empty = ``main``).
        path: for ``bundled``/``local``: the root that was read.
    """
    if kind != "hub":
        return {"kind": kind, "id": str(path), "revision": "", "resolved_revision": ""}
    if dataset_id and Path(dataset_id).expanduser().is_dir():  # a local copy of a hub repository (tests, mirrors)
        return {"kind": kind, "id": dataset_id, "revision": revision, "resolved_revision": "local-directory"}
    return {"kind": kind, "id": dataset_id, "revision": revision,
            "resolved_revision": utils.resolve_hub_revision(dataset_id, revision, "dataset")}


__all__ = ["source_info"]
