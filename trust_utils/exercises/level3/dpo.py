"""Level-3 exercise of ``13_dpo``: ``dpo_pair_loss`` from two models and a tokenizer (CS336's per-instance DPO loss);
its fixtures and check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

from .. import Case, CheckResult, pick_solution, run_check
from . import REFERENCE_SEED, causal_lm, with_models


def dpo_pair_loss(policy, reference, tokenizer, prompt, chosen, rejected, beta):
    """DPO's loss on ONE preference pair, from the models.

    Args:
        policy, reference: Hugging Face causal LMs (``model(input_ids).logits``: (1, T, V)); the reference is frozen.
        tokenizer: their tokenizer; tokenize the prompt and each reply SEPARATELY with ``add_special_tokens=False``
            and concatenate the ids (prompt first).
        prompt, chosen, rejected: strings; beta: the KL strength.
    Returns:
        ``-log sigmoid(beta * ((log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected))))`` where
        ``log pi(reply)`` is the SUM of the reply tokens' log-probs given the prompt (a float or a 0-dim tensor).
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("beta 0.5", ("Q: sky?\nA:", " blue.", " green!", 0.5), ""),
            Case("beta 0.3, replies of other lengths", ("Tell me:", " ok", " no way, sorry.", 0.3), ""),
            Case("one-token prompt", ("A", "bc", "de f", 1.0), "")]


bind = with_models(causal_lm, lambda: causal_lm(REFERENCE_SEED))


def check_dpo_pair_loss(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check the DPO loss of a pair from a policy, a reference and a tokenizer (sums, prompt mask, log-ratios)."""
    return run_check("dpo_pair_loss", fn, dpo_pair_loss, cases(), tol=1e-4, bind=bind, verbose=verbose)


def _reference() -> ModuleType:
    from ...solutions.level3 import dpo  # only when solutions are on: a student's copy has none

    return dpo


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``dpo_pair_loss`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["dpo_pair_loss", "check_dpo_pair_loss", "solution_or", "cases", "bind"]
