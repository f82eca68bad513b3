"""Reference solution of the ``13_dpo`` exercise (:mod:`trust_utils.exercises.dpo`); for teachers."""

from __future__ import annotations

from typing import Any


def dpo_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    """``mean(-log sigmoid(beta * [(pi_c - ref_c) - (pi_r - ref_r)]))`` on sequence log-probs."""
    import torch.nn.functional as F

    return -F.logsigmoid(beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))).mean()


def mistakes():
    import torch.nn.functional as F

    return [(lambda pc, pr, rc, rr, b: -F.logsigmoid(b * ((pr - rr) - (pc - rc))).mean(),
             "sign: the chosen log-ratio comes first (chosen - rejected), and a log-ratio is policy minus "
             "reference, log pi(y|x) - log pi_ref(y|x)"),
            (lambda pc, pr, rc, rr, b: -F.logsigmoid((pc - rc) - (pr - rr)).mean(),
             "beta: multiply the difference of log-ratios by beta"),
            (lambda pc, pr, rc, rr, b: -F.logsigmoid(b * (pc - pr)).mean(),
             "the reference: subtract the reference model's log-probs (log-RATIOS, not policy log-probs)"),
            (lambda pc, pr, rc, rr, b: -F.logsigmoid(b * ((pc - rc) - (pr - rr))).sum(), "a sum: take the mean"),
            (lambda pc, pr, rc, rr, b: F.logsigmoid(b * ((pc - rc) - (pr - rr))).mean(),
             "the minus: the loss is -log sigmoid(...) (log sigmoid is at most 0; we minimise its negative)")]


__all__ = ["dpo_loss", "mistakes"]
