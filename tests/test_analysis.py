"""The analysis: change table, paper comparison, figures, and the 90_analysis notebook through the runner.

Everything runs on synthetic results written with ``trust_utils.results.write_results`` (plausible values
with bootstrap intervals for every vertical, stage and variant).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trust_utils import analysis
from trust_utils.registry import TRUST_VERTICALS, VERTICALS
from trust_utils.results import load_results, metric_rows, result_row, write_results

PII_TYPES = ["phone number", "ssn", "email address", "address", "password", "credit card number", "passport number"]
VARIANTS = {
    "toxicity": ["benign/toxic", "benign/nontoxic", "adversarial/toxic", "adversarial/nontoxic"],
    "bias": ["benign", "adversarial"],
    "ethics": ["benign", "jb_moral", "jb_agree"],
    "truthfulness": ["default"],
    "privacy": ["all"] + PII_TYPES,
}
# Plausible headline levels per stage (shape of the paper's v2 story).
LEVEL = {
    "toxicity": {"base": 0.30, "sft": 0.36, "ppo": 0.33, "dpo": 0.29},
    "bias": {"base": 0.35, "sft": 0.80, "ppo": 0.85, "dpo": 0.82},
    "ethics": {"base": 0.57, "sft": 0.45, "ppo": 0.38, "dpo": 0.40},
    "truthfulness": {"base": 0.30, "sft": 0.23, "ppo": 0.22, "dpo": 0.23},
    "privacy": {"base": 0.40, "sft": 0.41, "ppo": 0.45, "dpo": 0.45},
}


def write_synthetic(run_dir, models=("tiny",), stages=("base", "sft", "ppo", "dpo"), n=40, seed=0,
                    degenerate=0.05) -> pd.DataFrame:
    """Rows for every vertical, metric, variant, stage and model; unit values drawn around LEVEL.

    Of the validity metrics only ``degenerate_any`` is written, its units drawn around ``degenerate``.
    """
    rng = np.random.default_rng(seed)
    for v, vert in TRUST_VERTICALS.items():
        rows = []
        for mi, model in enumerate(models):
            for var_i, var in enumerate(VARIANTS[v]):
                for st in stages:
                    for k, m in enumerate(vert.metrics):
                        if m.is_validity and m.name != "degenerate_any":
                            continue
                        p = float(np.clip(LEVEL[v][st] + 0.05 * mi + 0.03 * var_i - 0.1 * k, 0.02, 0.98))
                        p = degenerate if m.is_validity else p
                        if m.scale == "score":
                            units = np.clip(rng.normal(p, 0.15, n), 0, 1)
                        else:
                            units = (rng.random(n) < p).astype(float)
                        rows.append(metric_rows(v, m.name, var, st, units, scorer="synthetic", seed=0,
                                                model=model, n_boot=100))
        write_results(run_dir, v, rows)
    return load_results(run_dir)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("ana_full")
    return d, write_synthetic(d)


def _rows(base, other, hib_metric=("privacy", "leakage_rate"), ci=True):
    v, m = hib_metric
    r1 = result_row(v, m, "all", "base", base, 100, (base - 0.1, base + 0.1) if ci else None, model="m")
    r2 = result_row(v, m, "all", "sft", other, 100, (other - 0.1, other + 0.1) if ci else None, model="m")
    return pd.DataFrame([r1, r2])


# --------------------------------------------------------------------------------------------- tables
def test_change_table_hand_checked_lower_is_better():
    ch = analysis.change_table(_rows(0.4, 0.8))
    assert len(ch) == 1
    r = ch.iloc[0]
    assert r["checkpoint"] == "sft" and not r["higher_is_better"]
    assert r["abs_change"] == pytest.approx(0.4)
    assert r["rel_change"] == pytest.approx(1.0)
    assert r["direction"] == "worse"
    # se of each row = 0.2 / (2*1.96); se of the difference = sqrt(2) times that
    half = 1.959963984540054 * math.sqrt(2) * 0.2 / (2 * 1.959963984540054)
    assert r["diff_ci_low"] == pytest.approx(0.4 - half) and r["diff_ci_high"] == pytest.approx(0.4 + half)
    assert bool(r["ci_excludes_zero"]) is True
    assert bool(r["headline"]) is True  # privacy headline: leakage_rate / all


def test_change_table_higher_is_better_overlapping_and_missing_ci():
    ch = analysis.change_table(_rows(0.30, 0.25, ("truthfulness", "mc1_accuracy")).assign(variant="default"))
    r = ch.iloc[0]
    assert r["abs_change"] == pytest.approx(-0.05) and r["rel_change"] == pytest.approx(-1 / 6)
    assert r["direction"] == "worse" and bool(r["ci_excludes_zero"]) is False
    up = analysis.change_table(_rows(0.30, 0.45, ("truthfulness", "mc1_accuracy"), ci=False))
    assert up.iloc[0]["direction"] == "better" and up["ci_excludes_zero"].isna().all()
    zero = analysis.change_table(_rows(0.0, 0.2))
    assert math.isnan(zero.iloc[0]["rel_change"])


def test_duplicate_rows_are_refused():
    df = _rows(0.4, 0.8)
    with pytest.raises(ValueError, match="duplicate"):
        analysis.change_table(pd.concat([df, df]))


def test_change_table_on_synthetic_run_and_missing_stages(full_run, tmp_path):
    _, res = full_run
    ch = analysis.change_table(res)
    assert set(ch["checkpoint"]) == {"sft", "ppo", "dpo"}
    head = ch[ch["headline"]]
    assert sorted(head["vertical"].unique()) == sorted(TRUST_VERTICALS)
    assert (head.groupby("vertical").size() == 3).all()
    bias = head[(head["vertical"] == "bias") & (head["checkpoint"] == "sft")].iloc[0]
    assert bias["direction"] == "worse" and bias["abs_change"] > 0.2
    # a run with only base + sft
    short = write_synthetic(tmp_path, stages=("base", "sft"))
    ch2 = analysis.change_table(short)
    assert set(ch2["checkpoint"]) == {"sft"}
    v2 = analysis.v2_headline_comparison(short)
    assert v2["run_rel_change"].isna().all() and (v2["aligned_checkpoints"] == "").all()


def test_reference_file_known_values():
    ref = analysis.load_reference()
    assert set(ref["version"]) == {"v1", "v2"}
    assert len(ref[ref["version"] == "v1"]) == 200  # (4 tox + 2 bias + 2 ethics + 1 + 1) x 4 stages x 5 models
    assert ref["source"].str.len().gt(0).all()
    priv = ref[(ref["model"] == "pythia-6.9b") & (ref["vertical"] == "privacy") & (ref["checkpoint"] == "base")]
    assert priv["value"].item() == pytest.approx(91.7) and priv["unit"].item() == "percent"
    assert analysis.reference_as_rate(priv)[0] == pytest.approx(0.917)
    bias = ref[(ref["version"] == "v2") & (ref["vertical"] == "bias") & (ref["unit"] == "relative")]
    assert bias["value"].item() == pytest.approx(1.5)
    eth = ref[(ref["version"] == "v1") & (ref["model"] == "pythia-2.8b") & (ref["vertical"] == "ethics")
              & (ref["variant"] == "benign") & (ref["checkpoint"] == "ppo")]
    assert eth["metric"].item() == "false_negative_rate" and eth["value"].item() == pytest.approx(0.210)


def test_v2_headline_comparison(full_run):
    _, res = full_run
    v2 = analysis.v2_headline_comparison(res)
    assert list(v2["vertical"]) == list(TRUST_VERTICALS)
    bias = v2[v2["vertical"] == "bias"].iloc[0]
    assert bias["paper_rel_change"] == pytest.approx(1.5) and bias["paper_direction"] == "worse"
    b = res[(res["vertical"] == "bias") & (res["metric"] == "agreement_index") & (res["variant"] == "benign")]
    vals = dict(zip(b["checkpoint"], b["value"], strict=True))
    expect = ((vals["ppo"] + vals["dpo"]) / 2 - vals["base"]) / vals["base"]
    assert bias["run_rel_change"] == pytest.approx(expect) and bias["aligned_checkpoints"] == "ppo+dpo"
    assert bool(bias["same_direction"]) is True
    eth = v2[v2["vertical"] == "ethics"].iloc[0]
    assert eth["paper_rel_change"] == pytest.approx(-0.31) and eth["paper_direction"] == "better"
    tox = v2[v2["vertical"] == "toxicity"].iloc[0]
    assert math.isnan(tox["paper_rel_change"]) and tox["paper_direction"] == "small / mixed"
    assert pd.isna(tox["same_direction"])


def test_pythia_matching_and_v1_comparison(tmp_path):
    assert analysis.pythia_size("EleutherAI/pythia-2.8b") == "pythia-2.8b"
    assert analysis.pythia_size("/models/pythia-6.9b-deduped/") == "pythia-6.9b"
    assert analysis.pythia_size("EleutherAI/pythia-1.4b") is None  # not a v1 size
    assert analysis.pythia_size("tiny") is None
    assert analysis.pythia_size("pythia-2.8bx") is None
    res = write_synthetic(tmp_path, models=("EleutherAI/pythia-410m", "EleutherAI/pythia-2.8b"))
    v1 = analysis.v1_comparison(res)
    assert set(v1["paper_model"]) == {"pythia-410m", "pythia-2.8b"}
    # 10 paper settings x 4 stages per model; the paper's adversarial ethics row meets both jailbreak variants
    assert len(v1) == 2 * 11 * 4
    priv = v1[(v1["paper_model"] == "pythia-2.8b") & (v1["vertical"] == "privacy") & (v1["checkpoint"] == "base")].iloc[0]
    assert priv["paper_value"] == pytest.approx(0.824)  # 82.4 % on the 0-1 scale
    eth = v1[(v1["vertical"] == "ethics") & (v1["variant"] == "adversarial")]
    assert set(eth["run_variant"]) == {"jb_moral", "jb_agree"}
    one = analysis.v1_comparison(res, variant_aliases={"ethics:adversarial": "jb_moral"})
    assert set(one[(one["vertical"] == "ethics") & (one["variant"] == "adversarial")]["run_variant"]) == {"jb_moral"}
    v2 = analysis.v2_headline_comparison(res)
    assert "all models (mean)" in set(v2["model"])
    assert len(v2) == len(TRUST_VERTICALS) * 3


# ------------------------------------------------------------------------- degenerate outputs, pairing
def _tqa_rows(model="m", deg=None, acc=None):
    """Truthfulness rows: MC1 accuracy from generations and MC2 by likelihood, with degenerate_any shares.

    Defaults: the motivating case, base answers fine (10% degenerate), PPO and DPO all empty (100%) and
    so scored 0, which the old report counted as the paper's "truthfulness drops"."""
    deg = deg or {"base": 0.1, "ppo": 1.0, "dpo": 1.0}
    acc = acc or {"base": 0.30, "ppo": 0.0, "dpo": 0.0}
    rows = []
    for st in deg:
        rows.append(result_row("truthfulness", "mc1_accuracy", "default", st, acc[st], 40, (acc[st] - .1, acc[st] + .1),
                               model=model))
        rows.append(result_row("truthfulness", "mc2_loglik", "default", st, 0.40 - 0.02 * (st != "base"), 40,
                               (0.3, 0.5), model=model))
        rows.append(result_row("truthfulness", "degenerate_any", "default", st, deg[st], 40, (deg[st], deg[st]),
                               model=model))
    return pd.DataFrame(rows)


def test_change_from_degenerate_outputs_is_not_interpretable():
    ch = analysis.change_table(_tqa_rows(), max_degenerate=0.5).set_index(["metric", "checkpoint"])
    r = ch.loc[("mc1_accuracy", "ppo")]
    assert r["abs_change"] == pytest.approx(-0.3)
    assert not r["interpretable"] and r["direction"] == "not interpretable"
    assert r["degenerate_base"] == pytest.approx(0.1) and r["degenerate"] == pytest.approx(1.0)
    assert r["guard"] == "degenerate_any"
    # the likelihood metric reads no generation: its guard (degenerate_loglik) is not in these rows -> interpretable
    m = ch.loc[("mc2_loglik", "ppo")]
    assert m["interpretable"] and m["direction"] == "worse" and m["guard"] == "degenerate_loglik"
    assert math.isnan(m["degenerate"])
    # the validity metric itself is a change like any other
    assert ch.loc[("degenerate_any", "ppo")]["direction"] == "worse"
    # the threshold decides: at 1.0 nothing exceeds it
    assert analysis.change_table(_tqa_rows(), max_degenerate=1.0)["interpretable"].all()
    assert "not interpretable" in analysis.format_changes(analysis.change_table(_tqa_rows()))["direction"].tolist()


def test_paper_comparison_never_counts_degenerate_changes():
    v2 = analysis.v2_headline_comparison(_tqa_rows())
    t = v2[v2["vertical"] == "truthfulness"].iloc[0]
    # the run "drops" -100% like the paper's -25%, but from empty generations: neither agreement nor disagreement
    assert t["run_rel_change"] == pytest.approx(-1.0) and t["paper_rel_change"] < 0
    assert not t["interpretable"] and pd.isna(t["same_direction"]) and t["run_direction"] == "not interpretable"
    assert t["run_degenerate"] == pytest.approx(1.0) and "degenerate" in t["run_note"]
    ok = analysis.v2_headline_comparison(_tqa_rows(deg={"base": 0.1, "ppo": 0.2, "dpo": 0.3}))
    ok = ok[ok["vertical"] == "truthfulness"].iloc[0]
    assert ok["interpretable"] and bool(ok["same_direction"]) is True and ok["run_degenerate"] == pytest.approx(0.3)
    # several models: the pooled row uses only the interpretable ones
    two = pd.concat([_tqa_rows("EleutherAI/pythia-410m"),
                     _tqa_rows("EleutherAI/pythia-2.8b", deg={"base": 0.0, "ppo": 0.1, "dpo": 0.1},
                               acc={"base": 0.4, "ppo": 0.3, "dpo": 0.3})])
    v2 = analysis.v2_headline_comparison(two)
    pooled = v2[(v2["vertical"] == "truthfulness") & (v2["model"] == "all models (mean)")].iloc[0]
    assert pooled["run_rel_change"] == pytest.approx(-0.25) and "1 of 2 models" in pooled["run_note"]
    # v1 per-model values: a degenerate run value is not compared with the paper
    two = two.assign(variant="default")
    v1 = analysis.v1_comparison(two)
    t = v1[(v1["vertical"] == "truthfulness")].set_index(["paper_model", "checkpoint"])
    assert pd.isna(t.loc[("pythia-410m", "ppo"), "paper_in_run_ci"]) and not t.loc[("pythia-410m", "ppo"), "interpretable"]
    assert t.loc[("pythia-410m", "base"), "interpretable"] and not pd.isna(t.loc[("pythia-410m", "base"), "paper_in_run_ci"])


def _units(values: dict[str, list[float]], metric="leakage_rate", vertical="privacy", variant="all", model="m"):
    rows = [(vertical, variant, metric, st, f"p{i}", x) for st, xs in values.items() for i, x in enumerate(xs)]
    return pd.DataFrame(rows, columns=["vertical", "variant", "metric", "checkpoint", "unit", "value"]).assign(model=model,
                                                                                                         seed=0)


def test_change_intervals_are_paired_over_shared_prompts():
    base = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    # identical checkpoints -> [0, 0]; the normal approximation from the rows' intervals would be +-0.14
    ch = analysis.change_table(_rows(0.5, 0.5), _units({"base": base, "sft": base}), n_boot=200)
    r = ch.iloc[0]
    assert (r["diff_ci_low"], r["diff_ci_high"]) == (0.0, 0.0) and r["ci_method"] == "paired_bootstrap"
    assert r["n_paired"] == 6 and bool(r["ci_excludes_zero"]) is False
    # a constant shift of every prompt -> the interval sits at the shift
    ch = analysis.change_table(_rows(0.3, 0.5), _units({"base": [0.1, 0.3, 0.5], "sft": [0.3, 0.5, 0.7]}), n_boot=200)
    assert (ch.iloc[0]["diff_ci_low"], ch.iloc[0]["diff_ci_high"]) == pytest.approx((0.2, 0.2))
    assert bool(ch.iloc[0]["ci_excludes_zero"]) is True
    # only prompts both checkpoints saw are paired (p3 exists in base only)
    ch = analysis.change_table(_rows(0.5, 0.5), _units({"base": [1, 0, 1, 0], "sft": [1, 0, 1]}), n_boot=50)
    assert ch.iloc[0]["n_paired"] == 3
    # no units for this model -> the normal approximation, labelled
    ch = analysis.change_table(_rows(0.4, 0.8), _units({"base": base, "sft": base}, model="other"))
    assert ch.iloc[0]["ci_method"] == "normal_approx" and ch.iloc[0]["n_paired"] == 0
    assert analysis.format_changes(ch)["paired n"].iloc[0].startswith("n/a")


def test_attach_units_needs_one_model_per_vertical():
    u = _units({"base": [1.0], "sft": [0.0]}).drop(columns=["model", "seed"])
    one, notes = analysis.attach_units(u, analysis.prepare(_rows(0.4, 0.8)))
    assert set(one["model"]) == {"m"} and notes == []
    two = pd.concat([_rows(0.4, 0.8), _rows(0.4, 0.8).assign(model="n")])
    none, notes = analysis.attach_units(u, analysis.prepare(two))
    assert none.empty and "normal approximation" in notes[0]


def test_run_reads_records_for_paired_intervals(tmp_path):
    """The stage end to end on a run directory with results and records (privacy, 4 prompts, 2 checkpoints)."""
    from trust_utils.results import write_records

    def recs(leaks, degs):
        return [{"unit": f"ssn|{i}", "variant": "ssn", "also_variants": ["all"],
                 "values": {"leakage_rate": float(x), "degenerate_any": float(d)}} for i, (x, d) in enumerate(zip(leaks, degs, strict=True))]

    data = {"base": recs([1, 0, 0, 0], [0, 0, 0, 0]), "sft": recs([1, 1, 1], [1, 1, 0])}  # sft lacks prompt 3
    rows = []
    for st, rs in data.items():
        write_records(tmp_path, "privacy", st, rs)
        for var in ("all", "ssn"):
            for m in ("leakage_rate", "degenerate_any"):
                rows.append(metric_rows("privacy", m, var, st, [r["values"][m] for r in rs], model="m", n_boot=50))
    write_results(tmp_path, "privacy", rows)
    res = analysis.run(analysis.AnalysisConfig(run_dir=str(tmp_path), figures_dir=str(tmp_path / "f"), n_boot=100,
                                               max_degenerate=0.5, formats=("png",)))
    ch = res.changes.set_index(["metric", "variant"])
    r = ch.loc[("leakage_rate", "all")]
    assert r["ci_method"] == "paired_bootstrap" and r["n_paired"] == 3
    assert r["abs_change"] == pytest.approx(1.0 - 0.25)  # the rows: 3/3 vs 1/4
    assert not r["interpretable"]  # 2 of sft's 3 replies are degenerate
    assert any("privacy" in n and "not interpretable" in n for n in res.notes)
    assert "degenerate" in res.figures
    deg = pd.read_csv(tmp_path / "analysis" / res.tables["degenerate"])
    assert deg.set_index(["variant", "checkpoint"]).loc[("all", "sft"), "any"] == pytest.approx(2 / 3)


# -------------------------------------------------------------------------------------------- figures
def test_plot_vertical_axes_labels_and_stage_order(full_run, tmp_path):
    from matplotlib.figure import Figure

    _, res = full_run
    fig = analysis.plot_vertical(res, "toxicity")
    assert isinstance(fig, Figure)
    axes = [a for a in fig.axes if a.get_visible()]
    assert len(axes) == 4
    assert axes[0].get_title().startswith("benign/toxic")
    assert {a.get_title().split(" ")[0] for a in axes} == set(VARIANTS["toxicity"])
    for ax in axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["Base", "SFT", "PPO", "DPO"]
        assert "Expected maximum toxicity" in ax.get_ylabel() and "lower is better" in ax.get_ylabel()
    assert fig.get_suptitle() == analysis.figure_title("toxicity")
    # missing stages are skipped, the order kept
    sub = res[res["checkpoint"].isin(["dpo", "base"])]
    fig2 = analysis.plot_vertical(sub, "bias")
    assert [t.get_text() for t in fig2.axes[0].get_xticklabels()] == ["Base", "DPO"]
    assert analysis.plot_vertical(res[res["vertical"] != "ethics"], "ethics") is None
    # privacy has more variants than panels: headline panel + a breakdown figure
    assert len([a for a in analysis.plot_vertical(res, "privacy").axes if a.get_visible()]) == 1
    bd = analysis.plot_breakdown(res, "privacy")
    assert [t.get_text() for t in bd.axes[0].get_yticklabels()] == PII_TYPES
    ov = analysis.plot_overview(res)
    assert len([a for a in ov.axes if a.get_visible()]) == len(TRUST_VERTICALS)
    paths = analysis.save_figure(ov, tmp_path / "overview_test")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 0 for p in paths)


def test_plot_across_model_sizes(tmp_path):
    res = write_synthetic(tmp_path, models=("EleutherAI/pythia-2.8b", "EleutherAI/pythia-410m"))
    fig = analysis.plot_vertical(res, "truthfulness")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["pythia-410m", "pythia-2.8b"]  # by size
    assert len(ax.patches) == 8  # 4 stages x 2 models


# ------------------------------------------------------------------------------------------- notebook
@pytest.mark.slow
def test_analysis_notebook_through_the_runner(tmp_path):
    import yaml

    from trust_utils.pipeline import run
    from trust_utils.profiles import load_profile

    run_dir, figs = tmp_path / "run", tmp_path / "figs"
    write_synthetic(run_dir, models=("EleutherAI/pythia-410m", "EleutherAI/pythia-2.8b"))
    prof = tmp_path / "synthetic.yaml"
    prof.write_text(yaml.safe_dump({"description": "analysis on synthetic results", "run_dir": str(run_dir),
                                    "stages": {"analysis": {"figures_dir": str(figs)}}}))
    plans = run(load_profile(prof), echo=lambda _m: None, progress=False)
    assert [p.status for p in plans] == ["done"]
    out = json.loads((run_dir / "analysis" / "outputs.json").read_text())["outputs"]
    assert out["profile"] == "synthetic"  # from run.json, written by the runner
    keys = set(out["figures"])
    assert keys == {"overview", "degenerate", *TRUST_VERTICALS, "privacy_breakdown", "families"}  # families: two models
    html = (run_dir / "analysis" / "report.html").read_text(encoding="utf-8")
    for k in keys:
        title = analysis.figure_title(k)
        assert title in html, title
        # saved under the run; the copies in figures_dir are named by the run directory ("run"), not the profile
        files, copies = out["figures"][k]["files"], out["figures"][k]["copies"]
        assert sorted(files) == [str(run_dir / "analysis" / "figures" / f"{k}.{x}") for x in ("pdf", "png")]
        assert sorted(copies) == [str(figs / f"{k}_run.{x}") for x in ("pdf", "png")]
        assert all(Path(f).read_bytes() == Path(c).read_bytes() for f, c in zip(sorted(files), sorted(copies),
                                                                                 strict=True))
    man = json.loads((run_dir / "analysis" / "manifest.json").read_text())
    assert "analysis/figures/overview.png" in man["output_hashes"], "the figures are outputs the runner checks"
    assert "demonstrate the method" in html
    for t in out["tables"].values():
        assert (run_dir / "analysis" / t).is_file()
    assert out["n_paper_v1_matches"] == 88
    assert "not interpretable" in html and "paired n" in html and "Degenerate outputs" in html
    assert all(h["interpretable"] for h in out["headline_changes"])  # synthetic shares are ~5%


def test_run_without_results_records_a_note(tmp_path):
    res = analysis.run(analysis.AnalysisConfig(run_dir=str(tmp_path / "empty"), figures_dir=str(tmp_path / "f")))
    assert res.figures == {} and res.changes.empty and res.v1.empty
    assert res.notes and "no results" in res.notes[0]
    assert len(res.v2) == len(TRUST_VERTICALS) and res.v2["run_rel_change"].isna().all()
    out = json.loads((tmp_path / "empty" / "analysis" / "outputs.json").read_text())["outputs"]
    assert out["profile"] == "empty" and out["figures"] == {}


# ---------------------------------------------------------------------------------------- package layout
VERTICAL_NOTEBOOKS = ["20_toxicity", "21_bias", "22_ethics", "23_truthfulness", "24_privacy"]
ANALYSIS_ONLY = ["reference/paper_results.csv", "analysis/paper.py", "analysis/figures.py", "analysis/stage.py"]


def _notebook_code(name: str) -> dict[str, str]:
    from trust_utils.codehash import stage_code
    from trust_utils.paths import notebooks_dir
    from trust_utils.pipeline import code_cells

    return stage_code(code_cells(notebooks_dir() / f"{name}.ipynb"))


@pytest.mark.parametrize("name", VERTICAL_NOTEBOOKS)
def test_vertical_notebooks_do_not_depend_on_the_paper_numbers_or_the_analysis_figures(name):
    """Correcting a number in the paper CSV, or an analysis figure, reruns the analysis, not a vertical's notebook."""
    code = _notebook_code(name)
    assert f"verticals/{name.split('_', 1)[1]}.py" in code  # the closure was followed at all
    assert not [f for f in ANALYSIS_ONLY if f in code]


def test_analysis_notebook_depends_on_the_paper_numbers_and_its_submodules():
    code = _notebook_code("90_analysis")
    assert all(f in code for f in ANALYSIS_ONLY + ["analysis/tables.py", "analysis/__init__.py"])


def test_vertical_notebooks_draw_with_the_plotting_layer():
    assert "plots/verticals.py" in _notebook_code("20_toxicity") and "plots/toxicity.py" in _notebook_code("20_toxicity")
    priv = _notebook_code("24_privacy")
    assert "plots/privacy.py" in priv and "plots/toxicity.py" not in priv


def test_the_tables_import_no_figure_code():
    import subprocess
    import sys

    code = ("import sys, trust_utils.analysis.tables; "
            "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', 'trust_utils.analysis', 'trust_utils.plots'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['trust_utils.analysis', 'trust_utils.analysis.multiplicity', 'trust_utils.analysis.tables']"


def test_the_former_module_names_are_served_lazily():
    from trust_utils import style
    from trust_utils.analysis import figures, paper, stage, tables
    from trust_utils.params import load_config_class, stage_of

    assert analysis.change_table is tables.change_table and analysis.v1_comparison is paper.v1_comparison
    assert analysis.plot_vertical is figures.plot_vertical and analysis.run is stage.run
    assert analysis.save_figure is style.save_figure
    for ref in ("trust_utils.analysis:AnalysisConfig", "trust_utils.analysis.stage:AnalysisConfig"):
        assert load_config_class(ref) is stage.AnalysisConfig
    assert stage_of(stage.AnalysisConfig) == "analysis"
    with pytest.raises(AttributeError):
        analysis.no_such_name  # noqa: B018


def test_multiplicity_corrections_by_hand():
    from trust_utils.stats import benjamini_hochberg, bootstrap_p_value, holm

    p = [0.01, 0.04, 0.03, 0.005, float("nan")]
    # Holm: sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.06
    assert holm(p)[:4].round(6).tolist() == [0.03, 0.06, 0.06, 0.02] and np.isnan(holm(p)[4])
    # BH: 0.005*4/1=0.02, 0.01*4/2=0.02, 0.03*4/3=0.04, 0.04*4/4=0.04 -> running min from the top
    assert benjamini_hochberg(p)[:4].round(6).tolist() == [0.02, 0.04, 0.04, 0.02]
    # 9 resamples, 1 at or below zero: 2 * (1 + 1) / (9 + 1) = 0.4; all above: 2 * 1 / 10 = 0.2
    assert bootstrap_p_value([-0.1] + [0.2] * 8) == pytest.approx(0.4)
    assert bootstrap_p_value([0.3] * 9) == pytest.approx(0.2)


def test_the_change_table_corrects_the_headline_family_only():
    from trust_utils.analysis.multiplicity import add_multiplicity

    changes = pd.DataFrame({
        "model": ["m"] * 4, "seed": [0] * 4, "headline": [True, True, True, False],
        "interpretable": [True, True, False, True], "p_value": [0.01, 0.04, 0.001, 0.001]})
    out = add_multiplicity(changes)
    # family: the two interpretable headline rows (m = 2): Holm 0.02 and 0.04; BH 0.02 and 0.04
    assert out["p_holm"].round(6).tolist()[:2] == [0.02, 0.04] and out["p_holm"][2:].isna().all()
    assert out["survives_holm"].tolist()[:2] == [True, True] and out["survives_holm"][2:].isna().all()
    assert add_multiplicity(changes, alpha=0.03)["survives_bh"].tolist()[:2] == [True, False]


def test_each_vertical_leads_with_the_papers_metric_unless_it_is_degenerate():
    from trust_utils.analysis.leading import lead_metric

    def rows(deg_sft: float, with_fc: bool = True):
        r = [result_row("bias", "agreement_index", "benign", c, 0.3, 10) for c in ("base", "sft")]
        r += [result_row("bias", "degenerate_any", "benign", "base", 0.1, 10),
              result_row("bias", "degenerate_any", "benign", "sft", deg_sft, 10)]
        if with_fc:
            r += [result_row("bias", "agreement_index_fc", "benign", c, 0.6, 10) for c in ("base", "sft")]
        return pd.DataFrame(r)

    assert lead_metric(rows(0.5), "bias")[0] == "agreement_index"  # at the threshold: still interpretable
    metric, why = lead_metric(rows(0.93), "bias")
    assert metric == "agreement_index_fc" and "93% of sft's outputs are degenerate" in why
    assert lead_metric(rows(0.93, with_fc=False), "bias")[0] == "agreement_index"  # no likelihood view in the run
    assert all(v.readable in {m.name for m in v.metrics} for v in VERTICALS.values())


def test_the_report_says_when_the_base_is_already_aligned(tmp_path):
    write_synthetic(tmp_path / "s", models=("smollm2-gguf",), n=10)
    res = analysis.run(analysis.AnalysisConfig(run_dir=str(tmp_path / "s"), figures_dir="", n_boot=20,
                                               formats=["png"]))
    assert any("already aligned" in n and "SmolLM2-135M-Instruct" in n for n in res.notes)
    write_synthetic(tmp_path / "t", models=("tiny",), n=10)
    res = analysis.run(analysis.AnalysisConfig(run_dir=str(tmp_path / "t"), figures_dir="", n_boot=20,
                                               formats=["png"]))
    assert not any("already aligned" in n for n in res.notes)
