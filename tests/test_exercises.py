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
    ("expected_max_toxicity", lambda s: sum(x for p in s for x in p if x is not None)
     / max(1, sum(1 for p in s for x in p if x is not None)), "MAX per prompt"),
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


def test_every_listed_mistake_is_rejected_with_its_own_hint():
    for name in ex.EXERCISES:
        table = ex.exercise_module(name).mistakes()
        assert table, name
        for wrong, hint in table:
            with pytest.raises(AssertionError) as err:
                _check(name)(wrong)
            assert hint in str(err.value), (name, hint)


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
