"""The package's import graph: no circles, nothing imports a layer above its own, and value code never imports the
code that runs, shows or configures stages (docs/ARCHITECTURE.md, "Layers").

The graph is read from the source (every ``import`` / ``from ... import`` of a ``trust_utils`` module, at module top
or inside a function), so a lazy import that would close a circle counts as one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trust_utils

ROOT = Path(trust_utils.__file__).parent

#: Layers, lowest first: a module may import modules of its own layer or below. The most specific prefix decides.
LAYERS: dict[str, int] = {
    # 0 · base: hashing, files, progress lines, provenance records, project folders, the paper's numbers as data
    "trust_utils": 0, "trust_utils.utils": 0, "trust_utils.progress": 0, "trust_utils.codehash": 0,
    "trust_utils.provenance": 0, "trust_utils.paths": 0, "trust_utils.reference": 0, "trust_utils.kernel_modes": 0,
    # 1 · declarations: checkpoints and methods, verticals and metrics, parameters, stages
    "trust_utils.checkpoints": 1, "trust_utils.registry": 1, "trust_utils.params": 1, "trust_utils.stages": 1,
    # 2 · models, the run value, caches, sources, statistics and losses
    "trust_utils.models": 2, "trust_utils.weights": 2, "trust_utils.refs": 2, "trust_utils.run": 2, "trust_utils.cache": 2,
    "trust_utils.sources": 2, "trust_utils.stats": 2, "trust_utils.losses": 2,
    # 3 · value code: everything that computes a number
    "trust_utils.generation": 3, "trust_utils.decoding": 3, "trust_utils.decoding_config": 3,
    "trust_utils.likelihood": 3, "trust_utils.batching": 3, "trust_utils.packing": 3, "trust_utils.datainf": 3,
    "trust_utils.attribution_losses": 3, "trust_utils.data": 3, "trust_utils.training": 3,
    "trust_utils.verticals": 3, "trust_utils.verticals.alignment": 3, "trust_utils.verticals.alignment_status": 3,
    "trust_utils.verticals.kl": 3, "trust_utils.results": 3, "trust_utils.attribution": 3,
    "trust_utils.analysis": 3, "trust_utils.analysis.tables": 3, "trust_utils.analysis.paper": 3, "trust_utils.analysis.multiplicity": 3, "trust_utils.analysis.leading": 3,
    "trust_utils.analysis.seeds": 3, "trust_utils.analysis.curve": 3, "trust_utils.analysis.curve_figure": 4,
    # 4 · orchestration: runs, shows or configures stages
    "trust_utils.manifest": 4, "trust_utils.notebook": 4, "trust_utils.profiles": 4, "trust_utils.planning": 4,
    "trust_utils.pipeline": 4, "trust_utils.kernels": 4, "trust_utils.cli": 4, "trust_utils.course": 4, "trust_utils.style": 4,
    "trust_utils.plots": 4, "trust_utils.training.plots": 4, "trust_utils.analysis.figures": 4,
    "trust_utils.analysis.stage": 4, "trust_utils.attribution_plots": 4,
    "trust_utils.exercises": 4, "trust_utils.exercise_outcomes": 4, "trust_utils.solutions": 4, "trust_utils.runlock": 4,
    "trust_utils.clean": 4, "trust_utils.site": 4, "trust_utils.site_records": 4,
}
NAMES = {0: "base", 1: "declarations", 2: "models and run", 3: "value", 4: "orchestration"}


def modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def layer(module: str) -> int:
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in LAYERS and (i > 1 or module == "trust_utils"):
            return LAYERS[key]
    raise AssertionError(f"{module} has no layer: add it to LAYERS in tests/test_layers.py and to "
                         f"docs/ARCHITECTURE.md")


def imports(mods: dict[str, Path]) -> dict[str, set[tuple[str, bool]]]:
    """``{module: {(imported module, inside a function)}}`` for the package's own modules."""
    edges: dict[str, set[tuple[str, bool]]] = {}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body}
        is_pkg = path.name == "__init__.py"
        found: set[tuple[str, bool]] = set()
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".")[: len(mod.split(".")) - (node.level - (1 if is_pkg else 0))]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in mods else stem for a in node.names]
            for t in targets:
                if not t.startswith("trust_utils"):
                    continue
                while t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t != mod:
                    found.add((t, id(node) not in top))
        edges[mod] = found
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph():
    return imports(modules())


def test_every_module_has_a_layer():
    for m in modules():
        layer(m)


def test_no_import_circles(graph):
    found = cycles({m: {t for t, _ in e} for m, e in graph.items()})
    assert found == [], f"import circles: {found}"


def test_no_import_runs_back_up_a_layer(graph):
    up = sorted(f"{m} ({NAMES[layer(m)]}) imports {t} ({NAMES[layer(t)]})"
                for m, e in graph.items() for t, _ in e if layer(t) > layer(m))
    assert up == [], "imports that run back up the layers:\n" + "\n".join(up)


def test_value_code_never_imports_orchestration(graph):
    bad = sorted(f"{m} imports {t}" for m, e in graph.items() for t, _ in e if layer(m) <= 3 and layer(t) == 4)
    assert bad == [], "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path):
    """The rules above fail on a graph that breaks them (so they can fail)."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert layer("trust_utils.verticals.bias") == 3 and layer("trust_utils.training.plots") == 4
    with pytest.raises(AssertionError, match="has no layer"):
        layer("trust_utils_other.x")


def test_checkpoint_registry_imports_nothing_from_the_package(graph):
    assert graph["trust_utils.checkpoints"] == set()
    assert graph["trust_utils.registry"] == set()
    assert graph["trust_utils.paths"] == set()


def _functions_taking(name: str) -> list[str]:
    out = []
    for mod, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if any(a.arg == name for a in args):
                    out.append(f"{mod}.{node.name}")
    return sorted(out)


def test_a_run_is_a_value_run_dir_strings_reach_entry_points_only():
    """Stage functions take a Run (or a config holding one); a bare ``run_dir`` parameter is left to the entry
    points that receive it from the runner, the CLI or a notebook's cell."""
    taking = _functions_taking("run_dir")
    assert len(taking) < 10, taking


def test_no_module_over_450_lines():
    long = {m: n for m, p in modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert long == {}, long
