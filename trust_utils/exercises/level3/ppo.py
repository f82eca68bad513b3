"""Level-3 exercise of ``12_ppo``: ``kl_penalized_rewards`` from two models and a tokenizer; fixtures, check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

from .. import Case, CheckResult, pick_solution, run_check
from . import REFERENCE_SEED, causal_lm, with_models


def kl_penalized_rewards(policy, reference, tokenizer, prompt, response, score, kl_coef):
    """PPO's per-token rewards of one sampled reply.

    Args:
        policy, reference: Hugging Face causal LMs (``model(input_ids).logits``: (1, T, V)).
        tokenizer: their tokenizer; tokenize the prompt and the reply SEPARATELY with ``add_special_tokens=False``
            and concatenate the ids (prompt first).
        prompt, response: strings; score: the reward model's score of the reply; kl_coef: the KL coefficient.
    Returns:
        a float tensor of shape (number of reply tokens,): ``-kl_coef * (log pi(y_t) - log ref(y_t))`` for each reply
        token ``y_t`` (its log-prob given everything before it), with ``score`` added on the LAST one.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("kl_coef 0.1", ("Q: sky?\nA:", " blue.", 1.5, 0.1), ""),
            Case("kl_coef 1, negative score", ("Tell me:", " no way, sorry.", -0.7, 1.0), ""),
            Case("one-token prompt", ("A", "bc d", 0.3, 0.5), "")]


bind = with_models(causal_lm, lambda: causal_lm(REFERENCE_SEED))


def check_kl_penalized_rewards(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check PPO's per-token rewards (KL penalty sign, shift, reply tokens only, score at the end)."""
    return run_check("kl_penalized_rewards", fn, kl_penalized_rewards, cases(), tol=1e-4, scalar=False, bind=bind,
                     verbose=verbose)


def _reference() -> ModuleType:
    from ...solutions.level3 import ppo  # only when solutions are on: a student's copy has none

    return ppo


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``kl_penalized_rewards`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["kl_penalized_rewards", "check_kl_penalized_rewards", "solution_or", "cases", "bind"]
