"""The checkpoint registry: external checkpoints in a profile, reference checks, dry runs, the analysis of families."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from trust_utils import analysis
from trust_utils.checkpoints import CHECKPOINT_ORDER, CheckpointError, evaluation_list, parse_checkpoints
from trust_utils.pipeline import PipelineError, plan, run
from trust_utils.profiles import ProfileError, load_profile
from trust_utils.refs import check_ref
from trust_utils.run import Run, write_checkpoints


def write_yaml(path, data) -> str:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


# ------------------------------------------------------------------------------------------ parsing
def test_shorthand_defaults_and_family_model():
    cks = parse_checkpoints({
        "base": "EleutherAI/pythia-410m",
        "sft": {"ref": "org/sft@v1"},
        "mine": {"ref": "/models/mine", "label": "My DPO", "compare_to": "sft"},
        "b70": {"ref": "EleutherAI/pythia-70m", "stage": "base", "family": "small"},
        "s70": {"ref": "org/s70", "stage": "sft", "family": "small"},
    })
    by = {c.name: c for c in cks}
    assert [c.name for c in cks] == ["base", "sft", "mine", "b70", "s70"]
    # the family's model column is its baseline's reference, in both families
    assert by["sft"].model == by["mine"].model == "EleutherAI/pythia-410m"
    assert by["s70"].model == "EleutherAI/pythia-70m" and by["s70"].checkpoint == "sft"
    assert by["sft"].label == "SFT" and by["sft"].order == 1 and by["sft"].compare_to == "base"
    assert by["mine"].label == "My DPO" and by["mine"].checkpoint == "mine" and by["mine"].compare_to == "sft"
    assert by["mine"].order >= 10  # after the built-ins
    assert by["base"].compare_to == ""  # the baseline itself compares to nothing


@pytest.mark.parametrize("block, words", [
    ({"a b": "x/y"}, "letters, digits"),
    ({"x": {"ref": "a/b", "colour": "red"}}, "unknown key"),
    ({"x": {"label": "no ref"}}, "needs 'ref'"),
    ({"x": "a/b", "y": {"ref": "c/d", "stage": "x"}}, "both stage 'x'"),
    ({"x": {"ref": "a/b", "compare_to": "nothere"}}, "does not have"),
    ({"rm": "a/b"}, "reward model"),
])
def test_malformed_blocks_are_refused_with_the_reason(block, words):
    with pytest.raises(CheckpointError, match=words):
        parse_checkpoints(block)


def test_evaluation_list_rule():
    ext = parse_checkpoints({"mine": "/m", "sft": "org/sft"})
    # base when the profile sets a model; sft shadowed by the external one; dpo trained by the profile
    assert evaluation_list(ext, ["dpo", "toxicity"], has_model=True) == ["base", "dpo", "mine", "sft"]
    assert evaluation_list(ext, ["toxicity"], has_model=False) == ["mine", "sft"]
    assert evaluation_list(parse_checkpoints({"base": "a/b"}), [], has_model=True) == ["base"]


def test_run_list_and_unknown_names(tmp_path):
    assert Run.open(tmp_path).checkpoint_names() == list(CHECKPOINT_ORDER)  # no checkpoints.json: the old default
    write_checkpoints(tmp_path, parse_checkpoints({"mine": "/m"}), ["base", "mine"])
    run = Run.open(tmp_path)
    assert run.checkpoint_names() == ["base", "mine"]
    assert run.checkpoint_names(["mine"]) == ["mine"]
    with pytest.raises(CheckpointError, match="unknown checkpoint name.*'typo'"):
        run.checkpoint_names(["typo"])


def test_run_value_reads_its_file_once_and_answers_for_its_checkpoints(tmp_path, monkeypatch):
    write_checkpoints(tmp_path, parse_checkpoints({"base": "a/b", "mine": {"ref": "/m", "label": "My DPO",
                                                                          "color": "#123456"}}), ["base", "mine"])
    run = Run.open(tmp_path)
    (tmp_path / "checkpoints.json").unlink()  # the value holds what it read
    assert run.external("mine").ref == "/m" and run.has_file
    assert run.order(["zzz", "mine", "dpo", "base"]) == ["base", "dpo", "mine", "zzz"]
    assert (run.label("mine"), run.color("mine"), run.label("dpo")) == ("My DPO", "#123456", "DPO")
    assert run.checkpoint_path("dpo") == tmp_path / "dpo" / "model"
    assert run.checkpoint_path("rm") == tmp_path / "reward_model" / "model"
    assert run.available(["base", "mine", "dpo"]) == ["base", "mine"]  # dpo not trained yet
    assert run.resolve("base", "tiny-unused") == "a/b"  # the external shadows the profile's model
    with pytest.raises(Exception, match="checkpoint 'dpo' does not exist"):
        run.resolve("dpo", "a/b")
    assert Run.open(run) is run
    (tmp_path / "checkpoints.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        Run.open(tmp_path)


# ------------------------------------------------------------------------------------------ references
def test_reference_checks(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "config.json").write_text("{}")
    assert "does not exist" in check_ref("a", str(tmp_path / "missing"))["error"]
    assert "no config.json" in check_ref("a", str(tmp_path / "empty"))["error"]
    assert check_ref("a", str(tmp_path / "ok"))["error"] == ""
    assert "GGUF file" in check_ref("a", f"gguf:{tmp_path / 'x.gguf'}")["error"]
    assert check_ref("a", "tiny")["status"] == "built offline"
    dry = check_ref("a", "org/model@rev1")
    assert (dry["kind"], dry["status"], dry["error"]) == ("hub", "hub, not checked offline", "")
    assert "neither an existing path nor a hub id" in check_ref("a", "bad id!")["error"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    real = check_ref("a", "org/not-cached-model", online=True)
    assert "org/not-cached-model" in real["error"] and "HF_HUB_OFFLINE" in real["error"]
    assert "huggingface-cli download org/not-cached-model" in real["error"]


# ------------------------------------------------------------------------------------------ runner
def test_v1_profiles_dry_run_offline_lists_every_checkpoint(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name, n in (("paper-v1-pythia-410m", 4), ("paper-v1-pythia-2.8b", 4), ("paper-v1-pythia", 20)):
        prof = load_profile(name)
        assert not any(s in prof.stages for s in ("data", "sft", "ppo", "dpo"))  # scoring only
        lines: list[str] = []
        plans = run(prof, dry_run=True, echo=lines.append)
        assert all(p.status == "planned" for p in plans)
        listed = [ln for ln in lines if "[hub, not checked offline]" in ln]
        assert len(listed) == n, lines
        for c in prof.checkpoints:
            assert any(c.ref in ln for ln in listed), c.ref
    fam = load_profile("paper-v1-pythia")
    assert {c.model for c in fam.checkpoints} == {f"EleutherAI/pythia-{s}" for s in ("70m", "160m", "410m", "2.8b", "6.9b")}
    assert {c.ref for c in fam.checkpoints if c.checkpoint == "ppo"} == {
        f"usvsnsp/pythia-{s}-ppo" for s in ("70m", "160m", "410m", "2.8b", "6.9b")}


def test_bad_references_fail_before_any_stage(tmp_path, monkeypatch):
    base = {"description": "t", "run_dir": str(tmp_path / "run"), "shared": {"seed": 0},
            "stages": {"truthfulness": {"max_examples": 2}}}
    p = write_yaml(tmp_path / "missing.yaml", base | {"checkpoints": {"mine": str(tmp_path / "nope")}})
    with pytest.raises(PipelineError, match="mine: model directory .*nope does not exist"):
        plan(load_profile(p))
    p = write_yaml(tmp_path / "unknown.yaml", base | {"stages": {"truthfulness": {"checkpoints": ["base", "typo"]}}})
    with pytest.raises(PipelineError, match="unknown checkpoint.*'typo'"):
        plan(load_profile(p))
    p = write_yaml(tmp_path / "badkey.yaml", base | {"checkpoints": {"x": {"ref": "a/b", "size": 1}}})
    with pytest.raises(ProfileError, match="unknown key"):
        load_profile(p)
    # a hub id offline: the dry run lists it, a real run fails fast naming it, and nothing runs
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    p = write_yaml(tmp_path / "hub.yaml", base | {"checkpoints": {"sft": "org/not-cached-sft"}})
    prof = load_profile(p)
    lines: list[str] = []
    run(prof, dry_run=True, echo=lines.append)
    assert any("org/not-cached-sft" in ln and "not checked offline" in ln for ln in lines)
    with pytest.raises(PipelineError, match="org/not-cached-sft.*cannot be loaded"):
        run(prof, echo=lambda m: None)
    assert not (tmp_path / "run" / "truthfulness").exists()


# ------------------------------------------------------------------------------------------ analysis
def _row(model, checkpoint, value, lo, hi, vertical="truthfulness", metric="mc1_accuracy", variant="default"):
    return {"vertical": vertical, "metric": metric, "variant": variant, "checkpoint": checkpoint, "value": value, "ci_low": lo,
            "ci_high": hi, "n": 100, "higher_is_better": True, "scorer": "", "seed": 0, "model": model,
            "config_hash": "", "versions": ""}


def test_changes_against_a_declared_baseline():
    m = "org/fam"
    df = pd.DataFrame([_row(m, "base", 0.30, 0.20, 0.40), _row(m, "sft", 0.40, 0.30, 0.50),
                       _row(m, "mine", 0.50, 0.40, 0.60)])
    out = analysis.changes_against(df, {(m, "mine"): "sft", (m, "sft"): "base"})
    got = {r.checkpoint: r for r in out.itertuples()}
    assert got["sft"].baseline == "base" and math.isclose(got["sft"].abs_change, 0.10)
    # mine is measured from sft (0.50 - 0.40), not from base (0.20)
    assert got["mine"].baseline == "sft" and math.isclose(got["mine"].abs_change, 0.10)
    assert math.isclose(got["mine"].base_value, 0.40)
    se = 0.20 / (2 * analysis.Z95)  # both intervals are 0.20 wide: 0.10 - sqrt(2) * 0.10
    assert math.isclose(got["mine"].diff_ci_low, 0.10 - analysis.Z95 * math.sqrt(2) * se)


def test_run_checkpoints_set_order_and_labels(tmp_path):
    write_checkpoints(tmp_path, parse_checkpoints({"base": "a/b", "mine": {"ref": "/m", "label": "My DPO"},
                                                       "sft": "a/c"}), None)
    try:
        analysis.use_run_checkpoints(tmp_path)
        assert analysis.order_checkpoints(["mine", "zzz", "sft", "base"]) == ["base", "sft", "mine", "zzz"]
        assert analysis.checkpoint_label("mine") == "My DPO"
    finally:
        analysis.use_run_checkpoints(None)
    assert analysis.order_checkpoints(["mine", "sft"]) == ["sft", "mine"]
    assert analysis.checkpoint_label("mine") == "mine"


def test_v1_table_and_families_figure():
    rows = []
    for size, base, sft in (("410m", 0.085, 0.026), ("2.8b", 0.368, 0.138)):
        rows += [_row(f"EleutherAI/pythia-{size}", "base", base, base - 0.01, base + 0.01),
                 _row(f"EleutherAI/pythia-{size}", "sft", sft + 0.05, sft + 0.04, sft + 0.06)]
    df = pd.DataFrame(rows)
    ref = analysis.load_reference()
    v1 = analysis.v1_comparison(df, ref)
    t = analysis.v1_table(v1)
    assert list(t["paper_model"]) == ["pythia-410m", "pythia-2.8b"]  # ordered by size
    # base: the paper value (8.5%) is inside the run's interval; sft is 0.05 off, outside: flagged
    assert t.loc[0, "base"] == "0.085 [0.075, 0.095] / 0.085"
    assert t.loc[0, "sft"].endswith("/ 0.026*")
    fig = analysis.plot_families(df, ref)
    ax = fig.axes[0]
    assert [tl.get_text() for tl in ax.get_xticklabels()] == ["Base", "SFT"]
    labels = [h.get_label() for h in ax.get_legend_handles_labels()[0]]
    assert labels == ["pythia-410m", "pythia-2.8b"]
    assert len(ax.lines) >= 2  # the dashed paper lines


# ------------------------------------------------------------------------------------------ end to end
@pytest.mark.slow
def test_profile_of_local_external_checkpoints_runs_end_to_end(tmp_path, cache_dir):
    """Two families of tiny models saved to local directories, scored with no training stage; the results, the
    records and the figures name them."""
    import json

    from trust_utils.models import build_tiny_model
    from trust_utils.results import load_results

    a_base, a_mine, b_base = (str(build_tiny_model(cache_dir, seed=s)) for s in (1, 2, 3))
    run_dir, figs = tmp_path / "run", tmp_path / "figs"
    prof = write_yaml(tmp_path / "mine.yaml", {
        "description": "score my models", "run_dir": str(run_dir), "baseline": "base",
        "shared": {"seed": 0, "threads": 1, "device": "cpu"},
        "checkpoints": {
            "a-base": {"ref": a_base, "stage": "base", "family": "a"},
            "a-mine": {"ref": a_mine, "stage": "mine", "family": "a", "label": "My DPO"},
            "b-base": {"ref": b_base, "stage": "base", "family": "b"},
        },
        "stages": {"truthfulness": {"max_examples": 3, "max_new_tokens": 6, "loglik": False, "n_boot": 50},
                   "analysis": {"figures_dir": str(figs)}},
    })
    plans = run(load_profile(prof), echo=lambda _m: None, progress=False)
    assert [p.status for p in plans] == ["done", "done"]
    res = load_results(run_dir)
    assert set(zip(res["model"], res["checkpoint"], strict=True)) == {(a_base, "base"), (a_base, "mine"), (b_base, "base")}
    assert sorted(p.stem for p in (run_dir / "truthfulness" / "records").glob("*.jsonl")) == ["a-base", "a-mine", "b-base"]
    man = json.loads((run_dir / "truthfulness" / "manifest.json").read_text())
    assert any(k.endswith("checkpoints.json") for k in man["inputs"])  # a changed block reruns the stage
    out = json.loads((run_dir / "analysis" / "outputs.json").read_text())["outputs"]
    assert out["checkpoints"] == ["base", "mine"] and set(out["models"]) == {a_base, b_base}
    assert "families" in out["figures"] and (figs / "families_run.png").is_file()
    changes = pd.read_csv(run_dir / "analysis" / "changes.csv")
    assert list(zip(changes["model"], changes["checkpoint"], strict=True))[:1] == [(a_base, "mine")]
    # the figure labels the external checkpoint with its declared label
    analysis.use_run_checkpoints(run_dir)
    try:
        fig = analysis.plot_vertical(res, "truthfulness")
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Base", "My DPO"]
    finally:
        analysis.use_run_checkpoints(None)
    # unchanged: both stages skip; a changed checkpoint block (written by the runner) makes the vertical stale
    plans = run(load_profile(prof), echo=lambda _m: None, progress=False)
    assert [p.status for p in plans] == ["skipped", "skipped"]
    from trust_utils.pipeline import status

    changed = load_profile(prof)
    write_checkpoints(run_dir, changed.checkpoints[:2], changed.evaluated_checkpoints()[:2])
    rows = {r["stage"]: r for r in status(changed)}
    assert rows["truthfulness"]["status"] == "stale" and "checkpoints.json" in rows["truthfulness"]["why"]
