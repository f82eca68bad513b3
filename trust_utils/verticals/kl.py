"""KL estimators: how far a policy moved from a reference, estimated on the policy's own samples.

The quantity is the sequence-level KL of the response distributions, per prompt ``x``::

    KL(pi || ref)(x) = E_{y ~ pi(.|x)} [ log pi(y|x) - log ref(y|x) ],

with ``log pi(y|x) = sum_t log pi(y_t | x, y_<t)`` over the response tokens. It is estimated from samples ``y`` the
policy drew itself (Schulman, "Approximating KL divergence", 2020; TRL's online trainers, PPO's among them, log the same
quantity as ``objective/kl``):

* ``k1`` (default): ``log pi(y) - log ref(y)``, the sum over the response tokens of the per-token log-ratio.
  Unbiased; a single sample can be negative, the mean over prompts cannot be (in expectation). It is what TRL's
  trainers compute with their default ``kl_estimator="k1"``, and it needs only each model's sequence log-likelihood
  of the sample, which the evaluation engine computes and caches (:meth:`trust_utils.generation.Engine.loglikelihood`,
  fp32 LM head).
* ``k3``: ``(r - 1) - log r`` with ``r = ref(y) / pi(y)``. Also unbiased (``E_pi[r] = 1``) and never negative per
  sample; lower variance when the two distributions are close, but ``r`` grows as ``exp`` of the log-ratio, so far
  from the reference a few samples dominate. :func:`sequence_kl` applies it to whole sequences (what the engine's
  sequence log-likelihoods allow); :func:`token_kl` to each token and sums (TRL's ``kl_estimator="k3"``, which needs
  per-token log-probs). Both are unbiased for the same sequence KL; they differ in variance only.

:func:`exact_kl` computes the KL of two enumerated distributions, which the tests compare the estimators with.
Everything here is a pure function of numbers (natural logs, nats).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

ESTIMATORS: tuple[str, ...] = ("k1", "k3")


def _check_estimator(estimator: str) -> None:
    if estimator not in ESTIMATORS:
        raise ValueError(f"KL estimator must be one of {ESTIMATORS}, not {estimator!r}")


def _estimate(log_ratio: np.ndarray, estimator: str) -> np.ndarray:
    """Per-sample estimates from ``log pi - log ref``; k3 uses ``log r = -log_ratio``."""
    if estimator == "k1":
        return log_ratio
    return np.expm1(-log_ratio) + log_ratio  # (r - 1) - log r, expm1 keeps it exact near r = 1


def sequence_kl(logp_policy: Sequence[float], logp_ref: Sequence[float], estimator: str = "k1") -> np.ndarray:
    """Per-sample KL estimates from sequence log-likelihoods of the policy's own samples.

    Args:
        logp_policy: ``log pi(y|x)`` of each sample (sum over its response tokens).
        logp_ref: ``log ref(y|x)`` of the same samples.
        estimator: ``k1`` or ``k3`` (module docstring).

    Returns:
        One estimate per sample (nats); their mean estimates the KL. A non-finite input gives a non-finite estimate.
    """
    _check_estimator(estimator)
    p, q = np.asarray(logp_policy, dtype=float), np.asarray(logp_ref, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"sequence_kl: {p.shape[0] if p.ndim else 0} policy and "
                         f"{q.shape[0] if q.ndim else 0} reference log-likelihoods; give one of each per sample")
    with np.errstate(over="ignore", invalid="ignore"):
        return _estimate(p - q, estimator)


def token_kl(token_logp_policy: Sequence[Sequence[float]], token_logp_ref: Sequence[Sequence[float]],
             estimator: str = "k1") -> np.ndarray:
    """Per-sample KL estimates from per-token log-probs: the per-token estimate summed over each sample's tokens.

    For ``k1`` this equals :func:`sequence_kl` of the sums; for ``k3`` it is TRL's token-level estimator (each token's
    ``(r_t - 1) - log r_t``, ``r_t = ref(y_t|.) / pi(y_t|.)``), unbiased for the same sequence KL because each
    ``r_t`` has expectation 1 given the tokens before it.
    """
    _check_estimator(estimator)
    if len(token_logp_policy) != len(token_logp_ref):
        raise ValueError(f"token_kl: {len(token_logp_policy)} policy and {len(token_logp_ref)} reference samples")
    out = []
    for i, (p, q) in enumerate(zip(token_logp_policy, token_logp_ref, strict=True)):
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        if p.shape != q.shape:
            raise ValueError(f"token_kl: sample {i} has {p.size} policy and {q.size} reference token log-probs")
        with np.errstate(over="ignore", invalid="ignore"):
            out.append(float(_estimate(p - q, estimator).sum()))
    return np.asarray(out, dtype=float)


def exact_kl(p: Mapping[object, float], q: Mapping[object, float]) -> float:
    """``sum_y p(y) (log p(y) - log q(y))`` over the support of ``p`` (two enumerated distributions).

    Raises:
        ValueError: ``p`` does not sum to 1, or puts mass where ``q`` has none (the KL is infinite).
    """
    if not math.isclose(sum(p.values()), 1.0, abs_tol=1e-9):
        raise ValueError(f"exact_kl: p sums to {sum(p.values())}, not 1")
    total = 0.0
    for y, py in p.items():
        if py <= 0:
            continue
        qy = q.get(y, 0.0)
        if qy <= 0:
            raise ValueError(f"exact_kl: p({y!r}) = {py} but q({y!r}) = 0; the KL is infinite")
        total += py * (math.log(py) - math.log(qy))
    return total


__all__ = ["ESTIMATORS", "sequence_kl", "token_kl", "exact_kl"]
