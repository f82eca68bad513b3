"""Reference solution of the ``23_truthfulness`` exercise (:mod:`trust_utils.exercises.truthfulness`); for teachers."""

from __future__ import annotations

import math
from typing import Sequence


def mc2_score(logliks: Sequence[float], labels: Sequence[int]) -> float:
    """Probability mass of the true options among all, ``sum(exp ll_true) / sum(exp ll_all)``, computed stably."""
    m = max(logliks)
    ps = [math.exp(x - m) for x in logliks]
    return sum(p for p, lab in zip(ps, labels, strict=True) if lab == 1) / sum(ps)


__all__ = ["mc2_score"]
