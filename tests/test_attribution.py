"""Data attribution (DataInf): the iHVP closed form, SVD LoRA-isation, the sign convention, and the notebook."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import torch

from trust_utils import attribution as at
from trust_utils import attribution_losses as al
from trust_utils import datainf as di


def test_datainf_ihvp_matches_hand_computation_and_sherman_morrison():
    g = torch.tensor([[1.0, 0.0], [1.0, 2.0]], dtype=torch.float64)
    v = torch.tensor([1.0, 1.0], dtype=torch.float64)
    h, lam = di.datainf_ihvp({"l": g}, {"l": v}, damping=0.1)
    lam_hand = 0.1 * (1 + 0 + 1 + 4) / 4  # 0.15
    assert lam["l"] == pytest.approx(lam_hand)
    # by hand: (1/(n lam)) sum_i [v - <v,g_i>/(lam + |g_i|^2) g_i]
    t1 = v - (1.0 / (lam_hand + 1.0)) * g[0]
    t2 = v - (3.0 / (lam_hand + 5.0)) * g[1]
    assert torch.allclose(h["l"], (t1 + t2) / (2 * lam_hand))
    scores = di.influence_scores({"l": g}, h)
    assert torch.allclose(scores, -(g @ h["l"]))
    # a single training gradient: DataInf is exact, (g g^T + lam I)^-1 v (Sherman-Morrison)
    g1 = torch.tensor([[0.3, -1.2, 2.0]], dtype=torch.float64)
    v1 = torch.tensor([0.5, 1.0, -0.7], dtype=torch.float64)
    h1, lam1 = di.datainf_ihvp({"l": g1}, {"l": v1}, damping=0.1)
    exact = torch.linalg.solve(g1.T @ g1 + lam1["l"] * torch.eye(3, dtype=torch.float64), v1)
    assert torch.allclose(h1["l"], exact)


def test_normalised_scores():
    out = di.normalise_scores([2.0, -4.0, 1.0, -1.0, 0.0])
    assert list(out) == [1.0, -1.0, 0.5, -0.25, 0.0]


def test_svd_lora_reproduces_low_rank_delta_and_projected_grads_match_autograd():
    torch.manual_seed(0)
    b, a = torch.randn(5, 1, dtype=torch.float64), torch.randn(1, 3, dtype=torch.float64)
    delta = b @ a
    A, B = di.lora_from_delta(delta, rank=2)
    assert A.shape == (2, 3) and B.shape == (5, 2)
    assert torch.allclose(B @ A, delta, atol=1e-12)
    A1, B1 = di.lora_from_delta(delta, rank=1)
    assert torch.allclose(B1 @ A1, delta, atol=1e-12)
    # gradient projection vs autograd on W = W_ref + B A
    W_ref = torch.randn(5, 3, dtype=torch.float64)
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    A_ = A.clone().requires_grad_(True)
    B_ = B.clone().requires_grad_(True)
    loss = ((x @ (W_ref + B_ @ A_).T - y) ** 2).sum()
    loss.backward()
    W = (W_ref + B @ A).requires_grad_(True)
    ((x @ W.T - y) ** 2).sum().backward()
    gA, gB = di.project_grad(W.grad, A, B)
    assert torch.allclose(gA, A_.grad) and torch.allclose(gB, B_.grad)


def test_identical_example_has_negative_sft_influence(tiny_model_dir):
    """Up-weighting the test example itself lowers the test loss: Koh & Liang sign gives a negative score."""
    from trust_utils.models import load_causal_lm, load_tokenizer

    torch.manual_seed(0)
    model = load_causal_lm(str(tiny_model_dir))
    tok = load_tokenizer(str(tiny_model_dir), padding_side="right")
    ref = {k: v - 0.02 * torch.randn_like(v) for k, v in model.state_dict().items()}  # a fake "pre-SFT" model
    layers = di.select_linear_layers(model, 1)
    assert layers and all(".layers.1." in n for n in layers)
    view = di.LoraView(model, ref, layers, rank=4)
    train = [{"prompt": f"\n\nHuman: question {i}?\n\nAssistant:", "chosen": f" answer number {i} is here",
              "rejected": "no"} for i in range(6)]
    loss = lambda ex: al.sft_loss(model, tok, ex, 64, "cpu", True)  # noqa: E731
    res = di.attribute(view, loss, loss, train, [train[3]], damping=0.1)
    assert res["scores"][3] < 0
    assert res["normalised"].min() >= -1 and res["normalised"].max() <= 1


def test_dpo_and_bt_losses_are_finite(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    from trust_utils.models import load_causal_lm, load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir), padding_side="right")
    pol = load_causal_lm(str(tiny_model_dir))
    ex = {"prompt": "\n\nHuman: hi\n\nAssistant:", "chosen": " hello there", "rejected": " go away"}
    # policy == reference: the DPO margin is 0 and the loss log 2
    assert float(al.dpo_loss(pol, pol, tok, ex, 0.1, 64, "cpu").detach()) == pytest.approx(0.6931, abs=1e-4)
    rm = AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir), num_labels=1).eval()
    assert torch.isfinite(al.bt_loss(rm, tok, ex, 64, "cpu"))


@pytest.mark.slow
def test_notebook_runs_on_tiny_after_sft(prepared_run, cache_dir, tmp_path):
    from conftest import run_notebook

    from trust_utils.training.sft import SFTStageConfig
    from trust_utils.training.sft import run as sft_run

    rd = tmp_path / "run"
    shutil.copytree(prepared_run / "data", rd / "data")
    sft_run(SFTStageConfig(run_dir=str(rd), cache_dir=str(cache_dir), threads=1, max_steps=2, batch_size=4,
                           learning_rate=1e-3, max_length=256, logging_steps=1, save_steps=50, n_eval=2,
                           n_samples=1, sample_max_new_tokens=4, n_train=16))
    t0 = time.perf_counter()
    run_notebook("30_attribution.ipynb", tmp_path, cache_dir=str(cache_dir), threads=1, device="cpu",
                 n_train=12, n_test=4, n_layers=1, max_length=128)
    elapsed = time.perf_counter() - t0
    out = json.loads((rd / "attribution" / "outputs.json").read_text())["outputs"]
    assert set(out["stages"]) == {"sft"} and set(out["skipped"]) == {"dpo", "rm"}
    assert "pref_test" in out["stages"]["sft"]["test_source"]  # no toxicity records in this run
    df = at.load_scores(str(rd), "sft")
    assert len(df) == 12 and df["score"].notna().all() and (df["score"] != 0).any()
    assert elapsed < 60


def test_batched_pair_logprobs_match_single_sequences(tiny_model_dir):
    from trust_utils.models import load_causal_lm, load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir), padding_side="right")
    m = load_causal_lm(str(tiny_model_dir))
    prompt, replies = "\n\nHuman: hi\n\nAssistant:", [" hello there friend", " no"]
    with torch.no_grad():
        batched = al.pair_reply_logprobs(m, tok, prompt, replies, True, 64, "cpu")
        for k, r in enumerate(replies):
            ids, n_p = al._encode(tok, prompt, r, True, 64, "cpu")
            assert float(batched[k]) == pytest.approx(float(al.reply_logprobs(m, ids, n_p).sum()), abs=1e-4)


# ------------------------------------------------------------------------------------------ module layout
def test_the_attribution_math_imports_no_display_or_orchestration_code():
    """DataInf and the per-example losses are value code: no figure, style, notebook or analysis module in their
    import closure (the figures live in attribution_plots)."""
    from trust_utils import codehash

    closure = codehash.module_closure(["trust_utils.datainf", "trust_utils.attribution_losses"])
    assert {"trust_utils.datainf", "trust_utils.attribution_losses", "trust_utils.losses"} <= closure
    banned = ("style", "plots", "notebook", "analysis", "pipeline", "profiles", "cli", "course")
    assert not {m for m in closure if m.rsplit(".", 1)[-1] in banned or m.endswith("_plots")}, closure
    assert "trust_utils.style" not in codehash.imports_in(
        __import__("ast").parse(open(at.__file__, encoding="utf-8").read()), "trust_utils.attribution")


def test_the_stage_module_keeps_the_names_other_code_reads():
    """stages.py names ``trust_utils.attribution:AttributionConfig``; test_losses reads the losses from the stage."""
    assert at.AttributionConfig.__module__ == "trust_utils.attribution"
    assert (at._encode, at.sft_loss, at.dpo_loss, at.bt_loss) == (al._encode, al.sft_loss, al.dpo_loss, al.bt_loss)
    assert set(at.STAGE_MODELS).isdisjoint(at.NO_ATTRIBUTION)


def test_score_histograms_draw_one_panel_per_stage():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from trust_utils.attribution_plots import score_histograms

    stages = list(at.STAGE_MODELS)[:2]
    df = pd.DataFrame({"subset": ["helpful", "harmless", "helpful"], "normalised": [-1.0, 0.5, 1.0]})
    fig = score_histograms({s: df for s in stages})
    assert len(fig.axes) == len(stages) and all(ax.patches for ax in fig.axes)
    assert len(score_histograms({}).axes) == 1  # no stage attributed: one empty panel with a note
    plt.close("all")
