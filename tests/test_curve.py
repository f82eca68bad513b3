"""Trust along the alignment path and across seeds: the two-level bootstrap, the seed table and its correction, the
path table and the curve figure, on inline rows worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trust_utils.analysis.curve import path_table
from trust_utils.analysis.seeds import add_seed_multiplicity, seed_changes
from trust_utils.results import result_row
from trust_utils.stats import two_level_bootstrap


def test_two_level_bootstrap_by_hand():
    # one unit per seed: the within-seed draw is fixed, so a resample is the mean of 2 seeds drawn from {+1, +3}
    r = two_level_bootstrap([([0.0], [1.0]), ([0.0], [3.0])], n_boot=4000, seed=1)
    assert r["change"] == 2.0 and r["n_seeds"] == 2
    assert r["between_seed_sd"] == pytest.approx(math.sqrt(2))       # sd of (1, 3) with ddof 1
    assert (r["ci_low"], r["ci_high"]) == (1.0, 3.0)                  # draws (1,1) and (3,3) each have prob 1/4
    # one seed: the paired bootstrap over its units; a constant +1 change has the interval [1, 1]
    one = two_level_bootstrap([([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])], n_boot=200)
    assert (one["change"], one["ci_low"], one["ci_high"]) == (1.0, 1.0, 1.0) and math.isnan(one["between_seed_sd"])
    # seeds that disagree in sign: the interval spans zero even though each seed's prompts agree
    mixed = two_level_bootstrap([([0.0] * 5, [1.0] * 5), ([0.0] * 5, [-1.0] * 5)], n_boot=2000)
    assert mixed["change"] == 0.0 and mixed["ci_low"] < 0 < mixed["ci_high"]
    with pytest.raises(ValueError):
        two_level_bootstrap([([0.0, 1.0], [1.0])])


def _units(rows):
    return pd.DataFrame(rows, columns=["model", "seed", "vertical", "variant", "metric", "checkpoint", "unit", "value"])


def test_seed_changes_and_their_correction():
    u = []
    for unit in range(6):
        u.append(("m", 0, "ethics", "benign", "false_negative_rate", "base", unit, 0.5))
        u.append(("m", 0, "ethics", "benign", "false_negative_rate", "dpo", unit, 0.7))
        u.append(("m", 0, "ethics", "benign", "false_negative_rate", "dpo-s1", unit, 0.9))
        u.append(("m", 0, "ethics", "benign", "false_negative_rate", "dpo@3", unit, 0.6))   # a path point: not an end
    changes = pd.DataFrame({"model": ["m", "m"], "vertical": ["ethics"] * 2, "metric": ["false_negative_rate"] * 2,
                            "variant": ["benign"] * 2, "checkpoint": ["dpo", "dpo-s1"], "interpretable": [True, True]})
    t = seed_changes(changes, _units(u), {"ethics": "false_negative_rate"}, n_boot=500)
    assert len(t) == 1
    r = t.iloc[0]
    assert r["method"] == "dpo" and r["n_seeds"] == 2
    assert r["change"] == pytest.approx(0.3)                         # mean of +0.2 (seed 0) and +0.4 (seed 1)
    assert r["prompt_ci_low"] == pytest.approx(0.2) and r["prompt_ci_high"] == pytest.approx(0.2)
    assert r["ci_low"] == pytest.approx(0.2) and r["ci_high"] == pytest.approx(0.4)
    assert r["between_seed_sd"] == pytest.approx(math.sqrt(0.02))
    assert r["alignment"] == "not measured" and bool(r["in_family"])
    # DPO's alignment not established: no longer a finding
    t2 = seed_changes(changes, _units(u), {"ethics": "false_negative_rate"},
                      status={"dpo": ("established", ""), "dpo-s1": ("not established", "margin")}, n_boot=200)
    assert t2.iloc[0]["alignment"] == "not established" and not bool(t2.iloc[0]["in_family"])


def test_seed_multiplicity_by_hand():
    t = pd.DataFrame({"model": ["m"] * 3, "vertical": ["a", "b", "c"], "metric": ["x"] * 3, "variant": ["v"] * 3,
                      "method": ["dpo"] * 3, "n_seeds": [3] * 3, "change": [0.1] * 3, "prompt_ci_low": [0.0] * 3,
                      "prompt_ci_high": [0.2] * 3, "ci_low": [0.0] * 3, "ci_high": [0.2] * 3,
                      "between_seed_sd": [0.1] * 3, "p_value": [0.01, 0.04, 0.03],
                      "interpretable": [True, True, True], "alignment": ["established"] * 3})
    out = add_seed_multiplicity(t)
    # Holm: sorted 0.01, 0.03, 0.04 -> 3*0.01=0.03, 2*0.03=0.06, max(0.06, 1*0.04)=0.06
    assert np.allclose(out["p_holm"], [0.03, 0.06, 0.06])
    # BH: 0.01*3/1=0.03, 0.03*3/2=0.045, 0.04*3/3=0.04 -> monotone from the top: 0.03, 0.04, 0.04
    assert np.allclose(out["p_bh"], [0.03, 0.04, 0.04])
    assert list(out["survives_holm"]) == [True, False, False] and list(out["survives_bh"]) == [True, True, True]


def _res(vertical, metric, variant, checkpoint, value):
    return result_row(vertical, metric, variant, checkpoint, value, 10, (value - 0.1, value + 0.1), model="m")


def test_path_table_joins_trust_and_kl():
    rows = [_res("ethics", "false_negative_rate", "benign", c, v)
            for c, v in (("base", 0.5), ("sft", 0.4), ("dpo@5", 0.45), ("dpo", 0.6), ("sft-s1", 0.42), ("dpo-s1", 0.5))]
    rows += [_res("alignment", "kl_from_reference", "default", c, v)
             for c, v in (("sft", 2.0), ("dpo@5", 0.3), ("dpo", 1.1), ("dpo-s1", 0.9), ("sft-s1", 2.2))]
    rows += [_res("alignment", "kl_from_base", "default", c, v) for c, v in (("sft", 2.0), ("dpo", 2.5))]
    df = pd.DataFrame(rows)
    p = path_table(df, {"ethics": "false_negative_rate"}, {"sft": 20, "dpo": 10, "sft-s1": 20, "dpo-s1": 10})
    dpo0 = p[(p["method"] == "dpo") & (p["seed"] == 0)].sort_values("step")
    assert list(dpo0["step"]) == [0, 5, 10] and list(dpo0["checkpoint"]) == ["sft", "dpo@5", "dpo"]
    assert list(dpo0["value"]) == [0.4, 0.45, 0.6]
    assert list(dpo0["kl_from_reference"]) == [0.0, 0.3, 1.1]             # point 0 has not moved from SFT
    assert dpo0["kl_from_base"].iloc[0] == 2.0 and dpo0["kl_from_base"].iloc[2] == 2.5
    dpo1 = p[(p["method"] == "dpo") & (p["seed"] == 1)]
    assert list(dpo1["checkpoint"]) == ["sft-s1", "dpo-s1"]                 # seed 1 starts from its own SFT
    sft0 = p[(p["method"] == "sft") & (p["seed"] == 0)]
    assert list(sft0["checkpoint"]) == ["base", "sft"] and list(sft0["kl_from_reference"]) == [0.0, 2.0]


def test_curve_figure_is_drawn():
    from trust_utils.analysis.curve_figure import plot_curve

    rows = []
    for seed, tag in ((0, ""), (1, "-s1")):
        for step, ck, val, kl in ((0, "sft" + tag, 0.4, 0.0), (5, "dpo@5" + tag, 0.45 + 0.01 * seed, 0.3),
                                  (10, "dpo" + tag, 0.6, 1.0 + 0.1 * seed)):
            rows.append({"model": "m", "vertical": "ethics", "metric": "false_negative_rate", "variant": "benign",
                         "method": "dpo", "seed": seed, "step": step, "checkpoint": ck, "value": val,
                         "ci_low": val - 0.1, "ci_high": val + 0.1, "kl_from_reference": kl, "kl_ref_low": kl,
                         "kl_ref_high": kl, "kl_from_base": kl})
    path = pd.DataFrame(rows)
    fig = plot_curve(path, "kl_from_reference", {"ethics": "worse"})
    ax = fig.axes[0]
    assert len(ax.lines) >= 1 and len(ax.collections) >= 1                  # a line and the seed band
    assert list(ax.lines[0].get_xdata()) == [0.0, 0.3, pytest.approx(1.05)]
    assert "paper" in ax.get_title() and "2 seeds" in ax.get_legend().get_texts()[0].get_text()
    assert plot_curve(path, "step").axes[0].get_xlabel() == "training step"
    assert plot_curve(path.iloc[0:0]) is None
