"""A method's reuse key covers the code that computes its model and nothing else.

Each test edits a copy of the package (``codehash`` hashes the copy) and compares every method's code hash
(:meth:`trust_utils.training.config.TrainConfig.code_hash`, the ``code`` part of the reuse key) before and after.
"""

from __future__ import annotations

import importlib
import shutil

import pytest

from trust_utils import codehash
from trust_utils.checkpoints import METHODS as REGISTERED


def _config_class(ref: str) -> type:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


#: every registered alignment method's stage config (read from the registry, so a new method is covered too)
METHODS = {m.stage: _config_class(m.config) for m in REGISTERED}


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A copy of the package that codehash hashes instead of the real one (edit it to simulate a code change)."""
    copy = tmp_path / "trust_utils"
    shutil.copytree(codehash.package_root(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codehash, "package_root", lambda: copy)
    return copy


def _keys() -> dict[str, str]:
    return {stage: cls.code_hash() for stage, cls in METHODS.items()}


def _append(path, text="\n# an edit\n"):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def test_every_alignment_method_is_checked():
    assert {"sft", "reward_model", "dpo", "ppo"} < set(METHODS) and len(METHODS) >= 5
    assert all(cls.STAGE == stage and cls.MODULE for stage, cls in METHODS.items())


@pytest.mark.parametrize("edited", ["notebook.py", "profiles.py", "style.py", "run.py", "params.py", "planning.py"])
def test_orchestration_edits_retrain_nothing(package, edited):
    before = _keys()
    _append(package / edited)
    assert _keys() == before, f"an edit to {edited} must not change any method's reuse key"


def test_the_papers_numbers_retrain_nothing(package):
    before = _keys()
    csv = package / "reference" / "paper_results.csv"
    text = csv.read_text(encoding="utf-8")
    assert ",0.302," in text
    csv.write_text(text.replace(",0.302,", ",0.303,", 1), encoding="utf-8")
    assert _keys() == before


def test_the_reward_model_stage_retrains_only_the_reward_model(package):
    before = _keys()
    _append(package / "training" / "reward.py")
    after = _keys()
    assert after["reward_model"] != before["reward_model"], "the stage's own module is in its key"
    assert {k: v for k, v in after.items() if k != "reward_model"} == {
        k: v for k, v in before.items() if k != "reward_model"}, "the other methods do not run the RM stage's code"


def test_an_edit_to_dpo_changes_dpos_key_only(package):
    before = _keys()
    _append(package / "training" / "dpo.py")
    after = _keys()
    assert after["dpo"] != before["dpo"]
    assert {k: v for k, v in after.items() if k != "dpo"} == {k: v for k, v in before.items() if k != "dpo"}


@pytest.mark.parametrize("edited", ["training/reward_model.py", "training/envelope.py"])
def test_shared_value_code_is_in_the_keys_that_run_it(package, edited):
    """The reward model's scoring is in the keys of the stage that trains it and of every method trained against it
    (not SFT's, not DPO's); the envelope is in all."""
    before = _keys()
    _append(package / edited)
    after = _keys()
    changed = {k for k in METHODS if after[k] != before[k]}
    scored = {"reward_model"} | {k for k, cls in METHODS.items() if "reward_model" in cls.INIT_FIELDS}
    assert {"ppo"} < scored and "dpo" not in scored
    assert changed == (scored if edited.endswith("reward_model.py") else set(METHODS))


def _cache_keys() -> dict[str, str]:
    """The ``code`` part of the generation and toxicity-score cache keys."""
    from trust_utils.generation import engine_code_key
    from trust_utils.verticals.scorers import scorer_code_key

    return {"engine": engine_code_key(), "scorer": scorer_code_key()}


@pytest.mark.parametrize("edited", ["notebook.py", "profiles.py", "style.py", "pipeline.py", "planning.py", "run.py",
                                    "analysis/figures.py", "reference/paper_results.csv", "training/reward.py"])
def test_orchestration_and_the_papers_numbers_regenerate_nothing(package, edited):
    before = _cache_keys()
    _append(package / edited, "\n" if edited.endswith(".csv") else "\n# an edit\n")
    assert _cache_keys() == before, f"an edit to {edited} must not change a generation or score cache key"


def test_an_edit_to_the_decode_loop_regenerates(package):
    before = _cache_keys()
    _append(package / "decoding.py")
    after = _cache_keys()
    assert after["engine"] != before["engine"] and after["scorer"] == before["scorer"]
