"""Each notebook is a jupytext pair (``notebooks/NN.py`` percent format + ``NN.ipynb``): the two must hold the same
cells, and the committed ``.ipynb`` carries no outputs. A failure says which command brings them back in sync."""

from pathlib import Path

import nbformat
import pytest

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
IPYNBS = sorted(NB_DIR.glob("*.ipynb"))
FIX = "run `jupytext --sync notebooks/*.py` (or save the notebook in JupyterLab, which updates both files)"


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip("\n"), tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def test_every_notebook_has_its_text_pair_and_back():
    assert IPYNBS, "no notebooks found"
    pys = {p.stem for p in NB_DIR.glob("*.py")}
    assert {p.stem for p in IPYNBS} == pys, f"unpaired notebooks: {sorted({p.stem for p in IPYNBS} ^ pys)}; {FIX}"


@pytest.mark.parametrize("ipynb", IPYNBS, ids=[p.stem for p in IPYNBS])
def test_pair_in_sync_and_without_outputs(ipynb):
    import jupytext

    nb = nbformat.read(str(ipynb), as_version=4)
    text = jupytext.read(str(ipynb.with_suffix(".py")))
    a, b = _cells(nb), _cells(text)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        assert x == y, f"{ipynb.name} and {ipynb.stem}.py differ at cell {i}:\n{x}\n!=\n{y}\n{FIX}"
    assert len(a) == len(b), f"{ipynb.name} has {len(a)} cells, {ipynb.stem}.py {len(b)}; {FIX}"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{ipynb.name}: cells {dirty} have outputs; clear them (`jupyter nbconvert --clear-output --inplace`)"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.get("metadata", {}).get("tags", []), f"{ipynb.name}: first code cell not tagged"
