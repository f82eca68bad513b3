"""`trust_utils.notebook.require_inputs`: a notebook opened alone names the command that prepares its inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trust_utils.notebook import MissingInputs, inputs_command, require_inputs, run_profile


def _done(run_dir: Path, stage: str, how: str = "manifest") -> None:
    d = run_dir / stage
    d.mkdir(parents=True, exist_ok=True)
    if how == "manifest":
        (d / "manifest.json").write_text(json.dumps({"status": "complete"}))
    else:  # an interactive notebook run leaves only outputs.json
        (d / "outputs.json").write_text(json.dumps({"interactive": True}))


def _run_json(run_dir: Path, profile: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps({"profile": profile}))


def test_sft_without_data_names_the_data_stage_and_the_recorded_profile(tmp_path):
    rd = tmp_path / "myrun"
    _run_json(rd, "tiny")
    with pytest.raises(MissingInputs) as e:
        require_inputs(rd, "sft")
    msg = str(e.value)
    assert "10_sft.ipynb" in msg and "stage(s) data," in msg
    assert f"rlhf-trust run --profile tiny --stages data --run-dir {rd}" in msg


def test_ppo_lists_every_missing_need_in_run_order(tmp_path):
    rd = tmp_path / "r"
    _run_json(rd, "default")
    _done(rd, "data")
    with pytest.raises(MissingInputs) as e:
        require_inputs(rd, "ppo")
    assert "--stages sft,reward_model " in str(e.value)


def test_needs_of_needs_are_required(tmp_path):
    # ppo needs data, sft, reward_model; with only sft and reward_model done, data is still missing
    rd = tmp_path / "r"
    _run_json(rd, "tiny")
    _done(rd, "sft")
    _done(rd, "reward_model")
    with pytest.raises(MissingInputs, match="--stages data "):
        require_inputs(rd, "ppo")


def test_interactive_outputs_count_as_done(tmp_path):
    rd = tmp_path / "r"
    _done(rd, "data", how="outputs")
    assert require_inputs(rd, "sft") == []


def test_incomplete_manifest_is_not_done(tmp_path):
    rd = tmp_path / "r"
    (rd / "data").mkdir(parents=True)
    (rd / "data" / "manifest.json").write_text(json.dumps({"status": "failed"}))
    with pytest.raises(MissingInputs):
        require_inputs(rd, "sft")


def test_profile_guessed_from_run_dir_name_without_run_json(tmp_path):
    rd = tmp_path / "tiny"
    assert run_profile(rd) == ("tiny", False)
    with pytest.raises(MissingInputs) as e:
        require_inputs(rd, "dpo")
    msg = str(e.value)
    assert "--profile tiny --stages data,sft" in msg and "guessed" in msg


def test_unknown_run_dir_name_falls_back_to_default(tmp_path):
    assert run_profile(tmp_path / "scratch") == ("default", False)


def test_profile_own_run_dir_needs_no_run_dir_flag():
    # configs/tiny.yaml runs into runs/tiny: the command is the plain one
    assert inputs_command("runs/tiny", ["data", "sft"], "tiny") == "rlhf-trust run --profile tiny --stages data,sft"


def test_verticals_only_note_missing_checkpoints(tmp_path, caplog):
    rd = tmp_path / "r"
    with caplog.at_level("INFO", logger="trust_utils"):
        missing = require_inputs(rd, "toxicity")
    assert {"sft", "ppo", "dpo"} <= set(missing)
    assert "rlhf-trust run" in caplog.text


def test_analysis_without_any_results_fails(tmp_path):
    rd = tmp_path / "r"
    _run_json(rd, "tiny")
    with pytest.raises(MissingInputs, match="--stages toxicity,bias,ethics,truthfulness,privacy"):
        require_inputs(rd, "analysis")
    _done(rd, "bias")
    assert "toxicity" in require_inputs(rd, "analysis")


def test_unknown_stage_is_named():
    with pytest.raises(KeyError, match="unknown stage 'sfft'"):
        require_inputs("runs/x", "sfft")
