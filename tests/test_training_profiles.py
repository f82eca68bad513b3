"""Paper profiles validate (dry run), the tiny profile's alignment blocks match the notebooks, small units."""

from __future__ import annotations

import pytest

from trust_utils.paths import project_root
from trust_utils.pipeline import run as pipeline_run
from trust_utils.profiles import load_profile
from trust_utils.training.config import TrainingError, config_from_params, trainer_kwargs, use_bf16
from trust_utils.training.ppo import AdaptiveKLController


@pytest.mark.parametrize("name", ["paper-pythia-1.4b", "paper-pythia-2.8b", "paper-pythia-6.9b"])
def test_paper_profile_dry_run(name, tmp_path):
    lines: list[str] = []
    plans = pipeline_run(load_profile(name, run_dir=tmp_path), dry_run=True, echo=lines.append)
    from trust_utils.stages import STAGE_NAMES

    assert [p.stage.name for p in plans] == list(STAGE_NAMES), "a paper profile runs the whole study"
    params = {p.stage.name: p.params for p in plans}
    assert params["data"]["data_source"] == "hub" and params["data"]["dataset_id"] == "Dahoas/static-hh"
    assert params["sft"]["model"].startswith("EleutherAI/pythia-") and params["sft"]["device"] == "cuda"
    assert params["sft"]["learning_rate"] == 1e-5 and params["sft"]["epochs"] == 3
    assert params["sft"]["gradient_checkpointing"] is True
    assert params["toxicity"]["data_source"] == "hub" and params["toxicity"]["n_samples"] == 5
    assert params["privacy"]["max_examples"] == 100 and params["bias"]["n_samples"] == 4
    assert "dry run: parameters valid" in lines[-1]
    for p in plans[1:5]:
        acc = p.params.get("accelerate_config")
        if acc:
            assert (project_root() / acc).is_file()


@pytest.mark.parametrize("name", sorted(p.stem for p in (project_root() / "configs").glob("[!_]*.yaml")))
def test_every_shipped_profile_dry_runs(name, tmp_path):
    """A profile in configs/ that does not validate offline is a broken command in README's hands."""
    lines: list[str] = []
    pipeline_run(load_profile(name, run_dir=tmp_path), dry_run=True, echo=lines.append)
    assert lines[-1] == "dry run: parameters valid; nothing executed", lines[-5:]


def test_default_seeds_is_the_default_with_a_second_seed(tmp_path):
    """default-seeds changes only the seeds (and its analysis' name), so run into the default's directory it reuses
    seed 0's stages and trains only seed 1: base + 2 seeds x (sft, ppo, dpo@12, dpo) = 9 scored."""
    default = pipeline_run(load_profile("default", run_dir=tmp_path), dry_run=True, echo=lambda s: None)
    lines: list[str] = []
    seeds = pipeline_run(load_profile("default-seeds", run_dir=tmp_path), dry_run=True, echo=lines.append)
    by_name = {p.stage.name: p.params for p in seeds}
    for p in default:
        want = {**p.params, "profile": "default-seeds"} if p.stage.name == "analysis" else p.params
        assert by_name[p.stage.name] == want, p.stage.name
    assert sorted(set(by_name) - {p.stage.name for p in default}) == sorted(
        f"{s}-s1" for s in ("sft", "reward_model", "ppo", "dpo"))
    assert by_name["dpo-s1"]["seed"] == 1 and "  = 9 checkpoints scored by each vertical" in lines


def test_tiny_profile_alignment_blocks_validate(tmp_path):
    plans = pipeline_run(load_profile("tiny", run_dir=tmp_path), only=["data", "sft", "reward_model", "ppo", "dpo"],
                         dry_run=True, echo=lambda s: None)
    assert len(plans) == 5


def test_config_from_notebook_params_and_json_roundtrip():
    from trust_utils.training.dpo import DPOStageConfig

    cfg = DPOStageConfig(run_dir="x", beta=0.3)
    again = config_from_params(DPOStageConfig, cfg.to_json())
    assert again == cfg and again.train_hash() == DPOStageConfig.from_json(cfg.to_json()).train_hash()
    assert DPOStageConfig(run_dir="x", beta=0.3, threads=7).train_hash() == cfg.train_hash()  # threads don't matter
    # a field the namespace lacks keeps its default; one in 'overrides' must be a field
    assert config_from_params(DPOStageConfig, {"run_dir": "x"}) == DPOStageConfig(run_dir="x")
    with pytest.raises(TrainingError, match="'betta', which is not one of its fields; valid: run_dir, model"):
        config_from_params(DPOStageConfig, {"run_dir": "x", "overrides": {"betta": 0.2}})


def test_explicit_trainer_arguments_on_cpu(monkeypatch):
    from trust_utils import utils
    from trust_utils.training.sft import SFTStageConfig

    monkeypatch.setattr(utils, "cpu_has_native_bf16", lambda cpuinfo=None: False)  # bf16 auto: fp32 on this CPU
    kw = trainer_kwargs(SFTStageConfig(run_dir="/tmp/x", seed=5), "cpu")
    assert kw["bf16"] is False and kw["report_to"] == "none" and kw["seed"] == kw["data_seed"] == 5
    assert kw["logging_nan_inf_filter"] is False and kw["disable_tqdm"] is False and kw["use_cpu"] is True
    # bf16 'true' on CPU is CPU autocast (tests/test_training_speed.py); on a GPU without bf16 it is an error
    with pytest.raises(TrainingError, match="bf16"):
        use_bf16(SFTStageConfig(run_dir="/tmp/x", bf16="true"), "cuda:7")


def test_adaptive_kl_controller():
    c = AdaptiveKLController(0.05, target=6.0, horizon=10000)
    assert c.update(12.0, 100) > 0.05  # KL above target -> stronger penalty
    c2 = AdaptiveKLController(0.05, target=6.0, horizon=10000)
    assert c2.update(0.0, 100) < 0.05
    assert c2.value == pytest.approx(0.05 * (1 - 0.2 * 100 / 10000))
