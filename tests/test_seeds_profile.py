"""A two-seed run with two path points per method, through the real runner (issue 18's done-when): result rows for
every seed, checkpoint and step, KL and alignment rows, the curve drawn; a rerun skips everything; adding a seed
trains only that seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SUITE_THREADS

from trust_utils.pipeline import run
from trust_utils.profiles import load_profile
from trust_utils.results import load_results
from trust_utils.utils import read_json

STAGES = ["data", "sft", "reward_model", "ppo", "dpo", "ethics", "alignment", "analysis"]


def _profile(tmp: Path, seeds=(0, 1)):
    p = load_profile("tiny-seeds", run_dir=tmp / "run")
    p.seeds = list(seeds)
    p.shared["threads"] = SUITE_THREADS
    p.stages = {k: v for k, v in p.stages.items() if k in STAGES}
    p.stages["analysis"]["figures_dir"] = str(tmp / "figures")
    p.stages["ethics"]["max_examples"] = 6
    # short trainings keep the test fast: 12 SFT and DPO steps (points 4 and 8), 4 reward-model steps, 4 PPO updates
    for stage, steps in (("sft", 12), ("dpo", 12), ("reward_model", 4), ("ppo", 4)):
        p.stages[stage]["max_steps"] = steps
    p.stages["alignment"]["max_examples"] = 6
    return p


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory, cache_dir):
    tmp = tmp_path_factory.mktemp("seeds")
    lines: list[str] = []
    plans = run(_profile(tmp), echo=lines.append, progress=False)
    return tmp, plans, lines


@pytest.mark.slow
def test_two_seeds_two_points_per_method(seeds_run):
    tmp, plans, lines = seeds_run
    assert all(p.status == "done" for p in plans), lines
    names = [p.stage.name for p in plans]
    assert names == ["data", "sft", "reward_model", "ppo", "dpo", "sft-s1", "reward_model-s1", "ppo-s1", "dpo-s1",
                     "ethics", "alignment", "analysis"]
    rd = tmp / "run"
    df = load_results(rd)
    ethics = set(df[df["vertical"] == "ethics"]["checkpoint"])
    # sft and dpo 12 steps (points 4, 8), ppo 4 updates (points 1, 3): every seed, point and endpoint
    want = {"base"} | {f"{c}{t}" for t in ("", "-s1") for c in ("sft@4", "sft@8", "sft", "dpo@4", "dpo@8", "dpo",
                                                                "ppo@1", "ppo@3", "ppo")}
    assert ethics == want
    kl = df[(df["vertical"] == "alignment") & (df["metric"] == "kl_from_reference")]
    assert set(kl["checkpoint"]) == want
    assert float(kl[kl["checkpoint"] == "base"]["value"].iloc[0]) == 0.0
    checks = set(df[df["vertical"] == "alignment"]["metric"])
    assert {"rm_accuracy", "sft_nll", "dpo_reward_accuracy", "mean_reward", "win_rate_vs_sft"} <= checks
    assert {"rm", "rm-s1"} <= set(df[df["metric"] == "rm_accuracy"]["checkpoint"])
    out = read_json(rd / "analysis" / "outputs.json")["outputs"]
    assert "curve" in out["figures"] and "curve_step" in out["figures"]
    assert (rd / "analysis" / "figures" / "curve.png").is_file()
    seeds = [r for r in out["seed_changes"] if r["vertical"] == "ethics"]
    assert {r["method"] for r in seeds} == {"sft", "ppo", "dpo"} and all(r["n_seeds"] == 2 for r in seeds)
    assert set(out["alignment_status"]) >= {"sft", "ppo", "dpo", "rm", "sft-s1", "dpo-s1"}


@pytest.mark.slow
def test_rerun_skips_and_a_new_seed_trains_only_itself(seeds_run):
    tmp, _, lines = seeds_run
    again = run(_profile(tmp), echo=lines.append, progress=False)
    assert all(p.status == "skipped" for p in again), [(p.stage.name, p.status) for p in again]
    # the offline methods' chain of every seed (the online ones follow the same rule and take longer)
    more = run(_profile(tmp, seeds=(0, 1, 2)), only=["data", "sft", "dpo", "sft-s1", "dpo-s1", "sft-s2", "dpo-s2"],
               echo=lines.append, progress=False)
    status = {p.stage.name: p.status for p in more}
    assert {k for k, v in status.items() if v == "done"} == {"sft-s2", "dpo-s2"}, status
