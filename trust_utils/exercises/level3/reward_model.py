"""Level-3 exercise of ``11_reward_model``: ``reward_of`` from a backbone, a head and a tokenizer; fixtures, check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

from .. import Case, CheckResult, pick_solution, run_check
from . import causal_lm, reward_head, with_models


def reward_of(backbone, head, tokenizer, prompt, response):
    """A reward model's score of one reply.

    Args:
        backbone: a Hugging Face transformer without its LM head (``backbone(input_ids).last_hidden_state``:
            (1, T, H)).
        head: ``torch.nn.Linear(H, 1)``, the reward head.
        tokenizer: their tokenizer; tokenize the prompt and the reply SEPARATELY with ``add_special_tokens=False``,
            concatenate the ids (prompt first) and append ``tokenizer.eos_token_id``, as the project's reward model
            does (``trust_utils/training/reward.py``).
        prompt, response: strings.
    Returns:
        the head's output at the LAST token (the EOS), as a float or a 0-dim tensor.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("short", ("Q:", " yes."), ""),
            Case("question", ("Is the sky blue?\nA:", " It is blue, mostly."), ""),
            Case("one-character reply", ("Tell me something.", "!"), "")]


def _backbone():
    return causal_lm().gpt_neox  # the transformer under the LM head


bind = with_models(_backbone, reward_head)


def check_reward_of(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check a reward model's score (EOS, last position, prompt included)."""
    return run_check("reward_of", fn, reward_of, cases(), tol=1e-4, bind=bind, verbose=verbose)


def _reference() -> ModuleType:
    from ...solutions.level3 import reward_model  # only when solutions are on: a student's copy has none

    return reward_model


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``reward_of`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["reward_of", "check_reward_of", "solution_or", "cases", "bind"]
