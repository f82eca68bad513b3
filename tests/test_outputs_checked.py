"""Skip only what is really there: a completed stage whose recorded output is deleted or edited reruns without
``--force``; an untouched one skips. A failed stage's advice depends on its cause."""

from pathlib import Path

import pytest
from tools_nb import make_stage_notebook

from trust_utils.manifest import declared_outputs, hash_outputs, outputs_changed
from trust_utils.pipeline import StageFailed, run, status
from trust_utils.planning import failure_advice
from trust_utils.profiles import load_profile
from trust_utils.utils import read_json

DATA_BODY = """
from pathlib import Path
from trust_utils.manifest import write_stage_outputs
from trust_utils.utils import DataFileError
out = Path(run_dir) / "data"
out.mkdir(parents=True, exist_ok=True)
if fail == "data":
    raise DataFileError(f"{out / 'pref_train.jsonl'}, line 3: not valid JSON; the file is truncated")
if fail == "plain":
    raise RuntimeError("boom")
(out / "pref_train.jsonl").write_text('{"a": 1}\\n')
(out / "notes.txt").write_text("not named, not an output")
write_stage_outputs(out, {"files": ["pref_train.jsonl"], "model": "tiny"})
"""
SFT_BODY = """
from pathlib import Path
import time
from trust_utils.manifest import write_stage_outputs
run = Path(run_dir)
out = run / "sft"
(out / "model").mkdir(parents=True, exist_ok=True)
(out / "records").mkdir(exist_ok=True)
(out / "model" / "weights.bin").write_text((run / "data" / "pref_train.jsonl").read_text() + str(time.time_ns()))
(out / "records" / "base.jsonl").write_text('{"r": 1}\\n')
(run / "results").mkdir(exist_ok=True)
(run / "results" / "sft.csv").write_text("a,b\\n1,2\\n")
write_stage_outputs(out, {"model_dir": "model", "records": {"base": "records/base.jsonl"}})
"""


@pytest.fixture
def proj(tmp_path, monkeypatch):
    """A project root with two cheap notebooks whose stages write a data file, a model, records and a results table."""
    import yaml

    r = tmp_path / "proj"
    (r / "notebooks").mkdir(parents=True)
    (r / "configs").mkdir()
    make_stage_notebook(r / "notebooks" / "00_data_preparation.ipynb",
                        'run_dir: str = "runs/x"  # run directory\nfail: str = ""  # fail on purpose', DATA_BODY)
    make_stage_notebook(r / "notebooks" / "10_sft.ipynb", 'run_dir: str = "runs/x"  # run directory', SFT_BODY)
    monkeypatch.setenv("RLHF_TRUST_ROOT", str(r))
    (r / "configs" / "p.yaml").write_text(yaml.safe_dump({"run_dir": str(r / "runs" / "p"), "shared": {},
                                                          "stages": {"data": {}, "sft": {}}}))
    return r


def _run(r: Path, lines: list | None = None) -> list[str]:
    return [p.status for p in run(load_profile(r / "configs" / "p.yaml"), echo=(lines if lines is not None else []).append, progress=False)]


def test_the_manifest_records_the_hashes_of_every_declared_output(proj):
    assert _run(proj) == ["done", "done"]
    runs = proj / "runs" / "p"
    assert set(read_json(runs / "data" / "manifest.json")["output_hashes"]) == {"data/pref_train.jsonl"}
    rec = read_json(runs / "sft" / "manifest.json")["output_hashes"]
    assert set(rec) == {"sft/model", "sft/records/base.jsonl", "results/sft.csv"}
    assert rec["results/sft.csv"]["hash"] == hash_outputs(runs, [runs / "results" / "sft.csv"])["results/sft.csv"]["hash"]
    assert _run(proj) == ["skipped", "skipped"], "untouched outputs: skipped"


def test_a_deleted_model_reruns_its_stage_without_force(proj):
    import shutil

    _run(proj)
    runs = proj / "runs" / "p"
    shutil.rmtree(runs / "sft" / "model")
    rows = {r["stage"]: r for r in status(load_profile(proj / "configs" / "p.yaml"))}
    assert rows["data"]["status"] == "done"
    assert rows["sft"]["status"] == "stale" and rows["sft"]["why"] == "output missing: sft/model"
    lines: list[str] = []
    assert _run(proj, lines) == ["skipped", "done"]
    assert any("output missing: sft/model" in line for line in lines)
    assert (runs / "sft" / "model" / "weights.bin").is_file()
    assert _run(proj) == ["skipped", "skipped"]


def test_an_edited_records_file_or_data_file_reruns_its_stage(proj):
    _run(proj)
    runs = proj / "runs" / "p"
    (runs / "sft" / "records" / "base.jsonl").write_text('{"r": 1')  # cut off
    assert _run(proj) == ["skipped", "done"]
    (runs / "data" / "pref_train.jsonl").write_text('{"a": 2}\n')
    rows = {r["stage"]: r for r in status(load_profile(proj / "configs" / "p.yaml"))}
    assert rows["data"]["why"] == "output changed: data/pref_train.jsonl"
    assert rows["sft"]["why"] == "upstream will rerun (data)"
    assert _run(proj) == ["done", "done"], "the data stage reruns, and so the stage after it"
    (runs / "data" / "notes.txt").write_text("edited")  # named by no outputs.json: not an output
    assert _run(proj) == ["skipped", "skipped"]


def test_a_touched_but_unchanged_output_is_not_stale(tmp_path):
    f = tmp_path / "s" / "model" / "w.bin"
    f.parent.mkdir(parents=True)
    f.write_text("w")
    rec = hash_outputs(tmp_path, declared_outputs(tmp_path / "s", tmp_path / "results" / "s.csv", {}))
    assert set(rec) == {"s/model"}
    f.write_text("w")  # new modification time, same content
    (f.parent / ".content_hash").write_text("{}")  # a marker the engine leaves in a model it scores
    assert outputs_changed(tmp_path, rec) == []
    f.write_text("v")
    assert outputs_changed(tmp_path, rec) == ["output changed: s/model"]


def test_a_failure_that_a_rerun_repeats_says_what_to_fix(proj):
    import yaml

    cfg = proj / "configs" / "p.yaml"
    for cause, fix in (("data", True), ("plain", False)):
        cfg.write_text(yaml.safe_dump({"run_dir": str(proj / "runs" / "p"), "shared": {},
                                       "stages": {"data": {"fail": cause}}}))
        with pytest.raises(StageFailed) as exc:
            _run(proj)
        msg = str(exc.value)
        if fix:
            assert "DataFileError" in msg and "pref_train.jsonl, line 3" in msg
            assert "fails the same way" in msg and "--force" in msg and "resume" not in msg
        else:
            assert "RuntimeError: boom" in msg and "rerun the same command to resume from 'data'" in msg
            assert "--force" not in msg


def test_failure_advice_by_cause():
    csv = failure_advice("analysis", "ValueError: results/toxicity.csv: missing result columns ['metric']; expected")
    assert "results table lacks columns" in csv and "--stages <vertical> --force" in csv
    model = failure_advice("toxicity", "SafetensorError: Error while deserializing header: HeaderTooLarge")
    assert "weights cannot be read" in model and "delete that model directory" in model
    assert failure_advice("sft", "KeyError: 'x'") == "completed stages are kept; rerun the same command to resume from 'sft'."
    # a full disk, as torch's checkpoint writer and the OS report it (the first seen in a real run)
    for cause in ("RuntimeError: [enforce fail at inline_container.cc:672] . unexpected pos 987502784 vs 987502672",
                  "OSError: [Errno 28] No space left on device: 'runs/default/sft/checkpoint-20'"):
        assert "full disk" in failure_advice("sft", cause) and "resumes from its last complete checkpoint" in \
            failure_advice("sft", cause)


def test_stage_failed_says_how_much_disk_is_free(tmp_path):
    from trust_utils.planning import StageFailed

    err = StageFailed("sft", tmp_path / "10_sft.ipynb", "OSError: [Errno 28] No space left on device")
    assert "full disk" in str(err) and f"GiB free on {tmp_path}'s disk now" in str(err)
    assert "free on" not in str(StageFailed("sft", tmp_path / "10_sft.ipynb", "KeyError: 'x'"))


def test_figures_are_saved_under_the_run_and_copied_by_run_directory(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trust_utils.analysis.stage import AnalysisConfig, save_run_figure
    from trust_utils.run import Run

    monkeypatch.setenv("RLHF_TRUST_ROOT", str(tmp_path))
    made = {}
    for name, y in (("a", 1), ("b", 2)):  # two run directories of one profile
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, y])
        cfg = AnalysisConfig(run_dir=str(tmp_path / "runs" / name), figures_dir="figures", formats=("png",))
        made[name] = save_run_figure(fig, "overview", Run.open(cfg.run_dir), cfg)
        plt.close(fig)
    assert made["a"] == ([str(tmp_path / "runs" / "a" / "analysis" / "figures" / "overview.png")],
                         [str(tmp_path / "figures" / "overview_a.png")])
    a, b = (Path(made[n][1][0]).read_bytes() for n in ("a", "b"))
    assert a != b and a == Path(made["a"][0][0]).read_bytes(), "each run directory keeps its own copy"
    cfg = AnalysisConfig(run_dir=str(tmp_path / "runs" / "c"), figures_dir="", formats=("png",))
    fig, _ = plt.subplots()
    assert save_run_figure(fig, "overview", Run.open(cfg.run_dir), cfg)[1] == [], "empty figures_dir: no copy"
    plt.close(fig)
