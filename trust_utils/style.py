"""One plotting style and one palette for every figure of the project.

* **Colours of checkpoints** come from the checkpoint registry (:data:`trust_utils.checkpoints.BUILTIN`: Base grey,
  SFT blue, PPO orange, DPO green) and, for a run with a profile ``checkpoints:`` block, from its external
  checkpoints' declared ``color`` (:func:`use_run_checkpoints`). :func:`checkpoint_color` is the only way a figure
  picks a checkpoint's colour, so Base has one colour in a vertical's notebook and in the analysis.
* **Series that are not checkpoints** (model families, variants, training splits) take :func:`series_colors`
  (evenly spaced on :data:`SERIES_CMAP`); heatmaps take :data:`SEQUENTIAL_CMAP`; reference and threshold lines
  :data:`REFERENCE_LINE` and :data:`THRESHOLD_COLOR`.
* **Theme, fonts, sizes**: :func:`rc` (seaborn ``whitegrid`` in the ``notebook`` context with the font sizes of
  :data:`FONT_SIZES`); every figure function draws inside :func:`styled`, so a figure looks the same whether it is
  drawn in a notebook (where :func:`apply_style` also sets it globally) or in a test. :func:`figsize` gives the
  size of a grid of panels of :data:`PANEL` inches.
* **Figures that show**: :func:`resolve_backend` picks matplotlib's backend outside any ``rc_context``.
  matplotlib resolves its backend on first use; in a Jupyter kernel that activates the inline backend, which turns
  interactive mode on (``rcParams["interactive"]``) and registers the figure formatters. Done inside
  ``rc_context`` (where every figure function draws), the context's exit reverts ``interactive`` to ``False``, and
  from then on the inline backend shows no figure: every figure after a notebook's first went missing. So
  :func:`style_context` and :func:`apply_style` (``setup_notebook``) resolve the backend first. This rather than
  having each figure function display and close its own figure: it also covers the figures a notebook cell draws
  itself, and keeps the functions' contract (return the figure, show nothing) for the report and the tests.
* **Files**: :func:`save_figure` writes PNG and PDF with :data:`PDF_METADATA` and no creation date, so the same
  results give byte-identical files.

Nothing here runs at import; matplotlib and seaborn are imported when a function needs them.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .run import show_run, showing_run, shown_checkpoint, shown_checkpoints, shown_label

#: Font sizes (points) of the theme.
FONT_SIZES: dict[str, float] = {"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 8,
                                "ytick.labelsize": 8, "legend.fontsize": 7, "legend.title_fontsize": 7,
                                "figure.titlesize": 11}
#: Width and height (inches) of one panel.
PANEL: tuple[float, float] = (3.6, 3.4)
#: Colour map of series that are not checkpoints (model families, variants).
SERIES_CMAP = "viridis"
#: Colour map of heatmaps (rates in [0, 1]: light is low).
SEQUENTIAL_CMAP = "rocket_r"
#: Colour of a threshold line (e.g. ``max_degenerate``).
THRESHOLD_COLOR = "#d62728"
#: Style of a reference line (zero, diagonal).
REFERENCE_LINE: dict[str, Any] = {"color": "#333333", "lw": 0.8, "ls": "--"}
#: Colour of error bars.
ERROR_COLOR = "#333333"
#: Colour of a checkpoint the registry does not know (neither built-in nor declared by the run).
UNKNOWN_COLOR = "#9467bd"
#: Metadata of saved PDFs; no creation date, so reruns give identical files.
PDF_METADATA: dict[str, Any] = {"Creator": "rlhf-trust", "CreationDate": None}

# ------------------------------------------------------------------------------------ checkpoints
# The run being shown (its external checkpoints' labels, colours and order) is a context of trust_utils.run, which
# the change table's order also reads; re-exported here for the figures.
use_run_checkpoints = show_run
for_run = showing_run
run_checkpoints = shown_checkpoints
checkpoint_label = shown_label


def checkpoint_color(checkpoint: str) -> str:
    """A checkpoint's colour: the run's external checkpoint's, the registry's, else :data:`UNKNOWN_COLOR`."""
    c = shown_checkpoint(checkpoint)
    return c.color if c is not None else UNKNOWN_COLOR


def checkpoint_colors(checkpoints: Iterable[str]) -> dict[str, str]:
    """``{checkpoint: colour}`` for a legend or a seaborn ``palette``."""
    return {c: checkpoint_color(c) for c in dict.fromkeys(checkpoints)}


def series_colors(series: Iterable[str]) -> dict[str, Any]:
    """Colours of series that are not checkpoints, evenly spaced on :data:`SERIES_CMAP` in the order given."""
    from matplotlib import colormaps

    names = list(dict.fromkeys(series))
    cmap = colormaps[SERIES_CMAP]
    return {s: cmap(0.15 + 0.7 * i / max(1, len(names) - 1)) for i, s in enumerate(names)}


# ------------------------------------------------------------------------------------ theme
def rc() -> dict[str, Any]:
    """The project's matplotlib rc settings: seaborn ``whitegrid`` / ``notebook`` plus :data:`FONT_SIZES`."""
    import seaborn as sns

    out: dict[str, Any] = {}
    out.update(sns.axes_style("whitegrid"))
    out.update(sns.plotting_context("notebook"))
    out.update(FONT_SIZES)
    out.update({"figure.figsize": PANEL, "pdf.fonttype": 42, "ps.fonttype": 42, "savefig.bbox": "tight"})
    return out


def resolve_backend() -> str:
    """Resolve matplotlib's backend now, outside any ``rc_context``, and return its name.

    Why: see the module docstring (a backend resolved inside ``rc_context`` loses the inline backend's interactive
    mode when the context exits, and the kernel shows no further figure). Resolving twice is a no-op.
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    # Reading rcParams["backend"] alone is not enough: with MPLBACKEND set (ipykernel sets it) the name is known and
    # the backend module, whose import activates the kernel integration, loads with the first figure. pyplot's
    # loader imports it once and returns it on later calls; switch_backend would also close every open figure.
    load = getattr(plt, "_get_backend_mod", None)
    if load is not None:
        load()
    elif not plt.get_fignums():  # pragma: no cover - a pyplot without the loader: switch before any figure only
        plt.switch_backend(mpl.get_backend())
    return str(mpl.get_backend())


def apply_style() -> None:
    """Set the project's style globally (notebooks call it through ``setup_notebook``), the backend resolved first."""
    import matplotlib as mpl

    resolve_backend()
    mpl.rcParams.update(rc())


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """The project's style for the figures drawn inside the block, leaving the global settings as they were."""
    import matplotlib as mpl

    resolve_backend()  # before the context: resolved inside it, the kernel would show no later figure
    with mpl.rc_context(rc()):
        yield


def styled(fn: Callable) -> Callable:
    """Decorator: draw the figure function ``fn`` in :func:`style_context`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with style_context():
            return fn(*args, **kwargs)
    return wrapper


def figsize(ncols: int = 1, nrows: int = 1, panel: tuple[float, float] = PANEL, pad: tuple[float, float] = (0.6, 0.9)
            ) -> tuple[float, float]:
    """Size (inches) of a figure of ``nrows x ncols`` panels of ``panel`` inches, plus ``pad`` for titles and labels."""
    return panel[0] * max(1, ncols) + pad[0], panel[1] * max(1, nrows) + pad[1]


# ------------------------------------------------------------------------------------ files
def save_figure(fig, stem: Path, formats: Iterable[str] = ("png", "pdf"), dpi: int = 150) -> list[Path]:
    """Write ``fig`` as ``<stem>.<fmt>`` for each format; returns the paths.

    No creation date is embedded, so the same results give byte-identical files (no spurious diffs in ``figures/``).
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    engine = fig.get_layout_engine()
    try:
        for fmt in formats:
            p = stem.with_suffix(f".{fmt}")
            meta = dict(PDF_METADATA) if fmt == "pdf" else {}
            fig.savefig(p, dpi=dpi, bbox_inches="tight", metadata=meta)
            out.append(p)
            if engine is not None:
                # the layout the first file computed holds for the others (same figure, same size): a constrained
                # layout is about a third of a many-panel figure's drawing time
                fig.set_layout_engine("none")
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)  # later draws (a notebook's display) lay the figure out as before
    return out


__all__ = ["FONT_SIZES", "PANEL", "SERIES_CMAP", "SEQUENTIAL_CMAP", "THRESHOLD_COLOR", "REFERENCE_LINE",
           "ERROR_COLOR", "UNKNOWN_COLOR", "PDF_METADATA", "use_run_checkpoints", "for_run", "run_checkpoints",
           "checkpoint_label", "checkpoint_color", "checkpoint_colors", "series_colors", "rc", "resolve_backend", "apply_style",
           "style_context", "styled", "figsize", "save_figure"]
