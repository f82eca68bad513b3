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
  well before that), so batches of short rows are larger (:func:`~trust_utils.batching.memory_batch_size`).
* **dtype.** ``auto`` is bf16 on CUDA with bf16 and on CPUs with native bf16 matmul (AVX512-bf16 / AMX), fp32
  elsewhere: on a CPU without them bf16 matmul is emulated and ~100x slower. The dtype is part of every cache
  key and recorded in each vertical's ``outputs.json`` (``engine``), since bf16 and fp32 greedy outputs differ.
* **Scoring shares contexts.** Log-likelihood requests with the same conditioning tokens (TruthfulQA's options
  of one question) run the context once; its KV cache is copied to each continuation's row
  (:meth:`Engine._score_shared`), and a prefix common to a batch's contexts (a system prompt, a few-shot primer)
  runs once, as in generation's prefill. Values equal one full forward per request within float rounding
  (tested to 1e-4 in fp32). Only the positions that are scored go through the LM head.
* **A reply and its scores share the prompt.** :meth:`Engine.generate_and_score` (privacy: the reply to a prompt
  and the exposure's candidates after it) scores the continuations from the greedy decode loop's own prefill of
  the prompt, so the prompt runs once, not twice; the values and cache entries are the two calls' own.
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
  (:func:`~trust_utils.decoding.sample_tokens`). So the
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

Code layout
-----------
:class:`Engine` (here: the model, tokenizer, prompt formats, cache keys' base and ``describe()``) mixes in
:class:`~trust_utils.decoding.Decoding` (``generate``: the decode loop, beams, generation cache keys),
:class:`~trust_utils.likelihood.Likelihood` (``loglikelihood``, ``next_token_logprobs``) and
:class:`~trust_utils.batching.Batching` (batch sizes from free memory, padding, the forward pass);
:mod:`trust_utils.decoding_config` holds :class:`DecodingConfig`. This module imports them all at its top, so the
cache key's ``code`` part (this module's import closure) covers every line the engine runs.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from dataclasses import asdict
from typing import Any

from tqdm.auto import tqdm

from .batching import Batching
from .cache import ResultCache, producer_key
from .decoding import Decoding
from .decoding_config import DecodingConfig, cut_at_stop, row_seed
from .kernel_modes import kernel_key
from .likelihood import Likelihood
from .models import load_causal_lm, load_tokenizer, model_fingerprint
from .progress import Bar
from .run import Run
from .utils import resolve_device, resolve_dtype

log = logging.getLogger(__name__)

PROMPT_FORMATS = ("raw", "chat", "hh")
#: libraries whose versions are part of every cache key: they compute the values (kernels, tokenisation, the GGUF
#: conversion), so a new version recomputes rather than mixing with what the old one produced.
ENGINE_LIBRARIES = ("torch", "transformers", "tokenizers", "gguf")


class Engine(Decoding, Likelihood, Batching):
    """Batched, seeded, cached generation and scoring with one model.

    Args:
        model: a resolved model path or hub id (:meth:`trust_utils.run.Run.resolve`).
        device: ``auto`` (cuda > mps > cpu) or a torch device.
        dtype: ``auto`` (bf16 on CUDA with bf16 and on CPUs with native bf16 matmul, else fp32; see
            :func:`trust_utils.utils.resolve_dtype`) or a dtype name.
        batch_size: sequences per forward pass; 0 picks one per batch from free memory (CUDA: free device memory;
            CPU: available RAM), for that batch's longest sequence
            (:func:`~trust_utils.batching.memory_batch_size`).
        cache_dir: directory of the generation/score cache; ``None`` disables caching.
        seed: default seed for sampling (``generate(seed=...)`` overrides).
        prompt_format: ``raw`` | ``chat`` | ``hh`` (see module docstring).
        system_prompt: for ``chat``, a system message (ignored by the other formats).
        model_cache_dir: cache of converted models (for model references such as ``tiny``).
        progress: show tqdm progress bars.
        share_context: score requests that share a context with one pass over the context (its KV cache reused
            for every continuation) instead of one full pass per request; same values within float rounding.
        pack_continuations: with ``share_context``, a context's continuations go through the model as one row, a
            token trie over the context's KV cache (:mod:`trust_utils.packing`), instead of one row each with a copy
            of the context's cache; same values within float rounding. Off, or on a model whose attention takes no
            custom mask, each continuation is its own row.
    """

    def __init__(self, model: str, *, device: str = "auto", dtype: str = "auto", batch_size: int = 16,
                 cache_dir: str | None = None, seed: int = 0, prompt_format: str = "raw", system_prompt: str = "",
                 model_cache_dir: str | None = None, progress: bool = True, share_context: bool = True,
                 pack_continuations: bool = True):
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
        self.pack_continuations = bool(pack_continuations)
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
                                         "code": engine_code_key(), **kernel_key()}
        self._model = None
        self.model_calls = 0  # forward / generate calls made (0 after a fully cached rerun)
        # Wall seconds per public call, keyed by its ``desc`` (outermost call only), so a stage can say what each
        # of its computations cost (e.g. generation against forced-choice scoring) from one run.
        self.seconds: dict[str, float] = {}
        self._timing_depth = 0
        if prompt_format == "chat" and not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"prompt_format='chat' but the tokenizer of {model} has no chat template")

    # ---------------------------------------------------------------- model
    @property
    def model(self):
        """The model, loaded on first use (a fully cached run never loads it)."""
        if self._model is None:
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
        """What this engine computed with: dtype, device and the batch sizes it ran, and the wall seconds of each
        call (for a stage's outputs)."""
        return {"dtype": self.key_base["dtype"], "device": self.device, "batch_size": self.batch_size,
                "batch_sizes": sorted(self.batch_sizes_used), "code": self.key_base["code"],
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

    @contextlib.contextmanager
    def _timed(self, kind: str, desc: str):
        """Add this call's wall time to :attr:`seconds` under ``<kind>:<desc>`` (nested calls count once)."""
        self._timing_depth += 1
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self._timing_depth -= 1
            if self._timing_depth == 0:
                self._add_seconds(kind, desc, time.perf_counter() - t0)

    def _add_seconds(self, kind: str, desc: str, seconds: float) -> None:
        """Count ``seconds`` under ``<kind>:<desc>`` in :attr:`seconds` (``<kind>:<kind>`` without a description)."""
        key = f"{kind}:{desc or kind}"
        self.seconds[key] = self.seconds.get(key, 0.0) + seconds

    def generate(self, prompts: list[str], cfg: DecodingConfig, seed: int | None = None,
                 desc: str = "") -> list[list[str]]:
        with self._timed("generate", desc):
            return super().generate(prompts, cfg, seed=seed, desc=desc)

    def loglikelihood(self, contexts: list[str], continuations: list[str], desc: str = "") -> list[tuple[float, int]]:
        with self._timed("loglikelihood", desc):
            return super().loglikelihood(contexts, continuations, desc=desc)

    def next_token_logprobs(self, prompts: list[str], candidates: list[str], desc: str = "") -> list[dict[str, float]]:
        with self._timed("next_token", desc):
            return super().next_token_logprobs(prompts, candidates, desc=desc)

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

    def _progress(self, total: int, desc: str):
        desc = desc or "generate"
        return Bar(tqdm(total=total, desc=desc, disable=not self.progress or total == 0, leave=False), total, desc)


def engine_kwargs(config: Any) -> dict[str, Any]:
    """Engine keyword arguments taken from a vertical config (fields of the same names)."""
    d = asdict(config) if hasattr(config, "__dataclass_fields__") else dict(config)
    return {k: d[k] for k in ("device", "dtype", "batch_size", "seed", "prompt_format") if k in d}


def engine_code_key() -> str:
    """The ``code`` part of every generation and likelihood cache key: this module's import closure (the engine's
    parts included) and the versions of :data:`ENGINE_LIBRARIES`."""
    return producer_key([__name__], ENGINE_LIBRARIES)


def load_engine(checkpoint: str, run: Run, base_model: str, **kwargs) -> Engine:
    """Resolve a checkpoint name of the run (``base``, ``sft``, ``ppo``, ``dpo`` or a model reference) and open an
    :class:`Engine`.

    ``model_cache_dir`` (in ``kwargs``) is used to resolve model references such as ``tiny``.
    """
    mcd = kwargs.get("model_cache_dir") or None
    resolved = Run.open(run).resolve(checkpoint, base_model, cache_dir=mcd)
    return Engine(resolved, **kwargs)


# DecodingConfig, cut_at_stop and row_seed live in decoding_config; the verticals import them from here.
__all__ = ["DecodingConfig", "Engine", "load_engine", "engine_code_key", "cut_at_stop", "row_seed", "engine_kwargs"]
