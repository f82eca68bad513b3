"""Every check accepts the reference solution, rejects typical wrong answers with their hint, and reports stubs."""

from __future__ import annotations

import builtins
import copy
import importlib
import importlib.util
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from trust_utils import exercises as ex
from trust_utils.exercise_outcomes import StaleExpected, close, decode, encode, expected_path, load_expected

SOLUTIONS = importlib.util.find_spec("trust_utils.solutions") is not None
needs_solutions = pytest.mark.skipif(not SOLUTIONS, reason="trust_utils/solutions is absent (a student's copy)")


def _check(name):
    return getattr(ex.exercise_module(name), f"check_{name}")


def _reference(name):
    return getattr(importlib.import_module(f"trust_utils.solutions.{ex.ALL_EXERCISES[name][1]}"), name)


def _mistakes(name):
    return importlib.import_module(f"trust_utils.solutions.{ex.ALL_EXERCISES[name][1]}").mistakes()


# ---------------------------------------------------------------- right answers written here, without the solutions
def _sft_correct(logits, input_ids, prompt_lengths, attention_mask):
    labels = input_ids.clone()
    pos = torch.arange(input_ids.shape[1])[None, :]
    labels[(pos < prompt_lengths[:, None]) | (attention_mask == 0)] = -100
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))


def _ppo_correct(lp, old, a, m, eps):
    r = torch.exp(lp - old)
    per_token = torch.maximum(-a * r, -a * r.clamp(1 - eps, 1 + eps))
    return per_token[m].mean()


def _emt_correct(scores):
    maxima = [max(x for x in p if x is not None) for p in scores if any(x is not None for x in p)]
    return sum(maxima) / len(maxima) if maxima else float("nan")


def _mc2_f32(ll, lab):
    x, m = torch.tensor(ll, dtype=torch.float32), torch.tensor(lab).bool()
    return float(torch.exp(torch.logsumexp(x[m], 0) - torch.logsumexp(x, 0)))


#: One right answer per exercise, independent of trust_utils/solutions (the MC2 one in float32).
CORRECT = {
    "masked_sft_loss": _sft_correct,
    "bradley_terry_loss": lambda c, r: -F.logsigmoid(c - r).mean(),
    "ppo_clipped_surrogate": _ppo_correct,
    "dpo_loss": lambda pc, pr, rc, rr, b: -F.logsigmoid(b * ((pc - rc) - (pr - rr))).mean(),
    "expected_max_toxicity": _emt_correct,
    "parse_agreement": lambda t: _parse(t),
    "false_negative_rate": lambda p: sum(x != "yes" for x in p) / len(p) if p else float("nan"),
    "mc2_score": _mc2_f32,
    "leaked": lambda t, r: t.lower() in r.lower(),
}


def _reply_logprobs(model, tok, prompt, response):
    p, r = tok.encode(prompt, add_special_tokens=False), tok.encode(response, add_special_tokens=False)
    ids = torch.tensor([p + r])
    with torch.no_grad():
        logp = model(input_ids=ids).logits.log_softmax(-1)
    return logp[0, :-1].gather(-1, ids[0, 1:, None])[:, 0][len(p) - 1:]


def _dpo_pair(pi, ref, tok, prompt, chosen, rejected, beta):
    def ratio(reply):
        return _reply_logprobs(pi, tok, prompt, reply).sum() - _reply_logprobs(ref, tok, prompt, reply).sum()

    return -F.logsigmoid(beta * (ratio(chosen) - ratio(rejected)))


def _reward(backbone, head, tok, prompt, response):
    enc = tok(prompt + response, return_tensors="pt", add_special_tokens=False)  # one char, one token: same ids
    ids = torch.cat([enc["input_ids"], torch.tensor([[tok.eos_token_id]])], 1)
    with torch.no_grad():
        return head(backbone(input_ids=ids).last_hidden_state[:, -1]).squeeze()


def _kl_rewards(pi, ref, tok, prompt, response, score, kl_coef):
    rewards = -kl_coef * (_reply_logprobs(pi, tok, prompt, response) - _reply_logprobs(ref, tok, prompt, response))
    rewards[-1] += score
    return rewards


CORRECT.update({
    "response_nll": lambda m, t, p, r: -_reply_logprobs(m, t, p, r).mean(),
    "dpo_pair_loss": _dpo_pair,
    "reward_of": _reward,
    "kl_penalized_rewards": _kl_rewards,
    "rloo_advantages": lambda r: (r - r.mean(1, keepdim=True)) * r.shape[1] / (r.shape[1] - 1),  # the same, rewritten
})


@pytest.mark.parametrize("name", sorted(ex.ALL_EXERCISES))
def test_check_accepts_an_independent_right_answer(name, capsys):
    res = _check(name)(CORRECT[name])
    assert res.passed and "✓" in capsys.readouterr().out


@needs_solutions
@pytest.mark.parametrize("name", sorted(ex.ALL_EXERCISES))
def test_check_accepts_reference(name, capsys):
    res = _check(name)(_reference(name))
    assert res.passed and "✓" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(ex.ALL_EXERCISES))
def test_stub_is_reported_not_raised(name):
    res = _check(name)(getattr(ex.exercise_module(name), name))
    assert not res.passed and "not implemented yet" in repr(res) and "solutions=True" in repr(res)


def test_one_exercise_module_per_notebook():
    from trust_utils.paths import notebooks_dir

    for name, (nb, mod) in ex.EXERCISES.items():
        m = ex.exercise_module(name)
        assert callable(getattr(m, name)) and callable(getattr(m, f"check_{name}")) and callable(m.solution_or)
        assert not hasattr(m, "reference") and not hasattr(m, "mistakes")  # the solutions stay out of it
        assert f"import {mod} as exercise" in (notebooks_dir() / f"{nb}.py").read_text(encoding="utf-8"), nb
    with pytest.raises(ValueError, match="unknown exercise 'nope'"):
        ex.exercise_module("nope")
    assert set(ex.LEVELS) == set(ex.ALL_EXERCISES) and set(ex.LEVELS.values()) == {1, 2, 3}
    for name in ex.ALL_EXERCISES:  # the docstring's table lists every exercise with its level
        assert f"``{name}``" in ex.__doc__, name


def test_old_flat_names_say_where_they_went():
    with pytest.raises(AttributeError, match=r"exercises import dpo as exercise.*exercise.check_dpo_loss"):
        ex.check_dpo_loss
    with pytest.raises(AttributeError, match="exercise.solution_or"):
        ex.solution_or
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        ex.nothing_here


def _mm(x, m):
    m = m.float()
    return (x * m).sum() / m.sum()


def _nll(logits, ids):
    return -torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]


def _sft_no_prompt_mask(logits, ids, pl, att):
    return _mm(_nll(logits, ids), att[:, 1:].bool())


WRONG = [
    ("masked_sft_loss", _sft_no_prompt_mask, "masking the prompt"),
    ("bradley_terry_loss", lambda c, r: -F.logsigmoid(r - c).mean(), "sign"),
    ("bradley_terry_loss", lambda c, r: -F.logsigmoid(c - r), "ONE number"),
    ("dpo_loss", lambda pc, pr, rc, rr, b: -F.logsigmoid(b * ((pr - rr) - (pc - rc))).mean(), "sign"),
    ("dpo_loss", lambda pc, pr, rc, rr, b: -F.logsigmoid((pc - rc) - (pr - rr)).mean(), "beta"),
    ("ppo_clipped_surrogate",
     lambda lp, old, a, m, e: _mm(torch.min(-a * torch.exp(lp - old), -a * torch.clamp(torch.exp(lp - old), 1 - e,
                                                                                        1 + e)), m), "pessimism"),
    ("ppo_clipped_surrogate", lambda lp, old, a, m, e: _mm(-a * torch.exp(lp - old), m), "clipping"),
    ("expected_max_toxicity", lambda s: (lambda xs: sum(xs) / len(xs) if xs else float("nan"))(
        [x for p in s for x in p if x is not None]), "MAX per prompt"),
    ("parse_agreement", lambda t: "agree" if "agree" in t.lower() else "neither", "'disagree' contains 'agree'"),
    ("false_negative_rate", lambda p: (lambda k: sum(x == "no" for x in k) / len(k) if k else float("nan"))(
        [x for x in p if x is not None]), "unparsed answers were dropped"),
    ("mc2_score", lambda ll, lab: sum(math.exp(x) for x, l in zip(ll, lab, strict=True) if l), "normalisation"),
    ("mc2_score", lambda ll, lab: sum(math.exp(x) for x, l in zip(ll, lab, strict=True) if l) / sum(math.exp(x) for x in ll),
     "numerical stability"),
    ("leaked", lambda t, r: t in r, "case"),
]


@pytest.mark.parametrize("name,wrong,hint", WRONG, ids=[f"{n}:{h[:20]}" for n, _, h in WRONG])
def test_check_rejects_typical_mistake_with_hint(name, wrong, hint):
    with pytest.raises(AssertionError) as err:
        _check(name)(wrong)
    msg = str(err.value)
    assert hint in msg
    assert "inputs:" in msg and "expected:" in msg  # a failing case with its inputs and the expected value


def _hints(msg: str) -> list[str]:
    return [line.split("hint:", 1)[1].strip() for line in msg.splitlines() if line.strip().startswith("hint:")]


@needs_solutions
@pytest.mark.parametrize("name", sorted(ex.ALL_EXERCISES))
def test_each_listed_mistake_triggers_its_own_hint_and_no_other(name):
    table = _mistakes(name)
    assert table, name
    assert len({h for _, h in table}) == len(table), f"{name}: two mistakes share a hint"
    for wrong, hint in table:
        with pytest.raises(AssertionError) as err:
            _check(name)(wrong)
        assert _hints(str(err.value)) == [hint], (name, hint)


def test_a_mistake_that_only_agrees_on_the_failing_case_gives_no_hint():
    # "disagree" -> "agree" is what the substring mistake (and others) answer on that case, but on the other cases
    # this parser answers right: it is not that mistake, and the old per-case hints named 2-4 wrong ones
    def parser(text):
        return "agree" if text == "I disagree with this statement." else _parse(text)

    with pytest.raises(AssertionError) as err:
        _check("parse_agreement")(parser)
    assert "case ''I disagree with this statement.''" in str(err.value) and _hints(str(err.value)) == []


def test_the_hints_for_the_missing_mistakes():
    def sft_mask_unshifted(logits, ids, pl, att):
        pos = torch.arange(ids.shape[1])[None, :]
        keep = ((pos >= pl[:, None]) & att.bool())[:, :-1]
        return _mm(_nll(logits, ids), keep)

    cases = [("masked_sft_loss", sft_mask_unshifted, "off by one: shift the mask with the labels"),
             ("masked_sft_loss", _sft_no_prompt_mask, "masking the prompt"),
             ("ppo_clipped_surrogate", lambda lp, old, a, m, e: _mm(torch.max(
                 -a * torch.exp(old - lp), -a * torch.clamp(torch.exp(old - lp), 1 - e, 1 + e)), m), "not its inverse"),
             ("dpo_loss", lambda pc, pr, rc, rr, b: F.logsigmoid(b * ((pc - rc) - (pr - rr))).mean(), "the minus")]
    for name, wrong, hint in cases:
        with pytest.raises(AssertionError) as err:
            _check(name)(wrong)
        hints = _hints(str(err.value))
        assert len(hints) == 1 and hint in hints[0], (name, hints)


def test_same_infinities_and_nan():
    inf = float("inf")
    assert ex._same(inf, inf, 1e-5) and ex._same(-inf, -inf, 1e-5)
    assert not ex._same(5.0, inf, 1e-5) and not ex._same(1e300, inf, 1e-5) and not ex._same(-inf, inf, 1e-5)
    assert not ex._same(inf, 5.0, 1e-5) and not ex._same(float("nan"), inf, 1e-5)
    assert ex._same(float("nan"), float("nan"), 1e-5) and not ex._same(float("nan"), 0.0, 1e-5)
    assert not ex._same(0.0, float("nan"), 1e-5)
    assert ex._same(torch.tensor(inf), inf, 1e-5) and not ex._same(torch.tensor(3.0), inf, 1e-5)
    assert ex._same(1.000001, 1.0, 1e-5) and not ex._same(1.0001, 1.0, 1e-5)
    assert ex._same(torch.tensor([1.0, inf]), torch.tensor([1.0, inf]), 1e-5)
    assert not ex._same(torch.tensor([1.0, 2.0]), torch.tensor([1.0, inf]), 1e-5)
    assert not ex._same(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0, 3.0]), 1e-5)
    assert not ex._same(1, True, 1e-5) and not ex._same(True, 1, 1e-5) and ex._same(True, True, 1e-5)


def test_an_infinite_mistake_no_longer_hints_at_a_finite_answer():
    # the difference-of-sigmoids mistake is +inf on "equal rewards": a finite wrong answer is not that mistake
    with pytest.raises(AssertionError) as err:
        _check("bradley_terry_loss")(lambda c, r: -F.logsigmoid(c - r).mean() + 1.0)
    assert _hints(str(err.value)) == []


# ---------------------------------------------------------------- false passes that now fail, right answers that pass
def _parse(text: str, lower: bool = True, curly: bool = True) -> str:
    """A first-cue agreement parser written independently of the reference; ``lower``/``curly`` switch off the
    lower-casing and the apostrophe normalisation."""
    import re

    t = " ".join(text.split())
    t = t.lower() if lower else t
    t = t.replace("\u2019", "'") if curly else t
    pats = [("neither", r"i agree (?:and|or) i disagree|agree (?:nor|or) disagree"),
            ("disagree", r"\b(?:not|don't|do not|cannot|can't|never)\s+(?:\w+\s+)?agree\b"),
            ("disagree", r"\bdisagree\b"), ("agree", r"\bagreed?\b")]
    found = [(m.start(), i, lab) for i, (lab, pat) in enumerate(pats) for m in re.finditer(pat, t)]
    return min(found)[2] if found else "neither"


def test_bias_case_and_curly_apostrophe():
    fixtures = dict(ex.exercise_module("parse_agreement").BIAS_FIXTURES)
    assert fixtures["I Agree."] == "agree" and fixtures["Disagree."] == "disagree"
    assert fixtures["I don\u2019t agree."] == "disagree"
    check = _check("parse_agreement")
    with pytest.raises(AssertionError, match="I Agree"):
        check(lambda t: _parse(t, lower=False))
    with pytest.raises(AssertionError, match="I don\u2019t agree"):
        check(lambda t: _parse(t, curly=False))
    assert check(_parse).passed


def test_privacy_near_miss_address():
    import re

    check = _check("leaked")
    with pytest.raises(AssertionError, match="a near miss") as err:
        check(lambda t, r: re.search(t, r, re.IGNORECASE) is not None)  # "a.b@x.com" matches "axb@x.com"
    assert "plain text" in _hints(str(err.value))[0]
    assert check(lambda t, r: t.lower() in r.lower()).passed
    assert check(lambda t, r: re.search(re.escape(t), r, re.IGNORECASE) is not None).passed


def test_ethics_empty_list():
    check = _check("false_negative_rate")
    expected, _ = load_expected("false_negative_rate", ex.exercise_module("false_negative_rate").cases())
    assert math.isnan(expected[-1][1])  # the stored value of "no scenario" is the reference's NaN
    with pytest.raises(AssertionError, match="raised ZeroDivisionError") as err:
        check(lambda p: sum(x != "yes" for x in p) / len(p))
    assert "float('nan')" in _hints(str(err.value))[0]
    assert "where:    line" in str(err.value)  # no traceback is shown, so the message names the line that raised
    with pytest.raises(AssertionError, match="no scenario"):
        check(lambda p: sum(x != "yes" for x in p) / len(p) if p else 0.0)
    assert check(lambda p: sum(x != "yes" for x in p) / len(p) if p else float("nan")).passed


def _sft_labels(ids, pl, att):
    pos = torch.arange(ids.shape[1])[None, :]
    return (pos < pl[:, None]) | (att == 0)


def test_sft_must_not_change_its_inputs():
    def overwrites(logits, input_ids, pl, att):
        labels = input_ids  # the caller's tensor: the -100s below land in the batch the trainer still uses
        labels[_sft_labels(input_ids, pl, att)] = -100
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))

    def copies(logits, input_ids, pl, att):
        labels = input_ids.clone()
        labels[_sft_labels(input_ids, pl, att)] = -100
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))

    check = _check("masked_sft_loss")
    with pytest.raises(AssertionError, match="changed its input input_ids"):
        check(overwrites)
    assert check(copies).passed


def test_mc2_accepts_float32_logsumexp():
    def mc2_f32(ll, lab):
        x, m = torch.tensor(ll, dtype=torch.float32), torch.tensor(lab).bool()
        return float(torch.exp(torch.logsumexp(x[m], 0) - torch.logsumexp(x, 0)))

    mod = ex.exercise_module("mc2_score")
    assert mc2_f32([-1000.0, -1001.0, -1003.0], [0, 1, 1]) == pytest.approx(0.294627, abs=1e-6)
    assert ex._same(0.294627, 0.294615, mod.MC2_TOL) and not ex._same(0.2948, 0.294615, mod.MC2_TOL)
    assert _check("mc2_score")(mc2_f32).passed
    with pytest.raises(AssertionError, match="long options"):  # the tolerance still catches a wrong answer
        _check("mc2_score")(lambda ll, lab: _mc2_f32(ll, lab) + (1e-3 if ll[0] < -100 else 0.0))


# ---------------------------------------------------------------- what a notebook shows
def test_a_failed_check_renders_as_its_message_alone():
    with pytest.raises(ex.CheckFailed) as err:
        _check("dpo_loss")(lambda pc, pr, rc, rr, b: F.logsigmoid(b * ((pc - rc) - (pr - rr))).mean())
    lines = err.value._render_traceback_()
    assert lines == str(err.value).splitlines() and lines[0].startswith("✗ dpo_loss, case")
    assert isinstance(err.value, AssertionError)


def test_a_passing_check_is_shown_once(capsys):
    res = _check("dpo_loss")(CORRECT["dpo_loss"])
    assert capsys.readouterr().out.count("✓ dpo_loss") == 1
    assert res._ipython_display_() is None and repr(res).startswith("✓ dpo_loss")


def test_in_a_kernel_a_check_prints_once_and_a_failure_shows_no_traceback(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import torch.nn.functional as F\nfrom trust_utils.exercises import dpo as exercise\n"
        "exercise.check_dpo_loss(lambda pc, pr, rc, rr, b: -F.logsigmoid(b * ((pc - rc) - (pr - rr))).mean())"),
        nbformat.v4.new_code_cell(
            "exercise.check_dpo_loss(lambda pc, pr, rc, rr, b: F.logsigmoid(b * ((pc - rc) - (pr - rr))).mean())")]
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120).execute(cwd=str(tmp_path))
    ok, failed = nb.cells[0].outputs, nb.cells[1].outputs
    assert [o["output_type"] for o in ok] == ["stream"] and ok[0]["text"].count("✓ dpo_loss") == 1
    assert [o["output_type"] for o in failed] == ["error"]
    tb = failed[0]["traceback"]
    assert tb[0].startswith("✗ dpo_loss, case") and any("hint:" in line and "the minus" in line for line in tb)
    assert not any("Traceback" in line or "run_check" in line or "File " in line for line in tb), tb


@needs_solutions
def test_solutions_match_project_rules_and_hand_values():
    from trust_utils import losses
    from trust_utils.verticals.ethics import fnr_units
    from trust_utils.verticals.parsing import parse_agreement
    from trust_utils.verticals.privacy import leaked
    from trust_utils.verticals.truthfulness import mc2_from_loglik

    so = SimpleNamespace(**{n: _reference(n) for n in ex.EXERCISES})  # the nine reference solutions

    assert so.mc2_score([math.log(0.3), math.log(0.1)], [1, 0]) == pytest.approx(0.75)
    assert so.mc2_score([-1000.0, -1001.0], [0, 1]) == pytest.approx(mc2_from_loglik([-1000.0, -1001.0], [0, 1]))
    assert so.expected_max_toxicity([[0.1, 0.9], [None, None], [0.2, 0.3]]) == pytest.approx(0.6)
    flags = ["yes", None, "no", None, "yes"]
    units = fnr_units([None if p is None else p == "yes" for p in flags], "negative")
    assert so.false_negative_rate(flags) == pytest.approx(sum(units) / len(units)) == pytest.approx(0.6)
    # the fixtures carry the project parser's labels
    for text, stance in ex.exercise_module("parse_agreement").BIAS_FIXTURES:
        assert parse_agreement(text) == stance == so.parse_agreement(text)
    assert so.leaked("Ab@x.org", "mail AB@X.ORG") == leaked("Ab@x.org", "mail AB@X.ORG") is True
    g = torch.Generator().manual_seed(0)
    logits, ids = torch.randn(2, 4, 5, generator=g), torch.tensor([[1, 2, 3, 4], [0, 1, 2, 0]])
    att, pl = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]), torch.tensor([1, 2])
    labels = ids.clone()
    labels[0, :1], labels[1, :2], labels[1, 3] = -100, -100, -100
    assert float(so.masked_sft_loss(logits, ids, pl, att)) == pytest.approx(float(losses.sft_loss(logits, labels)))


@needs_solutions
def test_solution_switch(monkeypatch):
    def dpo_loss(*a):
        raise NotImplementedError

    from trust_utils.exercises import dpo as exercise
    from trust_utils.solutions import dpo as reference

    monkeypatch.delenv(ex.SOLUTIONS_ENV, raising=False)
    assert exercise.solution_or(dpo_loss) is dpo_loss
    assert exercise.solution_or(dpo_loss, solutions=True) is reference.dpo_loss
    monkeypatch.setenv(ex.SOLUTIONS_ENV, "1")
    assert exercise.solution_or(dpo_loss) is reference.dpo_loss
    assert exercise.solution_or(dpo_loss, solutions=False) is dpo_loss

    def not_an_exercise():
        pass

    with pytest.raises(ValueError, match=r"no reference solution named 'not_an_exercise' in trust_utils.solutions.dpo"):
        exercise.solution_or(not_an_exercise, solutions=True)


def test_vertical_examples_use_the_verticals_builders_and_parsers(tiny_model_dir, tmp_path):
    from trust_utils.generation import Engine
    from trust_utils.verticals import ethics, privacy
    from trust_utils.verticals.common import vertical_example
    from trust_utils.verticals.parsing import parse_yes_no

    eng = Engine(str(tiny_model_dir), device="cpu", cache_dir=str(tmp_path / "gen"), prompt_format="hh",
                 progress=False)
    cfg = ethics.EthicsConfig(run_dir=str(tmp_path / "run"), max_new_tokens=4, variants=["jb_moral"])
    sc = ethics.Scenario("s1", "I took my neighbour's bike.", 1, True)
    df = vertical_example("ethics", eng, cfg, sc)["value"]
    assert df["prompt"] == ethics.build_prompt(sc.text, "jb_moral")
    assert df["formatted_prompt"] == f"\n\nHuman: {df['prompt']}\n\nAssistant:"
    assert df["parsed"] == parse_yes_no(df["generation"], echoes=(sc.text, ethics.PREFIXES["jb_moral"]))
    pcfg = privacy.PrivacyConfig(run_dir=str(tmp_path / "run"), max_new_tokens=4)
    item = privacy.build_items(pcfg, [(f"Ann Lee{i}", f"a{i}@x.org") for i in range(4)])[0]
    d = vertical_example("privacy", eng, pcfg, item)["value"]
    assert d["leaked"] == privacy.leaked(item["target"], d["generation"], pcfg.match)
    with pytest.raises(ValueError, match="unknown vertical"):
        vertical_example("nope", eng, cfg, None)


def test_same_takes_numpy_numbers_and_bools():
    import numpy as np

    assert ex._same(np.float32(0.75), 0.75, 1e-5) and ex._same(np.bool_(True), True, 1e-5)
    assert not ex._same(np.bool_(True), 1.0, 1e-5) and not ex._same("agree", "disagree", 1e-5)
    assert _check("leaked")(lambda t, r: np.bool_(t.lower() in r.lower())).passed


# ---------------------------------------------------------------- the data: expected values and fingerprints
def _replay(name, outcomes):
    """A function that does what a stored fingerprint says, case by case (a mistake, without its code)."""
    cases = ex.exercise_module(name).cases()
    stored, n = [encode(tuple(c.args)) for c in cases], len(cases[0].args)

    def fn(*args):
        now = encode(tuple(args[len(args) - n:]))
        kind, value = outcomes[next(i for i, a in enumerate(stored) if close(a, now))]
        if kind == "error":
            raise getattr(builtins, value)("replayed")
        return copy.deepcopy(value)

    return fn


@pytest.mark.parametrize("name", sorted(ex.ALL_EXERCISES))
def test_each_stored_fingerprint_fires_only_its_own_hint(name):
    mod = ex.exercise_module(name)
    expected, mistakes = load_expected(name, mod.cases())
    assert len(mistakes) >= 2 and len({h for h, _ in mistakes}) == len(mistakes), name
    for hint, outcomes in mistakes:
        assert all(k == "value" or isinstance(getattr(builtins, v, None), type) for k, v in outcomes), hint
        with pytest.raises(AssertionError) as err:
            getattr(mod, f"check_{name}")(_replay(name, outcomes))
        assert _hints(str(err.value)) == [hint], (name, hint)
    assert getattr(mod, f"check_{name}")(_replay(name, expected)).passed  # the stored answer passes


@needs_solutions
@pytest.mark.parametrize("name", sorted(ex.ALL_EXERCISES))
def test_committed_expected_data_is_what_the_generator_writes(name):
    from trust_utils.solutions import build_expected

    assert build_expected.stale([name]) == [], \
        f"{name}: stale data, run python -m trust_utils.solutions.build_expected and commit it"
    if os.environ.get("RLHF_TRUST_EXACT_DATA"):  # on the machine that wrote them: byte for byte
        assert expected_path(name).read_text(encoding="utf-8") == build_expected.text(name)


def test_data_written_for_other_fixtures_is_an_error(monkeypatch):
    mod = ex.exercise_module("dpo_loss")
    cases = mod.cases()
    cases[0].args = (torch.tensor([-5.0]), torch.tensor([-7.5]), *cases[0].args[2:])
    monkeypatch.setattr(mod, "cases", lambda: cases)
    with pytest.raises(StaleExpected, match="other fixture cases.*build_expected"):
        mod.check_dpo_loss(CORRECT["dpo_loss"])


def test_encoding_round_trips_plain_json():
    import json

    values = [0.1, float("nan"), float("-inf"), 3, True, None, "agree", [1.0, "x"], (2, False),
              torch.tensor([[1.5, float("inf")], [0.0, -2.0]]), torch.tensor(0.25), torch.tensor([1, 2])]
    for v in values:
        text = json.dumps(encode(v), allow_nan=False)  # no NaN literal: plain JSON
        back = decode(json.loads(text))
        assert ex._same(back, v, 0.0) and type(back) is type(v), v
    assert encode(float("nan")) == {"float": "nan"} and encode(True) == {"bool": True}
    assert encode(torch.tensor([0.5])) == {"tensor": [0.5], "dtype": "float32", "shape": [1]}
    assert decode(encode(torch.tensor([1, 2]))).dtype == torch.int64
    with pytest.raises(TypeError, match="cannot store a dict"):
        encode({"a": 1})


# ---------------------------------------------------------------- a student's copy: no trust_utils/solutions
def test_checks_run_with_the_solutions_directory_absent(tmp_path):
    """This file's tests, run in a subprocess on a copy of the package without ``solutions/``."""
    if os.environ.get("RLHF_TRUST_EXPECT_NO_SOLUTIONS"):
        pytest.skip("already inside the copy")
    root = Path(ex.__file__).resolve().parents[1]
    shutil.copytree(root, tmp_path / "trust_utils", ignore=shutil.ignore_patterns("solutions", "__pycache__"))
    (tmp_path / "notebooks").mkdir()
    for nb in root.parent.joinpath("notebooks").glob("*.py"):
        shutil.copy(nb, tmp_path / "notebooks")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "RLHF_TRUST_EXPECT_NO_SOLUTIONS": "1",
           "RLHF_TRUST_SOLUTIONS": ""}
    # an editable install's finder would still map trust_utils.solutions to the checkout: drop it, as a student's
    # plain install has none
    run = ("import sys, pytest; sys.meta_path[:] = [f for f in sys.meta_path if not "
           "getattr(f, '__module__', '').startswith('__editable__')]; sys.exit(pytest.main(sys.argv[1:]))")
    res = subprocess.run([sys.executable, "-c", run, "-q", "-p", "no:cacheprovider", "-x", __file__,
                          "-k", "not kernel and not vertical_examples and not absent"],
                         env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)  # not "" = the repo
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert " passed" in res.stdout and " skipped" in res.stdout and "failed" not in res.stdout, res.stdout[-2000:]


@pytest.mark.skipif(not os.environ.get("RLHF_TRUST_EXPECT_NO_SOLUTIONS"), reason="only in a copy without solutions")
def test_the_copy_has_no_solutions_and_solution_or_says_so():
    assert not SOLUTIONS and "solutions" not in os.listdir(Path(ex.__file__).parents[1])

    def dpo_loss(*a):
        raise NotImplementedError

    from trust_utils.exercises import dpo as exercise

    assert exercise.solution_or(dpo_loss) is dpo_loss
    with pytest.raises(ImportError, match="no trust_utils/solutions; run with solutions=False"):
        exercise.solution_or(dpo_loss, solutions=True)
    assert "trust_utils.solutions" not in sys.modules


def test_notebooks_code_hash_covers_their_solution_while_it_exists(tmp_path):
    """The solution is imported inside ``solution_or`` (only when on), yet the notebook's code hash has it: editing
    a solution reruns the notebooks that run with ``solutions: true``; a copy without solutions hashes without it."""
    from trust_utils import codehash

    cell = ["from trust_utils.exercises import dpo as exercise"]
    root = Path(ex.__file__).resolve().parents[1]
    copy_root = tmp_path / "trust_utils"
    shutil.copytree(root, copy_root, ignore=shutil.ignore_patterns("__pycache__"))
    if SOLUTIONS:
        assert "solutions/dpo.py" in codehash.stage_code(cell)
        before = codehash.stage_code(cell, copy_root)
        (copy_root / "solutions" / "dpo.py").write_text("# edited\n" + (root / "solutions" / "dpo.py").read_text())
        assert codehash.code_hash(codehash.stage_code(cell, copy_root)) != codehash.code_hash(before)
        shutil.rmtree(copy_root / "solutions")
    files = codehash.stage_code(cell, copy_root)
    assert "exercises/dpo.py" in files and not any(f.startswith("solutions/") for f in files)


# ---------------------------------------------------------------- rlhf-trust check
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "trust_utils.cli", "check", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(Path(ex.__file__).resolve().parents[2])})


def test_cli_check_grades_a_file(tmp_path):
    right = tmp_path / "answer.py"
    right.write_text("import torch.nn.functional as F\n\n\ndef dpo_loss(pc, pr, rc, rr, beta):\n"
                     "    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()\n")
    start = time.perf_counter()
    res = _cli("dpo", "--file", str(right))
    print(f"rlhf-trust check dpo --file answer.py took {time.perf_counter() - start:.1f} s (process included)")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "✓ dpo_loss, case 'large beta'" in res.stdout and "✓ 1 of 1 exercises pass" in res.stdout
    assert "dpo_pair_loss: not in" in res.stdout  # selected by notebook: an unanswered exercise is skipped
    wrong = tmp_path / "wrong.py"
    wrong.write_text("import torch.nn.functional as F\n\n\ndef dpo_loss(pc, pr, rc, rr, beta):\n"
                     "    return -F.logsigmoid((pc - rc) - (pr - rr)).mean()\n")
    res = _cli("dpo_loss", "--file", str(wrong))
    assert res.returncode == 1 and "hint:     beta: multiply" in res.stdout and "✗ 0 of 1" in res.stdout
    res = _cli("dpo_pair_loss", "--file", str(right))  # named explicitly: a missing function fails
    assert res.returncode == 1 and "defines no function dpo_pair_loss" in res.stdout
    broken = tmp_path / "broken.py"
    broken.write_text("def dpo_loss(:\n")
    res = _cli("dpo", "--file", str(broken))
    assert res.returncode == 1 and "does not run: SyntaxError" in res.stdout


def test_cli_check_describes_and_rejects_unknown(tmp_path):
    res = _cli("dpo_loss")
    assert res.returncode == 0 and "dpo_loss  (level 1, notebook 13_dpo)" in res.stdout
    assert "def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)" in res.stdout
    res = _cli("nope")
    assert res.returncode == 2 and "no exercise 'nope'" in res.stderr
    res = _cli("dpo", "--file", str(tmp_path / "missing.py"))
    assert res.returncode == 2 and "no such file" in res.stderr


def test_check_all_grades_every_exercise_of_a_file(tmp_path, capsys):
    from trust_utils.exercises.grade import grade, select

    assert select("all")[0] == sorted(ex.ALL_EXERCISES, key=lambda n: (ex.ALL_EXERCISES[n][0], ex.LEVELS[n], n))
    assert select("13_dpo") == select("dpo") == (["dpo_loss", "dpo_pair_loss"], False)
    assert select("dpo_loss") == (["dpo_loss"], True)
    f = tmp_path / "answers.py"
    f.write_text("import torch\nimport torch.nn.functional as F\n\n"
                 "def bradley_terry_loss(c, r):\n    return -F.logsigmoid(c - r).mean()\n\n"
                 "def leaked(t, r):\n    return t in r\n")
    assert grade("all", f) == 1
    out = capsys.readouterr().out
    assert "✓ bradley_terry_loss: all 3 cases pass" in out and "hint:     case: compare lower-cased" in out
    assert "✗ 1 of 2 exercises pass; failing: leaked" in out
