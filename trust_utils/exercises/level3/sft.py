"""Level-3 exercise of ``10_sft``: ``response_nll`` from a model and a tokenizer; its fixtures and check."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

from .. import Case, CheckResult, pick_solution, run_check
from . import causal_lm, with_models


def response_nll(model, tokenizer, prompt, response):
    """The SFT loss of one example, from the model.

    Args:
        model: a Hugging Face causal LM (``model(input_ids).logits`` has shape (1, T, V)).
        tokenizer: its tokenizer; tokenize the prompt and the reply SEPARATELY with ``add_special_tokens=False`` and
            concatenate the ids (prompt first).
        prompt, response: strings.
    Returns:
        the mean negative log-likelihood of the REPLY's tokens given everything before them (a float or a 0-dim
        tensor); the prompt's tokens carry no loss.
    """
    raise NotImplementedError


def cases() -> list[Case]:
    return [Case("short prompt", ("Q:", " yes."), "a 2-token prompt, a 5-token reply"),
            Case("question", ("Is the sky blue?\nA:", " It is blue, mostly."), ""),
            Case("one-token prompt", ("A", "bc d"), "the first reply token is predicted from the prompt's token")]


bind = with_models(causal_lm)


def check_response_nll(fn: Callable, verbose: bool = False) -> CheckResult:
    """Check the reply tokens' NLL on the fixture model (shift, prompt mask, mean)."""
    return run_check("response_nll", fn, response_nll, cases(), tol=1e-4, bind=bind, verbose=verbose)


def _reference() -> ModuleType:
    from ...solutions.level3 import sft  # only when solutions are on: a student's copy has none

    return sft


def solution_or(stub: Callable, solutions: bool | None = None) -> Callable:
    """The reference ``response_nll`` when solutions are enabled, else ``stub`` (see :func:`pick_solution`)."""
    return pick_solution(stub, _reference, solutions)


__all__ = ["response_nll", "check_response_nll", "solution_or", "cases", "bind"]
