"""MCQ: a multiple-choice vertical scored by log-likelihood (the template of a new vertical).

Copy this file to ``trust_utils/verticals/<name>.py`` and replace ``mcq`` / ``MCQ`` by your vertical's name; see
``docs/templates/README.md`` for the other files (registry entry, notebook pair, test, data, profile blocks).

**Data.** A JSON-lines file, one item per line: ``{"id": str, "question": str, "options": [str, ...],
"answer": int}`` (``answer`` indexes the true option). Sources: ``bundled`` (``data/bench-mini/mcq/items.jsonl``,
written by us) or ``local`` (``<local_dir>/items.jsonl``, laid out the same). Malformed rows (counted by reason,
skipped): not JSON, no question, fewer than two options, an empty option, an answer outside the options.

**Metric** ``mcq_accuracy_loglik`` (lm-evaluation-harness's multiple choice): the context ``Q: <question>\\nA:``,
each option scored as the continuation `` <option>`` (sum of token log-probs); an item counts as correct when the
true option has the largest log-likelihood. Chance level: 1 / (number of options). Its guard is
``degenerate_loglik``: the share of items whose option scores are all tied or not finite. Unit = item; intervals
by bootstrap over items.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..params import param
from ..results import metric_rows
from ..sources import source_info
from ..utils import iter_text_lines
from .common import Malformed, VerticalConfig, data_root, run_vertical, subsample
from .validity import loglik_degenerate

log = logging.getLogger(__name__)

VERTICAL = "mcq"
VARIANT = "default"
ITEMS_FILE = "items.jsonl"


@dataclass
class MCQConfig(VerticalConfig):
    """Settings of the MCQ vertical (the shared ones are :class:`VerticalConfig`'s)."""

    data_source: str = param("bundled", "bundled (data/bench-mini/mcq) or local (a folder holding items.jsonl)",
                             choices=("bundled", "local"))


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    options: tuple[str, ...]
    answer: int


def parse_items(lines, bad: Malformed) -> list[Item]:
    """Items from ``(line number, text)`` pairs; malformed rows are counted by reason and skipped."""
    out = []
    for n, text in lines:
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError:
            bad.add("not JSON", f"line {n}", text)
            continue
        opts = row.get("options") if isinstance(row, dict) else None
        if not isinstance(row, dict) or not str(row.get("question", "")).strip():
            bad.add("no question", f"line {n}", text)
        elif not isinstance(opts, list) or len(opts) < 2:
            bad.add("fewer than two options", f"line {n}", text)
        elif any(not str(o).strip() for o in opts):
            bad.add("empty option", f"line {n}", text)
        elif not isinstance(row.get("answer"), int) or not 0 <= row["answer"] < len(opts):
            bad.add("answer outside the options", f"line {n}", text)
        else:
            out.append(Item(str(row.get("id", f"line{n}")), str(row["question"]).strip(),
                            tuple(str(o).strip() for o in opts), int(row["answer"])))
    return out


def load_items(cfg: MCQConfig) -> tuple[list[Item], dict[str, int], list[Path]]:
    """``(items, malformed counts, files read)``: a seeded subset of ``max_examples`` items (0 = all)."""
    path = data_root(cfg, "mcq") / ITEMS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; expected the MCQ {ITEMS_FILE} (see data/bench-mini/mcq)")
    bad = Malformed(str(path))
    items = parse_items(iter_text_lines(path), bad)
    return subsample(items, cfg.max_examples, cfg.seed), bad.report(), [path]


def context(question: str) -> str:
    return f"Q: {question}\nA:"


def evaluate(engine, checkpoint: str, items: list[Item], cfg: MCQConfig) -> tuple[list[dict], list[dict]]:
    """Score every option of every item; ``(records, result rows)``."""
    ctxs = [context(it.question) for it in items for _ in it.options]
    conts = [" " + o for it in items for o in it.options]
    scores = iter(engine.loglikelihood(ctxs, conts, desc=f"{VERTICAL}/{checkpoint}"))
    records = []
    for it in items:
        lls = [next(scores)[0] for _ in it.options]
        correct = float(max(range(len(lls)), key=lls.__getitem__) == it.answer)
        records.append({"checkpoint": checkpoint, "id": it.id, "variant": VARIANT, "question": it.question,
                        "options": list(it.options), "answer": it.answer, "loglik": lls,
                        "values": {"mcq_accuracy_loglik": correct,
                                   "degenerate_loglik": float(loglik_degenerate(lls))}})
    rows = [metric_rows(VERTICAL, "mcq_accuracy_loglik", VARIANT, checkpoint,
                        [r["values"]["mcq_accuracy_loglik"] for r in records], scorer="loglik", seed=cfg.seed,
                        model=cfg.model, config=cfg.hash_config(), n_boot=cfg.n_boot)]
    return records, rows


def run(cfg: MCQConfig) -> dict[str, Any]:
    """Evaluate every checkpoint of the run; write records, ``results/mcq.csv`` and ``outputs.json``."""
    items, malformed, files = load_items(cfg)
    if not items:
        raise ValueError(f"no usable MCQ items from data_source={cfg.data_source!r}: {malformed}")
    summary = {"n_items": len(items), "malformed": {ITEMS_FILE: malformed},
               "source": source_info(cfg.data_source, path=str(files[0]))}
    return run_vertical(cfg, VERTICAL, lambda engine, ckpt: evaluate(engine, ckpt, items, cfg), inputs=files,
                        summary=summary)


# ------------------------------------------------------------------------------------------ one example (course mode)
def example_prompt(cfg: MCQConfig, item: Item, variant: str | None) -> tuple[str, str, dict[str, Any]]:
    """``(variant, prompt, extra)`` of one item, for :func:`.common.vertical_example`."""
    return variant or VARIANT, context(item.question), {"options": list(item.options), "answer": item.answer}


def example_answer(cfg: MCQConfig, item: Item, variant: str | None, generations: list[str],
                   extra: dict[str, Any]) -> dict[str, Any]:
    """Which option the generation starts with (the stage itself scores likelihoods, not generations)."""
    text = generations[0].strip().lower()
    hit = [i for i, o in enumerate(extra["options"]) if text.startswith(o.lower())]
    return {"option_generated": hit[0] if hit else None, "correct": bool(hit) and hit[0] == extra["answer"]}


__all__ = ["MCQConfig", "Item", "parse_items", "load_items", "context", "evaluate", "run", "example_prompt",
           "example_answer"]
