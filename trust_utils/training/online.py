"""What the online RL stages (PPO and the other policy-gradient methods) share around their trainers: the policy's tokenizer, the tokenizer check
against the reward model, and the stage's ending (greedy samples of the SFT and trained policies on held-out prompts,
both scored by the reward model, and ``outputs.json``).

These stages feed the policy's token ids (PPO) or its decoded replies plus EOS to *our* reward model, so the reward
model must read the policy's tokenizer exactly (:func:`check_same_tokenizer`), and all give the tokenizer a pad token
distinct from EOS (:func:`policy_tokenizer`, see :mod:`.padding`) so that the EOS that ends a reply stays learnable.
"""

from __future__ import annotations

from typing import Any

from . import common
from .common import TrainConfig, TrainingError
from .padding import distinct_pad_token

#: a string whose tokenization two tokenizers must agree on (spaces, punctuation, non-ASCII, digits)
PROBE = "Human: How do I bake bread?\n\nAssistant: Mix 500 g flour, 10 g salt & water; knead. ünïcödé 12345"


def policy_tokenizer(ref: str, padding_side: str = "left"):
    """``ref``'s tokenizer with a pad token distinct from EOS (:func:`.padding.distinct_pad_token`)."""
    from ..models import load_tokenizer

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


def prepare(cfg: TrainConfig) -> tuple[str, str, list[dict[str, Any]]]:
    """Resolve the init policy and the reward model, check they share a tokenizer (before any training), load the
    training prompts: ``(init path, reward model path, rows)``."""
    init = common.resolve_init(cfg)
    rm_path = common.resolve_init(cfg, cfg.reward_model)
    check_same_tokenizer(policy_tokenizer(init), policy_tokenizer(rm_path), init, rm_path, cfg.STAGE)
    return init, rm_path, common.load_rows(cfg, "pref_train", cfg.n_train)


def finish(cfg: TrainConfig, status: str, init: str, rm_path: str, rows: list[dict[str, Any]], device: str,
           metrics: dict[str, Any], timer: common.Timer, t_train: float) -> dict[str, Any]:
    """Greedy replies of the SFT policy and the trained one to ``n_samples`` held-out prompts, both scored by the
    reward model (``samples.csv``), then ``outputs.json``: the shared fields, ``metrics`` (the stage's own training
    summary) and ``sample_reward_{sft,<stage>}``. Returns the summary."""
    from ..manifest import write_stage_outputs
    from .reward import load_reward_model, score

    label = cfg.STAGE
    out = cfg.stage_dir()
    test = common.load_rows(cfg, "pref_test") if common.data_file(cfg, "pref_test").is_file() else rows
    prompts = [r["prompt"] for r in test[:cfg.n_samples]]
    samples = common.generate_samples({"sft": init, label: str(out / "model")}, prompts, cfg.sample_max_new_tokens,
                                      device)
    rm_tok = policy_tokenizer(rm_path, padding_side="right")
    rm = load_reward_model(rm_path, device)
    for name in ("sft", label):
        samples[f"reward_{name}"] = score(rm, rm_tok, samples["prompt"].tolist(), samples[name].tolist(),
                                          cfg.max_length, device=device) if len(samples) else []
    samples.to_csv(out / "samples.csv", index=False)
    summary = {
        "status": status, "reuse": common.reuse_record(cfg, status), "init_from": cfg.init_from, "init_path": init,
        "reward_model": rm_path, "model_dir": "model", **metrics,
        **{f"sample_reward_{name}": float(samples[f"reward_{name}"].mean()) if len(samples) else None
           for name in ("sft", label)},
        "n_prompts": len(rows), "files": ["model/", common.TRAIN_LOG, "samples.csv"], "device": device,
        "config": cfg.to_json(),
    }
    write_stage_outputs(out, summary, inputs=[common.data_file(cfg, "pref_train")],
                        timings={"train_s": t_train, "total_s": timer()})
    return summary
