"""The tiny profile end to end through the real runner and notebooks, then a rerun that skips everything."""

import time

import pytest

from trust_utils.pipeline import run
from trust_utils.profiles import load_profile
from trust_utils.results import load_results
from trust_utils.utils import read_json


@pytest.mark.slow
def test_tiny_profile_end_to_end_then_skips(tmp_path, cache_dir):
    profile = load_profile("tiny", run_dir=tmp_path / "tiny")
    profile.stages["analysis"]["figures_dir"] = str(tmp_path / "figures")  # never write into the repository
    lines: list[str] = []
    plans = run(profile, echo=lines.append, progress=False)
    assert all(p.status == "done" for p in plans), lines
    for p in plans:
        m = read_json(p.stage_dir / "manifest.json")
        assert m["status"] == "complete" and m["versions"]["torch"].startswith("2.13.0")
        assert (p.stage_dir / p.stage.notebook).is_file()
        if "model" in p.params:
            assert m["base_model"]["source"]["ref"] == "tiny", "the manifest records what the base model resolved to"
    names = [p.stage.name for p in plans]
    if "toxicity" in names:
        df = load_results(profile.run_dir)
        assert set(df["vertical"]) >= {n for n in names if n in ("toxicity", "bias", "ethics", "truthfulness", "privacy")}
    t0 = time.perf_counter()
    again_profile = load_profile("tiny", run_dir=tmp_path / "tiny")
    again_profile.stages["analysis"]["figures_dir"] = str(tmp_path / "figures")
    again = run(again_profile, echo=lines.append, progress=False)
    assert all(p.status == "skipped" for p in again)
    assert time.perf_counter() - t0 < 30
    assert (tmp_path / "figures" / "overview_tiny.png").is_file()
    assert (profile.run_dir / "analysis" / "report.html").is_file()
