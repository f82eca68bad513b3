"""trust_utils.losses equals TRL 1.12's trainers on a tiny batch; attribution's numbers are unchanged; look-inside."""

from __future__ import annotations

import math
import shutil

import pytest
import torch
import torch.nn.functional as F

from trust_utils import attribution as at
from trust_utils import course, losses

TOL = 1e-5


# ------------------------------------------------------------------------------------------ by hand
def test_sft_loss_by_hand_masks_prompt_and_padding():
    # V = 2, logits 0 everywhere: every token has log-prob log(1/2), so any mask gives log 2 ...
    logits = torch.zeros(1, 4, 2)
    labels = torch.tensor([[-100, -100, 1, 0]])
    assert float(losses.sft_loss(logits, labels)) == pytest.approx(math.log(2))
    # ... make token 3 certain: targets are tokens 2 (log 1/2) and 3 (log 1): mean = log(2) / 2
    logits[0, 2] = torch.tensor([50.0, -50.0])  # position 2 predicts token 3 (= 0)
    assert float(losses.sft_loss(logits, labels)) == pytest.approx(math.log(2) / 2, abs=1e-6)
    # unmasking the prompt adds token 1 (log 1/2): mean of 3 = 2 log 2 / 3
    assert float(losses.sft_loss(logits, torch.tensor([[-100, 1, 1, 0]]))) == pytest.approx(2 * math.log(2) / 3,
                                                                                           abs=1e-6)
    with pytest.raises(ValueError, match="no reply token"):
        losses.sft_loss(logits, torch.full((1, 4), -100))


def test_bt_and_dpo_by_hand():
    assert float(losses.bradley_terry_loss(torch.tensor([1.0]), torch.tensor([1.0]))) == pytest.approx(math.log(2))
    # r_c - r_r = 2: -log sigmoid(2) = log(1 + e^-2)
    assert float(losses.bradley_terry_loss(torch.tensor([3.0]), torch.tensor([1.0]))) == pytest.approx(
        math.log(1 + math.exp(-2)))
    loss, rc, rr = losses.dpo_loss(torch.tensor([-4.0]), torch.tensor([-9.0]), torch.tensor([-6.0]),
                                   torch.tensor([-7.0]), beta=0.5)
    # log-ratios +2 and -2: beta * 4 = 2
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-2)))
    assert float(rc) == pytest.approx(1.0) and float(rr) == pytest.approx(-1.0)


def test_ppo_rewards_and_gae_by_hand():
    lp = torch.tensor([[-1.0, -2.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.5, -1.0, -3.0, -3.0]])
    lens = torch.tensor([1])  # the last real response token is index 1; 2 and 3 are padding
    out = losses.ppo_rewards(lp, ref, torch.tensor([10.0]), lens, kl_coef=0.1, score_offset=0)
    assert out["kl"].tolist() == [[0.5, -1.0, 0.0, 0.0]]  # k1 = logp - ref, zero after the end
    assert torch.allclose(out["rewards"], torch.tensor([[-0.05, 0.1 + 10.0, 0.0, 0.0]]))
    trl = losses.ppo_rewards(lp, ref, torch.tensor([10.0]), lens, kl_coef=0.1)  # TRL: one past the end
    assert torch.allclose(trl["rewards"], torch.tensor([[-0.05, 0.1, 10.0, 0.0]]))
    k3 = losses.kl_penalty(torch.tensor([0.0]), torch.tensor([math.log(2)]), "k3")  # r = 2: (2 - 1) - log 2
    assert float(k3) == pytest.approx(1 - math.log(2))
    adv, ret = losses.gae(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, 0.25]]), gamma=0.9, lam=0.5)
    d1 = 2.0 - 0.25
    d0 = 1.0 + 0.9 * 0.25 - 0.5
    assert torch.allclose(adv, torch.tensor([[d0 + 0.45 * d1, d1]]))
    assert torch.allclose(ret, adv + torch.tensor([[0.5, 0.25]]))


# ------------------------------------------------------------------------------------------ PPO vs TRL's lines
def _trl_ppo_reference(logprobs, ref_logprobs, scores, sequence_lengths, values, new_logprobs, vpred, args):
    """The formula lines of trl/experimental/ppo/ppo_trainer.py (PPOTrainer.train, TRL 1.12), on given tensors."""
    from trl.experimental.ppo.ppo_trainer import INVALID_LOGPROB, masked_mean, masked_whiten

    response_idxs = torch.arange(logprobs.shape[1]).repeat(logprobs.shape[0], 1)
    padding_mask = response_idxs > sequence_lengths.unsqueeze(1)
    logprobs = torch.masked_fill(logprobs, padding_mask, INVALID_LOGPROB)
    ref_logprobs = torch.masked_fill(ref_logprobs, padding_mask, INVALID_LOGPROB)
    sequence_lengths_p1 = sequence_lengths + 1
    padding_mask_p1 = response_idxs > (sequence_lengths_p1.unsqueeze(1))
    values = torch.masked_fill(values, padding_mask_p1, 0)
    logr = ref_logprobs - logprobs
    kl = -logr if args["kl_estimator"] == "k1" else (logr.exp() - 1) - logr
    non_score_reward = -args["kl_coef"] * kl
    rewards = non_score_reward.clone()
    actual_start = torch.arange(rewards.size(0))
    actual_end = torch.where(sequence_lengths_p1 < rewards.size(1), sequence_lengths_p1, sequence_lengths)
    rewards[actual_start, actual_end] += scores
    lastgaelam = 0
    advantages_reversed = []
    gen_length = logprobs.shape[1]
    for t in reversed(range(gen_length)):
        nextvalues = values[:, t + 1] if t < gen_length - 1 else 0.0
        delta = rewards[:, t] + args["gamma"] * nextvalues - values[:, t]
        lastgaelam = delta + args["gamma"] * args["lam"] * lastgaelam
        advantages_reversed.append(lastgaelam)
    advantages = torch.stack(advantages_reversed[::-1], axis=1)
    returns = advantages + values
    advantages = masked_whiten(advantages, ~padding_mask)
    advantages = torch.masked_fill(advantages, padding_mask, 0)
    new_logprobs = torch.masked_fill(new_logprobs, padding_mask, INVALID_LOGPROB)
    vpred = torch.masked_fill(vpred, padding_mask_p1, 0)
    vpredclipped = torch.clamp(vpred, values - args["cliprange_value"], values + args["cliprange_value"])
    vf_losses1 = torch.square(vpred - returns)
    vf_losses2 = torch.square(vpredclipped - returns)
    vf_loss = 0.5 * masked_mean(torch.max(vf_losses1, vf_losses2), ~padding_mask_p1)
    ratio = torch.exp(new_logprobs - logprobs)
    pg_losses = -advantages * ratio
    pg_losses2 = -advantages * torch.clamp(ratio, 1.0 - args["cliprange"], 1.0 + args["cliprange"])
    pg_loss = masked_mean(torch.max(pg_losses, pg_losses2), ~padding_mask)
    return {"kl": kl, "rewards": rewards, "advantages": advantages, "returns": returns, "pg_loss": pg_loss,
            "vf_loss": vf_loss}


@pytest.mark.parametrize("estimator", ["k1", "k3"])
def test_ppo_losses_equal_trl_formula_lines(estimator):
    g = torch.Generator().manual_seed(0)
    B, T = 3, 6
    lp = -torch.rand(B, T, generator=g) * 3
    ref = -torch.rand(B, T, generator=g) * 3
    new = lp + 0.4 * torch.randn(B, T, generator=g)  # ratios both inside and outside [0.8, 1.2]
    values = torch.randn(B, T, generator=g)
    vpred = values + 0.5 * torch.randn(B, T, generator=g)
    scores = torch.tensor([1.5, -0.5, 2.0])
    lens = torch.tensor([2, 5, 3])  # index 5 = T - 1: the score falls back to the last index
    args = dict(kl_coef=0.05, kl_estimator=estimator, gamma=1.0, lam=0.95, cliprange=0.2, cliprange_value=0.2)
    want = _trl_ppo_reference(lp, ref, scores, lens, values, new, vpred, args)

    shaped = losses.ppo_rewards(lp, ref, scores, lens, args["kl_coef"], estimator)
    pad = losses.response_padding_mask(lens, T)
    pad1 = losses.response_padding_mask(lens + 1, T)
    v = torch.masked_fill(values, pad1, 0)
    adv, ret = losses.gae(shaped["rewards"], v, args["gamma"], args["lam"])
    adv = torch.masked_fill(losses.masked_whiten(adv, ~pad), pad, 0)
    old = torch.masked_fill(lp, pad, losses.INVALID_LOGPROB)
    pg, _ = losses.ppo_policy_loss(torch.masked_fill(new, pad, losses.INVALID_LOGPROB), old, adv, ~pad, 0.2)
    vf, _ = losses.ppo_value_loss(torch.masked_fill(vpred, pad1, 0), v, ret, ~pad1, 0.2)
    for name, got in (("kl", shaped["kl"]), ("rewards", shaped["rewards"]), ("advantages", adv), ("returns", ret),
                      ("pg_loss", pg), ("vf_loss", vf)):
        assert torch.allclose(got, want[name], atol=TOL), name


# ------------------------------------------------------------------------------------------ trainers
@pytest.fixture(scope="module")
def run_dir(prepared_run, tmp_path_factory):
    rd = tmp_path_factory.mktemp("losses") / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    return rd


def _kw(rd, cache_dir):
    return dict(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, max_steps=1, batch_size=2, max_length=256,
                n_train=4, bf16="false")


def _perturb(model, seed=1, scale=0.05):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return model


def test_sft_loss_equals_sft_trainer(run_dir, cache_dir):
    from trust_utils.training.sft import SFTStageConfig

    trainer = course.stage_trainer(SFTStageConfig(**_kw(run_dir, cache_dir)), n_train=3)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])  # padded, 3 prompts
    model = trainer.model.eval()
    with torch.no_grad():
        want = float(trainer.compute_loss(model, dict(batch)))
        got = float(losses.sft_loss(model(input_ids=batch["input_ids"],
                                          attention_mask=batch["attention_mask"]).logits, batch["labels"]))
    assert got == pytest.approx(want, abs=TOL)
    assert (batch["labels"] == -100).any() and (batch["labels"] != -100).any()


def test_bt_loss_equals_reward_trainer(run_dir, cache_dir):
    from trust_utils.training.reward import RewardStageConfig

    trainer = course.stage_trainer(RewardStageConfig(**_kw(run_dir, cache_dir), init_from="base"), n_train=3)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    model = _perturb(trainer.model.eval())
    with torch.no_grad():
        want = float(trainer.compute_loss(model, dict(batch)))
        r = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, 0]
        got = float(losses.bradley_terry_loss(r[:3], r[3:]))
    assert got == pytest.approx(want, abs=TOL)
    assert abs(want - math.log(2)) > 1e-4  # the rewards differ: the test can fail on a sign


def test_dpo_loss_equals_dpo_trainer(run_dir, cache_dir):
    from trust_utils.training.dpo import DPOStageConfig

    trainer = course.stage_trainer(DPOStageConfig(**_kw(run_dir, cache_dir), init_from="base"), n_train=3)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    model = _perturb(trainer.model.eval())  # policy != reference, so the log-ratios are not 0
    with torch.no_grad():
        want = float(trainer.compute_loss(model, dict(batch)))
        fwd = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        pol = losses.sequence_logprobs(model(**fwd).logits, batch["input_ids"], batch["completion_mask"])
        ref = losses.sequence_logprobs(trainer.ref_model(**fwd).logits, batch["input_ids"], batch["completion_mask"])
        got, _, _ = losses.dpo_loss(pol[:3], pol[3:], ref[:3], ref[3:], beta=trainer.beta)
    assert float(got) == pytest.approx(want, abs=TOL)
    assert abs(want - math.log(2)) > 1e-4


# ------------------------------------------------------------------------------------------ look inside
def test_look_inside_tokenises_as_the_trainers_and_losses_agree(run_dir, cache_dir):
    from trust_utils.data.prepare import load_prepared
    from trust_utils.training.dpo import DPOStageConfig
    from trust_utils.training.reward import RewardStageConfig
    from trust_utils.training.sft import SFTStageConfig

    kw = _kw(run_dir, cache_dir)
    sft_row = load_prepared(str(run_dir), "sft_train")[0]
    pair = load_prepared(str(run_dir), "pref_train")[0]

    tr = course.stage_trainer(SFTStageConfig(**kw), n_train=1)
    ref_batch = tr.data_collator([tr.train_dataset[0]])
    li = course.look_inside_sft(tr.model.eval(), tr.processing_class, sft_row, 256, trainer=tr)
    assert li.batch["input_ids"].tolist() == ref_batch["input_ids"].tolist()
    assert li.batch["labels"].tolist() == ref_batch["labels"].tolist()
    assert li.loss == pytest.approx(li.trainer_loss, abs=TOL)
    assert list(li.table.columns[:4]) == ["position", "token", "id", "in_loss"]
    assert not li.table["in_loss"].iloc[0] and li.table["in_loss"].iloc[-1]

    tr = course.stage_trainer(RewardStageConfig(**kw, init_from="base"), n_train=1)
    ref_batch = tr.data_collator([tr.train_dataset[0]])
    li = course.look_inside_reward(_perturb(tr.model.eval()), tr.processing_class, pair, 256, trainer=tr)
    assert li.batch["input_ids"].tolist() == ref_batch["input_ids"].tolist()
    assert li.loss == pytest.approx(li.trainer_loss, abs=TOL)
    assert li.extra["margin"] == pytest.approx(li.extra["r_chosen"] - li.extra["r_rejected"])

    tr = course.stage_trainer(DPOStageConfig(**kw, init_from="base"), n_train=1)
    ref_batch = tr.data_collator([tr.train_dataset[0]])
    li = course.look_inside_dpo(_perturb(tr.model.eval()), tr.ref_model, tr.processing_class, pair, tr.beta, 256,
                                trainer=tr)
    for k in ("input_ids", "attention_mask", "completion_mask"):
        assert li.batch[k].tolist() == ref_batch[k].tolist(), k
    assert li.loss == pytest.approx(li.trainer_loss, abs=TOL)
    assert li.extra["reward_chosen"] == pytest.approx(tr.beta * li.extra["logratio_chosen"], abs=1e-6)


def test_stage_trainer_keeps_the_training_log(run_dir, cache_dir):
    from trust_utils.training import config as common
    from trust_utils.training.sft import SFTStageConfig

    cfg = SFTStageConfig(**_kw(run_dir, cache_dir))
    log = cfg.stage_dir() / common.TRAIN_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("step,loss\n1,2.0\n")
    course.stage_trainer(cfg, n_train=1)
    assert log.read_text() == "step,loss\n1,2.0\n"


def test_ppo_rollout_table_is_consistent(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    from trust_utils.models import load_causal_lm, load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir), padding_side="left")
    pol = _perturb(load_causal_lm(str(tiny_model_dir)), scale=0.02)
    ref = load_causal_lm(str(tiny_model_dir))
    rm = AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir), num_labels=1).eval()
    li = course.ppo_rollout(pol, ref, rm, rm, tok, "\n\nHuman: hi there\n\nAssistant:", response_length=6,
                            kl_coef=0.1, gamma=1.0, lam=0.95, seed=0)
    t = li.table
    assert len(t) == 6
    resp = t[t["in_response"]]
    assert resp["kl"].tolist() == pytest.approx((resp["logprob"] - resp["ref_logprob"]).tolist(), abs=1e-6)
    # rewards: -kl_coef * kl per token plus the score once
    assert t["reward"].sum() == pytest.approx(li.extra["score"] - 0.1 * li.extra["kl_sum"], abs=1e-5)
    assert li.loss == pytest.approx(li.extra["score"] - 0.1 * li.extra["kl_sum"], abs=1e-6)
    assert t["return"].tolist() == pytest.approx((t["advantage"] + t["value"]).tolist(), abs=1e-6)


# ------------------------------------------------------------------------------------------ attribution unchanged
def _old_sft_loss(model, tok, ex, max_length, device, add_eos=True):
    ids, n_p = at._encode(tok, ex["prompt"], ex["chosen"], add_eos, max_length, device)
    logits = model(input_ids=ids).logits[0, :-1].float()
    lp = torch.log_softmax(logits, -1).gather(-1, ids[0, 1:, None])[:, 0]
    return -lp[max(n_p - 1, 0):].mean()


def _old_pair_logprobs(model, tok, prompt, replies, add_eos, max_length, device):
    enc = [at._encode(tok, prompt, r, add_eos, max_length, device) for r in replies]
    T = max(ids.shape[1] for ids, _ in enc)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    ids = torch.full((len(enc), T), pad, dtype=torch.long)
    att = torch.zeros((len(enc), T), dtype=torch.long)
    mask = torch.zeros((len(enc), T - 1))
    for k, (x, n_p) in enumerate(enc):
        n = x.shape[1]
        ids[k, :n], att[k, :n] = x[0], 1
        mask[k, max(n_p - 1, 0):n - 1] = 1.0
    logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
    lp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]
    return (lp * mask).sum(1)


def _old_dpo_loss(policy, reference, tok, ex, beta, max_length, device, add_eos=True):
    replies = [ex["chosen"], ex["rejected"]]
    ref = _old_pair_logprobs(reference, tok, ex["prompt"], replies, add_eos, max_length, device)
    pol = _old_pair_logprobs(policy, tok, ex["prompt"], replies, add_eos, max_length, device)
    d = pol - ref
    return -F.logsigmoid(beta * (d[0] - d[1]))


def _old_bt_loss(rm, tok, ex, max_length, device, add_eos=True):
    texts = [ex["prompt"] + r + (tok.eos_token if add_eos and not r.endswith(tok.eos_token) else "")
             for r in (ex["chosen"], ex["rejected"])]
    tok.padding_side = "right"
    enc = tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length,
              add_special_tokens=False)
    r = rm(**enc).logits[:, 0].float()
    return -F.logsigmoid(r[0] - r[1])


def test_attribution_losses_unchanged(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    from trust_utils.models import load_causal_lm, load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir), padding_side="right")
    ref = load_causal_lm(str(tiny_model_dir))
    pol = _perturb(load_causal_lm(str(tiny_model_dir)))
    rm = _perturb(AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir), num_labels=1).eval())
    exs = [{"prompt": "\n\nHuman: hi\n\nAssistant:", "chosen": " hello there friend", "rejected": " go away"},
           {"prompt": "", "chosen": "just a reply", "rejected": "another one, longer than the first"}]
    with torch.no_grad():
        for ex in exs:
            for eos in (True, False):
                assert float(at.sft_loss(pol, tok, ex, 64, "cpu", eos)) == pytest.approx(
                    float(_old_sft_loss(pol, tok, ex, 64, "cpu", eos)), abs=1e-6)
                assert float(at.dpo_loss(pol, ref, tok, ex, 0.1, 64, "cpu", eos)) == pytest.approx(
                    float(_old_dpo_loss(pol, ref, tok, ex, 0.1, 64, "cpu", eos)), abs=1e-6)
                assert float(at.bt_loss(rm, tok, ex, 64, "cpu", eos)) == pytest.approx(
                    float(_old_bt_loss(rm, tok, ex, 64, "cpu", eos)), abs=1e-6)
        assert at.dpo_loss(pol, ref, tok, exs[0], 0.1, 64, "cpu").dim() == 0


def test_look_inside_compares_a_separately_loaded_model_with_the_trainer(run_dir, cache_dir, tiny_model_dir):
    # the notebooks load the trained checkpoint themselves: a model object that is not the trainer's. TRL's
    # SFTTrainer (chunked_nll) patches only its own model's forward, so compute_loss on another object used to fail.
    from trust_utils.data.prepare import load_prepared
    from trust_utils.models import load_causal_lm
    from trust_utils.training.sft import SFTStageConfig

    tr = course.stage_trainer(SFTStageConfig(**_kw(run_dir, cache_dir)), n_train=1)
    other = _perturb(load_causal_lm(str(tiny_model_dir)).eval(), seed=3)
    li = course.look_inside_sft(other, tr.processing_class, load_prepared(str(run_dir), "sft_train")[0], 256,
                                trainer=tr)
    assert li.trainer_loss is not None and li.loss == pytest.approx(li.trainer_loss, abs=TOL)
