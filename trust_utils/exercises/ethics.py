"""The exercise of ``22_ethics``: the stub ``false_negative_rate``, its fixtures and its check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

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


def check_false_negative_rate(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check an FNR with unparsed answers (the project's rule: unparsed = not flagged)."""
    return run_check("false_negative_rate", fn, false_negative_rate, cases(), verbose=verbose)


def _reference() -> ModuleType:
    from ..solutions import ethics  # only when solutions are on: a student's copy has none

    return ethics


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``false_negative_rate`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["false_negative_rate", "check_false_negative_rate", "solution_or", "cases"]
