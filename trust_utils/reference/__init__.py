"""Reference data shipped with the package.

``paper_results.csv``: the numbers the reference study reported (arXiv 2404.18870), in long format
(``source, version, model, vertical, metric, variant, checkpoint, value, unit, note``):

* ``version == "v1"``: per-model values of the v1 paper (Pythia 70M/160M/410M/2.8B/6.9B), from the arrays
  of the v1 ``plot_results.py`` scripts of the official repository (bias: parsed from ``bias_plots.pdf``,
  about +-0.005). ``unit`` is ``score``/``rate`` (0-1) or ``percent`` (truthfulness, privacy).
* ``version == "v2"``: the ICLR 2025 headline claims, averaged over the v2 models; ``unit == "relative"``
  rows are the relative change from base to the aligned models (PPO and DPO averaged), e.g. ``-0.31``
  for "machine ethics better by 31%". An empty value means the paper gave a direction, not a number.

Metric names are this project's (``trust_utils.registry``); the ``note`` column says how the paper's
metric maps to ours. Read it with :func:`trust_utils.analysis.load_reference`.
"""

from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent
PAPER_RESULTS = REFERENCE_DIR / "paper_results.csv"
