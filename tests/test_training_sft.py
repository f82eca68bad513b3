"""SFT stage on the tiny model: loss mask, a short run, reload, resume/reuse, LoRA, NaN guard, bad inputs."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

from trust_utils.training.config import CHECKPOINT_DIR, TRAIN_LOG, TrainingDiverged, TrainingError
from trust_utils.training.inputs import load_rows
from trust_utils.training.sft import SFTStageConfig, build_trainer, run


def _run_dir(prepared_run, tmp_path):
    rd = tmp_path / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    return rd


def _cfg(rd, cache_dir, **kw):
    base = dict(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, max_steps=2, batch_size=4,
                learning_rate=1e-3, max_length=256, logging_steps=1, save_steps=50, n_eval=4, n_samples=1,
                sample_max_new_tokens=4, n_train=32)
    base.update(kw)
    return SFTStageConfig(**base)


def test_prompt_tokens_are_masked(prepared_run, tmp_path, cache_dir):
    cfg = _cfg(_run_dir(prepared_run, tmp_path), cache_dir)
    trainer, tok = build_trainer(cfg, "cpu")
    row = load_rows(cfg, "sft_train", 1)[0]
    n_prompt = len(tok(row["prompt"], add_special_tokens=False)["input_ids"])
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels = batch["labels"][0].tolist()
    assert all(x == -100 for x in labels[:n_prompt]), "prompt tokens must carry no loss"
    completion = [x for x in labels[n_prompt:] if x != -100]
    assert len(completion) > 0 and completion[-1] == tok.eos_token_id  # completion + EOS are trained


@pytest.fixture(scope="module")
def sft_done(prepared_run, tmp_path_factory, cache_dir):
    rd = _run_dir(prepared_run, tmp_path_factory.mktemp("sft"))
    cfg = _cfg(rd, cache_dir)
    return cfg, run(cfg)


def test_sft_trains_saves_and_reloads(sft_done, tiny_model_dir):
    import torch

    from trust_utils.models import load_causal_lm, load_tokenizer
    from trust_utils.run import Run

    cfg, summary = sft_done
    assert summary["steps"] == 2 and math.isfinite(summary["final_train_loss"])
    log = pd.read_csv(cfg.stage_dir() / TRAIN_LOG)
    assert log["loss"].dropna().map(math.isfinite).all()
    assert (cfg.stage_dir() / "outputs.json").is_file() and (cfg.stage_dir() / "samples.csv").is_file()
    path = Run.open(cfg.run_dir).resolve("sft", cfg.model, cfg.cache_dir, cfg.seed)
    sft = load_causal_lm(path)
    base = load_causal_lm(str(tiny_model_dir))
    changed = [n for (n, a), (_, b) in zip(base.named_parameters(), sft.named_parameters(), strict=True) if not torch.equal(a, b)]
    assert changed, "training must change the weights"
    tok = load_tokenizer(path)
    out = sft.generate(**tok("\n\nHuman: hi\n\nAssistant:", return_tensors="pt"), max_new_tokens=3, do_sample=False)
    assert out.shape[1] > 0
    assert not (cfg.stage_dir() / "model.partial").exists()


def test_rerun_reuses_finished_model_and_resumes(sft_done):
    cfg, _ = sft_done
    again = run(cfg)
    assert again["status"] == "reused"  # same config: the finished model is not retrained
    ckpts = sorted((cfg.stage_dir() / CHECKPOINT_DIR).glob("checkpoint-*"))
    # an interruption after the last checkpoint: the model is gone, the checkpoint is there -> resume, not restart
    cfg2 = SFTStageConfig(**{**cfg.to_json(), "max_steps": 3, "save_steps": 1})
    shutil.rmtree(cfg2.stage_dir() / "model")
    first = run(cfg2)  # new config: old checkpoints removed, trains 3 steps, checkpoints at 1, 2, 3
    assert first["steps"] == 3 and ckpts is not None
    shutil.rmtree(cfg2.stage_dir() / "model")
    shutil.rmtree(cfg2.stage_dir() / CHECKPOINT_DIR / "checkpoint-3")
    resumed = run(cfg2)
    assert resumed["status"] == "trained" and resumed["steps"] == 3
    log = pd.read_csv(cfg2.stage_dir() / TRAIN_LOG)
    steps = log.loc[log["loss"].notna(), "step"].tolist()
    assert steps == [1, 2, 3], f"resumed log keeps steps 1-2 and adds only step 3, got {steps}"


@pytest.mark.parametrize("merge", [False, True])
def test_lora_adapter_and_merged(prepared_run, tmp_path, cache_dir, merge):
    from trust_utils.models import load_causal_lm
    from trust_utils.run import Run

    rd = _run_dir(prepared_run, tmp_path)
    cfg = _cfg(rd, cache_dir, max_steps=1, use_lora=True, merge_lora=merge, lora_r=4, lora_alpha=8, n_eval=2)
    run(cfg)
    model_dir = cfg.stage_dir() / "model"
    assert (model_dir / "adapter_config.json").is_file() is (not merge)
    m = load_causal_lm(Run.open(str(rd)).resolve("sft", "tiny", str(cache_dir)))
    assert not hasattr(m, "peft_config")


def test_nan_loss_stops_with_stage_and_step(prepared_run, tmp_path, cache_dir):
    rd = _run_dir(prepared_run, tmp_path)
    cfg = _cfg(rd, cache_dir, max_steps=6, learning_rate=1e12, max_grad_norm=0.0)
    with pytest.raises(TrainingDiverged, match=r"stage 'sft'.*at step \d+"):
        run(cfg)
    assert not (cfg.stage_dir() / "model").exists()
    assert (rd / "data" / "sft_train.jsonl").is_file()  # earlier stage untouched


def test_missing_checkpoint_and_missing_data(prepared_run, tmp_path, cache_dir):
    rd = _run_dir(prepared_run, tmp_path)
    with pytest.raises(TrainingError, match=r"stage 'sft' cannot start from '/no/such/model'"):
        run(_cfg(rd, cache_dir, init_from="/no/such/model"))
    with pytest.raises(TrainingError, match=r"stage 'sft'.*data stage"):
        run(_cfg(tmp_path / "empty_run", cache_dir))
