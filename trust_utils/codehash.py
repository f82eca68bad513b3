"""Which package code a stage runs, and its content hash: the runner reruns a stage when that code changes.

A stage's notebook imports a few ``trust_utils`` modules; those import others, some lazily inside functions.
:func:`module_closure` follows every ``import`` / ``from ... import`` statement anywhere in a module's source (the
whole syntax tree, so function-level imports count too), relative or absolute, restricted to this package, and adds
each module's parent packages (their ``__init__`` runs on import). The result is a conservative over-estimate of the
code a stage can execute: an edit to a module outside it cannot change the stage's results, an edit inside it
reruns the stage. :func:`stage_code` hashes each of those files, and the data files (``.csv``, ``.yaml``, ...) that
sit beside a package's ``__init__.py`` in the closure (e.g. ``reference/paper_results.csv``).

A notebook cell that cannot be parsed as Python (a magic, a shell escape the filter missed) makes the stage depend on
every module of the package, so a parsing gap can only cause a rerun, never a stale result.

Two uses, two scopes. A stage's *fingerprint* (rerun the notebook?) takes the whole closure. A *value key* (reuse a
trained model, serve a cached generation: :func:`value_code`) leaves out :data:`VALUE_NEUTRAL`, the modules that
only declare what exists (the stage, checkpoint and metric registries, the parameters' declarations), say where it
lives (paths, the run's directories and checkpoint names), record provenance beside a value, or show it (progress
bars, the plot style). What they decide reaches a value only through inputs the value keys already hold: which model is
loaded is keyed by the model's content hash, which settings by their resolved values. So registering a new method, or
changing a colour, reruns the notebooks (cheaply) but neither retrains a model nor regenerates a cached answer.
"""

from __future__ import annotations

import ast
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .utils import hash_file, hash_obj

PACKAGE = "trust_utils"
#: non-Python files inside a package directory that count as its code (package data).
DATA_SUFFIXES = (".csv", ".yaml", ".yml", ".json", ".txt")


def package_root() -> Path:
    """The directory of the ``trust_utils`` package whose sources are hashed."""
    return Path(__file__).resolve().parent


def _module_file(module: str, root: Path) -> Path | None:
    """``trust_utils.a.b`` → ``<root>/a/b.py`` or ``<root>/a/b/__init__.py`` (None when neither exists)."""
    parts = module.split(".")[1:]
    base = root.joinpath(*parts) if parts else root
    if base.with_suffix(".py").is_file() and parts:
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def all_modules(root: Path | None = None) -> set[str]:
    """Every module of the package under ``root``."""
    root = root or package_root()
    out = set()
    for f in root.rglob("*.py"):
        rel = f.relative_to(root).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out.add(".".join([PACKAGE, *parts]))
    return out


def _resolve_from(module: str, is_pkg: bool, node: ast.ImportFrom) -> str | None:
    if node.level == 0:
        return node.module
    pkg = module.split(".") if is_pkg else module.split(".")[:-1]
    if node.level > 1:
        pkg = pkg[: len(pkg) - (node.level - 1)]
    return ".".join(pkg + ([node.module] if node.module else []))


def imports_in(tree: ast.AST, module: str = "", is_pkg: bool = False) -> set[str]:
    """Candidate module names imported anywhere in ``tree`` (``from x import y`` gives ``x`` and ``x.y``)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(module, is_pkg, node)
            if base:
                out.add(base)
                out.update(f"{base}.{a.name}" for a in node.names if a.name != "*")
    return {m for m in out if m == PACKAGE or m.startswith(PACKAGE + ".")}


@lru_cache(maxsize=512)
def _imports_of_file(path: str, mtime_ns: int, module: str, is_pkg: bool) -> frozenset[str]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    return frozenset(imports_in(tree, module, is_pkg))


def module_closure(entries: Iterable[str], root: Path | None = None) -> set[str]:
    """Every package module reachable from ``entries`` through imports, with their parent packages."""
    root = root or package_root()
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        f = _module_file(mod, root)
        if f is None:  # ``from pkg import name`` where name is not a module
            continue
        seen.add(mod)
        parts = mod.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imports_of_file(str(f), f.stat().st_mtime_ns, mod, f.name == "__init__.py"))
    return seen


def _code_lines(source: str) -> str:
    """A notebook cell's source without IPython magics and shell escapes (they are not Python)."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


def notebook_modules(cells: Iterable[str], root: Path | None = None) -> set[str]:
    """The package modules a notebook's code cells can run (every module if a cell does not parse)."""
    entries: set[str] = set()
    for src in cells:
        try:
            tree = ast.parse(_code_lines(src))
        except SyntaxError:
            return all_modules(root)
        entries |= imports_in(tree)
    return module_closure(entries, root)


def stage_code(cells: Iterable[str], root: Path | None = None) -> dict[str, str]:
    """``{module file (relative to the package): content hash}`` for the code a notebook's stage runs."""
    root = root or package_root()
    return modules_code(notebook_modules(cells, root), root)


#: Modules whose code changes no computed value except through inputs that value keys already hold (see above).
VALUE_NEUTRAL: frozenset[str] = frozenset(f"{PACKAGE}.{m}" for m in (
    "checkpoints", "registry", "stages", "params",  # declarations: what exists, its parameters' names and help
    "paths", "run",  # where things live: a run's directories and which model a checkpoint name resolves to
    "provenance",  # what is recorded beside a value (outputs.json, versions)
    "progress", "style",  # how it is shown
))


def value_code(entries: Iterable[str], root: Path | None = None) -> dict[str, str]:
    """:func:`module_code` without the :data:`VALUE_NEUTRAL` modules (the imports they make are still followed): the
    code a value key covers."""
    root = root or package_root()
    return modules_code(module_closure(entries, root) - VALUE_NEUTRAL, root)


def module_code(entries: Iterable[str], root: Path | None = None) -> dict[str, str]:
    """``{module file: content hash}`` for the modules ``entries`` (dotted names) run, imports followed."""
    root = root or package_root()
    return modules_code(module_closure(entries, root), root)


def modules_code(modules: Iterable[str], root: Path | None = None) -> dict[str, str]:
    """``{module file (relative to the package): content hash}`` of ``modules``, package data files included."""
    root = root or package_root()
    out = {}
    for mod in sorted(modules):
        f = _module_file(mod, root)
        if f is None:
            continue
        files = [f]
        if f.name == "__init__.py":  # a package's data files (the paper's numbers, ...) are read by its code
            files += sorted(q for q in f.parent.iterdir() if q.is_file() and q.suffix in DATA_SUFFIXES)
        for q in files:
            out[str(q.relative_to(root)).replace(os.sep, "/")] = hash_file(q)
    return out


def code_hash(files: dict[str, str]) -> str:
    return hash_obj(files)


__all__ = ["package_root", "module_closure", "notebook_modules", "stage_code", "module_code", "modules_code", "code_hash",
           "all_modules", "value_code", "VALUE_NEUTRAL"]
