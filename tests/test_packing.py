"""Packed continuations (a token trie per context, one row over its KV cache): the trie and mask by hand, and the
engine's packed scores against lm-eval's plain forward on GPT-NeoX, Llama (grouped KV heads) and Gemma 3 (a
sliding window), with SDPA and eager attention."""

import pytest
import torch
from lm_eval_reference import lm_eval_loglik

from trust_utils import likelihood
from trust_utils.generation import Engine
from trust_utils.packing import attention_mask, build_trie, chunk_by_nodes

FEWSHOT = "Q: What is two plus two?\nA: Four.\n\nQ: What colour is the sky?\nA:"
# continuations that share their first words (trie nodes shared), one of one token, one long
CONTS = [" It is blue.", " It is grey.", " It is", " Blue", " The sky is blue on a clear day, grey when cloudy.", ""]


def test_trie_by_hand():
    t = build_trie([[5, 6, 7], [5, 6, 8], [5, 9], [4], []])
    # prefixes (5) and (5, 6) are the only nodes: the last token of a continuation needs none
    assert t.tokens == [5, 6] and t.parents == [-1, 0] and t.depths == [0, 1]
    assert t.paths == [[0, 1], [0, 1], [0], [], []]
    t2 = build_trie([[1, 2, 3], [2, 2, 3]])  # the same token under different parents is two nodes
    assert t2.tokens == [1, 2, 2, 2] and t2.parents == [-1, 0, -1, 2] and t2.paths == [[0, 1], [2, 3]]


def test_chunks_by_node_bound():
    assert chunk_by_nodes([[1, 2, 3], [1, 2, 3], [1, 2], [1]], 3) == [[0], [1, 2, 3]]
    assert chunk_by_nodes([[1] * 9, [1, 2]], 3) == [[0], [1]]  # a longer one is a chunk of its own


def test_attention_mask_by_hand():
    t = build_trie([[5, 6, 7], [5, 9]])  # nodes 0 (5), 1 (5 6)
    ctx = torch.tensor([[0, 1, 1]])  # a left-padded context of two real tokens
    m = attention_mask([t], ctx, 3)
    assert m.shape == (1, 1, 3, 6) and m.dtype == torch.bool
    expected = torch.tensor([[0, 1, 1, 1, 0, 0],    # node 0: the context and itself
                             [0, 1, 1, 1, 1, 0],    # node 1: the context, its parent and itself
                             [0, 1, 1, 0, 0, 0]],   # padding: the context only
                            dtype=torch.bool)
    assert torch.equal(m[0, 0], expected)
    add = attention_mask([t], ctx, 3, additive_dtype=torch.float32)
    assert torch.equal(add[0, 0] == 0, expected) and float(add.min()) == torch.finfo(torch.float32).min


def _random_model(arch: str, vocab: int, attn: str, window: int = 4096):
    from transformers import (
        Gemma3ForCausalLM,
        Gemma3TextConfig,
        GPTNeoXConfig,
        GPTNeoXForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
    )

    torch.manual_seed(0)
    common = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, max_position_embeddings=512, attn_implementation=attn)
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**common, num_key_value_heads=2)).eval()
    if arch == "gemma3":
        return Gemma3ForCausalLM(Gemma3TextConfig(**common, num_key_value_heads=2, head_dim=8, sliding_window=window,
                                                  layer_types=["sliding_attention", "full_attention"])).eval()
    return GPTNeoXForCausalLM(GPTNeoXConfig(**common)).eval()


def _engine(tiny_model_dir, arch, attn, window=4096, batch_size=16):
    e = Engine(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=batch_size, cache_dir=None,
               progress=False)
    e._model = _random_model(arch, len(e.tokenizer), attn, window)
    return e


def _packed_rows(e):
    """Record whether each scoring forward got a 4D (packed) mask."""
    seen = []
    e.model.register_forward_pre_hook(
        lambda m, a, kw: seen.append(getattr(kw.get("attention_mask"), "ndim", None)), with_kwargs=True)
    return seen


@pytest.mark.parametrize("arch,attn", [("gpt_neox", "sdpa"), ("gpt_neox", "eager"), ("llama", "sdpa"),
                                       ("llama", "eager"), ("gemma3", "sdpa")])
def test_packed_scores_equal_a_plain_forward(tiny_model_dir, arch, attn):
    e = _engine(tiny_model_dir, arch, attn)
    seen = _packed_rows(e)
    ctxs = [FEWSHOT] * len(CONTS) + ["Name a colour:"] * 2
    conts = CONTS + [" red and green", " red and blue"]
    got = e.loglikelihood(ctxs, conts)
    assert 4 in seen  # the continuations went packed
    for (g, n), c, x in zip(got, ctxs, conts, strict=True):
        want, m = lm_eval_loglik(e.model, e.tokenizer, c, x) if x else (0.0, 0)
        assert n == m and g == pytest.approx(want, abs=1e-4), (c, x)
    off = _engine(tiny_model_dir, arch, attn)
    off.pack_continuations = False
    seen_off = _packed_rows(off)
    assert [round(v, 4) for v, _ in off.loglikelihood(ctxs, conts)] == pytest.approx([v for v, _ in got], abs=1e-4)
    assert 4 not in seen_off


def test_a_group_split_into_several_packed_rows(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(likelihood, "MAX_PACKED_NODES", 4)  # each row takes a continuation or two
    e = _engine(tiny_model_dir, "llama", "sdpa", batch_size=3)
    got = e.loglikelihood([FEWSHOT] * len(CONTS), CONTS)
    for (g, n), x in zip(got, CONTS, strict=True):
        want, m = lm_eval_loglik(e.model, e.tokenizer, FEWSHOT, x) if x else (0.0, 0)
        assert n == m and g == pytest.approx(want, abs=1e-4), x


def test_a_window_shorter_than_the_packed_row_scores_unpacked(tiny_model_dir):
    e = _engine(tiny_model_dir, "gemma3", "sdpa", window=24)
    seen = _packed_rows(e)
    got = e.loglikelihood([FEWSHOT] * len(CONTS), CONTS)
    assert 4 not in seen  # the window would cut the packed row: one row per continuation instead
    for (g, n), x in zip(got, CONTS, strict=True):
        want, m = lm_eval_loglik(e.model, e.tokenizer, FEWSHOT, x) if x else (0.0, 0)
        assert n == m and g == pytest.approx(want, abs=1e-4), x


@pytest.mark.parametrize("arch,attn,packed", [("gpt_neox", "sdpa", True), ("llama", "eager", True),
                                              ("llama", "sdpa", False), ("gemma3", "sdpa", True)])
def test_contexts_with_a_common_prefix_run_it_once_and_score_as_a_plain_forward(tiny_model_dir, arch, attn, packed):
    """A system prompt or few-shot primer that every context of a batch begins with runs once (as generation's
    prefill runs it); each context's own tokens, of different lengths, follow it left-padded ([prefix][pad][rest])."""
    e = _engine(tiny_model_dir, arch, attn)
    e.pack_continuations = packed
    widths = []
    e.model.register_forward_pre_hook(lambda m, a, kw: widths.append(tuple((a[0] if a else kw["input_ids"]).shape)),
                                      with_kwargs=True)
    questions = ["Q: Why?\nA:", "Q: What colour is the grass in a wet field in May?\nA:", "Q: And snow?\nA:"]
    ctxs = [FEWSHOT + "\n\n" + q for q in questions for _ in range(3)]
    conts = [" Green.", " Grey, it is grey.", " White"] * len(questions)
    got = e.loglikelihood(ctxs, conts)
    prefix = len(e.tokenizer(FEWSHOT + "\n\nQ:")["input_ids"])
    assert widths[0][0] == 1 and widths[0][1] >= prefix - 1  # one row: the prefix alone
    assert all(w[1] < prefix for w in widths[1:]), widths  # nothing after it runs the prefix again
    for (g, n), c, x in zip(got, ctxs, conts, strict=True):
        want, m = lm_eval_loglik(e.model, e.tokenizer, c, x)
        assert n == m and g == pytest.approx(want, abs=1e-4), (c, x)
