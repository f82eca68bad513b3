"""Reward model, PPO and DPO on the tiny model, from an SFT model trained with the tiny profile's settings."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
import yaml

from trust_utils.paths import configs_dir
from trust_utils.training.config import TRAIN_LOG, TrainingError
from trust_utils.training.dpo import DPOStageConfig
from trust_utils.training.dpo import run as run_dpo
from trust_utils.training.inputs import load_rows
from trust_utils.training.online import check_same_tokenizer
from trust_utils.training.ppo import PPOStageConfig
from trust_utils.training.ppo import run as run_ppo
from trust_utils.training.reward import RewardStageConfig, evaluate_pairs
from trust_utils.training.reward import run as run_rm
from trust_utils.training.sft import SFTStageConfig
from trust_utils.training.sft import run as run_sft


def _tiny(stage: str) -> dict:
    """The tiny profile's block for ``stage``, less its notebook-only parameters (e.g. ``solutions``)."""
    from trust_utils.params import NOTEBOOK_ONLY

    block = yaml.safe_load((configs_dir() / "tiny.yaml").read_text())["stages"][stage]
    return {k: v for k, v in block.items() if k not in NOTEBOOK_ONLY.get(stage, {})}


@pytest.fixture(scope="module")
def aligned_run(prepared_run, tmp_path_factory, cache_dir):
    """SFT and reward model with the tiny profile's own settings (the RM accuracy claim is about those)."""
    rd = tmp_path_factory.mktemp("pref") / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    shared = dict(run_dir=str(rd), cache_dir=str(cache_dir), threads=1)
    run_sft(SFTStageConfig(**shared, **_tiny("sft")))
    rm = run_rm(RewardStageConfig(**shared, **_tiny("reward_model")))
    return rd, shared, rm


def test_reward_model_ranks_chosen_above_rejected(aligned_run, tiny_model_dir):
    rd, shared, rm = aligned_run
    assert math.isfinite(rm["final_train_loss"])
    # the bundled set has a held-out split of 90 pairs (prepared_run keeps all): accuracy is measured there
    assert rm["n_test"] >= 20 and rm["test_accuracy"] > 0.6, rm
    margins = pd.read_csv(rd / "reward_model" / "margins.csv")
    assert set(margins["split"]) == {"train", "test"} and margins["margin"].map(math.isfinite).all()
    rows = load_rows(RewardStageConfig(**shared), "pref_test", 4)
    scores = evaluate_pairs(str(rd / "reward_model" / "model"), rows)  # the saved RM reloads and scores
    assert scores["r_chosen"].nunique() > 1


def test_reward_model_rejects_empty_preference_set(aligned_run, tmp_path, cache_dir):
    rd = tmp_path / "run"
    shutil.copytree(aligned_run[0] / "data", rd / "data")
    (rd / "data" / "pref_train.jsonl").write_text("")
    with pytest.raises(TrainingError, match=r"stage 'reward_model'.*empty"):
        run_rm(RewardStageConfig(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, init_from="base", max_steps=1))
    assert not (rd / "reward_model" / "model").exists()


def test_ppo_reports_growing_kl_and_saves_policy(aligned_run):
    import torch

    from trust_utils.models import load_causal_lm
    from trust_utils.run import Run

    rd, shared, _ = aligned_run
    cfg = PPOStageConfig(**shared, **{**_tiny("ppo"), "max_steps": 3, "response_length": 12, "n_samples": 1,
                                      "adaptive_kl": True, "target_kl": 0.1, "kl_horizon": 100})
    s = run_ppo(cfg)
    log = pd.read_csv(rd / "ppo" / TRAIN_LOG)
    kl = log["objective/kl"].dropna().tolist()
    assert len(kl) == 3 and abs(kl[0]) < 1e-3 and max(kl[1:]) > abs(kl[0]) + 1e-4, kl
    assert log[["objective/scores", "loss/value_avg", "loss/policy_avg"]].notna().all().all()
    assert s["final_kl_coef"] != cfg.kl_coef  # the adaptive controller moved beta
    ppo = load_causal_lm(Run.open(str(rd)).resolve("ppo", "tiny"))
    sft = load_causal_lm(Run.open(str(rd)).resolve("sft", "tiny"))
    assert any(not torch.equal(a, b) for a, b in zip(ppo.parameters(), sft.parameters(), strict=True))
    assert {"reward_sft", "reward_ppo"} <= set(pd.read_csv(rd / "ppo" / "samples.csv").columns)


def test_ppo_refuses_reward_model_with_other_tokenizer(aligned_run, tmp_path):
    from trust_utils.models import load_tokenizer

    rd, shared, _ = aligned_run
    other = tmp_path / "other_rm"
    shutil.copytree(rd / "reward_model" / "model", other)
    tok = load_tokenizer(str(other))
    tok.add_tokens(["<|not-in-the-policy|>"])
    tok.save_pretrained(other)
    with pytest.raises(TrainingError, match=r"reward model .*other_rm.* policy .*sft/model"):
        check_same_tokenizer(load_tokenizer(str(rd / "sft" / "model")), tok, str(rd / "sft" / "model"), str(other))
    with pytest.raises(TrainingError, match="does not use the policy"):
        run_ppo(PPOStageConfig(**{**shared, "run_dir": str(rd)}, reward_model=str(other), max_steps=1,
                               batch_size=2, response_length=4))
    with pytest.raises(TrainingError, match=r"stage 'ppo' cannot start from '/no/such/rm'"):
        run_ppo(PPOStageConfig(**shared, reward_model="/no/such/rm", max_steps=1))


def test_dpo_short_run(aligned_run):
    import torch

    from trust_utils.models import load_causal_lm
    from trust_utils.run import Run

    rd, shared, _ = aligned_run
    cfg = DPOStageConfig(**shared, **{**_tiny("dpo"), "max_steps": 2, "logging_steps": 1, "n_eval": 8})
    s = run_dpo(cfg)
    log = pd.read_csv(rd / "dpo" / TRAIN_LOG)
    assert log["loss"].dropna().map(math.isfinite).all() and abs(log["loss"].dropna().iloc[0] - math.log(2)) < 1e-3
    assert {"rewards/accuracies", "rewards/margins"} <= set(log.columns)
    assert s["test_reward_accuracy"] is not None
    dpo = load_causal_lm(Run.open(str(rd)).resolve("dpo", "tiny"))
    sft = load_causal_lm(Run.open(str(rd)).resolve("sft", "tiny"))
    assert any(not torch.equal(a, b) for a, b in zip(dpo.parameters(), sft.parameters(), strict=True))
    assert dpo.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=2, do_sample=False).shape[1] >= 4


def test_reward_scores_are_each_rows_own_in_input_order(tiny_model_dir):
    import torch
    from transformers import AutoModelForSequenceClassification

    from trust_utils.models import load_tokenizer
    from trust_utils.training.reward import score

    torch.manual_seed(0)
    rm = AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir), num_labels=1).eval()
    tok = load_tokenizer(str(tiny_model_dir), padding_side="left")
    rm.config.pad_token_id = tok.pad_token_id
    prompts = ["\n\nHuman: hi\n\nAssistant:", "\n\nHuman: tell me a long story about a dog\n\nAssistant:", "x"]
    replies = [" hello", " once upon a time there was a dog who liked to run", " y z"]
    together = score(rm, tok, prompts, replies, batch_size=2)
    alone = [score(rm, tok, [p], [r])[0] for p, r in zip(prompts, replies, strict=True)]
    assert together == pytest.approx(alone, abs=1e-5)
    assert len(set(round(v, 6) for v in alone)) == 3 and tok.padding_side == "left"
