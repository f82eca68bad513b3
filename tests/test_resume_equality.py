"""A training interrupted after a checkpoint and rerun ends with the same weights as an uninterrupted one."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from trust_utils.training import callbacks
from trust_utils.training.sft import SFTStageConfig
from trust_utils.training.sft import run as run_sft

#: training log columns that measure time, not training (they differ between any two runs)
TIMING = ["time_s", "eps"]


class Killed(RuntimeError):
    """Stands in for a kill -9 right after a checkpoint was written."""


def _killer(at: int):
    from transformers import TrainerCallback

    class KillAfterSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == at:
                raise Killed(f"killed after the checkpoint of step {at}")

    return KillAfterSave()


def _weights(model_dir):
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def _assert_same(a, b):
    import torch

    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    diff = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not diff, f"{len(diff)} of {len(wa)} tensors differ, e.g. {diff[:3]}"


def _interrupted(monkeypatch, run_fn, cfg, at: int):
    std = callbacks.standard_callbacks
    with monkeypatch.context() as m:
        m.setattr(callbacks, "standard_callbacks", lambda *a, **k: [*std(*a, **k), _killer(at)])
        with pytest.raises(Killed):
            run_fn(cfg)
    return run_fn(cfg)


def _run_dir(prepared_run, tmp_path, name):
    rd = tmp_path / name
    shutil.copytree(prepared_run / "data", rd / "data")
    return rd


def test_sft_resume_equals_uninterrupted(prepared_run, tmp_path, cache_dir, monkeypatch):
    kw = dict(cache_dir=str(cache_dir), threads=1, max_steps=6, batch_size=4, learning_rate=1e-3, max_length=256,
              logging_steps=1, save_steps=3, n_eval=2, n_samples=0, n_train=32)
    a = SFTStageConfig(run_dir=str(_run_dir(prepared_run, tmp_path, "a")), **kw)
    b = SFTStageConfig(run_dir=str(_run_dir(prepared_run, tmp_path, "b")), **kw)
    run_sft(a)
    out = _interrupted(monkeypatch, run_sft, b, 3)
    _assert_same(a.stage_dir() / "model", b.stage_dir() / "model")
    assert out["resumed_from"] == 3 and out["reuse"]["resumed_from"] == 3
    assert run_sft(a)["resumed_from"] is None and run_sft(b)["resumed_from"] == 3  # reused: kept from the save


def _pref_configs(prepared_run, tmp_path, cache_dir, with_rm: bool = False):
    """An SFT model (and reward model) shared by the two runs (trained once, copied): each test trains one stage."""
    from trust_utils.training import reward

    rd = _run_dir(prepared_run, tmp_path, "a")
    small = dict(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, max_steps=2, batch_size=4, learning_rate=1e-3,
                 max_length=256, save_steps=50, n_eval=2)
    run_sft(SFTStageConfig(**small, n_samples=0, n_train=16))
    if with_rm:
        reward.run(reward.RewardStageConfig(**small, n_train=8))
    shutil.copytree(rd, tmp_path / "b")
    return rd, tmp_path / "b"


@pytest.mark.parametrize("stage", ["reward_model", "dpo"])
def test_preference_resume_equals_uninterrupted(stage, prepared_run, tmp_path, cache_dir, monkeypatch):
    from trust_utils.training import dpo, reward

    mod, cls = (reward, reward.RewardStageConfig) if stage == "reward_model" else (dpo, dpo.DPOStageConfig)
    a, b = _pref_configs(prepared_run, tmp_path, cache_dir)
    # 2 epochs of 3 steps: the kill at step 4 is inside the second epoch (the sampler's second permutation)
    kw = dict(cache_dir=str(cache_dir), threads=1, epochs=2, batch_size=4, learning_rate=1e-3, max_length=256,
              logging_steps=1, save_steps=4, n_eval=2, n_train=12, group_by_length=True)
    ca, cb = cls(run_dir=str(a), **kw), cls(run_dir=str(b), **kw)
    mod.run(ca)
    _interrupted(monkeypatch, mod.run, cb, 4)
    _assert_same(ca.stage_dir() / "model", cb.stage_dir() / "model")


@pytest.mark.parametrize("kill_at", [2, 3])  # 2 updates a pass over the 8 prompts: at a pass's end, inside one
def test_ppo_resume_equals_uninterrupted(kill_at, prepared_run, tmp_path, cache_dir, monkeypatch):
    from trust_utils.training import ppo

    a, b = _pref_configs(prepared_run, tmp_path, cache_dir, with_rm=True)
    kw = dict(cache_dir=str(cache_dir), threads=1, max_steps=5, batch_size=4, learning_rate=1e-3, max_length=256,
              response_length=6, num_ppo_epochs=1, max_prompt_length=64, save_steps=kill_at, n_train=8, n_samples=1,
              sample_max_new_tokens=2, adaptive_kl=True, target_kl=0.01, kl_horizon=8, lr_scheduler="linear")
    ca, cb = ppo.PPOStageConfig(run_dir=str(a), **kw), ppo.PPOStageConfig(run_dir=str(b), **kw)
    ppo.run(ca)
    out = _interrupted(monkeypatch, ppo.run, cb, kill_at)
    assert out["resumed_from"] == kill_at
    _assert_same(ca.stage_dir() / "model", cb.stage_dir() / "model")
    la, lb = (pd.read_csv(c.stage_dir() / "training_log.csv").drop(columns=TIMING) for c in (ca, cb))
    pd.testing.assert_frame_equal(la, lb)  # kl_coef (adaptive), lr (linear), episode and epoch continue exactly


# ------------------------------------------------------------------------------------------ incomplete checkpoints
def _fake_checkpoint(d, step: int):
    """A checkpoint directory with every file a complete one has (tiny contents)."""
    import torch
    from safetensors.torch import save_file

    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    save_file({"w": torch.arange(6.0)}, str(d / "model.safetensors"))
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        torch.save({"x": torch.zeros(100)}, d / name)
    (d / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return d


def _truncate(p):
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", ["no trainer_state.json", "model.safetensors is truncated", "no optimizer.pt",
                                    "optimizer.pt is truncated", "trainer_state.json says step 2",
                                    "no value_model.safetensors", "trainer_state.json does not parse"])
def test_newest_complete_checkpoint_is_taken(damage, tmp_path, caplog):
    from trust_utils.training.reuse import checkpoint_problem, last_complete_checkpoint

    required = ("value_model.safetensors",)
    old = _fake_checkpoint(tmp_path / "checkpoint-10", 10)
    new = _fake_checkpoint(tmp_path / "checkpoint-20", 20)
    for d in (old, new):
        shutil.copy(d / "model.safetensors", d / "value_model.safetensors")
    assert checkpoint_problem(new, required) is None and last_complete_checkpoint(tmp_path, required) == str(new)
    {"no trainer_state.json": lambda: (new / "trainer_state.json").unlink(),
     "model.safetensors is truncated": lambda: _truncate(new / "model.safetensors"),
     "no optimizer.pt": lambda: (new / "optimizer.pt").unlink(),
     "optimizer.pt is truncated": lambda: _truncate(new / "optimizer.pt"),
     "trainer_state.json says step 2": lambda: (new / "trainer_state.json").write_text('{"global_step": 2}'),
     "no value_model.safetensors": lambda: (new / "value_model.safetensors").unlink(),
     "trainer_state.json does not parse": lambda: _truncate(new / "trainer_state.json")}[damage]()
    assert damage in checkpoint_problem(new, required)
    with caplog.at_level("WARNING"):
        assert last_complete_checkpoint(tmp_path, required) == str(old)
    assert "checkpoint-20 is incomplete" in caplog.text and not new.exists()  # removed: rotation must not count it
    _truncate(old / "scheduler.pt")
    assert last_complete_checkpoint(tmp_path, required) is None  # nothing complete: train afresh


def test_cut_off_checkpoint_falls_back_and_still_ends_equal(prepared_run, tmp_path, cache_dir, monkeypatch):
    kw = dict(cache_dir=str(cache_dir), threads=1, max_steps=6, batch_size=4, learning_rate=1e-3, max_length=256,
              logging_steps=1, save_steps=2, n_eval=2, n_samples=0, n_train=32)
    a = SFTStageConfig(run_dir=str(_run_dir(prepared_run, tmp_path, "a")), **kw)
    b = SFTStageConfig(run_dir=str(_run_dir(prepared_run, tmp_path, "b")), **kw)
    run_sft(a)
    std = callbacks.standard_callbacks
    with monkeypatch.context() as m:
        m.setattr(callbacks, "standard_callbacks", lambda *a, **k: [*std(*a, **k), _killer(4)])
        with pytest.raises(Killed):
            run_sft(b)
    _truncate(b.stage_dir() / "checkpoints" / "checkpoint-4" / "model.safetensors")  # the kill hit this save
    assert run_sft(b)["resumed_from"] == 2
    _assert_same(a.stage_dir() / "model", b.stage_dir() / "model")
    la, lb = (pd.read_csv(c.stage_dir() / "training_log.csv") for c in (a, b))
    steps = la["loss"].notna()  # the per-step rows (the last row is the Trainer's timing summary)
    pd.testing.assert_frame_equal(la.loc[steps, ["step", "loss", "grad_norm", "learning_rate", "epoch"]],
                                  lb.loc[lb["loss"].notna(), ["step", "loss", "grad_norm", "learning_rate", "epoch"]])
