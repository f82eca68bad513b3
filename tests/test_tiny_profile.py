"""The tiny profile end to end through the real runner and notebooks, then what a rerun redoes.

One run directory serves the module, in order: the full run and a rerun that skips everything; an edit to a package
module one vertical uses (only that vertical reruns); a changed SFT learning rate (SFT and every model trained from
it retrain, with different weights).
"""

import shutil
import time
from pathlib import Path

import pytest
from conftest import SUITE_THREADS
from test_figures_shown import SHOWN, count_figures_in_kernels, figures_by_cwd, images

from trust_utils import codehash
from trust_utils.pipeline import run, status
from trust_utils.profiles import load_profile
from trust_utils.registry import VERTICALS as REGISTERED_VERTICALS
from trust_utils.results import load_results
from trust_utils.utils import hash_file, read_json

VERTICALS = tuple(REGISTERED_VERTICALS)
TRAINED = ("sft", "reward_model", "ppo", "dpo")


def _profile(tmp: Path):
    profile = load_profile("tiny", run_dir=tmp / "tiny")
    profile.stages["analysis"]["figures_dir"] = str(tmp / "figures")  # never write into the repository
    profile.shared["threads"] = SUITE_THREADS
    return profile


def _weights(stage_dir: Path) -> dict[str, str]:
    return {f.name: hash_file(f) for f in sorted((stage_dir / "model").glob("*.safetensors"))}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, cache_dir):
    tmp = tmp_path_factory.mktemp("tinyprofile")
    lines: list[str] = []
    # its kernels count the figures they draw (test_every_figure_of_the_tiny_notebooks_shows), so one run serves both
    with pytest.MonkeyPatch.context() as mp:
        count_figures_in_kernels(mp, tmp)
        plans = run(_profile(tmp), echo=lines.append, progress=False)
    return tmp, plans, lines


@pytest.mark.slow
def test_every_figure_of_the_tiny_notebooks_shows(tiny_run):
    """Every figure a notebook of the tiny run draws shows as an image in its executed copy (the bug and the count:
    tests/test_figures_shown.py)."""
    tmp, plans, lines = tiny_run
    drawn = figures_by_cwd(tmp / "figcounts")
    seen = {}
    for p in plans:
        nb = p.stage.notebook.removesuffix(".ipynb")
        if nb in SHOWN:
            seen[nb] = (drawn.get(str(p.stage_dir.resolve()), 0), images(p.stage_dir / p.stage.notebook))
    assert set(seen) == set(SHOWN), lines
    assert all(n_figures > 0 for n_figures, _ in seen.values()), seen
    assert {nb: n_img for nb, (_, n_img) in seen.items()} == {nb: n_fig for nb, (n_fig, _) in seen.items()}, \
        "(figures drawn, images shown) per notebook: " + repr(seen)


@pytest.mark.slow
def test_tiny_profile_end_to_end_then_skips(tiny_run):
    tmp, plans, lines = tiny_run
    profile = _profile(tmp)
    assert all(p.status == "done" for p in plans), lines
    for p in plans:
        m = read_json(p.stage_dir / "manifest.json")
        assert m["status"] == "complete" and m["versions"]["torch"].startswith("2.13.0")
        assert (p.stage_dir / p.stage.notebook).is_file()
        # the tiny profile computes with portable kernels (configs/tiny.yaml): a sixth part, and every kernel had them
        assert set(m["fingerprint_parts"]) == {"notebook", "params", "upstream", "code", "versions", "kernels"}
        assert m["kernels"] == m["fingerprint_parts"]["kernels"] == "portable"
        assert read_json(p.stage_dir / "outputs.json")["versions"]["kernels"] == "portable", p.stage.name
        if "model" in p.params:
            assert m["base_model"]["source"]["ref"] == "tiny", "the manifest records what the base model resolved to"
    for name in TRAINED:
        out = read_json(profile.run_dir / name / "outputs.json")["outputs"]
        assert out["reuse"]["decision"] == "trained" and out["reuse"]["key"]
        assert set(out["reuse"]["parts"]) == {"settings", "init", "data", "code", "versions"}
        assert out["reuse"]["parts"]["versions"]["kernels"] == "portable"
    names = [p.stage.name for p in plans]
    df = load_results(profile.run_dir)
    assert set(df["vertical"]) >= {n for n in names if n in VERTICALS}
    t0 = time.perf_counter()
    again = run(_profile(tmp), echo=lines.append, progress=False)
    assert all(p.status == "skipped" for p in again)
    assert time.perf_counter() - t0 < 30
    assert all(r["status"] == "done" for r in status(_profile(tmp))), status(_profile(tmp))
    assert (tmp / "figures" / "overview_tiny.png").is_file()
    report = profile.run_dir / "analysis" / "report.html"
    assert report.is_file() and report.stat().st_mode & 0o044 == 0o044, "report.html is readable by everyone"


@pytest.mark.slow
def test_the_tiny_run_renders_as_a_site_the_browser_opens(tiny_run, tmp_path):
    from test_site import check_run_site  # tests/ is on the path (a test module's helpers)

    tmp, _, _ = tiny_run
    check_run_site(_profile(tmp).run_dir, tmp_path)


@pytest.mark.slow
def test_editing_a_module_reruns_only_the_verticals_that_use_it(tiny_run, tmp_path, monkeypatch):
    tmp, _, _ = tiny_run
    copy = tmp_path / "trust_utils"
    shutil.copytree(codehash.package_root(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "verticals" / "bias.py", "a", encoding="utf-8") as fh:
        fh.write("\n# an edit to the bias vertical's module\n")
    monkeypatch.setattr(codehash, "package_root", lambda: copy)  # the runner hashes the edited copy

    rows = {r["stage"]: r for r in status(_profile(tmp))}
    assert rows["bias"]["status"] == "stale" and "verticals/bias.py" in rows["bias"]["why"]
    assert rows["analysis"]["status"] == "stale" and "bias" in rows["analysis"]["why"]
    assert all(rows[v]["status"] == "done" for v in VERTICALS if v != "bias"), rows

    lines: list[str] = []
    plans = run(_profile(tmp), only=list(VERTICALS), echo=lines.append, progress=False)
    by = {p.stage.name: p.status for p in plans}
    assert by == {v: ("done" if v == "bias" else "skipped") for v in VERTICALS}, lines
    assert any("package code (verticals/bias.py)" in ln for ln in lines), lines


@pytest.mark.slow
def test_changed_sft_learning_rate_retrains_everything_trained_from_it(tiny_run):
    tmp, _, _ = tiny_run
    profile = _profile(tmp)
    before = {s: _weights(profile.run_dir / s) for s in TRAINED}
    assert all(before.values())
    profile.stages["sft"]["learning_rate"] = profile.stages["sft"]["learning_rate"] / 2
    lines: list[str] = []
    plans = run(profile, only=["data", *TRAINED], echo=lines.append, progress=False)
    assert [p.status for p in plans] == ["skipped", "done", "done", "done", "done"], lines
    for s in TRAINED:
        reuse = read_json(profile.run_dir / s / "outputs.json")["outputs"]["reuse"]
        assert reuse["decision"] == "trained", (s, reuse)
        assert _weights(profile.run_dir / s) != before[s], f"{s}: weights unchanged after its init model changed"
    why = {s: read_json(profile.run_dir / s / "outputs.json")["outputs"]["reuse"]["why"] for s in TRAINED}
    assert "settings" in why["sft"]
    assert all("init" in why[s] and "settings" not in why[s] for s in ("reward_model", "ppo", "dpo")), why
