"""Test helper: write a minimal stage notebook (parameters cell + one body cell)."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def make_stage_notebook(path, params: str, body: str) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    c = new_code_cell(params)
    c.metadata["tags"] = ["parameters"]
    nb.cells = [c, new_code_cell(body)]
    nbformat.write(nb, str(path))
