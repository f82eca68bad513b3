"""Helpers the notebooks call at their start: logging to the notebook, threads, seeds, plot style."""

from __future__ import annotations

import logging
import sys

from .utils import set_seed, set_threads


def setup_notebook(seed: int = 0, threads: int = 0, level: int = logging.INFO) -> int:
    """Route the package's log to the notebook output, seed everything and fix the thread count.

    Returns the torch thread count in force.
    """
    logger = logging.getLogger("trust_utils")
    if not any(getattr(h, "_rlhf_trust", False) for h in logger.handlers):
        h = logging.StreamHandler(sys.stdout)
        h.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        h._rlhf_trust = True  # type: ignore[attr-defined]
        logger.addHandler(h)
    logger.setLevel(level)
    try:  # without ipywidgets tqdm falls back to text bars; its warning about that is noise in every notebook
        import warnings

        from tqdm import TqdmExperimentalWarning, TqdmWarning

        warnings.filterwarnings("ignore", category=TqdmWarning)
        warnings.filterwarnings("ignore", category=TqdmExperimentalWarning)
    except ImportError:  # pragma: no cover
        pass
    set_seed(seed)
    n = set_threads(threads)
    try:
        import seaborn as sns

        sns.set_theme(style="whitegrid", context="notebook")
    except ImportError:  # pragma: no cover
        pass
    return n
