"""The alignment vertical: KL estimators against an exact KL, the reward model's accuracy and DPO's margin by hand,
the "alignment not established" rule on inline rows, and one run of the stage on the tiny model."""

from __future__ import annotations

import itertools
import math
import shutil

import numpy as np
import pytest

from trust_utils.results import result_row
from trust_utils.verticals import alignment as A
from trust_utils.verticals.alignment_status import _method_name, _reference_of, alignment_status
from trust_utils.verticals.kl import exact_kl, sequence_kl, token_kl

# ------------------------------------------------------------------------------------ KL on a tiny vocabulary
# Two-token sequences over the vocabulary {0, 1, 2}; p and q are autoregressive: a first-token distribution and a
# second-token distribution given the first.
P1 = [0.5, 0.3, 0.2]
P2 = {0: [0.6, 0.2, 0.2], 1: [0.1, 0.8, 0.1], 2: [1 / 3, 1 / 3, 1 / 3]}
Q1 = [0.2, 0.4, 0.4]
Q2 = {0: [0.3, 0.3, 0.4], 1: [0.5, 0.25, 0.25], 2: [0.7, 0.2, 0.1]}
SEQS = list(itertools.product(range(3), repeat=2))


def _token_logps(first, second, y):
    return [math.log(first[y[0]]), math.log(second[y[0]][y[1]])]


def test_kl_estimators_are_unbiased_for_the_exact_kl_of_all_nine_sequences():
    p = {y: P1[y[0]] * P2[y[0]][y[1]] for y in SEQS}
    q = {y: Q1[y[0]] * Q2[y[0]][y[1]] for y in SEQS}
    exact = exact_kl(p, q)
    tok_p = [_token_logps(P1, P2, y) for y in SEQS]
    tok_q = [_token_logps(Q1, Q2, y) for y in SEQS]
    seq_p, seq_q = [sum(t) for t in tok_p], [sum(t) for t in tok_q]
    w = np.array([p[y] for y in SEQS])
    for est in ("k1", "k3"):  # the expectation under p of each per-sample estimate is the exact KL
        assert float(w @ sequence_kl(seq_p, seq_q, est)) == pytest.approx(exact, abs=1e-12), est
        assert float(w @ token_kl(tok_p, tok_q, est)) == pytest.approx(exact, abs=1e-12), est
    # k1 of the token log-probs is the sequence log-ratio; k3 is never negative per sample, k1 can be
    assert token_kl(tok_p, tok_q, "k1") == pytest.approx(sequence_kl(seq_p, seq_q, "k1"))
    assert (sequence_kl(seq_p, seq_q, "k3") >= 0).all() and (token_kl(tok_p, tok_q, "k3") >= 0).all()
    assert (sequence_kl(seq_p, seq_q, "k1") < 0).any()
    # Monte-Carlo: the mean over samples drawn from p lands within 4 standard errors of the exact value
    rng = np.random.default_rng(0)
    draws = rng.choice(len(SEQS), size=20000, p=w)
    for est in ("k1", "k3"):
        x = sequence_kl(seq_p, seq_q, est)[draws]
        assert abs(x.mean() - exact) < 4 * x.std() / math.sqrt(len(x)), est


def test_exact_kl_by_hand_and_its_errors():
    # independent tokens, p = (1/2, 1/4, 1/4) and q uniform: per token 1/2 ln(3/2) + 1/2 ln(3/4) = 1/2 ln(9/8); two
    # tokens: ln(9/8)
    per = [0.5, 0.25, 0.25]
    p = {y: per[y[0]] * per[y[1]] for y in SEQS}
    q = {y: 1 / 9 for y in SEQS}
    assert exact_kl(p, q) == pytest.approx(math.log(9 / 8), abs=1e-12)
    assert exact_kl(p, p) == 0
    with pytest.raises(ValueError, match="infinite"):
        exact_kl({"a": 0.5, "b": 0.5}, {"a": 1.0})
    with pytest.raises(ValueError, match="sums to"):
        exact_kl({"a": 0.5}, {"a": 1.0})
    with pytest.raises(ValueError, match="k1"):
        sequence_kl([0.0], [0.0], "k2")
    with pytest.raises(ValueError, match="policy and"):
        sequence_kl([0.0, 1.0], [0.0], "k1")


# ------------------------------------------------------------------------------------ objectives by hand
PAIRS = [{"id": f"p{i}", "prompt": f"\n\nHuman: q{i}\n\nAssistant:", "chosen": " yes", "rejected": " no"}
         for i in range(4)]


def test_reward_model_accuracy_by_hand():
    # chosen above, below, tied, above: 1 + 0 + 0.5 + 1 = 2.5 of 4
    rewards = {"chosen": [1.0, 0.2, 3.0, -1.0], "rejected": [0.5, 0.9, 3.0, -2.0]}
    assert A.pairwise_accuracy(rewards["chosen"], rewards["rejected"]) == [1.0, 0.0, 0.5, 1.0]
    cfg = A.AlignmentConfig(run_dir="unused", n_boot=50)
    recs = A.rm_records(PAIRS, rewards)
    assert [r["values"]["degenerate_loglik"] for r in recs] == [0.0, 0.0, 1.0, 0.0]  # the tie cannot rank
    (row,) = A.rows_of(cfg, "rm", recs, None)
    assert (row["metric"], row["checkpoint"], row["value"], row["n"]) == ("rm_accuracy", "rm", 0.625, 4)
    assert row["ci_low"] <= 0.625 <= row["ci_high"] and row["higher_is_better"]
    assert math.isnan(A.pair_outcome(float("nan"), 1.0))


def test_dpo_implicit_margin_by_hand():
    # beta 0.1: chosen gained 2 nats over the reference, rejected lost 1: 0.1 * (2 - (-1)) = 0.3
    assert A.implicit_margin(0.1, -10.0, -12.0, -8.0, -7.0) == pytest.approx(0.3)
    assert A.implicit_margin(0.1, -10.0, -10.0, -8.0, -8.0) == 0.0  # the policy is its reference
    assert A.pair_outcome(0.0, 0.0) == 0.5


def test_checkpoint_names():
    assert [_method_name(n) for n in ("dpo@12-s1", "dpo", "ppo-s2", "sft@4", "base")] == ["dpo", "dpo", "ppo", "sft",
                                                                                        "base"]
    assert _reference_of("dpo@12-s1") == "sft-s1" and _reference_of("ppo") == "sft" and _reference_of("ppo@4-s3") == "sft-s3"
    assert _reference_of("sft") == "base" and _reference_of("sft-s1") == "base"
    assert _reference_of("base") == "" and _reference_of("mine") == ""


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="kl_estimator"):
        A.AlignmentConfig(run_dir="x", kl_estimator="k2")
    with pytest.raises(ValueError, match="prompt_format must be 'raw'"):
        A.AlignmentConfig(run_dir="x", prompt_format="chat")
    with pytest.raises(ValueError, match="dpo_beta"):
        A.AlignmentConfig(run_dir="x", dpo_beta=-1.0)


def test_dpo_beta_from_the_stage_or_the_parameter(tmp_path):
    from trust_utils.run import Run
    from trust_utils.utils import write_json

    run = Run.open(tmp_path)
    assert A.dpo_beta(run, A.AlignmentConfig(run_dir=str(tmp_path))) is None  # no DPO stage: metrics left out
    assert A.dpo_beta(run, A.AlignmentConfig(run_dir=str(tmp_path), dpo_beta=0.3)) == 0.3
    write_json(tmp_path / "dpo" / "model" / ".train_config.json", {"config": {"beta": 0.05}})
    assert A.dpo_beta(run, A.AlignmentConfig(run_dir=str(tmp_path))) == 0.05
    write_json(tmp_path / "dpo" / "model" / ".train_config.json", {"config": {}})
    with pytest.raises(ValueError, match="no positive beta"):
        A.dpo_beta(run, A.AlignmentConfig(run_dir=str(tmp_path)))


# ------------------------------------------------------------------------------------ the rule
def _row(metric, checkpoint, value, lo, hi):
    return result_row("alignment", metric, "default", checkpoint, value, 20, (lo, hi))


def test_alignment_status_on_inline_rows():
    rows = [
        _row("rm_accuracy", "rm", 0.7, 0.55, 0.8),                      # above chance
        _row("sft_nll", "base", 2.6, 2.5, 2.7), _row("sft_nll", "sft", 2.1, 2.0, 2.2),  # below base: established
        _row("sft_nll", "sft-s1", 2.45, 2.3, 2.55),                     # overlaps base: not established
        _row("dpo_reward_accuracy", "dpo", 0.6, 0.45, 0.7), _row("dpo_reward_margin", "dpo", 0.2, 0.1, 0.3),
        _row("dpo_reward_accuracy", "dpo@12", 0.7, 0.6, 0.8), _row("dpo_reward_margin", "dpo@12", 0.3, 0.1, 0.5),
        _row("mean_reward", "sft", 0.1, 0.0, 0.3), _row("mean_reward", "ppo", 0.3, 0.1, 0.5),  # overlaps SFT's
        _row("win_rate_vs_sft", "ppo", 0.7, 0.6, 0.8),
        _row("mean_reward", "ppo@8", 0.6, 0.4, 0.8), _row("win_rate_vs_sft", "ppo@8", 0.7, 0.6, 0.8),
        _row("mean_reward", "sft-s1", 0.5, 0.45, 0.55),                 # ppo-s1 is measured against sft-s1's
        _row("mean_reward", "ppo-s1", 0.6, 0.4, 0.8), _row("win_rate_vs_sft", "ppo-s1", 0.7, 0.6, 0.8),
        _row("mean_reward", "mine", 1.0, 0.9, 1.1),
        _row("kl_from_base", "base", 0.0, 0.0, 0.0),
        # the paired differences decide where they exist: sft-s2's intervals overlap base's, yet its NLL fell on
        # every pair; ppo-s2's mean reward sits above sft-s2's, yet pair by pair the gain's interval holds 0
        _row("sft_nll", "sft-s2", 2.45, 2.3, 2.55), _row("sft_nll_change", "sft-s2", -0.15, -0.2, -0.1),
        _row("mean_reward", "sft-s2", 0.1, 0.0, 0.2), _row("mean_reward", "ppo-s2", 0.5, 0.4, 0.6),
        _row("mean_reward_change", "ppo-s2", 0.4, -0.1, 0.9), _row("win_rate_vs_sft", "ppo-s2", 0.7, 0.6, 0.8),
    ]
    st = alignment_status(rows)
    assert "base" not in st
    assert st["rm"][0] == "established" and "above chance 0.5" in st["rm"][1]
    assert st["sft"][0] == "established" and "below base's" in st["sft"][1]
    assert st["sft-s1"][0] == "not established" and "not below base's" in st["sft-s1"][1]
    assert st["dpo"] == ("not established", "dpo_reward_accuracy [0.45, 0.7] not above chance 0.5")
    assert st["dpo@12"][0] == "established"
    assert st["ppo"][0] == "not established" and "mean_reward [0.1, 0.5] not above sft's [0, 0.3]" in st["ppo"][1]
    assert "win_rate_vs_sft" not in st["ppo"][1]  # only the failing objective is named
    assert st["ppo@8"][0] == "established"
    assert st["ppo-s1"][0] == "not established" and "sft-s1's" in st["ppo-s1"][1]
    assert st["mine"][0] == "not established" and "no objective" in st["mine"][1]
    assert st["sft-s2"] == ("established", "sft_nll change from base [-0.2, -0.1] (paired) below 0")
    assert st["ppo-s2"] == ("not established", "mean_reward change from sft-s2 [-0.1, 0.9] (paired) not above 0")
    # a missing interval is not established; a method's missing row too
    nan_row = _row("rm_accuracy", "rm", 0.9, math.nan, math.nan)
    assert alignment_status([nan_row])["rm"] == ("not established", "no rm_accuracy interval")
    assert alignment_status([_row("dpo_reward_margin", "dpo", 0.2, 0.1, 0.3)])["dpo"][0] == "not established"
    with pytest.raises(ValueError, match="two rows"):
        alignment_status([nan_row, nan_row])


# ------------------------------------------------------------------------------------ the stage on the tiny model
def _perturbed(src, dst, seed):
    import torch
    from transformers import AutoModelForCausalLM

    shutil.copytree(src, dst)
    model = AutoModelForCausalLM.from_pretrained(src)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=g))
    model.save_pretrained(dst)


def _reward_model(src, dst):
    import torch
    from transformers import AutoConfig, AutoTokenizer, GPTNeoXForSequenceClassification

    cfg = AutoConfig.from_pretrained(src)
    cfg.num_labels = 1
    torch.manual_seed(1)
    GPTNeoXForSequenceClassification(cfg).save_pretrained(dst)
    AutoTokenizer.from_pretrained(src).save_pretrained(dst)


def test_stage_on_the_tiny_model(tmp_path, tiny_model_dir, cache_dir, prepared_run):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trust_utils.utils import read_jsonl, write_json

    run_dir = tmp_path / "run"
    shutil.copytree(prepared_run / "data", run_dir / "data")
    for i, name in enumerate(("sft", "dpo", "ppo"), 1):
        _perturbed(tiny_model_dir, run_dir / name / "model", seed=i)
    write_json(run_dir / "dpo" / "model" / ".train_config.json", {"config": {"beta": 0.2}})
    _reward_model(tiny_model_dir, run_dir / "reward_model" / "model")
    cfg = A.AlignmentConfig(run_dir=str(run_dir), model="tiny", cache_dir=str(cache_dir), max_examples=5,
                            max_new_tokens=6, n_boot=50, threads=1, dtype="float32", progress=False)
    summary = A.run(cfg)
    assert summary["checkpoints"] == ["base", "sft", "ppo", "dpo"] and summary["reward_model"]
    assert summary["dpo_beta"] == 0.2 and summary["unit_value_mismatches"] == []
    import pandas as pd

    res = pd.read_csv(run_dir / "results" / "alignment.csv")
    v = {(r.checkpoint, r.metric): r for r in res.itertuples()}
    assert v[("base", "kl_from_base")].value == 0 and v[("base", "kl_from_reference")].value == 0
    assert v[("sft", "kl_from_reference")].value == v[("sft", "kl_from_base")].value  # SFT's reference is base
    assert {("dpo", "dpo_reward_accuracy"), ("dpo", "dpo_reward_margin"), ("rm", "rm_accuracy")} <= set(v)
    assert ("sft", "win_rate_vs_sft") not in v and ("ppo", "win_rate_vs_sft") in v
    assert ("ppo", "dpo_reward_margin") not in v
    # the paired differences: same units, so the mean of the differences is the difference of the means
    assert v[("sft", "sft_nll_change")].value == pytest.approx(v[("sft", "sft_nll")].value - v[("base", "sft_nll")].value)
    assert v[("ppo", "mean_reward_change")].value == pytest.approx(
        v[("ppo", "mean_reward")].value - v[("sft", "mean_reward")].value)
    assert not {("base", "sft_nll_change"), ("dpo", "sft_nll_change"), ("dpo", "mean_reward_change"),
                ("sft", "mean_reward_change")} & set(v)
    assert set(summary["status"]) == {"sft", "ppo", "dpo", "rm"}
    for key in (("ppo", "kl_from_reference"), ("dpo", "kl_from_base")):
        assert math.isfinite(v[key].value) and v[key].ci_low <= v[key].value <= v[key].ci_high and v[key].n == 5

    # one record's k1 KL recomputed with plain forwards: log p_sft - log p_base of the sample's tokens after the
    # prompt, tokenised with the prompt as the engine does (lm-eval), EOS included when the sample stopped early
    rec = next(iter(read_jsonl(run_dir / "alignment" / "records" / "sft.jsonl")))
    tok = AutoTokenizer.from_pretrained(run_dir / "sft" / "model")
    text = rec["samples"][0]
    stopped = len(tok(text, add_special_tokens=False)["input_ids"]) < cfg.max_new_tokens
    ctx = tok(rec["prompt"])["input_ids"]
    cont = tok(rec["prompt"] + text + (tok.eos_token if stopped else ""))["input_ids"][len(ctx):]
    assert (cont[-1] == tok.eos_token_id) == stopped

    def logp(path):
        m = AutoModelForCausalLM.from_pretrained(path).eval()
        with torch.no_grad():
            lp = torch.log_softmax(m(torch.tensor([ctx + cont])).logits.float(), -1)[0]
        return float(sum(lp[len(ctx) - 1 + t, c] for t, c in enumerate(cont)))

    expected = logp(run_dir / "sft" / "model") - logp(tiny_model_dir)
    assert rec["values"]["kl_from_base"] == pytest.approx(expected, abs=1e-3)

    again = A.run(cfg)  # everything from the generation cache
    assert set(again["model_calls"].values()) == {0}
    assert pd.read_csv(run_dir / "results" / "alignment.csv")["value"].tolist() == res["value"].tolist()
