"""The DPO look-inside's per-token table (`trust_utils.course.dpo_token_table`, `look_inside_dpo`): one row per reply
token, whose sums are the per-side sums of the loss and whose loss is the trainer's."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from trust_utils import course

TOL = 1e-5


def test_table_by_hand():
    # chosen: prompt "P", reply "a b"; rejected: a 2-token prompt "P q" (mask 0 at position 1), reply "d".
    # entry t - 1 of the log-probs is token t's; position 0 is never in the loss even where the mask says 1
    t = course.dpo_token_table(
        tokens=[["P", "a", "b"], ["P", "q", "d"]], ids=[[5, 6, 7], [5, 8, 9]],
        completion_mask=[[1, 1, 1], [0, 0, 1]],
        logp_policy=[[-1.0, -2.0], [-0.7, -3.0]], logp_ref=[[-1.5, -1.0], [-0.2, -2.0]])
    assert list(t.columns) == list(course.DPO_TABLE_COLUMNS)
    assert t[["side", "position", "token", "id"]].values.tolist() == [
        ["chosen", 1, "a", 6], ["chosen", 2, "b", 7], ["rejected", 2, "d", 9]]
    # a: -1 - (-1.5) = 0.5; b: -2 - (-1) = -1, running 0.5 - 1 = -0.5; d: -3 - (-2) = -1
    assert t["logratio"].tolist() == pytest.approx([0.5, -1.0, -1.0])
    assert t["logratio_cumsum"].tolist() == pytest.approx([0.5, -0.5, -1.0])
    assert t["logp_policy"].tolist() == [-1.0, -2.0, -3.0] and t["logp_ref"].tolist() == [-1.5, -1.0, -2.0]


def test_empty_reply_gives_no_rows():
    t = course.dpo_token_table([["P"], ["P", "x"]], [[1], [1, 2]], [[0], [0, 0]], [[], [-1.0]], [[], [-1.0]])
    assert len(t) == 0 and list(t.columns) == list(course.DPO_TABLE_COLUMNS)


@pytest.fixture(scope="module")
def run_dir(prepared_run, tmp_path_factory):
    rd = tmp_path_factory.mktemp("dpo-table") / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    return rd


def test_look_inside_dpo_table_sums_and_loss_equal_the_trainers(run_dir, cache_dir):
    from trust_utils.data.prepare import load_prepared
    from trust_utils.losses import sequence_logprobs
    from trust_utils.training.dpo import DPOStageConfig

    cfg = DPOStageConfig(run_dir=str(run_dir), cache_dir=str(cache_dir), threads=1, max_steps=1, batch_size=2,
                         max_length=256, n_train=4, bf16="false", init_from="base")
    tr = course.stage_trainer(cfg, n_train=1)
    policy = tr.model.eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a policy that differs from its reference, so the log-ratios are not all 0
        for p in policy.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    pair = load_prepared(str(run_dir), "pref_train")[0]
    li = course.look_inside_dpo(policy, tr.ref_model, tr.processing_class, pair, tr.beta, 256, trainer=tr)
    t = li.table
    b = li.batch
    n_reply = [int(b["completion_mask"][k, 1:].sum()) for k in (0, 1)]
    assert [int((t["side"] == s).sum()) for s in ("chosen", "rejected")] == n_reply  # one row per reply token
    with torch.no_grad():
        fwd = {"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]}
        pol = sequence_logprobs(policy(**fwd).logits, b["input_ids"], b["completion_mask"])
        ref = sequence_logprobs(tr.ref_model(**fwd).logits, b["input_ids"], b["completion_mask"])
    for k, side in enumerate(("chosen", "rejected")):
        rows = t[t["side"] == side]
        assert rows["logp_policy"].sum() == pytest.approx(float(pol[k]), abs=1e-3)
        assert rows["logp_ref"].sum() == pytest.approx(float(ref[k]), abs=1e-3)
        assert rows["logratio_cumsum"].iloc[-1] == pytest.approx(li.extra[f"logratio_{side}"], abs=1e-3)
        assert li.extra[f"logp_policy_{side}"] == pytest.approx(float(pol[k]), abs=TOL)
        assert rows["token"].tolist() == [tr.processing_class.decode([i]) for i in rows["id"]]
    side_sum = t.groupby("side")["logratio"].sum()
    margin = tr.beta * (side_sum["chosen"] - side_sum["rejected"])
    assert abs(margin) > 1e-4  # the perturbed policy moved: the check below is not log 2 on both sides
    from_table = math.log1p(math.exp(-margin))
    assert from_table == pytest.approx(li.trainer_loss, abs=1e-4)
    assert li.loss == pytest.approx(li.trainer_loss, abs=TOL)
