"""Decoding settings of the engine: stop strings with beams, stop_at_eos, top_k (the released code's settings)."""

import pytest
import torch

from trust_utils.generation import DecodingConfig, Engine, cut_at_stop

PROMPTS = ["Hello there", "The quick brown fox jumps over the lazy", "a", "Shut up and listen, you stupid idiot who",
           "You are a helpful assistant. Please answer"]
# With the tiny model these stop strings occur in some beams of a prompt and not in others (" " in most).
STOPS = [(" ",), ("e",), ("a",), ("t",)]


@pytest.fixture
def engine(tiny_model_dir):
    e = Engine(str(tiny_model_dir), device="cpu", batch_size=4, cache_dir=None, progress=False)
    yield e
    e.close()


@pytest.mark.parametrize("sample", [False, True], ids=["beam_search", "beam_sampling"])
def test_beams_with_stop_strings_equal_full_beams_cut_afterwards(engine, sample):
    """HF reorders beams every step: a per-row stop flag used to end beams that never produced a stop string."""
    kw = dict(max_new_tokens=20, num_beams=3, num_return_sequences=3, do_sample=sample, temperature=0.7)
    free = engine.generate(PROMPTS, DecodingConfig(**kw), seed=0)
    for stops in STOPS:
        cut = engine.generate(PROMPTS, DecodingConfig(**kw, stop_strings=stops), seed=0)
        assert cut == [[cut_at_stop(t, stops) for t in row] for row in free], stops


def test_beam_search_with_stop_strings_matches_plain_hf_generate(engine):
    """Independent reference: HF beam search on one unpadded prompt, decoded, then cut (the released code's way)."""
    tok, model = engine.tokenizer, engine.model
    stops = (" ", "e")
    for prompt in PROMPTS[:3]:
        ids = torch.tensor([tok(prompt)["input_ids"]])
        with torch.inference_mode():
            gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=20, num_beams=3,
                                 num_return_sequences=3, do_sample=False, early_stopping=False, length_penalty=1.0,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        want = [cut_at_stop(t, stops) for t in tok.batch_decode(gen[:, ids.shape[1]:], skip_special_tokens=True)]
        got = engine.generate([prompt], DecodingConfig(max_new_tokens=20, num_beams=3, num_return_sequences=3,
                                                       stop_strings=stops))[0]
        assert got == want, prompt


def _fake_eos_at(engine, prompt: str, n: int = 12) -> tuple[list[int], int]:
    """Greedy new ids of ``prompt`` and a position k whose token does not occur before it (to act as EOS)."""
    ids = torch.tensor([engine.tokenizer(prompt)["input_ids"]])
    with torch.inference_mode():
        out = engine.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                                    do_sample=False, pad_token_id=engine.pad_token_id, eos_token_id=[])
    new = out[0, ids.shape[1]:].tolist()
    k = next(k for k in range(2, len(new)) if new[k] not in new[:k])
    return new, k


def test_stop_at_eos_false_generates_past_eos_to_max_new_tokens(engine):
    prompt = PROMPTS[1]
    new, k = _fake_eos_at(engine, prompt)
    # make new[k] an EOS of the model (tokenizer unchanged, so it still decodes as text)
    engine.model.generation_config.eos_token_id = [engine.tokenizer.eos_token_id, new[k]]
    assert new[k] in engine.eos_token_ids
    dec = engine.tokenizer.decode
    stopped = engine.generate([prompt], DecodingConfig(max_new_tokens=12))[0][0]
    run_on = engine.generate([prompt], DecodingConfig(max_new_tokens=12, stop_at_eos=False))[0][0]
    assert stopped == dec(new[:k + 1], skip_special_tokens=True)
    assert run_on == dec(new, skip_special_tokens=True) and len(run_on) > len(stopped)
    # the same for a batch with padding, for plain sampling and beams (all paths honour it)
    batch = engine.generate(PROMPTS, DecodingConfig(max_new_tokens=12, stop_at_eos=False))
    assert batch[1][0] == run_on
    k1 = DecodingConfig(max_new_tokens=12, do_sample=True, top_k=1, stop_at_eos=False)  # top-k 1 sampling = greedy
    assert engine.generate([prompt], k1)[0][0] == run_on
    beams = DecodingConfig(max_new_tokens=12, num_beams=2, num_return_sequences=1, stop_at_eos=False)
    assert engine._hf_config(beams, row_sampling=False).eos_token_id == []  # [] as None would mean the model's EOS
    assert len(engine.generate([prompt], beams)[0]) == 1


def test_decoding_keys_for_the_new_settings():
    base = DecodingConfig()
    # default keys are what they were before these settings existed (the cache stays valid)
    assert base.key() == {"max_new_tokens": 50, "do_sample": False, "num_beams": 1, "stop_strings": []}
    assert DecodingConfig(stop_at_eos=False).key() != base.key()
    assert DecodingConfig(do_sample=True, top_k=50).key() != DecodingConfig(do_sample=True).key()
    # beams cut after generation: their cached entries with stop strings are new keys
    assert DecodingConfig(num_beams=3, stop_strings=("x",)).key()["stops_after"] is True
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match="top_k"):
            DecodingConfig(do_sample=True, top_k=bad)


def test_top_k_reaches_hf_beam_sampling(engine):
    cfg = DecodingConfig(do_sample=True, top_k=50, num_beams=3, num_return_sequences=3, temperature=0.7)
    assert engine._hf_config(cfg, row_sampling=False, num_return_sequences=3).top_k == 50
    off = DecodingConfig(do_sample=True, num_beams=3, num_return_sequences=3, temperature=0.7)
    assert engine._hf_config(off, row_sampling=False, num_return_sequences=3).top_k == 0  # 0: HF adds no top-k warper
