"""The analysis: the change table, the comparison with the paper, the figures and the stage that writes them.

Everything reads the one results table (:func:`trust_utils.results.load_results`) and the registry
(:data:`trust_utils.registry.VERTICALS`); nothing about a vertical is typed twice.

* :mod:`.tables` -- names, the loaded results, the change table, degenerate shares, changes against declared
  baselines, the v1 table layout (value code).
* :mod:`.paper` -- the paper's reported numbers (``trust_utils/reference/paper_results.csv``) beside the run's
  (value code).
* :mod:`.figures` -- every figure of the stage (orchestration: drawn in :mod:`trust_utils.style`).
* :mod:`.stage` -- :class:`~.stage.AnalysisConfig` and :func:`~.stage.run` (orchestration).

This ``__init__`` imports nothing, so that importing :mod:`.tables` pulls in no figure code. The names of the
former single module stay reachable as ``trust_utils.analysis.<name>`` through :func:`__getattr__` (PEP 562), which
imports the right submodule on first use. Code whose code hash matters (notebooks, package modules) imports the
submodule itself: :mod:`trust_utils.codehash` follows import statements, not attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

#: ``name -> submodule`` (relative to this package, or the absolute ``trust_utils.style``) of the lazily served names.
_WHERE: dict[str, str] = {
    **dict.fromkeys(["Z95", "HEADLINE_CHECKPOINTS", "V1_PYTHIA_SIZES", "KEY", "MAX_DEGENERATE", "order_checkpoints",
                     "model_label", "model_size_millions", "pythia_size", "prepare", "series_order", "diff_ci_normal",
                     "CHANGE_COLUMNS", "guard_share", "attach_units", "change_table", "format_changes",
                     "DEGENERATE_METRICS", "degenerate_shares", "changes_against", "V1_TABLE_INDEX", "v1_table"],
                    ".tables"),
    **dict.fromkeys(["load_reference", "reference_as_rate", "V1_COLUMNS", "v1_comparison", "V2_COLUMNS",
                     "v2_headline_comparison"], ".paper"),
    **dict.fromkeys(["figure_title", "panel_variants", "plot_vertical", "plot_overview", "plot_breakdown",
                     "plot_degenerate", "figure_keys", "make_figure", "plot_families"], ".figures"),
    **dict.fromkeys(["AnalysisConfig", "AnalysisResult", "resolve_profile_name", "run", "family_outputs"], ".stage"),
    # the display functions are the style module's; served here because callers used ``analysis.<name>``
    **dict.fromkeys(["save_figure", "use_run_checkpoints", "checkpoint_color", "checkpoint_label"],
                    "trust_utils.style"),
}


def __getattr__(name: str) -> Any:
    """``trust_utils.analysis.<name>``: the name from its submodule, imported on first use."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(where, __name__)
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = sorted(_WHERE)
