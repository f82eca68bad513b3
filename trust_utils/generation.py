"""The evaluation engine: batched, seeded, cached generation and scoring for every vertical.

:class:`Engine` wraps one causal LM and offers the four operations the verticals need:
:meth:`Engine.generate` (continuations), :meth:`Engine.loglikelihood` (lm-eval-harness style
scoring of a continuation), :meth:`Engine.continuation_logprobs` (mean per-token log-prob, the
paper's determinism analysis) and :meth:`Engine.next_token_logprobs` (e.g. " Yes" vs " No").

Design
------
* **Batching.** Prompts are tokenised, sorted by length (longest first, so padding is small and an
  out-of-memory error shows up in the first batch) and run ``batch_size`` *sequences* at a time with
  LEFT padding. ``batch_size=0`` sizes each batch for its own longest row from free memory (CUDA: free
  device memory; CPU: available RAM, a quarter of it, at most 64 rows: a CPU decode step is compute-bound
  well before that), so batches of short rows are larger (:func:`memory_batch_size`).
* **dtype.** ``auto`` is bf16 on CUDA with bf16 and on CPUs with native bf16 matmul (AVX512-bf16 / AMX), fp32
  elsewhere: on a CPU without them bf16 matmul is emulated and ~100x slower. The dtype is part of every cache
  key and recorded in each vertical's ``outputs.json`` (``engine``), since bf16 and fp32 greedy outputs differ.
* **Scoring shares contexts.** Log-likelihood requests with the same conditioning tokens (TruthfulQA's options
  of one question) run the context once; its KV cache is copied to each continuation's row
  (:meth:`Engine._score_shared`). Values equal one full forward per request within float rounding (tested to
  1e-4 in fp32). Only the positions that are scored go through the LM head.
* **EOS and padding.** The model's real EOS ids (tokenizer and ``generation_config``) stop a
  sequence; pad = the tokenizer's pad token, or EOS when it has none. The paper's code passes
  ``pad_token_id = eos_token_id = 50256`` (GPT-2's EOS) to every model, which for GPT-NeoX is not
  the EOS, so its generations never stop early (paper README §8.10). Default: stop at the real EOS
  (``DecodingConfig.stop_at_eos=True``); ``stop_at_eos=False`` reproduces the released code: every
  continuation runs to ``max_new_tokens``, an EOS the model emits on the way is dropped from the text
  (special tokens are not decoded) and generation goes on after it.
* **Seeding: a sample never depends on its batch.** Every *row* (prompt × sample index) gets its own
  ``torch.Generator`` seeded from ``hash(seed, formatted prompt, sample index)``. Plain sampling
  (``do_sample`` with ``num_beams=1``) runs the engine's decode loop (:meth:`Engine._decode`), which applies
  temperature / top-k / top-p and draws each row's token by inverse-CDF with that row's generator
  (:func:`sample_tokens`). So the
  same prompt and sample index give the same text whether it runs alone, in any batch, or after a
  crash. Beam sampling (``num_beams>1`` with ``do_sample``, the released toxicity code) draws from
  the global RNG inside HF's beam search, so the engine runs it one prompt per call with the global
  RNG seeded from ``hash(seed, prompt)`` (exact, but slower). Greedy and beam search need no seed.
* **Rows leave the batch when done.** Greedy and plain sampling run :meth:`Engine._decode`, the computation of
  HF ``generate`` in greedy mode, except that a finished row (EOS, stop string, ``max_new_tokens``) is dropped
  from the batch and its KV cache, so later steps compute only the rows still running.
* **Stop strings** end a row during generation and cut its text at their
  first occurrence afterwards, so the result does not depend on when the batch stopped. Beam search
  and beam sampling (``num_beams > 1``) get no stopping criterion: HF reorders the beams of a prompt at
  every step, so a per-row "done" flag would follow a position, not a hypothesis, and stop beams that
  never produced a stop string. With beams the engine generates to EOS / ``max_new_tokens`` and cuts at
  the stop strings afterwards, as the released code did (it cut its beam outputs at ". " / newline).
* **The continuation** is the decoded text of the *new tokens* (special tokens removed). The paper
  code took ``decoded_output[len(prompt):]`` instead, which differs only when decoding does not
  round-trip the prompt's text exactly.
* **Cache.** Every generation and score goes to :class:`trust_utils.cache.ResultCache`, keyed by the
  model fingerprint, dtype and device type, the exact formatted prompt, the decoding settings, the seed and sample
  index (seed and index only where they matter: greedy keys omit them), the kind of value, and the engine's code
  (:func:`trust_utils.cache.producer_key` of this module's import closure and of ``ENGINE_LIBRARIES``). Batches are
  written as they finish. The model itself is loaded lazily, on the first cache miss, so a rerun of a
  finished vertical loads only the tokenizer.
* **Prompt format.** ``raw`` (the paper: plain text, even for chat-tuned checkpoints), ``chat`` (the
  tokenizer's chat template with the generation prompt) or ``hh`` (``\\n\\nHuman: ...\\n\\nAssistant:``).
  All methods take *unformatted* texts and format them; scoring methods format the context only.
"""

from __future__ import annotations

import gc
import logging
import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from .cache import ResultCache, cache_key, producer_key
from .utils import hash_obj

log = logging.getLogger(__name__)

PROMPT_FORMATS = ("raw", "chat", "hh")
#: libraries whose versions are part of every cache key: they compute the values (kernels, tokenisation, the GGUF
#: conversion), so a new version recomputes rather than mixing with what the old one produced.
ENGINE_LIBRARIES = ("torch", "transformers", "tokenizers", "gguf")
CPU_DEFAULT_BATCH = 16  # the default of ``batch_size`` (a fixed size); 0 = chosen from memory
# Caps on a memory-chosen batch: on CPU a decode step is compute-bound from about 32-64 rows on (weights are read
# once per step whatever the batch), so larger batches only add padding and latency; on CUDA memory is the limit.
CPU_MAX_BATCH = 64
CUDA_MAX_BATCH = 512
# Share of the free memory a memory-chosen batch may plan for: the CPU is shared with other processes.
CPU_MEMORY_SHARE = 0.25
# A batch's common prompt prefix at least this long is computed once (Engine._prefill).
MIN_SHARED_PREFIX = 8
CUDA_MEMORY_SHARE = 0.6


def memory_batch_size(model_config: Any, bytes_per_value: int, max_len: int, free_bytes: float, *,
                      full_logits: bool = False, cap: int = CPU_MAX_BATCH, share: float = CPU_MEMORY_SHARE) -> int:
    """Sequences of ``max_len`` tokens that fit in ``share`` of ``free_bytes``, between 1 and ``cap``.

    Per token: the KV cache (``2 x layers x kv_heads x head_dim`` values) plus one layer's transient activations
    (``4 x hidden + 2 x intermediate`` values); per sequence: fp32 logits over the vocabulary, three copies (logits,
    log-softmax, a temporary), for every position when ``full_logits`` (scoring) else for the last one (generation).
    """
    c = model_config
    layers = int(getattr(c, "num_hidden_layers", 24))
    hidden = int(getattr(c, "hidden_size", 2048))
    heads = int(getattr(c, "num_attention_heads", 16))
    kv_heads = int(getattr(c, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(c, "head_dim", None) or hidden // heads)
    inter = int(getattr(c, "intermediate_size", None) or 4 * hidden)
    vocab = int(getattr(c, "vocab_size", 50000))
    per_token = (2 * layers * kv_heads * head_dim + 4 * hidden + 2 * inter) * bytes_per_value
    per_seq = per_token * max(1, max_len) + vocab * 4 * 3 * (max(1, max_len) if full_logits else 1)
    return max(1, min(int(cap), int(share * free_bytes / per_seq)))


@dataclass(frozen=True)
class DecodingConfig:
    """How to decode; all fields go into the cache key.

    Attributes:
        max_new_tokens: tokens generated at most per continuation.
        do_sample: sample (True) or decode greedily / by beam search (False).
        temperature, top_p, top_k: sampling warpers (``top_k=0`` and ``top_p=1`` disable them).
        num_beams: beam width (``>1`` with ``do_sample`` is HF beam sampling).
        num_return_sequences: continuations per prompt (independent samples when sampling).
        stop_strings: cut each continuation before the first occurrence of any of these.
        stop_at_eos: end a continuation at the model's EOS (True); False generates ``max_new_tokens`` tokens
            whatever the model emits, as the released code did (it passed GPT-2's EOS id to every model).
    """

    max_new_tokens: int = 50
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    num_beams: int = 1
    num_return_sequences: int = 1
    stop_strings: tuple[str, ...] = ()
    stop_at_eos: bool = True

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.num_return_sequences < 1 or self.num_beams < 1:
            raise ValueError("num_return_sequences and num_beams must be >= 1")
        if self.do_sample and self.temperature <= 0:
            raise ValueError("temperature must be > 0 when sampling (use do_sample=False for greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if int(self.top_k) != self.top_k or self.top_k < 0:
            raise ValueError(f"top_k must be an integer >= 0 (0 turns it off), not {self.top_k!r}")
        if not self.do_sample and self.num_beams > 1 and self.num_return_sequences > self.num_beams:
            raise ValueError("beam search returns at most num_beams sequences")
        object.__setattr__(self, "stop_strings", tuple(self.stop_strings))

    @property
    def deterministic(self) -> bool:
        """Greedy or beam search: the output does not depend on a seed."""
        return not self.do_sample

    def key(self) -> dict:
        """The settings that determine a continuation (for cache keys); sampling knobs only when sampling."""
        d = {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample, "num_beams": self.num_beams,
             "stop_strings": list(self.stop_strings)}
        if self.do_sample:
            d.update(temperature=float(self.temperature), top_p=float(self.top_p), top_k=int(self.top_k))
        if self.num_beams > 1:
            d["num_return_sequences"] = self.num_return_sequences  # beams are ranked together
            if self.stop_strings:
                d["stops_after"] = True  # beams are cut after generation (earlier code stopped them wrongly)
        if not self.stop_at_eos:
            d["stop_at_eos"] = False  # only when off, so the default keys stay what they were
        return d


def _kv_cache(output):
    """The KV cache a forward returned: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
    return getattr(output, "cache", None) or output.past_key_values


def cut_at_stop(text: str, stop_strings: Sequence[str]) -> str:
    """``text`` up to (excluding) the earliest occurrence of any stop string."""
    cut = len(text)
    for s in stop_strings:
        if s:
            i = text.find(s)
            if 0 <= i < cut:
                cut = i
    return text[:cut]


def row_seed(seed: int, prompt: str, sample: int) -> int:
    """The RNG seed of one (prompt, sample index) row: independent of batch composition."""
    return int(hash_obj([int(seed), prompt, int(sample)], 15), 16)


# ------------------------------------------------------------------------------------- HF hooks
def sample_tokens(cfg: DecodingConfig, scores, generators: list):
    """Each row's next token: temperature, top-k and top-p on ``scores`` (rows x vocab), then an inverse-CDF draw with
    the row's own generator (one uniform per row and step, so a row's draws never depend on its batch)."""
    import torch

    scores = scores.float() / float(cfg.temperature)
    if cfg.top_k and cfg.top_k > 0:
        k = min(int(cfg.top_k), scores.shape[-1])
        kth = torch.topk(scores, k, dim=-1).values[..., -1, None]
        scores = scores.masked_fill(scores < kth, -math.inf)
    if cfg.top_p < 1.0:  # nucleus, as HF's TopPLogitsWarper (keeps at least one token)
        sorted_logits, sorted_idx = torch.sort(scores, descending=False, dim=-1)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cum <= (1 - cfg.top_p)
        remove_sorted[..., -1:] = False
        remove = remove_sorted.scatter(1, sorted_idx, remove_sorted)
        scores = scores.masked_fill(remove, -math.inf)
    probs = scores.softmax(dim=-1)
    cdf = probs.cumsum(dim=-1)
    u = torch.stack([torch.rand((), generator=g, dtype=torch.float64) for g in generators]).to(cdf.device)
    u = u.to(cdf.dtype) * cdf[:, -1]
    tok = (cdf < u[:, None]).sum(dim=-1).clamp_(max=scores.shape[-1] - 1)
    # never pick a zero-probability token at a CDF plateau edge
    bad = probs.gather(1, tok[:, None]).squeeze(1) <= 0
    if bad.any():
        tok[bad] = probs[bad].argmax(dim=-1)
    return tok


# ------------------------------------------------------------------------------------- engine
class Engine:
    """Batched, seeded, cached generation and scoring with one model.

    Args:
        model: a resolved model path or hub id (:func:`trust_utils.models.resolve_checkpoint`).
        device: ``auto`` (cuda > mps > cpu) or a torch device.
        dtype: ``auto`` (bf16 on CUDA with bf16 and on CPUs with native bf16 matmul, else fp32; see
            :func:`trust_utils.utils.resolve_dtype`) or a dtype name.
        batch_size: sequences per forward pass; 0 picks one per batch from free memory (CUDA: free device memory;
            CPU: available RAM), for that batch's longest sequence (:func:`memory_batch_size`).
        cache_dir: directory of the generation/score cache; ``None`` disables caching.
        seed: default seed for sampling (``generate(seed=...)`` overrides).
        prompt_format: ``raw`` | ``chat`` | ``hh`` (see module docstring).
        system_prompt: for ``chat``, a system message (ignored by the other formats).
        model_cache_dir: cache of converted models (for model references such as ``tiny``).
        progress: show tqdm progress bars.
        share_context: score requests that share a context with one pass over the context (its KV cache reused
            for every continuation) instead of one full pass per request; same values within float rounding.
    """

    def __init__(self, model: str, *, device: str = "auto", dtype: str = "auto", batch_size: int = 16,
                 cache_dir: str | None = None, seed: int = 0, prompt_format: str = "raw", system_prompt: str = "",
                 model_cache_dir: str | None = None, progress: bool = True, share_context: bool = True):
        from .models import load_tokenizer, model_fingerprint
        from .utils import resolve_device, resolve_dtype

        if prompt_format not in PROMPT_FORMATS:
            raise ValueError(f"prompt_format must be one of {PROMPT_FORMATS}, not {prompt_format!r}")
        self.model_ref = model
        self.device = resolve_device(device)
        self.torch_dtype = resolve_dtype(dtype, self.device)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.prompt_format = prompt_format
        self.system_prompt = system_prompt
        self.model_cache_dir = model_cache_dir or None
        self.progress = progress
        self.share_context = bool(share_context)
        self.batch_sizes_used: set[int] = set()  # what batch_size=0 chose (for the stage's outputs)
        self.cache = ResultCache(cache_dir)
        self.tokenizer = load_tokenizer(model, self.model_cache_dir, padding_side="left")
        self.fingerprint: str = model_fingerprint(model)
        # Everything about the model that changes a value: its content (or resolved hub revision), the dtype the
        # weights are computed in and the device type (bf16 and fp32 greedy outputs differ; so can CPU and CUDA).
        # And the code that computes values from it: this module's import closure and the libraries it runs on, so
        # an edit to the decode loop (or a new torch) regenerates instead of serving what the old code produced.
        self.key_base: dict[str, str] = {"model": self.fingerprint,
                                         "dtype": str(self.torch_dtype).replace("torch.", ""),
                                         "device": self.device.split(":")[0],
                                         "code": producer_key([__name__], ENGINE_LIBRARIES)}
        self._model = None
        self.model_calls = 0  # forward / generate calls made (0 after a fully cached rerun)
        if prompt_format == "chat" and not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"prompt_format='chat' but the tokenizer of {model} has no chat template")

    # ---------------------------------------------------------------- model
    @property
    def model(self):
        """The model, loaded on first use (a fully cached run never loads it)."""
        if self._model is None:
            from .models import load_causal_lm

            log.info("loading %s on %s (%s)", self.model_ref, self.device, str(self.torch_dtype).replace("torch.", ""))
            self._model = load_causal_lm(self.model_ref, self.device, self.torch_dtype, self.model_cache_dir)
        return self._model

    @property
    def eos_token_ids(self) -> list[int]:
        ids: list[int] = []
        gc_eos = getattr(getattr(self._model, "generation_config", None), "eos_token_id", None) if self._model else None
        for x in (self.tokenizer.eos_token_id, gc_eos):
            if x is None:
                continue
            for i in (x if isinstance(x, (list, tuple)) else [x]):
                if int(i) not in ids:
                    ids.append(int(i))
        return ids

    @property
    def pad_token_id(self) -> int:
        pid = self.tokenizer.pad_token_id
        return int(pid if pid is not None else self.tokenizer.eos_token_id)

    def describe(self) -> dict[str, Any]:
        """What this engine computed with: dtype, device and the batch sizes it ran (for a stage's outputs)."""
        return {"dtype": self.key_base["dtype"], "device": self.device, "batch_size": self.batch_size,
                "batch_sizes": sorted(self.batch_sizes_used), "code": self.key_base["code"]}

    def close(self) -> None:
        """Free the model (and CUDA memory) and close the cache."""
        self._model = None
        self.cache.close()
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # pragma: no cover
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- prompts
    def format_prompt(self, text: str) -> str:
        if self.prompt_format == "raw":
            return text
        if self.prompt_format == "hh":
            return f"\n\nHuman: {text}\n\nAssistant:"
        messages = ([{"role": "system", "content": self.system_prompt}] if self.system_prompt else []) + \
                   [{"role": "user", "content": text}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _encode(self, text: str) -> list[int]:
        # A chat template already writes BOS where the model wants one.
        return list(self.tokenizer(text, add_special_tokens=self.prompt_format != "chat")["input_ids"])

    def _free_memory(self) -> tuple[float, int, float]:
        """(free bytes, batch cap, share of it to plan for) on this engine's device."""
        if self.device.startswith("cuda"):
            import torch

            free, _ = torch.cuda.mem_get_info()
            return float(free), CUDA_MAX_BATCH, CUDA_MEMORY_SHARE
        import psutil

        return float(psutil.virtual_memory().available), CPU_MAX_BATCH, CPU_MEMORY_SHARE

    def _auto_batch_size(self, max_len: int, full_logits: bool = False, free: tuple[float, int, float] | None = None) -> int:
        """The fixed ``batch_size``, or (``batch_size=0``) the memory-chosen size for sequences of ``max_len``."""
        if self.batch_size > 0:
            return self.batch_size
        import torch

        free_bytes, cap, share = free or self._free_memory()
        bytes_per = torch.finfo(self.torch_dtype).bits // 8
        return memory_batch_size(self.model.config, bytes_per, max_len, free_bytes, full_logits=full_logits,
                                 cap=cap, share=share)

    def _batches(self, n_rows: int, lengths: list[int], extra: int, full_logits: bool = False) -> list[list[int]]:
        """Row indices in batches, longest first (little padding; an out-of-memory error shows in the first batch).

        With ``batch_size=0`` every batch is sized for its own longest row, so batches of short rows are larger.
        """
        order = sorted(range(n_rows), key=lambda i: -lengths[i])
        free = self._free_memory() if self.batch_size <= 0 else None
        out: list[list[int]] = []
        k = 0
        while k < len(order):
            bs = self._auto_batch_size(lengths[order[k]] + extra, full_logits, free)
            out.append(order[k:k + bs])
            self.batch_sizes_used.add(len(out[-1]))
            k += bs
        return out

    def _pad_left(self, seqs: list[list[int]]):
        import torch

        L = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), L), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), L), dtype=torch.long)
        for r, s in enumerate(seqs):
            if s:
                ids[r, L - len(s):] = torch.tensor(s, dtype=torch.long)
                mask[r, L - len(s):] = 1
        return ids.to(self.device), mask.to(self.device)

    def _progress(self, total: int, desc: str):
        from tqdm.auto import tqdm

        from .progress import Bar

        desc = desc or "generate"
        return Bar(tqdm(total=total, desc=desc, disable=not self.progress or total == 0, leave=False), total, desc)

    # ---------------------------------------------------------------- generation
    def _gen_key(self, formatted: str, cfg: DecodingConfig, seed: int, sample: int) -> str:
        parts: dict[str, Any] = {"kind": "gen", **self.key_base, "prompt": formatted, "decoding": cfg.key()}
        if cfg.do_sample:
            parts["seed"] = int(seed)
        if cfg.do_sample or cfg.num_beams > 1:
            parts["sample"] = int(sample)  # greedy: every sample index is the same continuation
        return cache_key(**parts)

    def generate(self, prompts: list[str], cfg: DecodingConfig, seed: int | None = None, desc: str = "") -> list[list[str]]:
        """``cfg.num_return_sequences`` continuations per prompt (cached; see the module docstring)."""
        seed = self.seed if seed is None else int(seed)
        formatted = [self.format_prompt(p) for p in prompts]
        n = cfg.num_return_sequences
        keys = [[self._gen_key(f, cfg, seed, j) for j in range(n)] for f in formatted]
        found = self.cache.get_many(k for row in keys for k in row)
        out: list[list[str | None]] = [[found.get(k) for k in row] for row in keys]
        if cfg.do_sample and cfg.num_beams == 1:
            todo = [(i, j) for i in range(len(prompts)) for j in range(n) if out[i][j] is None]
            self._generate_rows(formatted, todo, cfg, seed, keys, out, desc)
        elif not cfg.do_sample and cfg.num_beams == 1:
            todo = sorted({i for i in range(len(prompts)) if out[i][0] is None})
            self._generate_rows(formatted, [(i, 0) for i in todo], cfg, seed, keys, out, desc)
            for i in range(len(prompts)):
                out[i] = [out[i][0]] * n
        else:
            todo = sorted({i for i in range(len(prompts)) if any(v is None for v in out[i])})
            self._generate_beams(formatted, todo, cfg, seed, keys, out, desc)
        return [[str(t) for t in row] for row in out]  # type: ignore[misc]

    def _hf_config(self, cfg: DecodingConfig, *, row_sampling: bool, num_return_sequences: int = 1):
        from transformers import GenerationConfig

        sample = cfg.do_sample and not row_sampling
        # No EOS: an empty list, since None would be filled in from the model's own generation_config.
        eos: list[int] | None = (self.eos_token_ids or None) if cfg.stop_at_eos else []
        return GenerationConfig(
            max_new_tokens=cfg.max_new_tokens, min_new_tokens=0, do_sample=sample, num_beams=cfg.num_beams,
            num_return_sequences=num_return_sequences, temperature=float(cfg.temperature) if sample else None,
            top_p=float(cfg.top_p) if sample else None, top_k=int(cfg.top_k) if sample else None,
            repetition_penalty=1.0, no_repeat_ngram_size=0, length_penalty=1.0, early_stopping=False,
            pad_token_id=self.pad_token_id, eos_token_id=eos,
            bos_token_id=self.tokenizer.bos_token_id, use_cache=True,
        )

    def _decode_new(self, ids, prompt_len: int, cfg: DecodingConfig) -> list[str]:
        texts = self.tokenizer.batch_decode(ids[:, prompt_len:], skip_special_tokens=True)
        return [cut_at_stop(t, cfg.stop_strings) for t in texts]

    def _generate_rows(self, formatted, todo, cfg, seed, keys, out, desc) -> None:
        """Greedy or per-row-seeded sampling of (prompt index, sample index) rows, in length-sorted batches."""
        if not todo:
            return
        import torch

        enc = {i: self._encode(formatted[i]) for i in {i for i, _ in todo}}
        lengths = [len(enc[i]) for i, _ in todo]
        bar = self._progress(len(todo), desc)
        try:
            for batch in self._batches(len(todo), lengths, cfg.max_new_tokens):
                rows = [todo[b] for b in batch]
                # CPU generators on every device: one cheap draw per row and step, and the same uniforms whether
                # the model runs on CPU or GPU.
                gens = [torch.Generator().manual_seed(row_seed(seed, formatted[i], j)) for i, j in rows] \
                    if cfg.do_sample else None
                new = self._decode([enc[i] for i, _ in rows], cfg, gens)
                texts = [cut_at_stop(self.tokenizer.decode(t, skip_special_tokens=True), cfg.stop_strings)
                         for t in new]
                puts = []
                for (i, j), t in zip(rows, texts):
                    out[i][j] = t
                    puts.append((keys[i][j], t, {"kind": "gen", "sample": j, "seed": seed, **cfg.key()}))
                self.cache.put_many(puts)
                bar.update(len(rows))
        finally:
            bar.close()

    def _prefill(self, seqs: list[list[int]]):
        """Run a batch's prompts: ``(output with last-position logits, KV cache, attention mask, last positions)``.

        Rows that share a prefix of at least :data:`MIN_SHARED_PREFIX` tokens (every row of a toxicity batch
        starts with the same system prompt) have it computed once, its KV cache copied to every row; each row's
        remaining tokens follow, left-padded *after* the prefix (``[prefix][pad][rest]``) at positions that
        continue the prefix, so every row sees exactly its own prompt at its own positions. Otherwise the whole
        prompts are left-padded, as ``generate`` does.
        """
        import torch

        n = min(len(q) for q in seqs)
        shared = 0
        if len(seqs) > 1:
            first = seqs[0]
            while shared < n - 1 and all(q[shared] == first[shared] for q in seqs):
                shared += 1
        if shared < MIN_SHARED_PREFIX:
            ids, mask = self._pad_left(seqs)
            pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
            res = self._forward(ids, mask, position_ids=pos, keep=1, use_cache=True)
            return res, _kv_cache(res), mask, pos[:, -1:]
        head = torch.tensor([seqs[0][:shared]], dtype=torch.long, device=self.device)
        first_pass = self._forward(head, torch.ones_like(head), keep=1, use_cache=True)
        cache = _kv_cache(first_pass)
        cache.batch_select_indices(torch.zeros(len(seqs), dtype=torch.long, device=self.device))
        rest, rest_mask = self._pad_left([q[shared:] for q in seqs])
        mask = torch.cat([rest_mask.new_ones((len(seqs), shared)), rest_mask], dim=1)
        pos = (shared + rest_mask.cumsum(-1) - 1).masked_fill(rest_mask == 0, 1)
        res = self._forward(rest, mask, position_ids=pos, keep=1, use_cache=True, **{self._cache_kwarg(): cache})
        return res, cache, mask, pos[:, -1:]

    def _decode(self, seqs: list[list[int]], cfg: DecodingConfig, generators: list | None) -> list[list[int]]:
        """The new token ids of each prompt (token lists) of one batch: greedy (``generators`` None) or each row
        sampled with its own generator (:func:`sample_tokens`).

        The same computation as HF ``generate`` in greedy mode (positions from the attention mask, one forward per
        step over the KV cache, float32 logits of the last position), with two savings that change no row's
        tokens: the batch's common prompt prefix (a system prompt, a few-shot primer) is run once
        (:meth:`_prefill`), and a row *leaves the batch* once it is finished (it emitted an EOS with
        ``stop_at_eos``, its new text holds a stop string, or it has ``max_new_tokens`` tokens): its KV-cache rows
        are dropped, so every later step computes only the rows still running (``generate`` keeps computing
        finished rows as padding).
        """
        import torch

        if cfg.max_new_tokens <= 0:
            return [[] for _ in seqs]
        eos = set(self.eos_token_ids) if cfg.stop_at_eos else set()
        stops = [s for s in cfg.stop_strings if s]
        new: list[list[int]] = [[] for _ in seqs]
        active = list(range(len(seqs)))
        with torch.inference_mode():
            self.model_calls += 1
            res, cache, mask, pos = self._prefill(seqs)
            while True:
                scores = res.logits[:, -1, :].float()
                tok = sample_tokens(cfg, scores, [generators[r] for r in active]) if generators is not None \
                    else scores.argmax(dim=-1)
                keep: list[int] = []
                for k, (r, t) in enumerate(zip(active, tok.tolist())):
                    new[r].append(t)
                    done = t in eos or len(new[r]) >= cfg.max_new_tokens or (
                        stops and any(s in self.tokenizer.decode(new[r], skip_special_tokens=True) for s in stops))
                    if not done:
                        keep.append(k)
                if not keep:
                    return new
                if len(keep) < len(active):
                    sel = torch.tensor(keep, dtype=torch.long, device=mask.device)
                    cache.batch_select_indices(sel)
                    tok, mask, pos = tok[sel], mask[sel], pos[sel]
                    active = [active[k] for k in keep]
                mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
                pos = pos + 1
                res = self._forward(tok[:, None], mask, position_ids=pos, keep=1, use_cache=True,
                                    **{self._cache_kwarg(): cache})

    def _generate_beams(self, formatted, todo, cfg, seed, keys, out, desc) -> None:
        """Beam search (batched) or beam sampling (one prompt per call, global RNG seeded per prompt).

        No stopping criterion for stop strings (see the module docstring): the beams run to EOS or
        ``max_new_tokens`` and :meth:`_decode_new` cuts each at its first stop string.
        """
        if not todo:
            return
        import torch

        n = cfg.num_return_sequences
        enc = {i: self._encode(formatted[i]) for i in todo}
        model = self.model
        bar = self._progress(len(todo), desc)
        if cfg.do_sample:
            batches = [[i] for i in sorted(todo, key=lambda i: -len(enc[i]))]
        else:
            per_call = max(1, self._auto_batch_size(max(len(v) for v in enc.values()) + cfg.max_new_tokens)
                           // max(cfg.num_beams, 1))
            order = sorted(todo, key=lambda i: -len(enc[i]))
            batches = [order[k:k + per_call] for k in range(0, len(order), per_call)]
        try:
            for batch in batches:
                ids, mask = self._pad_left([enc[i] for i in batch])
                rng_state = torch.random.get_rng_state()
                cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
                try:
                    if cfg.do_sample:
                        torch.manual_seed(row_seed(seed, formatted[batch[0]], -1))
                    with torch.inference_mode():
                        self.model_calls += 1
                        gen = model.generate(input_ids=ids, attention_mask=mask,
                                             generation_config=self._hf_config(cfg, row_sampling=False,
                                                                               num_return_sequences=n))
                finally:
                    torch.random.set_rng_state(rng_state)
                    if cuda_state is not None:
                        torch.cuda.set_rng_state_all(cuda_state)
                texts = self._decode_new(gen, ids.shape[1], cfg)
                puts = []
                for b, i in enumerate(batch):
                    for j in range(n):
                        out[i][j] = texts[b * n + j]
                        puts.append((keys[i][j], out[i][j], {"kind": "gen", "sample": j, "seed": seed, **cfg.key()}))
                self.cache.put_many(puts)
                bar.update(len(batch))
        finally:
            bar.close()

    # ---------------------------------------------------------------- scoring
    def _score_key(self, kind: str, ctx: str, cont: Any) -> str:
        return cache_key(kind=kind, **self.key_base, context=ctx, continuation=cont)

    def loglikelihood(self, contexts: list[str], continuations: list[str], desc: str = "") -> list[tuple[float, int]]:
        """``(sum log p(continuation | context), number of continuation tokens)`` per pair.

        lm-eval-harness style: the context is formatted (``prompt_format``), trailing spaces of the
        context move to the continuation, ``context + continuation`` is tokenised as a whole and the
        tokens after the context's own tokenisation are scored. An empty context is scored after
        the BOS (or EOS) token. Too long inputs are cut from the left to the model's window.
        """
        if len(contexts) != len(continuations):
            raise ValueError("contexts and continuations differ in length")
        ctxs = [self.format_prompt(c) for c in contexts]
        keys = [self._score_key("loglik", c, x) for c, x in zip(ctxs, continuations)]
        found = self.cache.get_many(keys)
        res: list[Any] = [found.get(k) for k in keys]
        todo = [i for i, r in enumerate(res) if r is None]
        if todo:
            reqs = {}
            for i in todo:
                ctx, cont = ctxs[i], continuations[i]
                n_sp = len(ctx) - len(ctx.rstrip(" "))
                if n_sp:
                    ctx, cont = ctx[:-n_sp], ctx[-n_sp:] + cont
                if ctx:
                    whole, ctx_ids = self._encode(ctx + cont), self._encode(ctx)
                else:
                    tok = self.tokenizer
                    prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
                    ctx_ids = [prefix]
                    whole = ctx_ids + list(tok(cont, add_special_tokens=False)["input_ids"])
                reqs[i] = (whole, len(ctx_ids))
            scored = self._score_sequences({i: reqs[i] for i in todo}, desc or "loglikelihood")
            self.cache.put_many((keys[i], list(scored[i]), {"kind": "loglik"}) for i in todo)
            for i in todo:
                res[i] = scored[i]
        return [(float(a), int(b)) for a, b in res]

    def continuation_logprobs(self, prompts: list[str], continuations: list[str], desc: str = "") -> list[float]:
        """Mean per-token log-prob of each continuation after its (formatted) prompt; NaN for an empty one."""
        ll = self.loglikelihood(prompts, continuations, desc=desc or "logprobs")
        return [s / n if n else float("nan") for s, n in ll]

    def _max_len(self) -> int | None:
        m = getattr(self.model.config, "max_position_embeddings", None)
        return int(m) if m else None

    def _score_sequences(self, reqs: dict[int, tuple[list[int], int]], desc: str) -> dict[int, tuple[float, int]]:
        """Sum of log-probs of tokens ``whole[start:]`` for each ``(whole, start)``.

        Requests are grouped by their conditioning tokens ``whole[:start]`` (after the lm-eval split, so a
        continuation whose first token merged with the context's end lands in its own group, exactly as the plain
        computation conditions it). With ``share_context``, a group of two or more is scored by
        :meth:`_score_shared` (one pass over the context, its KV cache expanded to every continuation); single
        requests, and all of them without ``share_context``, by :meth:`_score_plain`.
        """
        max_len = self._max_len()
        items: dict[int, tuple[list[int], int]] = {}
        out: dict[int, tuple[float, int]] = {}
        for i, (whole, start) in reqs.items():
            if max_len and len(whole) > max_len:
                cut = len(whole) - max_len
                whole, start = whole[cut:], max(1, start - cut)
            if start >= len(whole):
                out[i] = (0.0, 0)
            else:
                items[i] = (list(whole), int(start))
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (whole, start) in items.items():
            groups.setdefault(tuple(whole[:start]), []).append(i)
        shared = [(list(ctx), idx) for ctx, idx in groups.items() if self.share_context and len(idx) > 1]
        plain = [i for idx in groups.values() if not (self.share_context and len(idx) > 1) for i in idx]
        bar = self._progress(len(items), desc)
        try:
            if plain:
                out.update(self._score_plain({i: items[i] for i in plain}, bar))
            if shared:
                out.update(self._score_shared([(ctx, [(i, items[i][0][len(ctx):]) for i in idx]) for ctx, idx in shared],
                                              bar))
        finally:
            bar.close()
        return out

    def _score_plain(self, items: dict[int, tuple[list[int], int]], bar) -> dict[int, tuple[float, int]]:
        """One right-padded forward per batch over every request's whole sequence (lm-eval's way)."""
        import torch

        idx = list(items)
        seqs_all = [items[i] for i in idx]
        out: dict[int, tuple[float, int]] = {}
        model = self.model
        for batch in self._batches(len(idx), [len(w) for w, _ in seqs_all], 0, full_logits=True):
            seqs = [seqs_all[b][0] for b in batch]
            L = max(len(s) for s in seqs)
            ids = torch.full((len(seqs), L), self.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(seqs), L), dtype=torch.long)
            for r, s in enumerate(seqs):
                ids[r, :len(s)] = torch.tensor(s)
                mask[r, :len(s)] = 1
            # logits only from the first scored position on: the context's positions need no LM head
            first = min(seqs_all[b][1] for b in batch) - 1
            with torch.inference_mode():
                self.model_calls += 1
                logits = self._forward(ids.to(self.device), mask.to(self.device), keep=L - first).logits
            logp = torch.log_softmax(logits.float(), dim=-1)
            for r, b in enumerate(batch):
                whole, start = seqs_all[b]
                tgt = torch.tensor(whole[start:], device=logp.device)
                lp = logp[r, start - 1 - first:len(whole) - 1 - first].gather(1, tgt[:, None]).squeeze(1)
                out[idx[b]] = (float(lp.sum()), int(len(tgt)))
            bar.update(len(batch))
        return out

    def _score_shared(self, groups: list[tuple[list[int], list[tuple[int, list[int]]]]], bar) -> dict[int, tuple[float, int]]:
        """Score ``(context tokens, [(request, continuation tokens), ...])`` groups with one pass per context.

        A batch holds whole groups (a group larger than a batch is split). Pass 1 runs the batch's contexts,
        left-padded with explicit positions, and keeps their KV cache and last-position logits (which score every
        continuation's first token). Pass 2 copies each context's cache to its continuations' rows and runs the
        continuations minus their last token, right-padded, at positions after their context's real length.
        """
        import torch

        out: dict[int, tuple[float, int]] = {}
        # split groups larger than the batch the longest member allows, then batch whole groups
        units: list[tuple[list[int], list[tuple[int, list[int]]]]] = []
        free = self._free_memory() if self.batch_size <= 0 else None
        for ctx, conts in sorted(groups, key=lambda g: -len(g[0])):
            bs = self._auto_batch_size(len(ctx) + max(len(c) for _, c in conts), True, free)
            units += [(ctx, conts[k:k + bs]) for k in range(0, len(conts), bs)]
        model = self.model
        k = 0
        while k < len(units):
            ctx0, conts0 = units[k]
            bs = self._auto_batch_size(len(ctx0) + max(len(c) for _, c in conts0), True, free)
            batch = [units[k]]
            rows = len(conts0)
            k += 1
            while k < len(units) and rows + len(units[k][1]) <= bs:
                batch.append(units[k])
                rows += len(units[k][1])
                k += 1
            self.batch_sizes_used.add(rows)
            ctx_ids, ctx_mask = self._pad_left([ctx for ctx, _ in batch])
            ctx_pos = (ctx_mask.cumsum(-1) - 1).clamp(min=0)
            with torch.inference_mode():
                self.model_calls += 1
                first = self._forward(ctx_ids, ctx_mask, position_ids=ctx_pos, keep=1, use_cache=True)
                first_logp = torch.log_softmax(first.logits[:, -1, :].float(), dim=-1)
                row_group = [g for g, (_, conts) in enumerate(batch) for _ in conts]
                row_conts = [c for _, conts in batch for _, c in conts]
                row_req = [i for _, conts in batch for i, _ in conts]
                C = max(len(c) for c in row_conts) - 1
                rest_logp = None
                if C > 0:
                    cache = _kv_cache(first)
                    sel = torch.tensor(row_group, dtype=torch.long, device=ctx_ids.device)
                    cache.batch_select_indices(sel)
                    ids = torch.full((len(row_conts), C), self.pad_token_id, dtype=torch.long)
                    cmask = torch.zeros((len(row_conts), C), dtype=torch.long)
                    for r, c in enumerate(row_conts):
                        if len(c) > 1:
                            ids[r, :len(c) - 1] = torch.tensor(c[:-1], dtype=torch.long)
                            cmask[r, :len(c) - 1] = 1
                    ids, cmask = ids.to(self.device), cmask.to(self.device)
                    mask = torch.cat([ctx_mask[sel], cmask], dim=1)
                    pos = ctx_mask.sum(-1)[sel][:, None] + torch.arange(C, device=ids.device)[None, :]
                    second = self._forward(ids, mask, position_ids=pos, **{self._cache_kwarg(): cache})
                    rest_logp = torch.log_softmax(second.logits.float(), dim=-1)
            for r, (g, c, i) in enumerate(zip(row_group, row_conts, row_req)):
                total = float(first_logp[g, c[0]])
                if len(c) > 1:
                    tgt = torch.tensor(c[1:], device=rest_logp.device)
                    total += float(rest_logp[r, :len(c) - 1].gather(1, tgt[:, None]).sum())
                out[i] = (total, len(c))
            bar.update(rows)
        return out

    def _cache_kwarg(self) -> str:
        """The forward argument that takes a KV cache: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
        import inspect

        return "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    def _forward(self, ids, mask, *, position_ids=None, keep: int = 0, **kw):
        """One model forward; ``keep > 0`` computes logits for the last ``keep`` positions only (saves the LM head)."""
        extra = dict(kw)
        if position_ids is not None:
            extra["position_ids"] = position_ids
        if keep > 0:
            try:
                return self.model(input_ids=ids, attention_mask=mask, logits_to_keep=keep, **extra)
            except TypeError:  # a model without logits_to_keep: full logits, the caller's slicing still holds
                out = self.model(input_ids=ids, attention_mask=mask, **extra)
                out.logits = out.logits[:, -keep:]
                return out
        return self.model(input_ids=ids, attention_mask=mask, **extra)

    def next_token_logprobs(self, prompts: list[str], candidates: list[str], desc: str = "") -> list[dict[str, float]]:
        """Log-prob of each candidate's FIRST token as the next token after each (formatted) prompt."""
        import torch

        cand_ids = {}
        for c in candidates:
            toks = self.tokenizer(c, add_special_tokens=False)["input_ids"]
            if not toks:
                raise ValueError(f"candidate {c!r} encodes to no token")
            cand_ids[c] = int(toks[0])
        formatted = [self.format_prompt(p) for p in prompts]
        keys = [self._score_key("next", f, list(candidates)) for f in formatted]
        found = self.cache.get_many(keys)
        res: list[Any] = [found.get(k) for k in keys]
        todo = [i for i, r in enumerate(res) if r is None]
        if todo:
            enc = [self._encode(formatted[i]) for i in todo]
            bar = self._progress(len(todo), desc or "next-token")
            puts = []
            try:
                for batch in self._batches(len(todo), [len(e) for e in enc], 0):
                    ids, mask = self._pad_left([enc[b] for b in batch])
                    pos = (mask.cumsum(-1) - 1).clamp(min=0)
                    with torch.inference_mode():
                        self.model_calls += 1
                        logits = self._forward(ids, mask, position_ids=pos, keep=1).logits[:, -1, :]
                    logp = torch.log_softmax(logits.float(), dim=-1)
                    for r, b in enumerate(batch):
                        d = {c: float(logp[r, t]) for c, t in cand_ids.items()}
                        res[todo[b]] = d
                        puts.append((keys[todo[b]], d, {"kind": "next"}))
                    bar.update(len(batch))
            finally:
                bar.close()
            self.cache.put_many(puts)
        return res


def engine_kwargs(config: Any) -> dict[str, Any]:
    """Engine keyword arguments taken from a vertical config (fields of the same names)."""
    d = asdict(config) if hasattr(config, "__dataclass_fields__") else dict(config)
    return {k: d[k] for k in ("device", "dtype", "batch_size", "seed", "prompt_format") if k in d}


def load_engine(checkpoint: str, run_dir: str, base_model: str, **kwargs) -> Engine:
    """Resolve a checkpoint name (``base``, ``sft``, ``ppo``, ``dpo`` or a model reference) and open an :class:`Engine`.

    ``model_cache_dir`` (in ``kwargs``) is used to resolve model references such as ``tiny``.
    """
    from .models import resolve_checkpoint

    mcd = kwargs.get("model_cache_dir") or None
    resolved = resolve_checkpoint(checkpoint, run_dir, base_model, cache_dir=mcd)
    return Engine(resolved, **kwargs)


__all__ = ["DecodingConfig", "Engine", "load_engine", "cut_at_stop", "row_seed", "engine_kwargs"]
