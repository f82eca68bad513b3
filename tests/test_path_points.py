"""Path points (``<method>@<step>``) and training seeds (``<name>-s<seed>``): names, where they live, what a run
scores, and a short SFT and DPO training on the tiny model that keeps its points."""

from __future__ import annotations

import shutil

import pytest

from trust_utils.checkpoints import (
    CHECKPOINT_ORDER,
    init_of,
    method_name,
    ordered_checkpoints,
    parse_point,
    reference_of,
    seed_tag,
)
from trust_utils.run import Run, write_checkpoints


@pytest.mark.parametrize("name, parts", [
    ("dpo@12-s1", ("dpo", 12, 1)), ("sft", ("sft", None, None)), ("ppo-s2", ("ppo", None, 2)),
    ("rm-s1", ("rm", None, 1)), ("base", ("base", None, None)),
    ("my-dpo", ("my-dpo", None, None)),      # an external name is never taken apart
    ("base@3", ("base@3", None, None)),      # base has no training path
])
def test_parse_point(name, parts):
    p = parse_point(name)
    assert (p.checkpoint, p.step, p.seed) == parts
    assert p.name == name


def test_init_and_reference_keep_the_seed():
    assert init_of("dpo@12-s1") == "sft-s1" and reference_of("dpo@12-s1") == "sft-s1"
    assert init_of("sft@5") == "base" and reference_of("sft-s2") == "base"   # base is shared by every seed
    assert reference_of("ppo") == "sft" and reference_of("base") == "" and reference_of("mine") == ""
    assert method_name("ppo@4-s3") == "ppo"
    assert seed_tag(1, 0) == "-s1" and seed_tag(0, 0) == "" and seed_tag(3, None) == ""


def test_points_are_ordered_along_the_path_before_their_endpoint():
    order = ordered_checkpoints(["dpo", "dpo@12", "base", "dpo@6", "sft", "ppo@2", "ppo"])
    assert order == ["base", "sft", "ppo@2", "ppo", "dpo@6", "dpo@12", "dpo"]


def _complete(d):
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"x")


def test_run_finds_points_and_seeds(tmp_path):
    rd = tmp_path / "run"
    write_checkpoints(rd, [], None, seeds=[0, 1])
    for stage in ("sft", "dpo", "sft-s1", "dpo-s1"):
        _complete(rd / stage / "model")
    _complete(rd / "dpo" / "path" / "step-12")
    _complete(rd / "dpo" / "path" / "step-6")
    (rd / "dpo" / "path" / "step-9.partial").mkdir()     # half written: not a point
    _complete(rd / "dpo-s1" / "path" / "step-12")
    run = Run.open(rd)
    assert run.seeds == (0, 1) and run.seed_tag(1) == "-s1" and run.seed_tag(0) == ""
    names = run.checkpoint_names()
    rest = [f"{c}{t}" for c in CHECKPOINT_ORDER[4:] for t in ("", "-s1")]   # the methods after DPO
    assert names == ["base", "sft", "sft-s1", "ppo", "ppo-s1", "dpo@6", "dpo@12", "dpo", "dpo@12-s1", "dpo-s1", *rest]
    assert run.available(names) == ["base", "sft", "sft-s1", "dpo@6", "dpo@12", "dpo", "dpo@12-s1", "dpo-s1"]
    assert run.checkpoint_path("dpo@12-s1") == rd / "dpo-s1" / "path" / "step-12"
    assert run.checkpoint_path("dpo@0-s1") == rd / "sft-s1" / "model"     # point 0 is the init
    assert run.resolve("dpo@6", "tiny") == str(rd / "dpo" / "path" / "step-6")
    assert run.label("dpo@12-s1") == "DPO@12 s1" and run.color("dpo@12") == run.color("dpo")
    assert run.checkpoint_names(["dpo@12-s1"]) == ["dpo@12-s1"]


def test_a_run_without_seeds_is_unchanged(tmp_path):
    rd = tmp_path / "run"
    write_checkpoints(rd, [], None)
    run = Run.open(rd)
    assert run.seeds == () and run.seed_tag(5) == ""
    assert run.checkpoint_names() == list(CHECKPOINT_ORDER)


# ------------------------------------------------------------------------------------------ training
def test_sft_keeps_its_path_points(prepared_run, tmp_path, cache_dir):
    from trust_utils.models import is_complete_checkpoint
    from trust_utils.training.sft import SFTStageConfig, run

    rd = tmp_path / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    cfg = SFTStageConfig(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, max_steps=4, batch_size=4,
                         learning_rate=1e-3, max_length=256, logging_steps=1, save_steps=1, save_total_limit=1,
                         n_eval=2, n_samples=0, n_train=32, path_points=[0.25, 0.5])
    assert cfg.path_steps(4) == [1, 2]
    run(cfg)
    r = Run.open(rd)
    assert r.path_steps("sft") == [1, 2]                        # beyond save_total_limit's resumable checkpoints
    assert is_complete_checkpoint(rd / "sft" / "path" / "step-2")
    assert r.checkpoint_names() == ["base", "sft@1", "sft@2", *CHECKPOINT_ORDER[1:]]
    import torch
    from safetensors.torch import load_file

    a = load_file(rd / "sft" / "path" / "step-1" / "model.safetensors")
    b = load_file(rd / "sft" / "model" / "model.safetensors")
    assert any(not torch.equal(a[k], b[k]) for k in a)          # a point is the policy then, not at the end


def test_bad_path_points_are_refused():
    from trust_utils.training.config import TrainingError
    from trust_utils.training.sft import SFTStageConfig

    for bad in ([0.0], [1.0], [1.5], ["half"]):
        with pytest.raises(TrainingError, match="path_points"):
            SFTStageConfig(path_points=bad).validate()


def test_the_dry_run_lists_each_methods_path_points_by_step(tmp_path):
    """tiny-seeds keeps points at 0.34 and 0.67 of each method's steps: SFT and DPO 30 steps -> @10, @20 (round(10.2),
    round(20.1)); PPO 8 updates -> ppo@3, ppo@5 (round(2.72), round(5.36))."""
    from trust_utils.pipeline import run
    from trust_utils.profiles import load_profile

    lines: list[str] = []
    run(load_profile("tiny-seeds", run_dir=tmp_path / "ts"), dry_run=True, echo=lines.append)
    listed = {ln.split(":")[0].strip(): ln.split(":", 1)[1].split("(")[0].strip() for ln in lines
              if "path points of" in ln}
    assert listed == {"+ path points of sft": "sft@10, sft@20", "+ path points of ppo": "ppo@3, ppo@5",
                      "+ path points of dpo": "dpo@10, dpo@20"}, lines
    # seed 1 repeats every point under its suffix; base, then 2 seeds x (sft, ppo, dpo, 2 points each) = 1 + 2 x 9
    seed1 = [ln for ln in lines if "training seed 1" in ln]
    assert seed1 and seed1[0].split(":", 1)[1].split("(")[0].strip() == (
        "sft@10-s1, sft@20-s1, sft-s1, ppo@3-s1, ppo@5-s1, ppo-s1, dpo@10-s1, dpo@20-s1, dpo-s1"), lines
    assert "  = 19 checkpoints scored by each vertical" in lines, lines
