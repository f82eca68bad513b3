"""What the online RL stages (PPO and the other policy-gradient methods) share around their trainers: the policy's
tokenizer, the tokenizer check against the reward model (:func:`check`, run by the envelope before any training), and
the stage's report (:func:`report`: greedy samples of the SFT and trained policies on held-out prompts, both scored by
the reward model, and their part of ``outputs.json``; :mod:`.envelope` writes it).

These stages feed the policy's token ids (PPO) or its decoded replies plus EOS to *our* reward model, so the reward
model must read the policy's tokenizer exactly (:func:`check_same_tokenizer`), and all give the tokenizer a pad token
distinct from EOS (:func:`policy_tokenizer`, see :mod:`.padding`) so that the EOS that ends a reply stays learnable.
"""

from __future__ import annotations

from typing import Any

from ..models import load_tokenizer
from .config import TrainConfig, TrainingError, data_file
from .envelope import Report, Trained
from .inputs import load_rows, resolve_init
from .padding import distinct_pad_token
from .reward_model import load_reward_model, score
from .summary import generate_samples

#: a string whose tokenization two tokenizers must agree on (spaces, punctuation, non-ASCII, digits)
PROBE = "Human: How do I bake bread?\n\nAssistant: Mix 500 g flour, 10 g salt & water; knead. ünïcödé 12345"


def policy_tokenizer(ref: str, padding_side: str = "left"):
    """``ref``'s tokenizer with a pad token distinct from EOS (:func:`.padding.distinct_pad_token`)."""
    tok = load_tokenizer(ref, padding_side=padding_side)
    distinct_pad_token(tok, repr(ref))
    return tok


def check_same_tokenizer(policy_tok, rm_tok, policy_name: str, rm_name: str, stage: str = "ppo") -> None:
    """Raise :class:`TrainingError` naming both models when the RM cannot read the policy's token ids."""
    problems = []
    if len(policy_tok) != len(rm_tok):
        problems.append(f"vocabulary sizes {len(policy_tok)} vs {len(rm_tok)}")
    elif policy_tok.get_vocab() != rm_tok.get_vocab():
        problems.append("same vocabulary size but different token ids")
    a = policy_tok(PROBE, add_special_tokens=False)["input_ids"]
    b = rm_tok(PROBE, add_special_tokens=False)["input_ids"]
    if a != b:
        problems.append(f"probe string tokenizes differently ({len(a)} vs {len(b)} tokens)")
    for attr in ("eos_token_id", "pad_token_id"):
        if getattr(policy_tok, attr) != getattr(rm_tok, attr):
            problems.append(f"{attr} {getattr(policy_tok, attr)} vs {getattr(rm_tok, attr)}")
    if problems:
        raise TrainingError(
            f"stage '{stage}': the reward model {rm_name!r} does not use the policy {policy_name!r}'s tokenizer: "
            + "; ".join(problems) + f". {stage.upper()} scores the policy's outputs with the reward model, so both "
            "must share one tokenizer: train the reward model from the same base (init_from sft).")


def check(cfg: TrainConfig, init: str) -> tuple[str, list[dict[str, Any]]]:
    """Resolve the reward model, check it shares the policy's tokenizer (before any training), load the training
    prompts: ``(reward model path, rows)`` (the envelope's ``check``, :func:`.envelope.run_method`)."""
    rm_path = resolve_init(cfg, cfg.reward_model)
    check_same_tokenizer(policy_tokenizer(init), policy_tokenizer(rm_path), init, rm_path, cfg.STAGE)
    return rm_path, load_rows(cfg, "pref_train", cfg.n_train)


def report(t: Trained, metrics: dict[str, Any]) -> Report:
    """Greedy replies of the SFT policy and the trained one to ``n_samples`` held-out prompts, both scored by the
    reward model (``samples.csv``): the stage's ``metrics`` (its own training summary), ``sample_reward_{sft,<stage>}``
    and ``n_prompts``, with ``reward_model`` before ``model_dir``."""
    cfg, device = t.cfg, t.device
    rm_path, rows = t.checked
    label = cfg.STAGE
    test = load_rows(cfg, "pref_test") if data_file(cfg, "pref_test").is_file() else rows
    prompts = [r["prompt"] for r in test[:cfg.n_samples]]
    samples = generate_samples({"sft": t.init, label: t.model_dir}, prompts, cfg.sample_max_new_tokens, device)
    rm_tok = policy_tokenizer(rm_path, padding_side="right")
    rm = load_reward_model(rm_path, device)
    for name in ("sft", label):
        samples[f"reward_{name}"] = score(rm, rm_tok, samples["prompt"].tolist(), samples[name].tolist(),
                                          cfg.max_length, device=device) if len(samples) else []
    samples.to_csv(t.out / "samples.csv", index=False)
    return Report({
        **metrics,
        **{f"sample_reward_{name}": float(samples[f"reward_{name}"].mean()) if len(samples) else None
           for name in ("sft", label)},
        "n_prompts": len(rows),
    }, files=["samples.csv"], head={"reward_model": rm_path})
