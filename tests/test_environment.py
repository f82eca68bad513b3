"""Pins agree between pyproject.toml and environment.yml; the pinned TRL trainers import; notebooks are clean."""

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(reqs):
    out = {}
    for r in reqs:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\]]+?)\s*==\s*([^\s;]+)\s*", r)
        assert m, f"not an exact pin: {r!r}"
        out[re.sub(r"\[.*\]", "", m.group(1)).lower()] = m.group(2)
    return out


def test_pyproject_and_environment_yml_pin_the_same_versions():
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    py = _pins(pp["dependencies"] + [d for ds in pp["optional-dependencies"].values() for d in ds])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda = _pins(pip_list)
    assert py == conda
    assert py["torch"] == "2.13.0" and py["trl"] == "1.12.0"


def test_installed_versions_match_the_pins():
    import importlib.metadata as md

    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for name, ver in _pins(pp["dependencies"]).items():
        installed = md.version(name)
        assert installed.split("+")[0] == ver, f"{name}: installed {installed}, pinned {ver}"


def test_pinned_trl_has_all_four_trainers():
    from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer, SFTConfig, SFTTrainer  # noqa: F401
    from trl.experimental.ppo import PPOConfig, PPOTrainer  # noqa: F401


@pytest.mark.parametrize("nb", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs_and_have_a_parameters_cell(nb):
    data = json.loads(nb.read_text())
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{nb.name} has outputs"
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), f"{nb.name}: first code cell must be tagged parameters"
    assert data["cells"][0]["cell_type"] == "markdown", f"{nb.name} must open with a markdown cell"
    for line in code[0]["source"].splitlines() if isinstance(code[0]["source"], str) else "".join(code[0]["source"]).splitlines():
        if line.strip() and not line.strip().startswith("#"):
            assert line.count("=") == 1, f"{nb.name}: papermill cannot parse {line!r} (one '=' per parameter line)"
            assert "#" in line, f"{nb.name}: parameter line without a help comment: {line!r}"


def test_every_registered_stage_has_its_notebook():
    from trust_utils.stages import STAGES

    missing = [s.notebook for s in STAGES if not (ROOT / "notebooks" / s.notebook).is_file()]
    assert not missing, f"registered stages without notebooks: {missing}"
