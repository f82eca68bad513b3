"""Read a pickle that may only hold plain data, never code.

``pickle.load`` runs whatever a file's ``__reduce__`` entries name (a crafted ``name2email.pkl`` can call
``os.system``). :func:`load_plain_pickle` reads with an unpickler whose ``find_class`` refuses every global, so
only what the pickle opcodes build by themselves can come out, and then checks that the result is made of
:data:`PLAIN_TYPES` only (``None`` and booleans included: they are opcodes too). A refused file raises
:class:`~trust_utils.utils.DataFileError` naming the file and how to convert it to JSON; no constructor of the
file has run by then (``find_class`` is asked before anything it would return is called).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from ..utils import DataFileError

#: The types a plain-data pickle may hold (containers and scalars the pickle opcodes build without a global).
PLAIN_TYPES: tuple[type, ...] = (dict, list, tuple, str, int, float, bool, type(None))


class _GlobalRefused(pickle.UnpicklingError):
    """The pickle names a global (a class or a callable): refused before it is looked up."""


class _PlainUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global: classes, functions and ``__reduce__`` callables alike."""

    def find_class(self, module: str, name: str):
        raise _GlobalRefused(f"it names the global {module}.{name}")


def convert_hint(path: Path) -> str:
    """How to turn a trusted pickle into the JSON file the loaders prefer (a one-liner to run once)."""
    out = path.with_suffix(".json")
    return (f"save its content as JSON in {out} (read before the .pkl); if, and only if, you trust where the file "
            f"came from: python -c \"import json, pickle; json.dump(pickle.load(open('{path}', 'rb')), "
            f"open('{out}', 'w'))\"")


def _check_plain(obj: Any, path: Path, depth: int = 0) -> None:
    if depth > 100:
        raise DataFileError(f"{path}: nested more than 100 levels deep; {convert_hint(path)}")
    if type(obj) not in PLAIN_TYPES:  # exact types: no subclass (none can be built without a global anyway)
        raise DataFileError(f"{path}: holds a {type(obj).__name__}, not plain data (dicts, lists, tuples, strings, "
                            f"numbers); {convert_hint(path)}")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(k, path, depth + 1)
            _check_plain(v, path, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _check_plain(v, path, depth + 1)


def load_plain_pickle(path: str | Path) -> Any:
    """The content of the pickle at ``path`` if it is plain data (see the module docstring), else DataFileError."""
    path = Path(path)
    data = path.read_bytes()
    try:
        obj = _PlainUnpickler(io.BytesIO(data)).load()
    except _GlobalRefused as exc:
        raise DataFileError(f"{path}: refused to unpickle, {exc} (a pickle can run code; only plain dicts, lists, "
                            f"tuples, strings and numbers are read); {convert_hint(path)}") from None
    except Exception as exc:  # truncated or not a pickle at all: name the file, not a bare EOFError
        raise DataFileError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc}); "
                            f"{convert_hint(path)}") from None
    _check_plain(obj, path)
    return obj


__all__ = ["PLAIN_TYPES", "load_plain_pickle", "convert_hint"]
