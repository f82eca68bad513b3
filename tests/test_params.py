"""One declaration per parameter: the config dataclass is the schema; cells show a few fields plus ``overrides``."""

import dataclasses
import re
from pathlib import Path

import pytest

from trust_utils import cli
from trust_utils.notebook import config_from_params
from trust_utils.params import (
    SHARED_HELP,
    cell_params,
    config_fields,
    field_help,
    load_config_class,
    param,
    parameters_cell,
)
from trust_utils.pipeline import PipelineError, fingerprint_parts, injected_params, plan, run
from trust_utils.profiles import load_profile
from trust_utils.stages import STAGES, get_stage
from trust_utils.utils import read_json

ROOT = Path(__file__).resolve().parents[1]


def _profile(tmp_path: Path, stages: dict, shared: dict | None = None) -> Path:
    import yaml

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"description": "test", "run_dir": str(tmp_path / "run"),
                                    "shared": {"seed": 0, "model": "tiny"} if shared is None else shared,
                                    "stages": stages}))
    return path


@dataclasses.dataclass
class _Cfg:
    run_dir: str = param("r", "run dir")
    a: int = param(1, "an a")
    b: list = param([], "a b")


class _Sub(_Cfg):
    pass


@dataclasses.dataclass
class _Marked(_Cfg):
    a: int = 5  # only the default changes: the base's mark (none) stays
    b: list = param(["y"], "a b shown", cell=True)
    c: int = param(0, "a c shown", cell=True)


def test_cell_parameters_are_marked_on_their_fields():
    assert cell_params(_Cfg) == ()
    assert cell_params(_Marked) == ("b", "c")  # declaration order; run_dir is always first and never listed
    cell = parameters_cell("nostage", _Marked)
    assert cell.splitlines()[0].startswith("run_dir: str = ")
    assert [ln.split(":")[0] for ln in cell.splitlines()] == ["run_dir", "b", "c", "overrides"]


def test_build_config_defaults_then_cell_then_overrides():
    cfg = config_from_params(_Cfg, {"a": 2, "overrides": {"b": ["x"]}, "display_only": 5, "print": print})
    assert (cfg.a, cfg.b) == (2, ["x"])  # cell value, override; a notebook-only name is ignored
    assert config_from_params(_Cfg, {"overrides": {"a": 9}, "a": 2}).a == 9  # overrides win over the cell
    assert _Cfg().b is not _Cfg().b  # a list default is copied per instance
    with pytest.raises(ValueError, match=r"'c', which is not one of its fields; valid: run_dir, a, b"):
        config_from_params(_Cfg, {"overrides": {"c": 1}})
    with pytest.raises(ValueError, match="must be a dict"):
        config_from_params(_Cfg, {"overrides": [("a", 1)]})
    assert field_help(_Sub, "a") == "an a"  # help is found on the base class


def test_every_stage_names_its_config_and_every_field_has_help():
    for stage in STAGES:
        cls = load_config_class(stage.config)
        missing = [n for n, f in config_fields(cls).items() if not f["help"]]
        assert not missing, f"{stage.name}: fields without help {missing}"


def test_seed_help_is_declared_once():
    helps = {load_config_class(s.config).__name__: field_help(load_config_class(s.config), "seed") for s in STAGES}
    assert set(helps.values()) == {SHARED_HELP["seed"]}
    sources = [p.read_text() for p in (ROOT / "trust_utils").rglob("*.py")] + \
              [p.read_text() for p in (ROOT / "notebooks").glob("*.py")]
    assert sum(s.count(SHARED_HELP["seed"]) for s in sources) == 1
    for s in STAGES:  # and no notebook cell restates seed
        assert "seed" not in cell_params(load_config_class(s.config))


def test_notebook_parameter_cells_are_generated_from_the_configs():
    for stage in STAGES:
        src = (ROOT / "notebooks" / stage.notebook.replace(".ipynb", ".py")).read_text()
        cell = re.search(r'# %% tags=\["parameters"\]\n(.*?)\n\n# %%', src, flags=re.S).group(1)
        assert cell == parameters_cell(stage.name, load_config_class(stage.config)), (
            f"{stage.notebook}: its parameters cell differs from the config; paste "
            f"trust_utils.params.parameters_cell({stage.name!r}, ...) into it")


def test_params_command_lists_the_dataclass_fields(capsys):
    from trust_utils.training.dpo import DPOStageConfig

    assert cli.main(["params", "dpo"]) == 0
    out = capsys.readouterr().out
    for f in dataclasses.fields(DPOStageConfig):
        assert re.search(rf"^ [ *] {f.name}: ", out, flags=re.M), f.name
    assert " * beta: float = 0.1  # DPO temperature beta (KL strength)" in out
    assert "   lora_r: int = 16  # LoRA rank" in out  # not in the cell: no star
    assert cli.main(["params", "data"]) == 0
    assert " * threads: int = 2" in capsys.readouterr().out  # the data notebook's notebook-only parameter


def test_profile_keys_outside_the_cell_go_into_overrides_and_the_fingerprint(tmp_path):
    plans = {p.stage.name: p for p in plan(load_profile(_profile(tmp_path, {"data": {}, "sft": {"lora_r": 4, "max_steps": 3}})))}
    p = plans["sft"]
    inj = injected_params(p.stage, p.params, p.declared)
    assert inj["max_steps"] == 3 and inj["model"] == "tiny" and inj["overrides"] == {"seed": 0, "lora_r": 4}
    other = {q.stage.name: q for q in plan(load_profile(_profile(tmp_path, {"data": {}, "sft": {"lora_r": 8, "max_steps": 3}})))}
    assert fingerprint_parts(p, {})["params"] != fingerprint_parts(other["sft"], {})["params"]


def test_shared_keys_reach_every_stage_whose_config_has_the_field(tmp_path):
    plans = {p.stage.name: p for p in plan(load_profile(_profile(
        tmp_path, {"data": {}, "sft": {}, "ethics": {}}, shared={"seed": 1, "dtype": "float32"})))}
    assert plans["ethics"].params["dtype"] == "float32" and "dtype" not in plans["sft"].params
    assert injected_params(plans["ethics"].stage, plans["ethics"].params,
                           plans["ethics"].declared)["overrides"] == {"seed": 1, "dtype": "float32"}


@pytest.mark.parametrize("stage,old,new", [("toxicity", "num_samples", "n_samples"), ("data", "source", "data_source"),
                                           ("privacy", "n_per_type", "max_examples")])
def test_old_names_give_the_rename_error(tmp_path, stage, old, new):
    with pytest.raises(PipelineError, match=f"parameter '{old}' of stage '{stage}' was renamed to '{new}'"):
        plan(load_profile(_profile(tmp_path, {stage: {old: 2}})))
    cls = load_config_class(get_stage(stage).config)
    with pytest.raises(ValueError, match=f"parameter '{old}' of stage '{stage}' was renamed to '{new}'"):
        config_from_params(cls, {"run_dir": "r", "overrides": {old: 2}})


def test_wrong_types_and_unknown_keys_are_refused(tmp_path):
    with pytest.raises(PipelineError, match=r"'n_boot' must be int, got 'many'"):  # n_boot is not in the cell
        plan(load_profile(_profile(tmp_path, {"ethics": {"n_boot": "many"}})))
    with pytest.raises(PipelineError, match=r"'variants' must be list\[str\]"):
        plan(load_profile(_profile(tmp_path, {"ethics": {"variants": "benign"}})))
    with pytest.raises(PipelineError, match=r"no parameter 'n_bot'.*valid parameters: .*n_boot"):
        plan(load_profile(_profile(tmp_path, {"ethics": {"n_bot": 3}})))
    with pytest.raises(PipelineError, match="sets 'overrides'"):
        plan(load_profile(_profile(tmp_path, {"ethics": {"overrides": {"n_boot": 3}}})))


def test_a_real_notebook_gets_a_field_outside_its_cell(tmp_path, cache_dir):
    """22_ethics on the tiny base model with stop_at_eos and n_boot (not in its cell) from the profile: they reach
    the notebook's config (its recorded config and the bootstrap intervals' resample count)."""
    path = _profile(tmp_path, {"ethics": {"checkpoints": ["base"], "max_examples": 4, "variants": ["benign"],
                                          "n_boot": 7, "stop_at_eos": False,
                                          "max_new_tokens": 4}}, shared={"seed": 0, "threads": 1,
                                                                                      "model": "tiny"})
    plans = run(load_profile(path), echo=lambda s: None, progress=False)
    assert plans[0].status == "done"
    out = read_json(tmp_path / "run" / "ethics" / "outputs.json")
    assert out["outputs"]["config"]["stop_at_eos"] is False
    assert read_json(tmp_path / "run" / "ethics" / "manifest.json")["params"]["n_boot"] == 7
    import nbformat

    nb = nbformat.read(str(tmp_path / "run" / "ethics" / "22_ethics.ipynb"), as_version=4)
    injected = next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert re.search(r"overrides = \{.*n_boot.: 7", injected) and "max_examples = 4" in injected
