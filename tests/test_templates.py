"""A vertical is declared once: the template in docs/templates/vertical, added to a copy of the project, touches at
most 12 files and runs as a stage of the pipeline on the tiny model."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "docs" / "templates" / "vertical"
COPIED = ("trust_utils", "notebooks", "configs", "data", "tests")
NAME = "quiz"


def _copy_project(dst: Path) -> None:
    for d in COPIED:
        shutil.copytree(ROOT / d, dst / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))


def _add_vertical(root: Path) -> None:
    """What a developer does with the template: copy its files, register it, give the profiles a block."""
    for src in TEMPLATE.rglob("*"):
        rel = src.relative_to(TEMPLATE)
        if src.is_dir() or rel.name == "registry_entry.txt":
            continue
        dst = root / str(rel).replace("mcq", NAME)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(src.read_text(encoding="utf-8").replace("mcq", NAME).replace("MCQ", NAME.upper()),
                       encoding="utf-8")
    entry = (TEMPLATE / "registry_entry.txt").read_text(encoding="utf-8").replace("mcq", NAME).replace("MCQ", NAME.upper())
    entry = "".join(ln + "\n" for ln in entry.splitlines() if not ln.startswith("#"))
    reg = root / "trust_utils" / "registry.py"
    text = reg.read_text(encoding="utf-8")
    end = text.index("    )\n}\n", text.index("VERTICALS: dict[str, Vertical]"))
    reg.write_text(text[:end] + entry + text[end:], encoding="utf-8")
    for profile in ("tiny", "default"):
        path = root / "configs" / f"{profile}.yaml"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"  {NAME}:\n    max_examples: 4\n")
    py = root / "notebooks" / f"29_{NAME}.py"
    subprocess.run([sys.executable, "-m", "jupytext", "--to", "ipynb", "-q", str(py)], check=True,
                   capture_output=True)


def _changed(before: Path, after: Path) -> list[str]:
    out = []
    for d in COPIED:
        for p in (after / d).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts:
                q = before / p.relative_to(after)
                if not q.is_file() or not filecmp.cmp(p, q, shallow=False):
                    out.append(str(p.relative_to(after)))
    return sorted(out)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("project")
    before, after = base / "before", base / "after"
    _copy_project(before)
    _copy_project(after)
    _add_vertical(after)
    return after


def _py(root: Path, code: str, **env: str) -> str:
    e = {**os.environ, "PYTHONPATH": str(root), "RLHF_TRUST_ROOT": str(root), **env}
    res = subprocess.run([sys.executable, "-c", code], cwd=root, env=e, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


def test_a_new_vertical_touches_at_most_twelve_files(project):
    changed = _changed(project.parent / "before", project)
    assert len(changed) <= 12, changed
    assert {f"trust_utils/verticals/{NAME}.py", "trust_utils/registry.py", f"notebooks/29_{NAME}.py",
            f"notebooks/29_{NAME}.ipynb", "configs/tiny.yaml"} <= set(changed)


def test_the_new_vertical_is_a_stage_with_a_generated_parameters_cell(project):
    out = _py(project, f"""
import re
from pathlib import Path
from trust_utils.stages import get_stage
from trust_utils.params import load_config_class, parameters_cell, NOTEBOOK_ONLY
from trust_utils.registry import VERTICALS
s = get_stage("{NAME}")
assert "vertical" in s.tags and s.notebook == "29_{NAME}.ipynb", s
src = Path("notebooks/29_{NAME}.py").read_text()
cell = re.search(r'# %% tags=\\["parameters"\\]\\n(.*?)\\n\\n# %%', src, flags=re.S).group(1)
assert cell == parameters_cell("{NAME}", load_config_class(s.config)), cell
assert "{NAME}" in get_stage("analysis").uses and "{NAME}" not in NOTEBOOK_ONLY
print("ok", VERTICALS["{NAME}"].title)
""")
    assert out.startswith("ok")


@pytest.mark.slow
def test_the_new_vertical_runs_in_the_pipeline(project, tiny_model_dir, cache_dir):
    run_dir = project / "runs" / "t"
    profile = project / "configs" / "t.yaml"
    profile.write_text(yaml.safe_dump({"description": "template", "run_dir": str(run_dir),
                                       "shared": {"seed": 0, "threads": 1, "model": "tiny"},
                                       "stages": {NAME: {"max_examples": 4, "checkpoints": ["base"]}}}))
    _py(project, f"from trust_utils.cli import main; raise SystemExit(main(['run', '--profile', '{profile}']))",
        RLHF_TRUST_CACHE=str(cache_dir))
    res = (run_dir / "results" / f"{NAME}.csv").read_text()
    assert f"{NAME},{NAME}_accuracy_loglik,default,base," in res
    assert (run_dir / NAME / "records" / "base.jsonl").is_file()
