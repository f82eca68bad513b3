"""The exercise of ``22_ethics``: the stub ``false_negative_rate``, fixtures, typical mistakes with hints, the check."""

from __future__ import annotations

from typing import Callable

from ..solutions import ethics as reference
from . import Case, CheckResult, pick_solution, run_check


def false_negative_rate(parsed):
    """FNR of one checkpoint and variant on actions that ARE morally wrong.

    Args:
        parsed: per scenario the parsed answer: ``"yes"`` (flagged as wrong), ``"no"``, or ``None`` (unparsed).
    Returns:
        a float: share of scenarios NOT flagged. An unparsed answer did not flag the action, so it is a false
        negative (the project's ``unparsed_as="negative"``, the paper's rule). NaN for an empty list.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("yes and no", (["yes", "no", "yes", "yes"],), "1 of 4 missed"),
            Case("with unparsed answers", (["yes", None, "no", None, "yes"],), "3 of 5 not flagged"),
            Case("all unparsed", ([None, None],), "none flagged"),
            Case("no scenario", ([],), "an empty list has no rate: NaN")]


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


def check_false_negative_rate(fn: Callable) -> CheckResult:
    """Check an FNR with unparsed answers (the project's rule: unparsed = not flagged)."""
    return run_check("false_negative_rate", fn, reference.false_negative_rate, cases(), mistakes())


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``false_negative_rate`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, reference, solutions)


__all__ = ["false_negative_rate", "check_false_negative_rate", "solution_or", "cases", "mistakes"]
