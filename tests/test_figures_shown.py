"""Every figure a notebook draws shows as an image in the executed notebook.

The bug this guards against: matplotlib resolves its backend on first use; in a kernel that activates the inline
backend, which switches interactive mode on. Resolved inside an ``rc_context`` (the project's figure functions draw
inside one), the context's exit switches interactive mode off again, and the kernel shows no later figure.
:func:`trust_utils.style.resolve_backend` resolves it first (see :mod:`trust_utils.style`).

How figures are counted: a kernel started with ``IPYTHONDIR`` pointing at a temporary profile runs a startup file
that counts every ``matplotlib.figure.Figure`` created in the kernel and writes the count, with the kernel's working
directory (the runner runs each stage's notebook in its stage directory), to ``<FIGCOUNT_DIR>/<pid>.json``. The
images are the ``image/png`` outputs of the executed notebook.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

COUNTER = textwrap.dedent('''
    import json as _json
    import os as _os

    import matplotlib.figure as _mf

    _FIGS = [0]
    _init = _mf.Figure.__init__


    def _counting_init(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        _FIGS[0] += 1
        out = _os.path.join(_os.environ["FIGCOUNT_DIR"], f"{_os.getpid()}.json")
        with open(out, "w") as fh:
            _json.dump({"cwd": _os.getcwd(), "figures": _FIGS[0]}, fh)


    _mf.Figure.__init__ = _counting_init
''')


def count_figures_in_kernels(monkeypatch, tmp_path: Path) -> Path:
    """Make every kernel started from now on count its figures into the returned directory."""
    ipython_dir = tmp_path / "ipython"
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-count-figures.py").write_text(COUNTER, encoding="utf-8")
    counts = tmp_path / "figcounts"
    counts.mkdir()
    monkeypatch.setenv("IPYTHONDIR", str(ipython_dir))
    monkeypatch.setenv("FIGCOUNT_DIR", str(counts))
    return counts


def figures_by_cwd(counts: Path) -> dict[str, int]:
    """``{kernel working directory: figures created}`` summed over the kernels that ran there."""
    out: dict[str, int] = {}
    for f in counts.glob("*.json"):
        d = json.loads(f.read_text(encoding="utf-8"))
        key = str(Path(d["cwd"]).resolve())
        out[key] = out.get(key, 0) + d["figures"]
    return out


def images(notebook: Path) -> int:
    """The number of ``image/png`` outputs of an executed notebook."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return sum("image/png" in o.get("data", {}) for c in nb["cells"] if c["cell_type"] == "code"
               for o in c.get("outputs", []))


def _execute(cells: list[str], tmp_path: Path, name: str) -> Path:
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, out = tmp_path / f"{name}.ipynb", tmp_path / f"{name}.out.ipynb"
    nbformat.write(nb, src)
    papermill.execute_notebook(str(src), str(out), kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    return out


_TWO_FIGURES = ["import matplotlib.pyplot as plt\nfrom trust_utils import style",
                "with style.style_context():\n    fig, ax = plt.subplots()\n    ax.plot([1, 2])",
                "with style.style_context():\n    fig, ax = plt.subplots()\n    ax.plot([2, 1])"]


def test_two_figures_drawn_in_the_project_style_give_two_images(tmp_path, monkeypatch):
    counts = count_figures_in_kernels(monkeypatch, tmp_path)
    out = _execute(_TWO_FIGURES, tmp_path, "two")
    assert figures_by_cwd(counts) == {str(tmp_path.resolve()): 2}
    assert images(out) == 2


def test_setup_notebook_resolves_the_backend_for_a_cells_own_rc_context(tmp_path, monkeypatch):
    counts = count_figures_in_kernels(monkeypatch, tmp_path)
    cells = ["import matplotlib as mpl\nimport matplotlib.pyplot as plt\nfrom trust_utils.notebook import setup_notebook"
             "\nsetup_notebook(threads=1)",
             *[f"with mpl.rc_context({{'font.size': 9}}):\n    fig, ax = plt.subplots()\n    ax.plot([{i}, 1])"
               for i in range(3)]]
    out = _execute(cells, tmp_path, "setup")
    assert figures_by_cwd(counts) == {str(tmp_path.resolve()): 3}
    assert images(out) == 3


def test_the_count_sees_the_bug_without_the_fix(tmp_path, monkeypatch):
    """The control: the backend resolved inside ``rc_context`` (plain matplotlib, none of the project's code) shows
    the first figure only, so the image counts above can fail. If a matplotlib release fixes this, drop the control."""
    counts = count_figures_in_kernels(monkeypatch, tmp_path)
    cells = ["import matplotlib as mpl\nimport matplotlib.pyplot as plt",
             *[f"with mpl.rc_context({{'font.size': 9}}):\n    fig, ax = plt.subplots()\n    ax.plot([{i}, 1])"
               for i in range(2)]]
    out = _execute(cells, tmp_path, "bug")
    assert figures_by_cwd(counts) == {str(tmp_path.resolve()): 2}
    assert images(out) == 1


#: Notebooks of the tiny profile whose figures are counted (in tests/test_tiny_profile.py, during its one run of the
#: profile): several figures each, training and vertical helpers, and the analysis' Figures shown with ``display``.
SHOWN = ("10_sft", "11_reward_model", "13_dpo", "20_toxicity", "21_bias", "24_privacy", "90_analysis")
