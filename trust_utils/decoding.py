"""Generation: the engine's batched decode loop (greedy and per-row-seeded sampling; a shared prompt prefix runs once,
finished rows leave the batch), beam search through HF ``generate``, and the generation cache keys.

:class:`Decoding` is a mixin of :class:`trust_utils.generation.Engine`, whose module docstring gives the design.
"""

from __future__ import annotations

import math
from typing import Any

from .batching import kv_cache
from .cache import cache_key
from .decoding_config import DecodingConfig, cut_at_stop, row_seed

# A batch's common prompt prefix at least this long is computed once (Engine._prefill).
MIN_SHARED_PREFIX = 8


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


class Decoding:
    """Continuations of :class:`~trust_utils.generation.Engine` (a mixin): :meth:`generate` and its decode paths."""

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

    def _generate_rows(self, formatted, todo, cfg, seed, keys, out, desc, after_prefill=None) -> None:
        """Greedy or per-row-seeded sampling of (prompt index, sample index) rows, in length-sorted batches.

        ``after_prefill(rows, output, cache, mask)``, if given, is called once per batch with its (prompt, sample)
        rows and the prompts' prefill (see :meth:`_decode`)."""
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
                hook = None if after_prefill is None else (lambda res, cache, mask, rows=rows:
                                                           after_prefill(rows, res, cache, mask))
                new = self._decode([enc[i] for i, _ in rows], cfg, gens, hook)
                texts = [cut_at_stop(self.tokenizer.decode(t, skip_special_tokens=True), cfg.stop_strings)
                         for t in new]
                puts = []
                for (i, j), t in zip(rows, texts, strict=True):
                    out[i][j] = t
                    puts.append((keys[i][j], t, {"kind": "gen", "sample": j, "seed": seed, **cfg.key()}))
                self.cache.put_many(puts)
                bar.update(len(rows))
        finally:
            bar.close()

    def _prefill(self, seqs: list[list[int]], fp32_head: bool = False):
        """Run a batch's prompts: ``(output with last-position logits, KV cache, attention mask, last positions)``.

        Rows that share a prefix of at least :data:`MIN_SHARED_PREFIX` tokens (every row of a toxicity batch
        starts with the same system prompt) have it computed once, its KV cache copied to every row; each row's
        remaining tokens follow, left-padded *after* the prefix (``[prefix][pad][rest]``) at positions that
        continue the prefix, so every row sees exactly its own prompt at its own positions. Otherwise the whole
        prompts are left-padded, as ``generate`` does. ``fp32_head``: the last position's logits from an fp32 LM head
        (the likelihood metrics' rule; :meth:`Engine.next_token_logprobs` reads them).
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
            res = self._forward_parts(ids, mask, position_ids=pos, fp32_head=fp32_head)
            return res, kv_cache(res), mask, pos[:, -1:]
        head = torch.tensor([seqs[0][:shared]], dtype=torch.long, device=self.device)
        first_pass = self._forward(head, torch.ones_like(head), keep=1, use_cache=True)
        cache = kv_cache(first_pass)
        cache.batch_select_indices(torch.zeros(len(seqs), dtype=torch.long, device=self.device))
        rest, rest_mask = self._pad_left([q[shared:] for q in seqs])
        mask = torch.cat([rest_mask.new_ones((len(seqs), shared)), rest_mask], dim=1)
        pos = (shared + rest_mask.cumsum(-1) - 1).masked_fill(rest_mask == 0, 1)
        res = self._forward_parts(rest, mask, position_ids=pos, fp32_head=fp32_head, cache=cache)
        return res, kv_cache(res), mask, pos[:, -1:]

    def _decode(self, seqs: list[list[int]], cfg: DecodingConfig, generators: list | None,
                after_prefill=None) -> list[list[int]]:
        """The new token ids of each prompt (token lists) of one batch: greedy (``generators`` None) or each row
        sampled with its own generator (:func:`sample_tokens`).

        The same computation as HF ``generate`` in greedy mode (positions from the attention mask, one forward per
        step over the KV cache, float32 logits of the last position), with two savings that change no row's
        tokens: the batch's common prompt prefix (a system prompt, a few-shot primer) is run once
        (:meth:`_prefill`), and a row *leaves the batch* once it is finished (it emitted an EOS with
        ``stop_at_eos``, its new text holds a stop string, or it has ``max_new_tokens`` tokens): its KV-cache rows
        are dropped, so every later step computes only the rows still running (``generate`` keeps computing
        finished rows as padding). ``after_prefill(output, cache, mask)`` sees the prompts' prefill (last-position
        logits, KV cache, attention mask) before the first step; it must leave the cache as it is.
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
            if after_prefill is not None:
                after_prefill(res, cache, mask)
            while True:
                scores = res.logits[:, -1, :].float()
                tok = sample_tokens(cfg, scores, [generators[r] for r in active]) if generators is not None \
                    else scores.argmax(dim=-1)
                keep: list[int] = []
                for k, (r, t) in enumerate(zip(active, tok.tolist(), strict=True)):
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


__all__ = ["Decoding", "sample_tokens", "MIN_SHARED_PREFIX"]
