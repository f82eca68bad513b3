"""Course exercises: stubs a student fills in, and ``check_<name>(fn)`` functions that say what is wrong.

One module per notebook with an exercise, named after its stage (see ``docs/COURSE.md``):

==========================  =====================  ===========================  ==================================
exercise                    notebook               module                       what it practises
==========================  =====================  ===========================  ==================================
``masked_sft_loss``         10_sft                 ``exercises.sft``            shift, prompt/padding masking, mean
``bradley_terry_loss``      11_reward_model        ``exercises.reward_model``   the pairwise loss and its sign
``ppo_clipped_surrogate``   12_ppo                 ``exercises.ppo``            ratio, clipping, pessimistic max
``dpo_loss``                13_dpo                 ``exercises.dpo``            log-ratios to the reference, beta
``expected_max_toxicity``   20_toxicity            ``exercises.toxicity``       max per prompt, then mean
``parse_agreement``         21_bias                ``exercises.bias``           "disagree" contains "agree"
``false_negative_rate``     22_ethics              ``exercises.ethics``         unparsed answers are not flagged
``mc2_score``               23_truthfulness        ``exercises.truthfulness``   normalised mass, numerically stable
``leaked``                  24_privacy             ``exercises.privacy``        case-insensitive substring match
==========================  =====================  ===========================  ==================================

Why one module per notebook: the runner reruns a stage when the package code its notebook imports changes
(:mod:`trust_utils.codehash`). With every exercise in one module, an edit to the DPO exercise reran the five
verticals; now a notebook imports only its own exercise module, this framework and its own reference solution
(:mod:`trust_utils.solutions`, also one module per notebook).

A check runs the student's function on small inline fixtures and compares it with the reference solution. On a
mismatch it raises :class:`AssertionError` whose message names the case, its inputs, the expected and the returned
value and, when the answer matches a typical mistake (each exercise lists some, e.g. a DPO loss with the sign
flipped), a hint saying which. A correct function prints ``✓ ...`` and the check returns a :class:`CheckResult`. A
stub that still raises ``NotImplementedError`` is reported (not raised), so a notebook run by the pipeline without
solutions still finishes.

Solutions switch: ``fn = exercise.solution_or(stub, solutions)`` (``exercise`` being the notebook's module, e.g.
``from trust_utils.exercises import dpo as exercise``) returns the reference solution instead of ``stub`` when
``solutions=True`` is passed, or when the environment variable ``RLHF_TRUST_SOLUTIONS`` is ``1``/``true``
(``rlhf-trust run`` with a notebook parameter ``solutions: bool`` can set either).
Everything here runs in well under a second on inline tensors.
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Sequence

from ..checkpoints import METHODS
from ..registry import VERTICALS

SOLUTIONS_ENV = "RLHF_TRUST_SOLUTIONS"


# ------------------------------------------------------------------------------------------ switch
def solutions_enabled(solutions: bool | None = None) -> bool:
    """``solutions`` when given, else the ``RLHF_TRUST_SOLUTIONS`` environment variable (``1``/``true``/``yes``)."""
    if solutions is not None:
        return bool(solutions)
    return os.environ.get(SOLUTIONS_ENV, "").strip().lower() in ("1", "true", "yes")


def pick_solution(stub: Callable, reference: ModuleType, solutions: bool | None = None) -> Callable:
    """The function of ``reference`` named like ``stub`` when solutions are enabled, else ``stub`` itself.

    Each exercise module wraps this as ``solution_or(stub, solutions)`` with its own reference module, imported by a
    plain ``import`` statement so that the runner's code hash of the notebook covers it.
    """
    if not solutions_enabled(solutions):
        return stub
    name = getattr(stub, "__name__", "")
    if not hasattr(reference, name):
        known = [n for n in getattr(reference, "__all__", ()) if callable(getattr(reference, n, None))]
        raise ValueError(f"solution_or: no reference solution named {name!r} in {reference.__name__}; "
                         f"its exercise is {known}")
    return getattr(reference, name)


# ------------------------------------------------------------------------------------------ results
@dataclass
class CheckResult:
    """What a check found; its repr is the message the student sees."""

    exercise: str
    passed: bool
    message: str
    n_cases: int = 0

    def __repr__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.passed


@dataclass
class Case:
    """One fixture: a name, the positional arguments, and what the case is about (shown when it fails)."""

    name: str
    args: tuple
    about: str = ""


def _fmt(x: Any) -> str:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            if x.numel() == 1:
                return f"tensor({float(x):.6g})"
            return f"tensor(shape={tuple(x.shape)}, values={[round(v, 4) for v in x.flatten().tolist()[:8]]}" + \
                   ("..." if x.numel() > 8 else "") + ")"
    except ImportError:  # pragma: no cover
        pass
    if isinstance(x, float):
        return f"{x:.6g}"
    s = repr(x)
    return s if len(s) < 160 else s[:157] + "..."


def _to_value(x: Any) -> Any:
    """A tensor scalar to a float; other values unchanged."""
    try:
        import torch

        if isinstance(x, torch.Tensor):
            if x.numel() != 1:
                return x
            return float(x.detach())
    except ImportError:  # pragma: no cover
        pass
    return x


def _same(got: Any, want: Any, tol: float) -> bool:
    got, want = _to_value(got), _to_value(want)
    if isinstance(want, float):
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return False
        if math.isnan(want) or math.isnan(got):
            return math.isnan(want) and math.isnan(got)
        if got == want:  # also equal infinities
            return True
        return abs(got - want) <= tol * max(1.0, abs(want))
    return got == want


def _outcome(fn: Callable, args: tuple) -> tuple[str, Any]:
    """``("value", result)`` or ``("error", exception type name)``."""
    try:
        return "value", fn(*args)
    except Exception as exc:  # noqa: BLE001 - a wrong answer may fail in any way
        return "error", type(exc).__name__


def _hints(kind: str, got: Any, args: tuple, mistakes: Sequence[tuple[Callable, str]], tol: float) -> str:
    """The hints of the typical mistakes that reproduce what the student's function did on ``args``."""
    found = []
    for wrong, hint in mistakes:
        k, v = _outcome(wrong, args)
        if k == kind and (v == got if kind == "error" else _same(got, v, tol)):
            found.append(hint)
    return ("\n  hint:     " + "\n  hint:     ".join(found)) if found else ""


def run_check(exercise: str, fn: Callable, reference: Callable, cases: Sequence[Case],
              mistakes: Sequence[tuple[Callable, str]], tol: float = 1e-5, scalar: bool = True) -> CheckResult:
    """Run ``fn`` on every case against ``reference``; diagnose a mismatch with the known mistakes."""
    want_fn = reference
    for case in cases:
        want = want_fn(*case.args)
        inputs = ", ".join(_fmt(a) for a in case.args)
        head = f"✗ {exercise}, case '{case.name}'" + (f" ({case.about})" if case.about else "")
        try:
            got = fn(*case.args)
        except NotImplementedError:
            msg = (f"✗ {exercise}: not implemented yet -- fill in the function (or run the notebook with "
                   f"solutions=True to use the reference).")
            print(msg)
            return CheckResult(exercise, False, msg)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"{head}: raised {type(exc).__name__}: {exc}\n  inputs:   {inputs}\n"
                                 f"  expected: {_fmt(want)}" + _hints("error", type(exc).__name__, case.args,
                                                                      mistakes, tol)) from exc
        if scalar:
            import torch

            if isinstance(got, torch.Tensor) and got.numel() != 1:
                raise AssertionError(
                    f"{head}: returned a tensor of shape {tuple(got.shape)}; the result must be ONE number "
                    f"(a 0-dim tensor) -- did you forget to average over the batch/tokens?\n"
                    f"  inputs:   {inputs}\n  expected: {_fmt(want)}")
            gv = _to_value(got)
            if not isinstance(gv, (int, float)) or isinstance(gv, bool):
                raise AssertionError(f"{head}: returned {_fmt(got)}, expected a number like {_fmt(want)}\n"
                                     f"  inputs:   {inputs}")
            if math.isnan(gv) and not math.isnan(_to_value(want)):
                raise AssertionError(f"{head}: returned NaN -- a 0/0 or an overflow? (exp of a large or very "
                                     f"negative number, log of 0). Compute it in a numerically stable way.\n"
                                     f"  inputs:   {inputs}\n  expected: {_fmt(want)}"
                                     + _hints("value", got, case.args, mistakes, tol))
        if not _same(got, want, tol):
            raise AssertionError(f"{head}:\n  inputs:   {inputs}\n  expected: {_fmt(want)}\n  got:      {_fmt(got)}"
                                 + _hints("value", got, case.args, mistakes, tol))
    msg = f"✓ {exercise}: all {len(cases)} cases pass"
    print(msg)
    return CheckResult(exercise, True, msg, len(cases))


def tensor(x, dtype=None):
    """A float32 tensor of ``x`` (fixtures)."""
    import torch

    return torch.tensor(x, dtype=dtype or torch.float32)


#: exercise name -> (notebook, module of ``trust_utils.exercises``), from the method and vertical declarations
#: (``Method.exercise``, ``Vertical.exercise``): the module of an exercise is named after its stage.
EXERCISES: dict[str, tuple[str, str]] = {
    **{m.exercise: (m.notebook.removesuffix(".ipynb"), m.stage) for m in METHODS if m.exercise},
    **{v.exercise: (v.notebook.removesuffix(".ipynb"), v.name) for v in VERTICALS.values() if v.exercise},
}


def exercise_module(name: str) -> ModuleType:
    """The module of exercise ``name`` (for tests and tools; a notebook imports its module by name)."""
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; exercises are {sorted(EXERCISES)}")
    return importlib.import_module(f"{__name__}.{EXERCISES[name][1]}")


def __getattr__(name: str) -> Any:
    # a notebook saved before the split calls ``exercises.check_dpo_loss`` / ``exercises.solution_or``: say where
    # they went rather than import every exercise here (the code hash would not see a dynamic import)
    bare = name[len("check_"):] if name.startswith("check_") else name
    if bare in EXERCISES or name == "solution_or":
        mods = ("<module>",) if name == "solution_or" else (EXERCISES[bare][1],)
        raise AttributeError(
            f"trust_utils.exercises.{name} is now in the notebook's own exercise module: write "
            f"`from trust_utils.exercises import {mods[0]} as exercise` and call `exercise.{name}` "
            f"(modules: {sorted(m for _, m in EXERCISES.values())})")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SOLUTIONS_ENV", "solutions_enabled", "pick_solution", "run_check", "CheckResult", "Case", "tensor",
           "EXERCISES", "exercise_module"]
