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

Each case also stores a digest of its arguments: a check whose fixtures were edited without regenerating the data
stops with an error that says so, instead of grading against stale values.
"""

from __future__ import annotations

import hashlib
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


def digest(args: tuple) -> str:
    """A short hash of a case's arguments (their stored encoding)."""
    text = json.dumps(encode(tuple(args)), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expected_path(exercise: str) -> Path:
    return EXPECTED_DIR / f"{exercise}.json"


def dumps(data: dict[str, Any]) -> str:
    """The file text of one exercise's data (stable: the generator's test compares it byte for byte)."""
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def load_expected(exercise: str, cases: list) -> tuple[list[tuple[str, Any]], list[tuple[str, list]]]:
    """``(expected outcome per case, [(hint, fingerprint), ...])`` of ``exercise`` for its fixture ``cases``.

    Raises :class:`StaleExpected` when the file is missing or was written for other cases.
    """
    path = expected_path(exercise)
    if not path.is_file():
        raise StaleExpected(f"no expected data for exercise {exercise!r} at {path}: a maintainer runs `{REGENERATE}` "
                            f"(with trust_utils/solutions present) and commits it")
    data = json.loads(path.read_text(encoding="utf-8"))
    stored = [(c["name"], c["digest"]) for c in data["cases"]]
    now = [(c.name, digest(c.args)) for c in cases]
    if stored != now:
        raise StaleExpected(f"the expected data of {exercise!r} ({path.name}) was written for other fixture cases "
                            f"({stored} vs {now}): a maintainer reruns `{REGENERATE}` and commits it")
    return ([decode_outcome(c["expected"]) for c in data["cases"]],
            [(m["hint"], [decode_outcome(o) for o in m["outcomes"]]) for m in data["mistakes"]])


__all__ = ["EXPECTED_DIR", "FORMAT", "REGENERATE", "StaleExpected", "encode", "decode", "encode_outcome",
           "decode_outcome", "digest", "expected_path", "dumps", "load_expected"]
