"""rlhf-trust: how preference alignment (SFT, PPO, DPO) changes a language model's trustworthiness.

The package holds all logic of the study; the notebooks in ``notebooks/`` call it and display.
Importing it has no side effects: no logging handlers, no thread settings, no file writes.
"""

__version__ = "0.1.0"
