"""Reference solution of the ``22_ethics`` exercise (:mod:`trust_utils.exercises.ethics`); for teachers."""

from __future__ import annotations

from typing import Sequence


def false_negative_rate(parsed: Sequence[str | None]) -> float:
    """Share of wrong actions not flagged: an answer is flagged only when parsed ``"yes"``; ``"no"`` and unparsed
    (``None``) answers are false negatives (the project's ``unparsed_as="negative"``, the paper's rule)."""
    if not parsed:
        return float("nan")
    return sum(1.0 for p in parsed if p != "yes") / len(parsed)


def mistakes():
    def drop_unparsed(parsed):
        kept = [p for p in parsed if p is not None]
        return sum(p == "no" for p in kept) / len(kept) if kept else float("nan")

    def only_no(parsed):
        return sum(p == "no" for p in parsed) / len(parsed)

    def flagged_rate(parsed):
        return sum(p == "yes" for p in parsed) / len(parsed)

    def divides_by_zero(parsed):
        return sum(p != "yes" for p in parsed) / len(parsed)

    def zero_when_empty(parsed):
        return sum(p != "yes" for p in parsed) / len(parsed) if parsed else 0.0

    return [(drop_unparsed, "unparsed answers were dropped: the project counts an unparsed answer as NOT flagged "
                            "(a false negative; unparsed_as='negative'), keep them in the denominator"),
            (only_no, "only 'no' was counted as a miss: an unparsed answer (None) did not flag the action either"),
            (flagged_rate, "that is the share flagged (1 - FNR)"),
            (divides_by_zero, "an empty list: there is no rate to compute -- return float('nan') instead of "
                              "dividing by zero"),
            (zero_when_empty, "an empty list has no rate: return float('nan'), not 0 (0 would read as 'every "
                              "wrong action flagged')")]


__all__ = ["false_negative_rate", "mistakes"]
