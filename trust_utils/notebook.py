"""Helpers the notebooks call at their start: logging to the notebook, threads, seeds, plot style."""

from __future__ import annotations

import logging
import sys

from .utils import set_seed, set_threads


def _say_how_results_are_kept() -> None:
    """Outside ``rlhf-trust run`` say where this notebook's results go and how the pipeline will treat them."""
    import os

    from .manifest import RUN_ID_ENV

    if os.environ.get(RUN_ID_ENV):
        return
    logging.getLogger("trust_utils").info(
        "running outside `rlhf-trust run`: this notebook writes into its run_dir like the pipeline does, and marks its "
        "outputs.json 'interactive'; the next `rlhf-trust run` of that profile sees the change and redoes this stage "
        "and the stages after it. Set run_dir to a directory of your own to keep the pipeline's results untouched.")


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
    _say_how_results_are_kept()
    set_seed(seed)
    n = set_threads(threads)
    try:
        from .style import apply_style

        apply_style()  # the one theme of every figure (trust_utils.style)
    except ImportError:  # pragma: no cover
        pass
    return n


def config_from_params(config_cls, namespace: dict, *, keep_default: tuple[str, ...] = (),
                       error: type[Exception] = ValueError, **fixed):
    """Build a stage's config dataclass from the notebook's parameters (its ``globals()``).

    Every field must be a notebook parameter, so a parameter added to a config but forgotten in the notebook fails
    loudly instead of silently taking its default.

    Args:
        config_cls: the stage's config dataclass.
        namespace: where the parameters live (the notebook's ``globals()``).
        keep_default: fields that are deliberately not notebook parameters and keep their defaults.
        error: exception type raised for missing parameters.
        **fixed: fields set by the notebook itself rather than by a parameter (e.g. ``progress=False``).
    """
    import dataclasses

    names = [f.name for f in dataclasses.fields(config_cls) if f.name not in fixed and f.name not in keep_default]
    missing = [n for n in names if n not in namespace]
    if missing:
        raise error(f"{config_cls.__name__}: the notebook does not define parameter(s) {missing}")
    return config_cls(**{n: namespace[n] for n in names}, **fixed)
