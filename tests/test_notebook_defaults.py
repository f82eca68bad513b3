"""A notebook opened by hand takes its run's parameters (`trust_utils.notebook.run_parameters`, via `require_inputs`).

The fake run directories hold what the runner writes: ``<run_dir>/<stage>/manifest.json`` with the resolved ``params``,
``run.json`` with the profile. The namespaces are what ``13_dpo``'s parameters cell defines (its defaults: learning
rate 5e-7, beta 0.1, solutions False, no overrides); DPOStageConfig's defaults are max_steps 0, batch_size 8.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trust_utils.manifest import RUN_ID_ENV
from trust_utils.notebook import require_inputs, run_parameters
from trust_utils.params import build_config
from trust_utils.training.dpo import DPOStageConfig

# the same name as a DPO cell parameter: require_inputs called from this module must leave it alone
learning_rate = 5e-07

#: what the runner recorded for the tiny profile's dpo stage (configs/tiny.yaml: shared + the dpo section)
TINY_DPO = {"seed": 0, "threads": 2, "model": "tiny", "solutions": True, "max_steps": 30, "batch_size": 8,
            "learning_rate": 0.0001, "beta": 0.1, "max_length": 320, "logging_steps": 2, "save_steps": 10,
            "n_eval": 32}


def _cell(run_dir: Path, **changed) -> dict:
    """The namespace 13_dpo's parameters cell leaves, as in a kernel (``__name__ == "__main__"``)."""
    ns = {"__name__": "__main__", "run_dir": str(run_dir), "learning_rate": 5e-07, "beta": 0.1, "solutions": False,
          "overrides": {}}
    ns.update(changed)
    return ns


def _done(run_dir: Path, stage: str, params: dict | None = None) -> None:
    d = run_dir / stage
    d.mkdir(parents=True, exist_ok=True)
    m = {"status": "complete"}
    if params is not None:
        m["params"] = {**params, "run_dir": str(run_dir)}
    (d / "manifest.json").write_text(json.dumps(m))


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    rd = tmp_path / "myrun"
    rd.mkdir()
    (rd / "run.json").write_text(json.dumps({"profile": "tiny"}))
    _done(rd, "data")
    _done(rd, "sft")
    return rd


def test_recorded_run_replaces_the_defaults_in_the_cell_and_in_overrides(run_dir):
    _done(run_dir, "dpo", TINY_DPO)
    ns = _cell(run_dir)
    rep = run_parameters(run_dir, "dpo", ns)
    assert ns["learning_rate"] == 0.0001 and ns["solutions"] is True and ns["beta"] == 0.1
    # not in the cell and not the config's default: into overrides, as the runner passes them
    assert ns["overrides"] == {"max_steps": 30, "max_length": 320, "logging_steps": 2, "save_steps": 10,
                               "n_eval": 32}
    assert rep.taken["learning_rate"] == (0.0001, 5e-07) and rep.taken["max_steps"] == (30, 0)
    assert set(rep.taken) == {"learning_rate", "solutions", "max_steps", "max_length", "logging_steps",
                              "save_steps", "n_eval"} and rep.kept == {}
    cfg = build_config(DPOStageConfig, ns)  # what the notebook's next cell builds: the run's experiment
    assert (cfg.learning_rate, cfg.max_steps, cfg.max_length, cfg.n_eval) == (0.0001, 30, 320, 32)
    text = str(rep)
    assert "manifest.json" in text and "learning_rate" in text and "from the run, notebook default 5e-07" in text
    assert rep.into_overrides == ["max_steps", "max_length", "logging_steps", "save_steps", "n_eval"]


def test_values_set_in_the_notebook_are_kept_and_listed(run_dir):
    _done(run_dir, "dpo", TINY_DPO)
    ns = _cell(run_dir, beta=0.2, overrides={"max_steps": 5, "warmup_steps": 3})
    rep = run_parameters(run_dir, "dpo", ns)
    assert ns["beta"] == 0.2 and ns["overrides"]["max_steps"] == 5 and ns["overrides"]["warmup_steps"] == 3
    assert ns["learning_rate"] == 0.0001  # still taken: left at its default
    # beta and max_steps differ from the run's; warmup_steps differs from the default the run used
    assert rep.kept == {"beta": (0.2, 0.1), "max_steps": (5, 30), "warmup_steps": (3, 0)}
    assert "yours (the run: 0.1)" in str(rep)


def test_applying_twice_changes_nothing_more(run_dir):
    _done(run_dir, "dpo", TINY_DPO)
    ns = _cell(run_dir)
    run_parameters(run_dir, "dpo", ns)
    again = dict(ns, overrides=dict(ns["overrides"]))
    rep = run_parameters(run_dir, "dpo", again)
    assert again == ns and rep.taken == {} and rep.kept == {}


def test_under_the_runner_nothing_is_touched(run_dir, monkeypatch):
    _done(run_dir, "dpo", TINY_DPO)
    monkeypatch.setenv(RUN_ID_ENV, "pipeline:dpo:1")
    ns = _cell(run_dir)
    before = json.dumps(ns, sort_keys=True)
    rep = run_parameters(run_dir, "dpo", ns)
    assert json.dumps(ns, sort_keys=True) == before and str(rep) == "" and rep.taken == {}
    exec("require_inputs(run_dir, 'dpo')", {**ns, "require_inputs": require_inputs})  # nor through the cell's call
    assert json.dumps(ns, sort_keys=True) == before


def test_require_inputs_applies_to_the_calling_notebook_namespace(run_dir, capsys):
    _done(run_dir, "dpo", TINY_DPO)
    ns = _cell(run_dir, require_inputs=require_inputs)
    exec("require_inputs(run_dir, 'dpo')", ns)  # a kernel cell: globals are __main__'s
    assert ns["learning_rate"] == 0.0001 and ns["overrides"]["max_steps"] == 30
    assert "13_dpo.ipynb" in capsys.readouterr().out


def test_require_inputs_from_a_module_applies_nothing(run_dir):
    _done(run_dir, "dpo", TINY_DPO)
    require_inputs(run_dir, "dpo")
    assert learning_rate == 5e-07  # this module's global of the same name is untouched


def test_without_a_recorded_run_the_profile_differences_are_listed_not_applied(run_dir):
    ns = _cell(run_dir, beta=0.3)
    before = json.dumps(ns, sort_keys=True)
    rep = run_parameters(run_dir, "dpo", ns)
    assert json.dumps(ns, sort_keys=True) == before
    assert rep.taken == {} and rep.source.startswith("profile 'tiny' (recorded")
    assert rep.differs["learning_rate"] == (5e-07, 0.0001)
    assert rep.differs["max_steps"] == (0, 30) and rep.differs["solutions"] == (False, True)
    assert rep.differs["beta"] == (0.3, 0.1)  # the profile sets beta 0.1, the notebook 0.3
    assert "seed" not in rep.differs and "threads" not in rep.differs  # equal in both
    assert f"rlhf-trust run --profile tiny --stages dpo --run-dir {run_dir}" in str(rep)
    assert str(rep).startswith("Parameters of 13_dpo.ipynb: no run of stage 'dpo' in ")
    # the profile's values as cell lines: pasted into the namespace they give the profile's config
    assert rep.paste.splitlines()[-1] == ("overrides = {'max_steps': 30, 'max_length': 320, 'logging_steps': 2, "
                                          "'save_steps': 10, 'n_eval': 32}")
    exec(rep.paste, ns)
    assert run_parameters(run_dir, "dpo", ns).differs == {}


def test_a_profile_that_does_not_run_the_stage_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    rd = tmp_path / "r"
    rd.mkdir()
    (rd / "run.json").write_text(json.dumps({"profile": "paper-v1-pythia-70m"}))  # scores checkpoints, trains none
    rep = run_parameters(rd, "dpo", _cell(rd))
    assert rep.differs == {} and "does not run it" in str(rep)


def test_run_dir_is_spelled_as_the_run_did_when_it_is_the_same_directory(tmp_path, monkeypatch):
    # the runner records run_dir absolute; a trained model's reuse key hashes it, so the notebook must use that string
    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    monkeypatch.setenv("RLHF_TRUST_ROOT", str(tmp_path))  # relative run dirs are taken from the project root
    rd = tmp_path / "runs" / "course"
    _done(rd, "dpo", TINY_DPO)  # records run_dir = str(rd), absolute
    ns = _cell("runs/course")
    rep = run_parameters("runs/course", "dpo", ns)
    assert ns["run_dir"] == str(rd) and rep.run_dir_from == "runs/course"
    assert "the same directory as 'runs/course'" in str(rep)
    other = _cell(tmp_path / "elsewhere")  # another directory keeps its own name (its manifest is not this one)
    run_parameters(rd, "dpo", other)
    assert other["run_dir"] == str(tmp_path / "elsewhere")
