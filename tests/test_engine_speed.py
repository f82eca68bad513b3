"""Engine performance parts: dtype choice, memory-chosen batches, shared-context scoring (values as plain forwards)."""

from types import SimpleNamespace

import pytest
import torch
from lm_eval_reference import lm_eval_loglik

from trust_utils.batching import memory_batch_size
from trust_utils.generation import DecodingConfig, Engine

CPUINFO_BF16 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_tile\nprocessor\t: 1\n"
CPUINFO_AVX2 = "processor\t: 0\nflags\t\t: fpu sse avx2 fma\n"


# ------------------------------------------------------------------------------------------ dtype
def test_cpu_native_bf16_detection_reads_the_flags_line():
    from trust_utils.utils import cpu_has_native_bf16

    assert cpu_has_native_bf16(CPUINFO_BF16)
    assert cpu_has_native_bf16("flags\t: avx2 amx_bf16\n")
    assert not cpu_has_native_bf16(CPUINFO_AVX2)
    assert not cpu_has_native_bf16("model name : has avx512_bf16 in its name\n")  # only the flags line counts


def test_auto_dtype_is_bf16_only_on_cpus_with_native_bf16(monkeypatch):
    from trust_utils import utils

    monkeypatch.setattr(utils, "cpu_has_native_bf16", lambda cpuinfo=None: True)
    assert utils.resolve_dtype("auto", "cpu") is torch.bfloat16
    assert utils.resolve_dtype("float32", "cpu") is torch.float32  # a profile can fix it
    assert utils.resolve_dtype("auto", "mps") is torch.float32
    monkeypatch.setattr(utils, "cpu_has_native_bf16", lambda cpuinfo=None: False)
    assert utils.resolve_dtype("auto", "cpu") is torch.float32
    with pytest.raises(ValueError, match="unknown dtype"):
        utils.resolve_dtype("int8", "cpu")


def test_engine_describes_the_dtype_it_uses(tiny_model_dir, monkeypatch):
    from trust_utils import utils

    monkeypatch.setattr(utils, "cpu_has_native_bf16", lambda cpuinfo=None: True)
    e = Engine(str(tiny_model_dir), device="cpu", batch_size=0, progress=False)
    assert e.describe()["dtype"] == "bfloat16" and e.key_base["dtype"] == "bfloat16"
    e.generate(["Hello there"], DecodingConfig(max_new_tokens=2))
    assert e.describe()["device"] == "cpu" and e.describe()["batch_sizes"] == [1]


# ------------------------------------------------------------------------------------------ batch size
CFG = SimpleNamespace(num_hidden_layers=2, hidden_size=8, num_attention_heads=2, num_key_value_heads=2, head_dim=4,
                      intermediate_size=16, vocab_size=10)


def test_memory_batch_size_by_hand():
    # per token (2*2*2*4 KV + 4*8 + 2*16 activations) * 4 bytes = 384; 10 tokens = 3840; logits 10 * 4 * 3 = 120
    assert memory_batch_size(CFG, 4, 10, 1e6, cap=64, share=0.25) == 63  # 250000 / 3960
    # scoring keeps logits for all 10 positions: 3840 + 1200 = 5040 -> 49.6
    assert memory_batch_size(CFG, 4, 10, 1e6, full_logits=True, cap=64, share=0.25) == 49
    assert memory_batch_size(CFG, 4, 10, 1e9, cap=64, share=0.25) == 64
    assert memory_batch_size(CFG, 4, 10, 10.0, cap=64, share=0.25) == 1


def test_memory_chosen_batches_are_larger_for_shorter_rows(tiny_model_dir, monkeypatch):
    e = Engine(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=0, progress=False)
    c = e.model.config  # a budget that fits two rows of 100 tokens (see memory_batch_size)
    kv = (2 * c.num_hidden_layers * c.hidden_size + 4 * c.hidden_size + 2 * c.intermediate_size) * 4
    budget = 2 * (kv * 100 + c.vocab_size * 12) + 1
    monkeypatch.setattr(e, "_free_memory", lambda: (float(budget), 64, 1.0))
    batches = e._batches(6, [100, 100, 10, 10, 10, 10], 0)
    assert batches[0] == [0, 1]  # two rows of 100 tokens fit
    assert batches[1] == [2, 3, 4, 5]  # rows of 10 tokens: all four in one batch


# ------------------------------------------------------------------------------------------ shared scoring
FEWSHOT = ("Q: What is the capital of Spain?\nA: Madrid\n\nQ: How many legs does a spider have?\nA: Eight\n\n"
           "Q: Who wrote Hamlet?\nA: Shakespeare\n\nQ: What happens if you crack your knuckles a lot?\nA:")
REQUESTS = [  # contexts of different lengths, several continuations each, plus a single one
    ("Q: Is the sky blue?\nA:", " Yes"), ("Q: Is the sky blue?\nA:", " No, it is green"),
    ("Q: Is the sky blue?\nA:", " It depends on the weather and time of day"),
    (FEWSHOT, " Nothing in particular happens"), (FEWSHOT, " You will get arthritis"), (FEWSHOT, " x"),
    # BPE merges "capi" + "tal" into " capital": the scored tokens start after the context's own tokenisation
    ("Question: what is the capi", "tal of France?"), ("Question: what is the capi", "tal of Spain and Portugal?"),
    ("Hello there", " my friend"),
]


def _tokens_fed(engine):
    fed = {"n": 0}

    def hook(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        fed["n"] += int(ids.numel())

    engine.model.register_forward_pre_hook(hook, with_kwargs=True)
    return fed


@pytest.mark.parametrize("batch_size", [16, 2])
def test_shared_context_scores_equal_plain_forwards(tiny_model_dir, batch_size):
    e = Engine(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=batch_size, cache_dir=None,
               progress=False)
    tok = e.tokenizer
    whole = tok(REQUESTS[6][0] + REQUESTS[6][1])["input_ids"]
    ctx_ids = tok(REQUESTS[6][0])["input_ids"]
    assert whole[:len(ctx_ids)] != ctx_ids  # the merge case really merges with this tokenizer
    expected = [lm_eval_loglik(e.model, e.tokenizer, c, x) for c, x in REQUESTS]
    fed = _tokens_fed(e)
    got = e.loglikelihood([c for c, _ in REQUESTS], [x for _, x in REQUESTS])
    for (g, n), (x, m) in zip(got, expected, strict=True):
        assert n == m
        assert g == pytest.approx(x, abs=1e-4)
    shared_tokens = fed["n"]
    plain = Engine(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=batch_size, cache_dir=None,
                   progress=False, share_context=False)
    fed_plain = _tokens_fed(plain)
    got_plain = plain.loglikelihood([c for c, _ in REQUESTS], [x for _, x in REQUESTS])
    assert [n for _, n in got_plain] == [n for _, n in got]
    assert all(a == pytest.approx(b, abs=1e-4) for (a, _), (b, _) in zip(got_plain, got, strict=True))
    assert shared_tokens < 0.7 * fed_plain["n"]  # the few-shot context went through the model once, not three times


@pytest.mark.parametrize("pack", [True, False], ids=["packed", "one-row-each"])
def test_shared_context_with_a_group_larger_than_the_batch(tiny_model_dir, pack):
    e = Engine(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=2, cache_dir=None, progress=False,
               pack_continuations=pack)
    conts = [" a", " b c", " d e f", " g", " h i j k", ""]
    fed = _tokens_fed(e)
    got = e.loglikelihood([FEWSHOT] * len(conts), conts)
    n_ctx = len(e.tokenizer(FEWSHOT)["input_ids"])
    # the context goes through the model once; packed, the continuations' 6 nodes follow as one row; one row each,
    # in parts of two rows of at most 3 tokens
    assert n_ctx <= fed["n"] <= n_ctx + 3 * 2 * 3, (fed, n_ctx)
    for (g, n), c in zip(got, conts, strict=True):
        x, m = lm_eval_loglik(e.model, e.tokenizer, FEWSHOT, c) if c else (0.0, 0)
        assert n == m and g == pytest.approx(x, abs=1e-4)


def test_next_token_logprobs_keep_only_the_last_logits(tiny_model_dir):
    e = Engine(str(tiny_model_dir), device="cpu", dtype="float32", batch_size=4, cache_dir=None, progress=False)
    seen = []
    e.model.register_forward_hook(lambda m, a, out: seen.append(tuple(out.logits.shape)))
    e.next_token_logprobs(["Is it wrong? Answer:", "a"], [" Yes", " No"])
    assert seen and all(s[1] == 1 for s in seen)  # the LM head ran for one position per row


def test_the_likelihood_benchmark_runs_and_its_four_scorers_agree(tiny_model_dir, cache_dir):
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        import bench_likelihood
    finally:
        sys.path.remove(str(bench))
    res = bench_likelihood.main(["--model", "tiny", "--cache-dir", str(cache_dir), "--n-questions", "3",
                                 "--repeats", "1", "--threads", "1", "--dtype", "float32"])
    assert {"plain", "unpacked", "whole-contexts", "shared"} <= set(res) and res["max_abs_diff"] < 1e-4
    # the shared scorers feed the context once per question: fewer tokens than one full pass per request; the
    # primer common to a batch's contexts, once per batch
    assert res["shared"]["tokens_fed"] < res["whole-contexts"]["tokens_fed"] < res["plain"]["tokens_fed"]
    assert res["unpacked"]["tokens_fed"] < res["plain"]["tokens_fed"]
