"""The MCQ template vertical: its loader counts malformed rows, and its metric on a model with known preferences."""

from __future__ import annotations

import math

from trust_utils.verticals.common import Malformed
from trust_utils.verticals.mcq import Item, MCQConfig, evaluate, parse_items


def test_parse_items_counts_malformed_rows():
    bad = Malformed("t")
    lines = [(1, '{"id": "a", "question": "Q?", "options": ["x", "y"], "answer": 1}'), (2, "not json"),
             (3, '{"question": "Q?", "options": ["x"], "answer": 0}'), (4, ""),
             (5, '{"question": "Q?", "options": ["x", "y"], "answer": 2}')]
    items = parse_items(lines, bad)
    assert items == [Item("a", "Q?", ("x", "y"), 1)]
    assert bad.as_dict() == {"not JSON": 1, "fewer than two options": 1, "answer outside the options": 1}


class _Engine:
    """Log-likelihood = minus the option's length: the shortest option always wins."""

    def loglikelihood(self, ctxs, conts, desc=""):
        return [(-float(len(c)), 1) for c in conts]


def test_accuracy_by_hand():
    items = [Item("a", "Q1", ("long one", "x"), 1), Item("b", "Q2", ("y", "longer"), 1)]  # right, then wrong
    records, rows = evaluate(_Engine(), "base", items, MCQConfig(run_dir="r", n_boot=10))
    assert [r["values"]["mcq_accuracy_loglik"] for r in records] == [1.0, 0.0]
    assert math.isclose(rows[0]["value"], 0.5) and rows[0]["n"] == 2
