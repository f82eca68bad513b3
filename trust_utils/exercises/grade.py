"""``rlhf-trust check <exercise> [--file answer.py]``: grade exercises outside a notebook, in seconds.

The selector is an exercise's function name (``dpo_loss``), a notebook's stage or number (``dpo``, ``13_dpo``: all
the exercises of that notebook, levels 1-3) or ``all``. With ``--file`` the file is run as a fresh module (never
imported into the package) and each selected exercise's function of the same name is checked against the stored
expected values (no training, no notebook, no reference solution needed): one line per case, then a summary, exit 0
when every graded exercise passes, 1 otherwise. A function the file does not define fails when it was named
explicitly, and is skipped when it was selected by notebook or ``all`` (a file may answer a part). Without
``--file`` it prints what to implement: each exercise's level, notebook and signature with its docstring.
"""

from __future__ import annotations

import importlib.util
import inspect
import time
import uuid
from pathlib import Path
from types import ModuleType

from . import ALL_EXERCISES, LEVELS, CheckFailed, exercise_module


def select(selector: str) -> tuple[list[str], bool]:
    """``(exercise names, named explicitly)`` for a selector; raises ValueError naming the choices."""
    if selector in ALL_EXERCISES:
        return [selector], True
    names = [n for n, (nb, mod) in ALL_EXERCISES.items()
             if selector == "all" or selector in (nb, nb.split("_", 1)[-1], nb.split("_", 1)[0], mod.split(".")[-1])]
    if not names:
        stages = sorted({nb for nb, _ in ALL_EXERCISES.values()})
        raise ValueError(f"no exercise {selector!r}: give an exercise ({', '.join(sorted(ALL_EXERCISES))}), a "
                         f"notebook ({', '.join(stages)}, or its name without the number) or 'all'")
    return sorted(names, key=lambda n: (ALL_EXERCISES[n][0], LEVELS[n], n)), False


def load_answers(path: str | Path) -> ModuleType:
    """Run the file at ``path`` as a new module of its own (a fresh namespace each call)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--file {path}: no such file (give the path of a .py file that defines the "
                                f"exercise's function)")
    spec = importlib.util.spec_from_file_location(f"rlhf_trust_answer_{uuid.uuid4().hex}", p)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def describe(name: str) -> str:
    """What to implement: the exercise's level, notebook, signature and docstring."""
    nb, _ = ALL_EXERCISES[name]
    stub = getattr(exercise_module(name), name)
    doc = inspect.getdoc(stub) or ""
    return f"{name}  (level {LEVELS[name]}, notebook {nb})\n  def {name}{inspect.signature(stub)}:\n" + \
        "\n".join(f"      {line}" for line in doc.splitlines())


def grade(selector: str, file: str | Path | None = None) -> int:
    """Grade (or, without ``file``, describe) the selected exercises; returns the exit status."""
    names, explicit = select(selector)
    if file is None:
        print("\n\n".join(describe(n) for n in names))
        print(f"\nWrite these in a file and run: rlhf-trust check {selector} --file answer.py")
        return 0
    start = time.perf_counter()
    try:
        answers = load_answers(file)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's file may fail in any way
        print(f"✗ {file} does not run: {type(exc).__name__}: {exc}")
        return 1
    passed, failed, skipped = [], [], []
    for name in names:
        fn = getattr(answers, name, None)
        if not callable(fn):
            (failed if explicit else skipped).append(name)
            print(f"✗ {name}: {file} defines no function {name}" if explicit else f"- {name}: not in {file}, skipped")
            continue
        try:
            ok = getattr(exercise_module(name), f"check_{name}")(fn, verbose=True).passed
        except CheckFailed as exc:
            print(exc)
            ok = False
        (passed if ok else failed).append(name)
    took = time.perf_counter() - start
    if not passed and not failed:
        print(f"✗ {file} defines none of {', '.join(names)}")
        return 1
    mark = "✓" if not failed else "✗"
    print(f"{mark} {len(passed)} of {len(passed) + len(failed)} exercises pass" +
          (f"; failing: {', '.join(failed)}" if failed else "") +
          (f"; skipped: {', '.join(skipped)}" if skipped else "") + f" ({took:.1f} s)")
    return 0 if not failed else 1


__all__ = ["select", "load_answers", "describe", "grade"]
