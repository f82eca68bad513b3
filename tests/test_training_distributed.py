"""SFT and DPO with 2 CPU processes under accelerate launch (DDP, gloo): the saved model loads."""

from __future__ import annotations

import shutil

import pytest

from trust_utils.training.dpo import DPOStageConfig
from trust_utils.training.dpo import run as run_dpo
from trust_utils.training.sft import SFTStageConfig
from trust_utils.training.sft import run as run_sft


@pytest.mark.slow
def test_sft_and_dpo_two_processes(prepared_run, tmp_path, cache_dir):
    from trust_utils.models import load_causal_lm
    from trust_utils.run import Run

    rd = tmp_path / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    shared = dict(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, num_processes=2, batch_size=2,
                  max_steps=2, max_length=256, logging_steps=1, save_steps=50, n_train=16)
    s = run_sft(SFTStageConfig(**shared, learning_rate=1e-3, n_eval=2, n_samples=1, sample_max_new_tokens=2))
    assert s["steps"] == 2
    assert (rd / "sft" / "launch.log").is_file()
    d = run_dpo(DPOStageConfig(**shared, learning_rate=1e-4, n_eval=4))
    assert d["steps"] == 2
    for name in ("sft", "dpo"):
        m = load_causal_lm(Run.open(str(rd)).resolve(name, "tiny", str(cache_dir)))
        assert m is not None
    import pandas as pd

    log = pd.read_csv(rd / "sft" / "training_log.csv")
    assert log["epoch"].dropna().iloc[0] == pytest.approx(0.25)  # world size 2: 16 rows / (2 x 2) per epoch
