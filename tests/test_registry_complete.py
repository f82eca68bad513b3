"""Registry completeness: every vertical and every alignment method is wired everywhere it must be.

A vertical (``trust_utils.registry.VERTICALS``) needs its pipeline stage, its notebook pair, its analysis figure and
a block in the tiny and default profiles. An alignment method (``trust_utils.checkpoints.METHODS``) needs its
checkpoint entry, its stage (derived), its notebook pair, its label and colour (derived) and profile blocks.

Adding RLOO as the fifth method touched, besides its own module (``trust_utils/training/rloo.py``), notebook pair
(``notebooks/14_rloo.py`` + ``.ipynb``) and test (``tests/test_training_rloo.py``), exactly four files: its
registration line in ``trust_utils/checkpoints.py`` and its blocks in ``configs/tiny.yaml``,
``configs/default.yaml`` and ``configs/paper-pythia-1.4b.yaml`` (the 2.8b/6.9b paper profiles extend 1.4b), plus
the guides in ``docs/``. :func:`test_adding_rloo_touched_at_most_four_other_files` checks that no other source,
config or notebook names it (so nothing else hard-codes the method list).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from trust_utils import analysis, checkpoints, stages
from trust_utils.checkpoints import CHECKPOINT_ORDER
from trust_utils.paths import configs_dir
from trust_utils.registry import VERTICALS

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"


def _profile_stages(name: str) -> dict:
    return yaml.safe_load((configs_dir() / f"{name}.yaml").read_text(encoding="utf-8"))["stages"]


def _pair(notebook: str) -> bool:
    return (NB / notebook).is_file() and (NB / notebook).with_suffix(".py").is_file()


@pytest.mark.parametrize("name", list(VERTICALS))
def test_every_vertical_has_stage_notebook_figure_and_profile_blocks(name):
    from trust_utils.results import result_row

    st = stages.get_stage(name)
    assert "vertical" in st.tags and _pair(st.notebook), st
    assert set(checkpoints.EVAL_PRODUCERS) <= set(st.uses)  # it scores every evaluated method's checkpoint
    v = VERTICALS[name]
    rows = [result_row(name, v.headline.name, v.headline_variant, s, 0.5, 10) for s in ("base", "sft")]
    import pandas as pd

    assert name in analysis.figure_keys(pd.DataFrame(rows))
    assert analysis.figure_title(name)
    for profile in ("tiny", "default"):
        assert name in _profile_stages(profile), f"configs/{profile}.yaml has no {name!r} block"
    import importlib

    module = importlib.import_module(v.module)
    assert callable(module.example_prompt) and callable(module.example_answer), "course mode's one-example hooks"


@pytest.mark.parametrize("m", checkpoints.METHODS, ids=[m.checkpoint for m in checkpoints.METHODS])
def test_every_method_has_checkpoint_stage_notebook_label_colour_and_profile_blocks(m):
    ck = checkpoints.BUILTIN_BY_NAME[m.checkpoint]
    assert (ck.producer, ck.label, ck.color, ck.evaluated) == (m.stage, m.label, m.color, m.evaluated)
    st = stages.get_stage(m.stage)
    assert st.checkpoint == m.checkpoint and "alignment" in st.tags and st.needs == m.needs
    assert stages.checkpoint_stage(m.checkpoint).name == m.stage
    assert _pair(st.notebook), f"notebook pair of {m.stage!r} missing"
    assert re.match(r"^#[0-9a-fA-F]{6}$", m.color) and m.label
    for dep in (m.init, m.reference, m.reward_model):
        assert not dep or dep in checkpoints.BUILTIN_BY_NAME, f"{m.checkpoint}: unknown checkpoint {dep!r}"
    if m.evaluated:
        assert m.checkpoint in CHECKPOINT_ORDER and analysis.checkpoint_label(m.checkpoint) == m.label
        assert analysis.checkpoint_color(m.checkpoint) == m.color
        assert all(m.stage in stages.get_stage(v).uses for v in VERTICALS)
    for profile in ("tiny", "paper-pythia-1.4b"):  # the default CPU study may leave a method out to keep its time
        assert m.stage in _profile_stages(profile), f"configs/{profile}.yaml has no {m.stage!r} block"
    # attribution either measures it or skips it with a note
    from trust_utils import attribution

    assert (m.checkpoint in attribution.STAGE_MODELS) != (m.checkpoint in attribution.NO_ATTRIBUTION)


def test_colours_are_distinct_and_orders_increase():
    cks = [c for c in checkpoints.BUILTIN]
    assert len({c.color for c in cks}) == len(cks)
    assert [c.order for c in cks] == sorted(c.order for c in cks)
    assert analysis.order_checkpoints(["rloo", "dpo", "base", "ppo", "sft"]) == ["base", "sft", "ppo", "dpo", "rloo"]


def test_rloo_is_a_method_the_verticals_score_but_not_a_paper_headline():
    assert "rloo" in CHECKPOINT_ORDER and "rloo" in checkpoints.TRAINED
    assert checkpoints.METHODS_BY_NAME["rloo"].reward_model == "rm"
    assert "rloo" not in analysis.HEADLINE_CHECKPOINTS  # the paper averages PPO and DPO only
    # a profile that runs the stage evaluates its checkpoint
    assert "rloo" in checkpoints.evaluation_list([], ["sft", "rloo"], has_model=True)


def _project_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return out


def test_adding_rloo_touched_at_most_four_other_files():
    # its own files, its exercise's (module, reference solution; the exercise registry lists it) among them
    own = {"trust_utils/training/rloo.py", "notebooks/14_rloo.py", "notebooks/14_rloo.ipynb",
           "tests/test_training_rloo.py", "tests/test_registry_complete.py", "trust_utils/exercises/rloo.py",
           "trust_utils/solutions/rloo.py"}
    allowed = {"trust_utils/checkpoints.py", "configs/tiny.yaml", "configs/default.yaml",
               "configs/paper-pythia-1.4b.yaml"}
    naming = set()
    for f in _project_files():
        p = ROOT / f
        if (f.endswith(".md") or f.startswith("docs/") or not p.is_file()
                or p.suffix not in (".py", ".ipynb", ".yaml", ".yml", ".toml", ".cfg")):
            continue  # documentation, and the scripts of its dated records, may describe the method
        text = p.read_text(encoding="utf-8", errors="replace")
        if p.suffix in (".yaml", ".yml"):  # a profile that leaves the stage out (``rloo: null``) is not coupled to it
            text = re.sub(r"(?m)^\s*rloo:\s*null.*$", "", text)
        if f in ("trust_utils/exercises/__init__.py", "tests/test_exercises.py"):
            text = re.sub(r"(?m)^.*rloo_advantages.*$", "", text)  # the exercise's registry entry
        if re.search(r"rloo", text, re.IGNORECASE):
            naming.add(f)
    others = naming - own
    assert others <= allowed and len(others) <= 4, f"files naming rloo beyond its own: {sorted(others - allowed)}"
