"""Training speed settings: bf16 choice (CUDA, native-bf16 CPUs), length-grouped batches, and short sane runs."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from trust_utils.training import config as common
from trust_utils.training.dpo import DPOStageConfig
from trust_utils.training.dpo import build_trainer as build_dpo
from trust_utils.training.reward import RewardStageConfig
from trust_utils.training.reward import build_trainer as build_rm
from trust_utils.training.sft import SFTStageConfig
from trust_utils.training.sft import build_trainer as build_sft


def test_bf16_auto_follows_native_cpu_support(monkeypatch):
    from trust_utils import utils

    cfg = SFTStageConfig()
    monkeypatch.setattr(utils, "cpu_has_native_bf16", lambda cpuinfo=None: True)
    assert common.use_bf16(cfg, "cpu") is True
    assert common.use_bf16(SFTStageConfig(bf16="false"), "cpu") is False
    monkeypatch.setattr(utils, "cpu_has_native_bf16", lambda cpuinfo=None: False)
    assert common.use_bf16(cfg, "cpu") is False
    assert common.use_bf16(SFTStageConfig(bf16="true"), "cpu") is True  # forced: emulated, but honoured
    kw = common.trainer_kwargs(SFTStageConfig(bf16="true"), "cpu")
    assert kw["bf16"] is True and kw["use_cpu"] is True  # CPU autocast
    assert kw["train_sampling_strategy"] == "group_by_length"
    assert common.trainer_kwargs(SFTStageConfig(group_by_length=False), "cpu")["train_sampling_strategy"] == "random"


def _weights(model) -> torch.Tensor:
    return torch.cat([p.detach().float().flatten() for p in model.parameters() if p.requires_grad])


@pytest.mark.parametrize("stage", ["sft", "reward_model", "dpo"])
def test_short_bf16_length_grouped_run_is_sane(stage, prepared_run, tmp_path, cache_dir):
    from transformers.trainer_pt_utils import LengthGroupedSampler

    rd = tmp_path / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    kw = dict(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, max_steps=4, batch_size=4, max_length=128,
              logging_steps=1, save_steps=1000, n_train=32, init_from="base", bf16="true", group_by_length=True)
    cls, build, lr = {"sft": (SFTStageConfig, build_sft, 1e-3), "reward_model": (RewardStageConfig, build_rm, 1e-3),
                      "dpo": (DPOStageConfig, build_dpo, 1e-4)}[stage]
    cfg = cls(**kw, learning_rate=lr)
    trainer, _ = build(cfg, "cpu")
    assert trainer.args.bf16 and isinstance(getattr(s := trainer._get_train_sampler(), "inner", s), LengthGroupedSampler)  # (resume's replay wrapper)
    if stage != "sft":
        ds = trainer.train_dataset
        assert ds[0]["length"] == sum(len(ds[0][c]) for c in ds.column_names if c.endswith("_ids") and "mask" not in c)
    before = _weights(trainer.model)
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 4 and all(math.isfinite(x) for x in losses), losses
    assert max(losses) < 3 * losses[0] + 1.0, losses  # not exploding
    assert not torch.equal(before, _weights(trainer.model))  # the weights moved
