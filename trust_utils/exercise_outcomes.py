"""The checks' expected values and the known mistakes' fingerprints, as data (``exercises/expected/<name>.json``).

A check needs no reference solution at run time: what the reference returns on every fixture case, and what each
known mistake returns (its *fingerprint*, which picks the hints), are written once by the maintainers' generator
(``python -m trust_utils.solutions.build_expected``, which runs the solutions) and committed as plain JSON. So a
student's copy without ``trust_utils/solutions`` grades exactly like the teacher's (``tests/test_exercises.py`` runs
the checks with the solutions hidden, and asserts the committed files equal what the generator writes now).

Encoding (plain JSON, no NaN literals): a value is a one-key object, ``{"float": 0.6931471805599453}`` (``"nan"``,
``"inf"``, ``"-inf"`` for the non-finite), ``{"int": 3}``, ``{"bool": true}``, ``{"str": "agree"}``, ``{"none":
true}``, ``{"list": [...]}``, ``{"tuple": [...]}`` or ``{"tensor": nested lists, "dtype": "float32", "shape": [2]}``.
An outcome is ``{"value": <value>}`` or ``{"error": "ZeroDivisionError"}`` (the exception's type: a fingerprint
compares types, not messages). Floats are written with Python's shortest round-trip ``repr``, so nothing is lost.

Each case also stores its arguments: a check whose fixtures were edited without regenerating the data stops with an
error that says so, instead of grading against stale values.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any

#: Where the data lives: a folder of the exercises without ``__init__.py`` (read, never imported). This module sits
#: outside ``exercises/`` on purpose: each notebook's code hash holds the framework and its own exercise module only.
#: The data need not be hashed: it is a function of the hashed fixtures and solutions (a test keeps it so).
EXPECTED_DIR = Path(__file__).resolve().parent / "exercises" / "expected"
FORMAT = 1
#: How far a fixture's stored arguments may be from today's: random fixtures (``torch.randn``) differ in the last
#: bits between CPUs (its AVX2 and scalar paths), so the arguments are compared, not hashed.
ARGS_TOL = 1e-6
REGENERATE = "python -m trust_utils.solutions.build_expected"


class StaleExpected(RuntimeError):
    """The fixture cases and the committed expected data disagree (or the data is missing)."""


def _plain(x: Any) -> Any:
    """Nested lists of numbers with the non-finite floats as strings."""
    if isinstance(x, list):
        return [_plain(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def _unplain(x: Any) -> Any:
    if isinstance(x, list):
        return [_unplain(v) for v in x]
    return float(x) if isinstance(x, str) else x


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "shape")


def encode(x: Any) -> dict[str, Any]:
    """A value as plain JSON (see the module docstring); raises TypeError on anything else."""
    if _is_tensor(x):
        t = x.detach().cpu()
        return {"tensor": _plain(t.tolist()), "dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape)}
    if x is None:
        return {"none": True}
    if isinstance(x, bool) or type(x).__name__ in ("bool", "bool_"):
        return {"bool": bool(x)}
    if isinstance(x, numbers.Integral):
        return {"int": int(x)}
    if isinstance(x, numbers.Real):
        return {"float": _plain(float(x))}
    if isinstance(x, str):
        return {"str": x}
    if isinstance(x, (list, tuple)):
        return {type(x).__name__: [encode(v) for v in x]}
    raise TypeError(f"cannot store a {type(x).__name__} as expected data: return a number, a string, a bool, "
                    f"a tensor, or a list of them")


def decode(obj: dict[str, Any]) -> Any:
    """The value :func:`encode` wrote."""
    (key, val), = [(k, v) for k, v in obj.items() if k not in ("dtype", "shape")]
    if key == "tensor":
        import torch

        return torch.tensor(_unplain(val), dtype=getattr(torch, obj["dtype"])).reshape(obj["shape"])
    if key == "float":
        return float(val)
    if key == "list":
        return [decode(v) for v in val]
    if key == "tuple":
        return tuple(decode(v) for v in val)
    if key == "none":
        return None
    return val  # a bool, an int or a str as stored


def encode_outcome(outcome: tuple[str, Any]) -> dict[str, Any]:
    kind, value = outcome
    return {"error": value} if kind == "error" else {"value": encode(value)}


def decode_outcome(obj: dict[str, Any]) -> tuple[str, Any]:
    return ("error", obj["error"]) if "error" in obj else ("value", decode(obj["value"]))


def close(a: Any, b: Any, rel: float = ARGS_TOL) -> bool:
    """Whether two encodings are equal, floats within ``rel`` relative (strings, ints, bools, shapes exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and \
            not isinstance(b, bool) and abs(a - b) <= rel * max(1.0, abs(a), abs(b))
    return type(a) is type(b) and a == b


def expected_path(exercise: str) -> Path:
    return EXPECTED_DIR / f"{exercise}.json"


def dumps(data: dict[str, Any]) -> str:
    """The file text of one exercise's data: one line per case and per mistake (readable diffs), plain JSON."""
    def one(x: Any) -> str:
        return json.dumps(x, ensure_ascii=False, allow_nan=False)

    def block(key: str) -> list[str]:
        rows = [f"  {one(r)}" for r in data[key]]
        return [f" {one(key)}: ["] + [r + ("," if i < len(rows) - 1 else "") for i, r in enumerate(rows)] + [" ]"]

    head = [f" {one(k)}: {one(v)}," for k, v in data.items() if k not in ("cases", "mistakes")]
    cases, mistakes = block("cases"), block("mistakes")
    return "\n".join(["{", *head, *cases[:-1], cases[-1] + ",", *mistakes, "}"]) + "\n"


def load_expected(exercise: str, cases: list) -> tuple[list[tuple[str, Any]], list[tuple[str, list]]]:
    """``(expected outcome per case, [(hint, fingerprint), ...])`` of ``exercise`` for its fixture ``cases``.

    Raises :class:`StaleExpected` when the file is missing or was written for other cases.
    """
    path = expected_path(exercise)
    if not path.is_file():
        raise StaleExpected(f"no expected data for exercise {exercise!r} at {path}: a maintainer runs `{REGENERATE}` "
                            f"(with trust_utils/solutions present) and commits it")
    data = json.loads(path.read_text(encoding="utf-8"))
    stored = [(c["name"], c["args"]) for c in data["cases"]]
    now = [(c.name, encode(tuple(c.args))) for c in cases]
    if len(stored) != len(now) or not all(a[0] == b[0] and close(a[1], b[1]) for a, b in zip(stored, now,
                                                                                            strict=False)):
        raise StaleExpected(f"the expected data of {exercise!r} ({path.name}) was written for other fixture cases "
                            f"(stored {[n for n, _ in stored]}, now {[n for n, _ in now]}, or their arguments "
                            f"differ): a maintainer reruns `{REGENERATE}` and commits it")
    return ([decode_outcome(c["expected"]) for c in data["cases"]],
            [(m["hint"], [decode_outcome(o) for o in m["outcomes"]]) for m in data["mistakes"]])


__all__ = ["EXPECTED_DIR", "FORMAT", "REGENERATE", "StaleExpected", "encode", "decode", "encode_outcome",
           "decode_outcome", "close", "ARGS_TOL", "expected_path", "dumps", "load_expected"]
