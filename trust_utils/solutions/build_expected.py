"""Maintainers: write the checks' data, ``trust_utils/exercises/expected/<exercise>.json``, from the solutions.

    python -m trust_utils.solutions.build_expected            # write every exercise's file
    python -m trust_utils.solutions.build_expected --check    # exit 1 if a committed file is stale
    python -m trust_utils.solutions.build_expected dpo_loss   # only these exercises

For each fixture case of an exercise (its module's ``cases()``) it runs the reference solution and every known
mistake (this package's ``mistakes()``, one module per notebook like the solutions) and stores their outcomes with
:mod:`trust_utils.exercise_outcomes`. It lives beside the solutions, outside what a student's copy needs: the checks
read only the JSON. Rerun it after editing a solution, a mistake or a fixture, and commit the files
(``tests/test_exercises.py`` fails while a committed file differs from what this writes).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any, Callable

from ..exercise_outcomes import FORMAT, REGENERATE, close, dumps, encode, encode_outcome, expected_path
from ..exercises import ALL_EXERCISES, exercise_module, fingerprint


def solution_module(name: str):
    """The solutions module of exercise ``name`` (``solutions.<module>``, named like its exercise module)."""
    if name not in ALL_EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; exercises are {sorted(ALL_EXERCISES)}")
    return importlib.import_module(f"{__package__}.{ALL_EXERCISES[name][1]}")


def build(name: str) -> dict[str, Any]:
    """The data of exercise ``name``: per case its name, arguments and the reference's outcome; per known
    mistake its hint and outcomes. Raises if the reference fails on a case or a mistake passes every case."""
    mod, sol = exercise_module(name), solution_module(name)
    bind: Callable[[Callable], Callable] = getattr(mod, "bind", None) or (lambda f: f)
    cases = mod.cases()
    expected = fingerprint(bind(getattr(sol, name)), cases)
    for case, (kind, value) in zip(cases, expected, strict=True):
        if kind == "error":
            raise RuntimeError(f"the reference {name} raises {value} on case {case.name!r}: fix the solution")
    mistakes = []
    for wrong, hint in sol.mistakes():
        outcomes = [encode_outcome(o) for o in fingerprint(bind(wrong), cases)]
        if outcomes == [encode_outcome(o) for o in expected]:
            raise RuntimeError(f"{name}: the mistake {hint!r} gives the right answer on every case: add a case that "
                               f"tells it apart")
        mistakes.append({"hint": hint, "outcomes": outcomes})
    return {"exercise": name, "format": FORMAT, "written_by": REGENERATE,
            "cases": [{"name": c.name, "args": encode(tuple(c.args)), "expected": encode_outcome(o)}
                      for c, o in zip(cases, expected, strict=True)],
            "mistakes": mistakes}


def text(name: str) -> str:
    """The file text of exercise ``name`` as this generator writes it now."""
    return dumps(build(name))


def write(names: list[str] | None = None) -> list[Path]:
    """Write the files of ``names`` (default: every exercise); returns their paths."""
    out = []
    for name in names or sorted(ALL_EXERCISES):
        path = expected_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text(name), encoding="utf-8")
        out.append(path)
    return out


#: How far a committed number may be from today's: a model's float32 sums differ in the last bits between CPUs
#: (kernels, vector widths), and the checks' own tolerances are 1e-5 or wider.
DATA_TOL = 1e-5


def stale(names: list[str] | None = None) -> list[str]:
    """The exercises whose committed file differs from what :func:`text` gives now (numbers within
    :data:`DATA_TOL` relative; everything else exactly)."""
    out = []
    for n in names or sorted(ALL_EXERCISES):
        path = expected_path(n)
        if not path.is_file() or not close(json.loads(path.read_text(encoding="utf-8")), build(n), DATA_TOL):
            out.append(n)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trust_utils.solutions.build_expected", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="exercises (default: all)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is stale")
    args = ap.parse_args(argv)
    if args.check:
        bad = stale(args.names)
        print("stale: " + ", ".join(bad) if bad else "all expected data is current")
        return 1 if bad else 0
    for p in write(args.names):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
