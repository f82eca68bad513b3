"""Stage ``rloo``: a short RLOO run on the tiny model against a tiny reward model of the same run."""

from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest

from trust_utils.training.config import TRAIN_LOG, TrainingError
from trust_utils.training.online import policy_tokenizer
from trust_utils.training.reward import RewardStageConfig, load_reward_model, score
from trust_utils.training.reward import run as run_rm
from trust_utils.training.rloo import REWARD_NAME, RLOOStageConfig, reward_function
from trust_utils.training.rloo import run as run_rloo
from trust_utils.training.sft import SFTStageConfig
from trust_utils.training.sft import run as run_sft

FAST = dict(max_steps=2, batch_size=4, num_generations=2, max_completion_length=8, max_prompt_length=64,
            max_length=160, learning_rate=1e-3, logging_steps=1, save_steps=1, n_samples=1, sample_max_new_tokens=4)


@pytest.fixture(scope="module")
def rm_run(prepared_run, tmp_path_factory, cache_dir):
    """A run with a 2-step SFT model and a 2-step reward model trained from it (the tiny reward model)."""
    rd = tmp_path_factory.mktemp("rloo") / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    shared = dict(run_dir=str(rd), cache_dir=str(cache_dir), threads=1)
    run_sft(SFTStageConfig(**shared, max_steps=2, batch_size=4, max_length=160, save_steps=50, n_eval=0,
                           n_samples=0))
    run_rm(RewardStageConfig(**shared, max_steps=2, batch_size=4, max_length=160, save_steps=50))
    return rd, shared


def test_rloo_trains_changes_weights_and_records_reuse(rm_run):
    import torch

    from trust_utils.models import load_causal_lm
    from trust_utils.run import Run

    rd, shared = rm_run
    cfg = RLOOStageConfig(**shared, **FAST)
    s = run_rloo(cfg)
    log = pd.read_csv(rd / "rloo" / TRAIN_LOG)
    log = log[log["loss"].notna()]  # the Trainer's closing summary row has no loss
    assert s["steps"] == 2 and len(log) == 2
    assert log["loss"].map(math.isfinite).all()
    assert {"reward", "kl", f"rewards/{REWARD_NAME}/mean"} <= set(log.columns)
    assert log[f"rewards/{REWARD_NAME}/mean"].notna().all()
    rloo = load_causal_lm(Run.open(str(rd)).resolve("rloo", "tiny"))
    sft = load_causal_lm(Run.open(str(rd)).resolve("sft", "tiny"))
    assert any(not torch.equal(a, b) for a, b in zip(rloo.parameters(), sft.parameters(), strict=True))
    tok = policy_tokenizer(str(rd / "rloo" / "model"))
    assert tok.pad_token_id != tok.eos_token_id  # the saved policy keeps the distinct pad token
    out = json.loads((rd / "rloo" / "outputs.json").read_text())
    summary = out["outputs"]
    assert summary["reuse"]["decision"] == "trained" and summary["reuse"]["key"]
    assert set(summary["reuse"]["parts"]["init"]) == {"init_from", "reward_model"}
    assert {"reward_sft", "reward_rloo"} <= set(pd.read_csv(rd / "rloo" / "samples.csv").columns)
    again = run_rloo(RLOOStageConfig(**shared, **FAST))  # a rerun keeps the model
    assert again["status"] == "reused" and again["reuse"]["key"] == summary["reuse"]["key"]


def test_reward_function_scores_with_eos_as_the_reward_model_was_trained(rm_run):
    rd, _ = rm_run
    rm_path = str(rd / "reward_model" / "model")
    rm, tok = load_reward_model(rm_path), policy_tokenizer(rm_path, padding_side="right")
    prompts, replies = ["\n\nHuman: Hi there\n\nAssistant:", "\n\nHuman: Why?\n\nAssistant:"], [" Hello.", " Because"]
    got = reward_function(rm, tok, 160, "cpu")(prompts=prompts, completions=replies)
    assert got == pytest.approx(score(rm, tok, prompts, [r + tok.eos_token for r in replies], 160))
    without_eos = [float(x) for x in rm(**tok([p + r for p, r in zip(prompts, replies, strict=True)], return_tensors="pt",
                                              padding=True, add_special_tokens=False)).logits[:, 0]]
    assert got != pytest.approx(without_eos)  # what TRL's built-in model scoring would read


@pytest.mark.parametrize("change, match", [
    (dict(num_generations=1), "num_generations must be >= 2"),
    (dict(batch_size=3, num_generations=2), "divisible by num_generations"),
    (dict(beta=-0.1), "beta"),
])
def test_rloo_config_rejects_bad_settings(tmp_path, change, match):
    with pytest.raises(TrainingError, match=match):
        RLOOStageConfig(run_dir=str(tmp_path), **change).validate()


# ------------------------------------------------------------------------------------------ resume
def test_rloo_resume_equals_uninterrupted(prepared_run, tmp_path, cache_dir, monkeypatch):
    from test_resume_equality import _assert_same, _interrupted, _pref_configs  # tests/ is on the path

    from trust_utils.training import rloo

    a, b = _pref_configs(prepared_run, tmp_path, cache_dir, with_rm=True)
    # 2 prompts a step, 4 prompts: the kill at step 3 is inside the second pass (TRL's sampler's second order)
    kw = dict(cache_dir=str(cache_dir), threads=1, max_steps=4, batch_size=4, num_generations=2, learning_rate=1e-3,
              max_length=256, max_completion_length=6, max_prompt_length=64, logging_steps=1, save_steps=3,
              n_train=4, n_samples=1, sample_max_new_tokens=2)
    ca, cb = rloo.RLOOStageConfig(run_dir=str(a), **kw), rloo.RLOOStageConfig(run_dir=str(b), **kw)
    rloo.run(ca)
    assert _interrupted(monkeypatch, rloo.run, cb, 3)["resumed_from"] == 3
    _assert_same(ca.stage_dir() / "model", cb.stage_dir() / "model")
