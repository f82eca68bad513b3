"""Anthropic HH-style preference data as (prompt, chosen, rejected) triples.

An HH row holds two whole dialogues, ``chosen`` and ``rejected``, whose turns start with
``\\n\\nHuman: `` and ``\\n\\nAssistant: `` and which share every turn but the last Assistant reply.
:func:`parse_pair` splits them into the shared prompt (up to and including the last
``\\n\\nAssistant:``) and the two final replies (leading space kept, so prompt + reply is the
original text). Rows that cannot be used are dropped *and counted by reason*
(:data:`DROP_REASONS`), never silently.

Three sources share one interface, :func:`load_pairs`:
- ``hub``: ``datasets.load_dataset`` on a hub id at ``revision`` (empty = ``main``): ``Anthropic/hh-rlhf``
  (subsets are its data directories, e.g. ``harmless-base``, each with ``train``/``test`` ``.jsonl.gz`` files of
  ``{chosen, rejected}`` dialogues) or ``Dahoas/static-hh`` (parquet ``train``/``test`` splits whose ``prompt``,
  ``response``, ``chosen``, ``rejected`` columns are already split: ``prompt`` ends with ``\n\nAssistant:`` and
  ``chosen``/``rejected`` are the bare replies);
- ``local``: a directory laid out like the original repository, ``<subset>/{train,test}.jsonl.gz``;
- ``bundled``: the project's own small set in the same layout (``data/hh-mini``).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..paths import data_dir
from ..utils import hash_obj, iter_text_lines, load_hub_dataset

log = logging.getLogger(__name__)

HUMAN = "\n\nHuman:"
ASSISTANT = "\n\nAssistant:"
BUNDLED_DIR_NAME = "hh-mini"
DEFAULT_SUBSETS = ("helpful-base", "harmless-base")
#: hub ids whose rows already hold prompt / chosen reply / rejected reply columns.
PRESPLIT_DATASETS = ("Dahoas/static-hh", "Dahoas/rm-static", "Dahoas/full-hh-rlhf")

DROP_REASONS: dict[str, str] = {
    "bad_row": "not a JSON object with string 'chosen' and 'rejected' fields",
    "no_assistant_turn": "a dialogue has no '\\n\\nAssistant:' turn",
    "prompt_mismatch": "chosen and rejected differ before the last Assistant reply",
    "empty_reply": "the final reply of chosen or rejected is empty",
    "identical_pair": "chosen and rejected replies are identical",
    "too_long": "prompt or prompt + reply exceeds the token limits",
}


class HHParseError(ValueError):
    """A row that cannot become a triple; ``reason`` is a key of :data:`DROP_REASONS`."""

    def __init__(self, reason: str, detail: str = ""):
        assert reason in DROP_REASONS, reason
        self.reason = reason
        super().__init__(f"{reason}: {detail or DROP_REASONS[reason]}")


@dataclass(frozen=True)
class PreferencePair:
    prompt: str
    chosen: str
    rejected: str
    subset: str = ""
    split: str = ""

    @property
    def id(self) -> str:
        """Stable id from the content, so an example can be traced (attribution, inspection)."""
        return hash_obj([self.prompt, self.chosen, self.rejected], 12)

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "subset": self.subset, "split": self.split, "prompt": self.prompt,
                "chosen": self.chosen, "rejected": self.rejected}


def split_dialogue(dialogue: str) -> tuple[str, str]:
    """Split a dialogue into (prompt up to and including the last ``\\n\\nAssistant:``, final reply)."""
    idx = dialogue.rfind(ASSISTANT)
    if idx < 0:
        raise HHParseError("no_assistant_turn")
    cut = idx + len(ASSISTANT)
    return dialogue[:cut], dialogue[cut:].rstrip()


def parse_pair(chosen: Any, rejected: Any, subset: str = "", split: str = "") -> PreferencePair:
    """Turn one HH row (two whole dialogues) into a :class:`PreferencePair` or raise :class:`HHParseError`."""
    if not isinstance(chosen, str) or not isinstance(rejected, str):
        raise HHParseError("bad_row")
    p_c, r_c = split_dialogue(chosen)
    p_r, r_r = split_dialogue(rejected)
    if p_c != p_r:
        raise HHParseError("prompt_mismatch")
    return make_pair(p_c, r_c, r_r, subset, split)


def make_pair(prompt: str, chosen: str, rejected: str, subset: str = "", split: str = "") -> PreferencePair:
    """Validate an already split triple (as in ``Dahoas/static-hh``)."""
    if not all(isinstance(x, str) for x in (prompt, chosen, rejected)):
        raise HHParseError("bad_row")
    if ASSISTANT.strip() not in prompt:
        raise HHParseError("no_assistant_turn")
    if not chosen.strip() or not rejected.strip():
        raise HHParseError("empty_reply")
    if chosen.strip() == rejected.strip():
        raise HHParseError("identical_pair")
    return PreferencePair(prompt, chosen.rstrip(), rejected.rstrip(), subset, split)


@dataclass
class DropReport:
    """Counts of dropped rows by (subset, split, reason), with a few examples of each."""

    counts: Counter = field(default_factory=Counter)
    kept: Counter = field(default_factory=Counter)
    examples: dict[str, list[dict]] = field(default_factory=dict)
    max_examples: int = 3

    def drop(self, subset: str, split: str, reason: str, row: Any, where: str = "") -> None:
        self.counts[(subset, split, reason)] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < self.max_examples:
            ex.append({"subset": subset, "split": split, "where": where, "row": row if isinstance(row, (dict, str)) else repr(row)})

    def keep(self, subset: str, split: str) -> None:
        self.kept[(subset, split)] += 1

    def total_dropped(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> list[dict[str, Any]]:
        """Long table: subset, split, reason, count, description (parsed rows included as reason "parsed")."""
        out = [{"subset": s, "split": sp, "reason": "parsed", "count": n, "description": "parsed (before the length filter and sampling)"}
               for (s, sp), n in sorted(self.kept.items())]
        out += [{"subset": s, "split": sp, "reason": r, "count": n, "description": DROP_REASONS[r]}
                for (s, sp, r), n in sorted(self.counts.items())]
        return out


# ------------------------------------------------------------------------------------------- sources
def bundled_dir() -> Path:
    return data_dir() / BUNDLED_DIR_NAME


def _read_jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object or the raw line when it is not JSON)."""
    for i, line in iter_text_lines(path):  # a truncated .jsonl.gz raises DataFileError naming the file
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError:
            yield i, line.rstrip("\n")


def _local_split_file(root: Path, subset: str, split: str) -> Path | None:
    for name in (f"{split}.jsonl.gz", f"{split}.jsonl"):
        p = root / subset / name
        if p.is_file():
            return p
    return None


def local_files(root: str | os.PathLike, subsets: Iterable[str], splits: Iterable[str] = ("train", "test")) -> dict[tuple[str, str], Path]:
    """The files a local (original-layout) source provides; raises if a subset has no train file."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"local HH directory {root} does not exist; expected <subset>/train.jsonl.gz "
                                f"as in the anthropics/hh-rlhf repository")
    found = {}
    for subset in subsets:
        if not (root / subset).is_dir():
            have = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise FileNotFoundError(f"subset {subset!r} not found in {root}; available: {have}")
        for split in splits:
            f = _local_split_file(root, subset, split)
            if f is not None:
                found[(subset, split)] = f
        if (subset, "train") not in found and (subset, "test") not in found:
            raise FileNotFoundError(f"{root / subset} has neither train.jsonl.gz nor test.jsonl.gz")
    return found


def _parse_rows(rows: Iterable[tuple[str, Any]], subset: str, split: str, report: DropReport) -> list[PreferencePair]:
    pairs = []
    for where, row in rows:
        try:
            if not isinstance(row, dict):
                raise HHParseError("bad_row")
            if "prompt" in row and "chosen" in row and "rejected" in row and "\n\nHuman:" not in str(row.get("chosen", "")):
                pair = make_pair(row["prompt"], row["chosen"], row["rejected"], subset, split)
            else:
                pair = parse_pair(row.get("chosen"), row.get("rejected"), subset, split)
        except HHParseError as exc:
            report.drop(subset, split, exc.reason, row, where)
            continue
        report.keep(subset, split)
        pairs.append(pair)
    return pairs


def load_local(root: str | os.PathLike, subsets: Iterable[str], report: DropReport) -> dict[str, list[PreferencePair]]:
    """Read ``<root>/<subset>/{train,test}.jsonl(.gz)`` into pairs by split."""
    out: dict[str, list[PreferencePair]] = {"train": [], "test": []}
    for (subset, split), path in sorted(local_files(root, subsets).items()):
        rows = ((f"{path}:{i}", row) for i, row in _read_jsonl_rows(path))
        out[split].extend(_parse_rows(rows, subset, split, report))
    return out


def load_hub(dataset_id: str, subsets: Iterable[str], report: DropReport, revision: str | None = None) -> dict[str, list[PreferencePair]]:
    """Load from the Hugging Face hub (or a local copy of a hub repository) with ``datasets``.

    ``Anthropic/hh-rlhf``: each subset is a ``data_dir`` of the repository. Pre-split datasets
    (``Dahoas/static-hh``) have no subsets: pass ``subsets=[]``.
    """
    out: dict[str, list[PreferencePair]] = {"train": [], "test": []}
    subsets = list(subsets) or [""]
    for subset in subsets:
        dd = load_hub_dataset(dataset_id, data_dir=subset or None, revision=revision,
                              offline_hint="source 'local' with a copy of the files, or source 'bundled'")
        for split in ("train", "test"):
            if split not in dd:
                continue
            rows = ((f"{dataset_id}/{subset}/{split}:{i}", r) for i, r in enumerate(dd[split]))
            out[split].extend(_parse_rows(rows, subset or dataset_id, split, report))
    return out


def load_pairs(source: str, subsets: Iterable[str] = DEFAULT_SUBSETS, local_dir: str = "",
               dataset_id: str = "Anthropic/hh-rlhf", report: DropReport | None = None,
               revision: str = "") -> tuple[dict[str, list[PreferencePair]], DropReport, list[Path]]:
    """Load preference pairs by split from one of the three sources.

    ``revision`` (hub only; empty = ``main``) is the dataset branch, tag or commit passed to ``load_dataset``.

    Returns:
        (pairs by split, drop report, local files read (for the manifest's input hashes)).
    """
    report = report or DropReport()
    subsets = list(subsets)
    if source == "bundled":
        root = bundled_dir()
        files = list(local_files(root, subsets).values())
        return load_local(root, subsets, report), report, files
    if source == "local":
        if not local_dir:
            raise ValueError("source='local' needs local_dir: a directory laid out like anthropics/hh-rlhf "
                             "(<subset>/train.jsonl.gz, <subset>/test.jsonl.gz)")
        files = list(local_files(local_dir, subsets).values())
        return load_local(local_dir, subsets, report), report, files
    if source == "hub":
        if dataset_id in PRESPLIT_DATASETS:
            subsets = []
        return load_hub(dataset_id, subsets, report, revision=revision or None), report, []
    raise ValueError(f"unknown data source {source!r}: use 'bundled', 'local' or 'hub'")
