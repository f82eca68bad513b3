"""Compatibility shim: the names that code outside ``trust_utils.training`` still imports from here.

The stage machinery lives in :mod:`.config` (the config base, errors, trainer arguments), :mod:`.inputs`,
:mod:`.reuse` (reuse, resume, saving), :mod:`.launch`, :mod:`.callbacks`, :mod:`.summary` and :mod:`.envelope`.
Nothing inside the package imports this module (so it is in no method's reuse key); import from those instead.
"""

from __future__ import annotations

from .config import TRAIN_LOG, trainer_kwargs, use_bf16
from .reuse import save_trainer_model
from .summary import read_log

__all__ = ["TRAIN_LOG", "read_log", "save_trainer_model", "trainer_kwargs", "use_bf16"]
