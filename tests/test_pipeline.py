"""The runner on throwaway notebooks in a temporary project root: validation, skipping, reruns, failures."""

import json
import os
from pathlib import Path

import pytest
from tools_nb import make_stage_notebook

from trust_utils.pipeline import PipelineError, StageFailed, plan, run
from trust_utils.profiles import ProfileError, load_profile
from trust_utils.utils import read_json

DATA_BODY = """
from pathlib import Path
import json, time
from trust_utils.manifest import write_stage_outputs
out = Path(run_dir) / "data"
out.mkdir(parents=True, exist_ok=True)
if fail:
    raise RuntimeError("boom from the data stage")
src = Path(input_file) if input_file else None
(out / "value.txt").write_text(f"{x} {src.read_text() if src else ''} {time.time()}")
write_stage_outputs(out, {"x": x}, inputs=[src] if src else [])
"""
SFT_BODY = """
from pathlib import Path
out = Path(run_dir) / "sft"
out.mkdir(parents=True, exist_ok=True)
(out / "seen.txt").write_text((Path(run_dir) / "data" / "value.txt").read_text() + f" lr={lr}")
"""


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A project root with two cheap stage notebooks (data, sft) and its own configs/."""
    r = tmp_path / "proj"
    (r / "notebooks").mkdir(parents=True)
    (r / "configs").mkdir()
    make_stage_notebook(r / "notebooks" / "00_data_preparation.ipynb",
                        'run_dir: str = "runs/x"  # run directory\nx: int = 1  # a number\n'
                        'input_file: str = ""  # a file the stage reads\nfail: bool = False  # raise on purpose\n'
                        'seed: int = 0  # seed',
                        DATA_BODY)
    make_stage_notebook(r / "notebooks" / "10_sft.ipynb",
                        'run_dir: str = "runs/x"  # run directory\nlr: float = 0.001  # learning rate\nseed: int = 0  # seed',
                        SFT_BODY)
    monkeypatch.setenv("RLHF_TRUST_ROOT", str(r))
    return r


def write_profile(root: Path, stages: dict, shared: dict | None = None, name: str = "p") -> Path:
    import yaml

    path = root / "configs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"description": "test", "run_dir": str(root / "runs" / name),
                                    "shared": shared or {"seed": 3}, "stages": stages}))
    return path


def quiet(_msg: str) -> None:
    pass


def test_unknown_parameter_is_refused_naming_the_valid_ones(root):
    p = load_profile(write_profile(root, {"data": {"x": 2, "epochs": 3}}))
    with pytest.raises(PipelineError) as exc:
        plan(p)
    msg = str(exc.value)
    assert "'epochs'" in msg and "data" in msg and "x, input_file, fail, seed" in msg


def test_wrong_type_unknown_stage_and_unused_shared_key(root):
    with pytest.raises(PipelineError, match="'x' must be int"):
        plan(load_profile(write_profile(root, {"data": {"x": "two"}})))
    with pytest.raises(ProfileError, match="unknown stage 'sfft'"):
        load_profile(write_profile(root, {"sfft": {}}))
    with pytest.raises(PipelineError, match=r"shared parameter\(s\) \['sead'\]"):
        plan(load_profile(write_profile(root, {"data": {}}, shared={"sead": 1})))
    with pytest.raises(ProfileError, match="no profile named 'nope'"):
        load_profile("nope")


def test_unchanged_stage_is_skipped_and_changed_parameter_reruns(root):
    path = write_profile(root, {"data": {"x": 1}, "sft": {"lr": 0.1}})
    first = run(load_profile(path), echo=quiet, progress=False)
    assert [s.status for s in first] == ["done", "done"]
    m = read_json(root / "runs" / "p" / "data" / "manifest.json")
    assert m["status"] == "complete" and m["params"]["seed"] == 3 and m["outputs"] == {"x": 1}
    assert (root / "runs" / "p" / "data" / "00_data_preparation.ipynb").is_file()
    stamp = (root / "runs" / "p" / "sft" / "seen.txt").read_text()

    again = run(load_profile(path), echo=quiet, progress=False)
    assert [s.status for s in again] == ["skipped", "skipped"]
    assert (root / "runs" / "p" / "sft" / "seen.txt").read_text() == stamp

    write_profile(root, {"data": {"x": 1}, "sft": {"lr": 0.2}})
    third = run(load_profile(path), echo=quiet, progress=False)
    assert [s.status for s in third] == ["skipped", "done"]

    write_profile(root, {"data": {"x": 5}, "sft": {"lr": 0.2}})
    fourth = run(load_profile(path), echo=quiet, progress=False)
    assert [s.status for s in fourth] == ["done", "done"], "an upstream rerun invalidates downstream stages"
    assert (root / "runs" / "p" / "sft" / "seen.txt").read_text().startswith("5 ")

    forced = run(load_profile(path), only=["sft"], force=True, echo=quiet, progress=False)
    assert [(s.stage.name, s.status) for s in forced] == [("sft", "done")]


def test_changed_input_file_reruns_the_stage(root, tmp_path):
    f = tmp_path / "input.txt"
    f.write_text("v1")
    path = write_profile(root, {"data": {"input_file": str(f)}})
    run(load_profile(path), echo=quiet, progress=False)
    assert run(load_profile(path), echo=quiet, progress=False)[0].status == "skipped"
    f.write_text("v2")
    assert run(load_profile(path), echo=quiet, progress=False)[0].status == "done"


def test_failure_names_stage_and_notebook_and_keeps_earlier_work(root):
    path = write_profile(root, {"data": {"x": 1}, "sft": {}})
    run(load_profile(path), echo=quiet, progress=False)
    write_profile(root, {"data": {"x": 2, "fail": True}, "sft": {}})
    with pytest.raises(StageFailed) as exc:
        run(load_profile(path), echo=quiet, progress=False)
    msg = str(exc.value)
    assert "stage 'data' failed" in msg and "boom from the data stage" in msg
    assert str(root / "runs" / "p" / "data" / "00_data_preparation.ipynb") in msg
    assert read_json(root / "runs" / "p" / "data" / "manifest.json")["status"] == "failed"
    assert read_json(root / "runs" / "p" / "sft" / "manifest.json")["status"] == "complete"
    assert (root / "runs" / "p" / "data" / "value.txt").read_text().startswith("1 "), "earlier output not lost"
    write_profile(root, {"data": {"x": 2}, "sft": {}})
    assert [s.status for s in run(load_profile(path), echo=quiet, progress=False)] == ["done", "done"]


def test_missing_dependency_and_dry_run(root):
    path = write_profile(root, {"data": {}, "sft": {}})
    with pytest.raises(PipelineError, match="needs stage 'data'"):
        plan(load_profile(path), only=["sft"])
    lines = []
    plans = run(load_profile(path), dry_run=True, echo=lines.append)
    assert [p.status for p in plans] == ["planned", "planned"]
    assert any("lr = 0.001" not in l and "seed = 3" in l for l in lines)
    assert not (root / "runs" / "p" / "data").exists()


def test_cli_reports_errors_without_traceback(root, capsys):
    from trust_utils.cli import main

    write_profile(root, {"data": {"bogus": 1}})
    assert main(["run", "--profile", "p"]) == 2
    assert "no parameter 'bogus'" in capsys.readouterr().err
    assert main(["stages"]) == 0
    assert "reward_model" in capsys.readouterr().out


def test_a_failed_stage_exits_1(root, capsys):
    from trust_utils.cli import main

    write_profile(root, {"data": {"fail": True}})
    assert main(["run", "--profile", "p", "--no-progress"]) == 1
    assert "stage 'data' failed" in capsys.readouterr().err


def test_status_says_done_stale_why_and_missing(root, capsys):
    from trust_utils.cli import main
    from trust_utils.pipeline import status

    path = write_profile(root, {"data": {"x": 1}, "sft": {"lr": 0.1}})
    assert [r["status"] for r in status(load_profile(path))] == ["missing", "missing"]
    run(load_profile(path), only=["data"], echo=quiet, progress=False)
    rows = status(load_profile(path))
    assert [r["status"] for r in rows] == ["done", "missing"]
    run(load_profile(path), echo=quiet, progress=False)
    write_profile(root, {"data": {"x": 1}, "sft": {"lr": 0.3}})
    rows = {r["stage"]: r for r in status(load_profile(path))}
    assert rows["data"]["status"] == "done"
    assert rows["sft"]["status"] == "stale" and rows["sft"]["why"] == "parameters"
    write_profile(root, {"data": {"x": 2}, "sft": {"lr": 0.1}})
    rows = {r["stage"]: r for r in status(load_profile(path))}
    assert rows["data"]["why"] == "parameters" and "upstream will rerun (data)" in rows["sft"]["why"]
    assert main(["status", "--profile", "p"]) == 0
    out = capsys.readouterr().out
    assert "stale" in out and "parameters" in out


def test_an_interactive_run_of_a_notebook_makes_the_pipeline_redo_it(root, monkeypatch):
    """A notebook executed by hand rewrites its outputs.json (marked interactive); the next run redoes the stage."""
    from trust_utils.manifest import RUN_ID_ENV, write_stage_outputs
    from trust_utils.pipeline import status

    path = write_profile(root, {"data": {"x": 1}, "sft": {}})
    run(load_profile(path), echo=quiet, progress=False)
    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    rec = write_stage_outputs(root / "runs" / "p" / "data", {"x": 99})  # what the notebook run by hand does
    assert read_json(rec)["run_id"].startswith("interactive:")
    rows = {r["stage"]: r for r in status(load_profile(path))}
    assert rows["data"]["status"] == "stale" and "outputs rewritten outside this pipeline run" in rows["data"]["why"]
    assert [s.status for s in run(load_profile(path), echo=quiet, progress=False)] == ["done", "done"]
    assert read_json(root / "runs" / "p" / "data" / "outputs.json")["run_id"].startswith("pipeline:data:")


def test_package_code_and_versions_are_part_of_the_fingerprint(root, tmp_path, monkeypatch):
    import shutil

    from trust_utils import codehash, pipeline

    path = write_profile(root, {"data": {"x": 1}})
    run(load_profile(path), echo=quiet, progress=False)
    copy = tmp_path / "pkg"
    shutil.copytree(codehash.package_root(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codehash, "package_root", lambda: copy)
    assert run(load_profile(path), echo=quiet, progress=False)[0].status == "skipped"
    (copy / "provenance.py").write_text((copy / "provenance.py").read_text() + "\n# edited\n")
    lines: list[str] = []
    assert run(load_profile(path), echo=lines.append, progress=False)[0].status == "done"
    assert any("package code (provenance.py)" in ln for ln in lines), lines
    real = pipeline.versions()
    monkeypatch.setattr(pipeline, "versions", lambda: {**real, "transformers": "0.0.1"})
    lines.clear()
    assert run(load_profile(path), echo=lines.append, progress=False)[0].status == "done"
    assert any("library versions" in ln for ln in lines), lines


def test_notebook_reading_without_nbformat_gives_what_nbformat_and_papermill_give(tmp_path, monkeypatch):
    import nbformat
    import papermill

    from trust_utils import pipeline
    from trust_utils.paths import notebooks_dir

    monkeypatch.setenv("RLHF_TRUST_CACHE", str(tmp_path))
    nb = notebooks_dir() / "21_bias.ipynb"
    ref = nbformat.read(str(nb), as_version=4)
    assert pipeline.code_cells(nb) == [c.source for c in ref.cells if c.cell_type == "code"]
    first = pipeline._inspect.__wrapped__(str(nb), 0.0)  # inspects and keeps the result
    assert list((tmp_path / "notebook-parameters").glob("*.json"))
    again = pipeline._inspect.__wrapped__(str(nb), 0.0)  # read back from disk
    assert first == again == json.loads(json.dumps(papermill.inspect_notebook(str(nb)), default=str))
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(pipeline.PipelineError, match="bad.ipynb is not a readable .ipynb"):
        pipeline.code_cells(bad)


def test_kernels_start_with_the_allocator_settings_unless_the_user_set_them(monkeypatch):
    from trust_utils.kernels import KERNEL_ALLOCATOR_ENV, kernel_env
    from trust_utils.manifest import RUN_ID_ENV

    for k in KERNEL_ALLOCATOR_ENV:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("MALLOC_TOP_PAD_", "0")  # the user's own value stays
    env = kernel_env("pipeline:toxicity:1")
    assert env[RUN_ID_ENV] == "pipeline:toxicity:1"
    assert env["MALLOC_MMAP_THRESHOLD_"] == str(32 * 1024 * 1024) and "MALLOC_TOP_PAD_" not in env
    assert int(env["MALLOC_TRIM_THRESHOLD_"]) >= 1 << 30


def test_kernel_mode_reaches_the_stage_kernel_its_fingerprint_and_its_manifest(root, monkeypatch):
    """``kernels: portable`` starts each stage's kernel with the three libraries' variables (the stage reads them
    back), reruns a stage computed natively (naming the kernel mode), and back to ``native`` reruns it again."""
    import yaml

    from trust_utils.kernel_modes import KERNEL_MODES

    for k in KERNEL_MODES["portable"]:
        monkeypatch.delenv(k, raising=False)
    (root / "notebooks" / "00_data_preparation.ipynb").unlink()
    make_stage_notebook(root / "notebooks" / "00_data_preparation.ipynb",
                        'run_dir: str = "runs/x"  # run directory\nseed: int = 0  # seed',
                        "import json, os\nfrom pathlib import Path\nout = Path(run_dir) / 'data'\n"
                        "out.mkdir(parents=True, exist_ok=True)\n"
                        "keys = ('ATEN_CPU_CAPABILITY', 'MKL_CBWR', 'ONEDNN_MAX_CPU_ISA')\n"
                        "(out / 'env.json').write_text(json.dumps({k: os.environ.get(k) for k in keys}))\n")
    path = write_profile(root, {"data": {}})
    env = root / "runs" / "p" / "data" / "env.json"
    assert [s.status for s in run(load_profile(path), echo=quiet, progress=False)] == ["done"]
    assert json.loads(env.read_text()) == dict.fromkeys(KERNEL_MODES["portable"])
    raw = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**raw, "kernels": "portable"}))
    lines: list[str] = []
    assert [s.status for s in run(load_profile(path), echo=lines.append, progress=False)] == ["done"]
    assert any("kernel mode changed" in ln for ln in lines), lines
    assert json.loads(env.read_text()) == KERNEL_MODES["portable"]
    assert read_json(root / "runs" / "p" / "data" / "manifest.json")["kernels"] == "portable"
    assert read_json(root / "runs" / "p" / "run.json")["kernels"] == "portable"
    assert run(load_profile(path), echo=quiet, progress=False)[0].status == "skipped"
    assert "MKL_CBWR" not in os.environ  # the runner's own environment is put back
    path.write_text(yaml.safe_dump({**raw, "kernels": "native"}))
    assert run(load_profile(path), echo=quiet, progress=False)[0].status == "done"
    assert json.loads(env.read_text()) == dict.fromkeys(KERNEL_MODES["portable"])
    path.write_text(yaml.safe_dump({**raw, "kernels": "fast"}))
    with pytest.raises(ProfileError, match=r"'kernels': unknown kernel mode 'fast'; use one of \['native', 'portable'\]"):
        load_profile(path)
