"""Build a notebook from a list of ("md"|"code"|"params", source) cells, with no outputs.

Used by developers to write the stage notebooks reproducibly:
    python tools/nbbuild.py  (imports a spec module and writes notebooks/<name>.ipynb)
Specs may also call :func:`write_notebook` directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def write_notebook(path: str | Path, cells: list[tuple[str, str]]) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            nb.cells.append(new_markdown_cell(src))
        elif kind == "params":
            c = new_code_cell(src)
            c.metadata["tags"] = ["parameters"]
            nb.cells.append(c)
        else:
            nb.cells.append(new_code_cell(src))
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    path = Path(path)
    nbformat.write(nb, str(path))
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit("import write_notebook from a spec script")
