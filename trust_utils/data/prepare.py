"""The data preparation stage: preference pairs -> SFT set and preference set in the run directory.

Outputs in ``<run_dir>/data/``:
- ``sft_{train,test}.jsonl``: ``{id, subset, prompt, completion}``, completion = the chosen reply;
- ``pref_{train,test}.jsonl``: ``{id, subset, prompt, chosen, rejected}``;
- ``drop_report.csv``: kept and dropped rows by subset, split and reason; ``dropped_examples.json``;
- ``lengths.csv``: token lengths of prompt / chosen / rejected, for the notebook's plot.

The split is the source's own train/test; when a source has no test split, ``test_fraction`` of
train is held out. Sampling to ``n_train`` / ``n_test`` is a seeded shuffle, so the same
parameters always select the same examples.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ..models import load_tokenizer, model_provenance
from ..params import param, shared
from ..provenance import write_stage_outputs
from ..run import Run
from ..sources import source_info
from ..utils import count_problems, raise_problems, read_jsonl, write_json, write_jsonl
from .hh import DEFAULT_SUBSETS, PreferencePair, load_pairs

log = logging.getLogger(__name__)

STAGE = "data"


@dataclass
class DataConfig:
    """Parameters of the data preparation stage (the schema of its parameters: :mod:`trust_utils.params`)."""

    run_dir: str = shared("run_dir")
    data_source: str = param("bundled", 'where the preference data comes from: bundled | local | hub', cell=True)
    subsets: list[str] = param(list(DEFAULT_SUBSETS), 'HH subsets (data directories of Anthropic/hh-rlhf)')
    local_dir: str = param(
        "", 'for source "local": directory laid out like anthropics/hh-rlhf (<subset>/train.jsonl.gz)')
    dataset_id: str = param(
        "Anthropic/hh-rlhf", 'for source "hub": dataset id (Dahoas/static-hh is pre-split and has no subsets)')
    revision: str = param(
        "", 'for source "hub": dataset branch, tag or commit (empty: main); the resolved commit goes into outputs.json')
    n_train: int = param(0, 'training pairs to keep after filtering (0 keeps all)', cell=True)
    n_test: int = param(0, 'held-out pairs to keep (0 keeps all)', cell=True)
    test_fraction: float = param(0.1, 'share of train held out when the source has no test split')
    max_prompt_length: int = param(256, "drop pairs whose prompt is longer (tokens of the base model's tokenizer)")
    max_length: int = param(512, 'drop pairs whose prompt + longer reply is longer (tokens)')
    model: str = shared("model", "tiny")
    cache_dir: str = shared("cache_dir", "")
    seed: int = shared("seed", 0)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Cheap range checks (the runner's plan, ``--dry-run`` and the stage, when its config is built): ``n_train``
        and ``n_test`` >= 0 (0 keeps all, never a silent negative), token limits >= 1, ``test_fraction`` in [0, 1).
        Raises :class:`trust_utils.utils.ConfigError` naming the parameter, its value and what is allowed."""
        problems = count_problems("data", self, {"n_train": "all", "n_test": "all", "max_prompt_length": None,
                                                 "max_length": None})
        tf = self.test_fraction
        if isinstance(tf, bool) or not isinstance(tf, (int, float)) or not 0 <= tf < 1:
            problems.append(f"stage 'data': parameter 'test_fraction' is {tf!r}; allowed: a share >= 0 and < 1")
        raise_problems(problems)


def data_source_info(cfg: DataConfig) -> dict[str, Any]:
    """``{kind, id, revision, resolved_revision}`` of the preference data (hub: the resolved commit SHA)."""

    if cfg.data_source == "hub":
        return source_info("hub", cfg.dataset_id, cfg.revision)
    return source_info(cfg.data_source, path=cfg.local_dir if cfg.data_source == "local" else "data/hh-mini")


def _sample(pairs: list[PreferencePair], n: int, seed: int) -> list[PreferencePair]:
    pairs = sorted(pairs, key=lambda p: p.id)  # independent of file order
    random.Random(seed).shuffle(pairs)
    return pairs if n <= 0 else pairs[:n]


def _token_lengths(pairs: list[PreferencePair], tokenizer) -> list[dict[str, Any]]:
    def n_tok(texts: list[str]) -> list[int]:
        return [len(x) for x in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []

    prompts = n_tok([p.prompt for p in pairs])
    chosen = n_tok([p.chosen for p in pairs])
    rejected = n_tok([p.rejected for p in pairs])
    return [{"id": p.id, "subset": p.subset, "split": p.split, "prompt": a, "chosen": b, "rejected": c}
            for p, a, b, c in zip(pairs, prompts, chosen, rejected, strict=True)]


def run(cfg: DataConfig) -> dict[str, Any]:
    """Prepare the SFT and preference sets; returns the summary recorded in ``outputs.json``."""

    t0 = time.perf_counter()
    out = Run.open(cfg.run_dir).stage_dir(STAGE)
    by_split, report, files = load_pairs(cfg.data_source, cfg.subsets, cfg.local_dir, cfg.dataset_id, revision=cfg.revision)
    if not by_split["test"] or not by_split["train"]:
        # A source with one split only (a sample, a custom set): hold out test_fraction of it by seed.
        only = "train" if by_split["train"] else "test"
        log.warning("source has only a %s split; holding out %.0f%% of it as test", only, 100 * cfg.test_fraction)
        pool = _sample(by_split[only], 0, cfg.seed)
        k = max(1, int(round(len(pool) * cfg.test_fraction))) if len(pool) > 1 else 0
        by_split = {"train": [PreferencePair(p.prompt, p.chosen, p.rejected, p.subset, "train") for p in pool[k:]],
                    "test": [PreferencePair(p.prompt, p.chosen, p.rejected, p.subset, "test") for p in pool[:k]]}
    tok = load_tokenizer(cfg.model, cfg.cache_dir or None, seed=cfg.seed)
    selected: dict[str, list[PreferencePair]] = {}
    lengths: list[dict[str, Any]] = []
    for split, n in (("train", cfg.n_train), ("test", cfg.n_test)):
        pairs = _sample(by_split[split], 0, cfg.seed)
        lens = _token_lengths(pairs, tok)
        keep, keep_lens = [], []
        for p, ln in zip(pairs, lens, strict=True):
            if ln["prompt"] > cfg.max_prompt_length or ln["prompt"] + max(ln["chosen"], ln["rejected"]) > cfg.max_length:
                report.drop(p.subset, split, "too_long", p.to_dict(), "token limits")
                continue
            keep.append(p)
            keep_lens.append(ln)
        if n > 0:
            keep, keep_lens = keep[:n], keep_lens[:n]
        selected[split] = keep
        lengths.extend(keep_lens)
    drop_df = pd.DataFrame(report.rows(), columns=["subset", "split", "reason", "count", "description"])
    drop_df.to_csv(out / "drop_report.csv", index=False)
    write_json(out / "dropped_examples.json", report.examples)
    if not selected["train"]:
        raise ValueError(f"no usable training pairs from data_source={cfg.data_source!r} subsets={cfg.subsets}: "
                         f"{report.total_dropped()} rows dropped ({dict((r, c) for (_, _, r), c in report.counts.items())}); "
                         f"see {out / 'drop_report.csv'}; check the source or raise max_length")
    for split, pairs in selected.items():
        write_jsonl(out / f"pref_{split}.jsonl", (p.to_dict() for p in pairs))
        write_jsonl(out / f"sft_{split}.jsonl", ({"id": p.id, "subset": p.subset, "prompt": p.prompt,
                                                   "completion": p.chosen} for p in pairs))
    pd.DataFrame(lengths).to_csv(out / "lengths.csv", index=False)
    summary = {
        "n_train": len(selected["train"]), "n_test": len(selected["test"]),
        "dropped": {r: int(drop_df.loc[drop_df.reason == r, "count"].sum()) for r in drop_df.reason.unique() if r != "parsed"},
        "subsets": {s: int(sum(p.subset == s for p in selected["train"])) for s in sorted({p.subset for p in selected["train"]})},
        "files": ["pref_train.jsonl", "pref_test.jsonl", "sft_train.jsonl", "sft_test.jsonl", "drop_report.csv", "lengths.csv"],
        "config": asdict(cfg),
        "source": data_source_info(cfg),
        "model": model_provenance(cfg.model, cfg.cache_dir or None, cfg.seed),
    }
    write_stage_outputs(out, summary, inputs=files, timings={"prepare_s": time.perf_counter() - t0})
    log.info("prepared %d train / %d test pairs (%d rows dropped)", summary["n_train"], summary["n_test"], report.total_dropped())
    return summary


def load_prepared(run: Run | str, name: str) -> list[dict[str, Any]]:
    """Read a prepared file of the run (``pref_train``, ``pref_test``, ``sft_train``, ``sft_test``).

    Raises a clear error when the data stage has not run.
    """
    path = Run.open(run).dir / STAGE / f"{name}.jsonl"  # reading must not create the folder
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the data stage first (rlhf-trust run --stages data)")
    rows = list(read_jsonl(path))
    if not rows:
        raise ValueError(f"{path} is empty: the preference set has no examples; check the data stage's drop report")
    return rows
