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

    Values: the dataclass defaults, then every field the notebook's parameters cell sets, then the cell's
    ``overrides`` dict (any other field; ``rlhf-trust params <stage>`` lists them), then ``fixed``. An override that is
    not a field is an error naming the valid ones; names in the cell that are not fields (``run_dir`` where it is not
    one, display-only knobs) are notebook-only parameters and are ignored here (see :mod:`trust_utils.params`).

    Args:
        config_cls: the stage's config dataclass.
        namespace: where the parameters live (the notebook's ``globals()``).
        keep_default: fields that keep their defaults even if the namespace has a value of that name.
        error: exception type raised for bad overrides or a missing required field.
        **fixed: fields set by the notebook itself rather than by a parameter (e.g. ``progress=False``).
    """
    from .params import build_config

    return build_config(config_cls, namespace, error=error, keep_default=keep_default, **fixed)
