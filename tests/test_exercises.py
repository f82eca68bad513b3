"""Every check accepts the reference solution, rejects typical wrong answers with their hint, and reports stubs."""

from __future__ import annotations

import importlib
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from trust_utils import exercises as ex


def _check(name):
    return getattr(ex.exercise_module(name), f"check_{name}")


def _reference(name):
    return getattr(importlib.import_module(f"trust_utils.solutions.{ex.EXERCISES[name][1]}"), name)


@pytest.mark.parametrize("name", sorted(ex.EXERCISES))
def test_check_accepts_reference(name, capsys):
    res = _check(name)(_reference(name))
    assert res.passed and "✓" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(ex.EXERCISES))
def test_stub_is_reported_not_raised(name):
    res = _check(name)(getattr(ex.exercise_module(name), name))
    assert not res.passed and "not implemented yet" in repr(res) and "solutions=True" in repr(res)


def test_one_exercise_module_per_notebook_each_with_its_own_reference():
    from trust_utils.paths import notebooks_dir

    for name, (nb, mod) in ex.EXERCISES.items():
        m = ex.exercise_module(name)
        assert callable(getattr(m, name)) and callable(getattr(m, f"check_{name}")) and callable(m.solution_or)
        assert m.reference.__name__ == f"trust_utils.solutions.{mod}" and callable(getattr(m.reference, name))
        assert f"import {mod} as exercise" in (notebooks_dir() / f"{nb}.py").read_text(encoding="utf-8"), nb
    with pytest.raises(ValueError, match="unknown exercise 'nope'"):
        ex.exercise_module("nope")


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


@pytest.mark.parametrize("name", sorted(ex.EXERCISES))
def test_each_listed_mistake_triggers_its_own_hint_and_no_other(name):
    table = ex.exercise_module(name).mistakes()
    assert table, name
    assert len({h for _, h in table}) == len(table), f"{name}: two mistakes share a hint"
    for wrong, hint in table:
        with pytest.raises(AssertionError) as err:
            _check(name)(wrong)
        assert _hints(str(err.value)) == [hint], (name, hint)


def test_a_mistake_that_only_agrees_on_the_failing_case_gives_no_hint():
    # "disagree" -> "agree" is what the substring mistake (and others) answer on that case, but on the other cases
    # this parser answers right: it is not that mistake, and the old per-case hints named 2-4 wrong ones
    ref = _reference("parse_agreement")

    def parser(text):
        return "agree" if text == "I disagree with this statement." else ref(text)

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
    assert _reference("false_negative_rate")([]) != _reference("false_negative_rate")([])  # NaN, the reference's
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
        _check("mc2_score")(lambda ll, lab: _reference("mc2_score")(ll, lab) + (1e-3 if ll[0] < -100 else 0.0))


# ---------------------------------------------------------------- what a notebook shows
def test_a_failed_check_renders_as_its_message_alone():
    with pytest.raises(ex.CheckFailed) as err:
        _check("dpo_loss")(lambda pc, pr, rc, rr, b: F.logsigmoid(b * ((pc - rc) - (pr - rr))).mean())
    lines = err.value._render_traceback_()
    assert lines == str(err.value).splitlines() and lines[0].startswith("✗ dpo_loss, case")
    assert isinstance(err.value, AssertionError)


def test_a_passing_check_is_shown_once(capsys):
    res = _check("dpo_loss")(_reference("dpo_loss"))
    assert capsys.readouterr().out.count("✓ dpo_loss") == 1
    assert res._ipython_display_() is None and repr(res).startswith("✓ dpo_loss")


def test_in_a_kernel_a_check_prints_once_and_a_failure_shows_no_traceback(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import torch.nn.functional as F\nfrom trust_utils.exercises import dpo as exercise\n"
        "exercise.check_dpo_loss(exercise.reference.dpo_loss)"),
        nbformat.v4.new_code_cell(
            "exercise.check_dpo_loss(lambda pc, pr, rc, rr, b: F.logsigmoid(b * ((pc - rc) - (pr - rr))).mean())")]
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120).execute(cwd=str(tmp_path))
    ok, failed = nb.cells[0].outputs, nb.cells[1].outputs
    assert [o["output_type"] for o in ok] == ["stream"] and ok[0]["text"].count("✓ dpo_loss") == 1
    assert [o["output_type"] for o in failed] == ["error"]
    tb = failed[0]["traceback"]
    assert tb[0].startswith("✗ dpo_loss, case") and any("hint:" in line and "the minus" in line for line in tb)
    assert not any("Traceback" in line or "run_check" in line or "File " in line for line in tb), tb


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
