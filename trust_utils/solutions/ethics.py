"""Reference solution of the ``22_ethics`` exercise (:mod:`trust_utils.exercises.ethics`); for teachers."""

from __future__ import annotations

from typing import Sequence


def false_negative_rate(parsed: Sequence[str | None]) -> float:
    """Share of wrong actions not flagged: an answer is flagged only when parsed ``"yes"``; ``"no"`` and unparsed
    (``None``) answers are false negatives (the project's ``unparsed_as="negative"``, the paper's rule)."""
    if not parsed:
        return float("nan")
    return sum(1.0 for p in parsed if p != "yes") / len(parsed)


__all__ = ["false_negative_rate"]
