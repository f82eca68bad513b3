"""Scoring: the log-likelihood of continuations (lm-eval-harness style; requests that share a context run it once,
and its continuations then go through the model as one packed row over its KV cache, :mod:`trust_utils.packing`)
and next-token log-probs.

Every score here comes from float32 logits: the body runs in the engine's dtype, its last hidden state is upcast and
the LM head applied in float32 (``fp32_head``, :mod:`trust_utils.batching`), so a bf16 body does not put its
logits' rounding (steps of 1/8 nat near a logit of 20) into the likelihood metrics. The cache key names the head
(``head="float32"``).

:class:`Likelihood` is a mixin of :class:`trust_utils.generation.Engine`.
"""

from __future__ import annotations

from typing import Any

from .batching import fork_cache, select_rows
from .cache import cache_key

SCORE_HEAD_DTYPE = "float32"  # the dtype of the LM head and log-softmax behind every score
# Nodes in one packed row at most (:mod:`trust_utils.packing`): a group with more continuation tokens is split into
# rows, each over its own copy of the context's cache rows (its logits are nodes x vocabulary floats).
MAX_PACKED_NODES = 512


class Likelihood:
    """Scoring methods of :class:`~trust_utils.generation.Engine` (a mixin)."""

    def _score_key(self, kind: str, ctx: str, cont: Any) -> str:
        return cache_key(kind=kind, **self.key_base, head=SCORE_HEAD_DTYPE, context=ctx, continuation=cont)

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
        keys = [self._score_key("loglik", c, x) for c, x in zip(ctxs, continuations, strict=True)]
        found = self.cache.get_many(keys)
        res: list[Any] = [found.get(k) for k in keys]
        todo = [i for i, r in enumerate(res) if r is None]
        if todo:
            reqs = {i: self._request(ctxs[i], continuations[i]) for i in todo}
            scored = self._score_sequences(reqs, desc or "loglikelihood")
            self.cache.put_many((keys[i], list(scored[i]), {"kind": "loglik"}) for i in todo)
            for i in todo:
                res[i] = scored[i]
        return [(float(a), int(b)) for a, b in res]

    def _request(self, ctx: str, cont: str) -> tuple[list[int], int]:
        """``(tokens of context + continuation, index of the first continuation token)`` for a formatted context, by
        lm-eval-harness' rules (see :meth:`loglikelihood`)."""
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
        return whole, len(ctx_ids)

    def generate_and_score(self, prompts: list[str], cfg, continuations: list[list[str]], seed: int | None = None,
                           desc: str = "", score_desc: str = ""
                           ) -> tuple[list[list[str]], list[list[tuple[float, int]]]]:
        """:meth:`generate` of ``prompts`` and :meth:`loglikelihood` of each ``continuations[i][j]`` after
        ``prompts[i]``, with one pass over a prompt for both where that gives the same computation.

        Shared: greedy decoding (``do_sample`` off, one beam) with a model whose LM head is float32 already (the
        scores' head is then the generation's), for the continuations whose conditioning tokens are the prompt's own
        (lm-eval's split leaves them the prompt's tokens; a context ending in a space or cut to the model's window
        does not). Such a prompt's prefill in the decode loop (its KV cache and last-position logits) scores its
        continuations (:meth:`_continuation_totals`) before the first decoding step, so the prompt runs once instead
        of twice. Everything else, and all of it otherwise, goes through :meth:`generate` and :meth:`loglikelihood`.
        Values equal the two calls' within float rounding (tested); both are cached under the two calls' own keys,
        and the seconds go to ``generate:<desc>`` and ``loglikelihood:<score_desc>`` as if they had been two calls.
        """
        import time

        import torch

        if len(continuations) != len(prompts):
            raise ValueError("prompts and continuations differ in length")
        seed = self.seed if seed is None else int(seed)
        n = cfg.num_return_sequences
        gens: list[list[str] | None] = [None] * len(prompts)
        scores: list[list[Any]] = [[None] * len(c) for c in continuations]
        if not cfg.do_sample and cfg.num_beams == 1:
            formatted = [self.format_prompt(p) for p in prompts]
            gkeys = [self._gen_key(f, cfg, seed, 0) for f in formatted]
            skeys = [[self._score_key("loglik", f, c) for c in conts] for f, conts in zip(formatted, continuations,
                                                                                         strict=True)]
            have = set(self.cache.get_many(gkeys)) | set(self.cache.get_many(k for row in skeys for k in row))
            need = [i for i, k in enumerate(gkeys) if k not in have and any(x not in have for x in skeys[i])]
            if need and self._fp32_head() is None:
                max_len = self._max_len()
                plan: dict[int, list[tuple[int, list[int]]]] = {}
                for i in need:
                    enc = self._encode(formatted[i])
                    for j, c in enumerate(continuations[i]):
                        whole, start = self._request(formatted[i], c)
                        if skeys[i][j] not in have and whole[:start] == enc and start < len(whole) and \
                                not (max_len and len(whole) > max_len):
                            plan.setdefault(i, []).append((j, whole[start:]))
                spent = [0.0]

                def score_prefill(rows, res, cache, mask):
                    t0 = time.perf_counter()
                    first_logp = torch.log_softmax(res.logits[:, -1, :].float(), dim=-1)
                    reqs = [(b, i, j, c) for b, (i, _) in enumerate(rows) for j, c in plan.get(i, [])]
                    if reqs:
                        self.model_calls += 1
                        totals = self._continuation_totals(first_logp, cache, mask, [b for b, *_ in reqs],
                                                           [c for *_, c in reqs])
                        self.cache.put_many((skeys[i][j], [total, len(c)], {"kind": "loglik"})
                                            for (_, i, j, c), total in zip(reqs, totals, strict=True))
                        for (_, i, j, c), total in zip(reqs, totals, strict=True):
                            scores[i][j] = (total, len(c))
                    spent[0] += time.perf_counter() - t0

                out: list[list[Any]] = [[None] for _ in prompts]
                t0 = time.perf_counter()
                self._generate_rows(formatted, [(i, 0) for i in need], cfg, seed, [[k] for k in gkeys], out, desc,
                                    after_prefill=score_prefill)
                for i in need:
                    gens[i] = [str(out[i][0])] * n
                self._add_seconds("generate", desc, time.perf_counter() - t0 - spent[0])
                self._add_seconds("loglikelihood", score_desc, spent[0])
        rest = [i for i, g in enumerate(gens) if g is None]
        if rest:
            for i, g in zip(rest, self.generate([prompts[i] for i in rest], cfg, seed=seed, desc=desc), strict=True):
                gens[i] = g
        todo = [(i, j) for i, row in enumerate(scores) for j, v in enumerate(row) if v is None]
        if todo:
            got = self.loglikelihood([prompts[i] for i, _ in todo], [continuations[i][j] for i, j in todo],
                                     desc=score_desc)
            for (i, j), v in zip(todo, got, strict=True):
                scores[i][j] = v
        return ([list(g) for g in gens],  # type: ignore[arg-type]
                [[(float(a), int(b)) for a, b in row] for row in scores])

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
                logits = self._forward(ids.to(self.device), mask.to(self.device), keep=L - first,
                                       fp32_head=True).logits
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

        A batch holds whole groups, as many contexts as a prompt pass of the longest takes (the continuations' own
        forwards are sized by :meth:`_continuation_totals`). Pass 1 runs the batch's contexts as generation's
        prefill does (:meth:`~trust_utils.decoding.Decoding._prefill`: a prefix common to them all, such as a
        system prompt or a few-shot primer, once; each row's own tokens left-padded after it, at explicit
        positions) and keeps their KV cache and last-position logits (which score every continuation's first
        token); :meth:`_continuation_totals` scores the rest over that cache.
        """
        import torch

        out: dict[int, tuple[float, int]] = {}
        free = self._free_memory() if self.batch_size <= 0 else None
        order = sorted(groups, key=lambda g: -len(g[0]))
        k = 0
        while k < len(order):
            bs = self._auto_batch_size(len(order[k][0]), False, free)
            batch = order[k:k + bs]
            k += len(batch)
            rows = sum(len(conts) for _, conts in batch)
            self.batch_sizes_used.add(len(batch))
            with torch.inference_mode():
                self.model_calls += 1
                # the batch's common prefix (a system prompt, a few-shot primer) runs once, as in generation
                first, cache, ctx_mask, _ = self._prefill([ctx for ctx, _ in batch], fp32_head=True)
                first_logp = torch.log_softmax(first.logits[:, -1, :].float(), dim=-1)
                row_group = [g for g, (_, conts) in enumerate(batch) for _ in conts]
                row_conts = [c for _, conts in batch for _, c in conts]
                row_req = [i for _, conts in batch for i, _ in conts]
                totals = self._continuation_totals(first_logp, cache, ctx_mask, row_group, row_conts)
            for r, (c, i) in enumerate(zip(row_conts, row_req, strict=True)):
                out[i] = (totals[r], len(c))
            bar.update(rows)
        return out

    def _continuation_totals(self, first_logp, cache, ctx_mask, row_group: list[int],
                             row_conts: list[list[int]]) -> list[float]:
        """Sum of log-probs of each continuation (token list) ``row_conts[r]`` after context ``row_group[r]``.

        ``first_logp``: the contexts' last-position log-probs (one row per context), which score every
        continuation's first token; ``cache`` and ``ctx_mask``: the contexts' KV cache and attention mask (left
        padded, positions counted from each row's first real token); ``cache`` is left as it is (a decode loop may
        go on with it). The rest of each continuation runs over the cache at positions after its context's real
        length: packed, a context's continuations as one row (:meth:`_packed_totals`), where the model allows;
        else one right-padded row per continuation over a copy of its context's cache rows, in forwards of as many
        rows as memory allows (:meth:`_padded_totals`).
        """
        totals = [float(first_logp[g, c[0]]) for g, c in zip(row_group, row_conts, strict=True)]
        if max(len(c) for c in row_conts) <= 1:
            return totals
        if self._packs():
            done = self._packed_totals(totals, cache, ctx_mask, row_group, row_conts)
            if done is not None:
                return done
        return self._padded_totals(totals, cache, ctx_mask, row_group, row_conts)

    def _padded_totals(self, totals: list[float], cache, ctx_mask, row_group: list[int],
                       row_conts: list[list[int]]) -> list[float]:
        """:meth:`_continuation_totals`, one right-padded row per continuation (minus its last token) over its
        context's cache rows (copied), in forwards of :meth:`_auto_batch_size` rows."""
        import torch

        C = max(len(c) for c in row_conts) - 1
        rows = [r for r, c in enumerate(row_conts) if len(c) > 1]
        bs = self._auto_batch_size(ctx_mask.shape[1] + C, True)
        ctx_len = ctx_mask.sum(-1)
        for k in range(0, len(rows), bs):
            part = rows[k:k + bs]
            sel = torch.tensor([row_group[r] for r in part], dtype=torch.long, device=ctx_mask.device)
            ids = torch.full((len(part), C), self.pad_token_id, dtype=torch.long)
            cmask = torch.zeros((len(part), C), dtype=torch.long)
            for q, r in enumerate(part):
                c = row_conts[r]
                ids[q, :len(c) - 1] = torch.tensor(c[:-1], dtype=torch.long)
                cmask[q, :len(c) - 1] = 1
            ids, cmask = ids.to(self.device), cmask.to(self.device)
            mask = torch.cat([ctx_mask[sel], cmask], dim=1)
            pos = ctx_len[sel][:, None] + torch.arange(C, device=ids.device)[None, :]
            self.batch_sizes_used.add(len(part))
            second = self._forward(ids, mask, position_ids=pos, fp32_head=True,
                                   **{self._cache_kwarg(): select_rows(cache, sel)})
            rest_logp = torch.log_softmax(second.logits.float(), dim=-1)
            for q, r in enumerate(part):
                c = row_conts[r]
                tgt = torch.tensor(c[1:], device=rest_logp.device)
                totals[r] += float(rest_logp[q, :len(c) - 1].gather(1, tgt[:, None]).sum())
        return totals

    def _packs(self) -> bool:
        """Whether continuations may go through the model packed (:mod:`trust_utils.packing`):
        ``pack_continuations`` on, and an attention that takes a custom 4D mask (SDPA or eager)."""
        if not getattr(self, "pack_continuations", True):
            return False
        return getattr(self.model.config, "_attn_implementation", None) in ("sdpa", "eager")

    def _packed_node_budget(self) -> int:
        """Nodes per packed forward: on CPU about :data:`~trust_utils.batching.CPU_FORWARD_TOKENS` (larger forwards
        run slower there); on CUDA as many as the memory plan allows (``batch_size`` rows of
        :data:`MAX_PACKED_NODES` with a fixed batch size)."""
        import torch

        from . import batching

        if self.device == "cpu":
            return batching.CPU_FORWARD_TOKENS
        if self.batch_size > 0:
            return self.batch_size * MAX_PACKED_NODES
        free, _, share = self._free_memory()
        per_node = batching.memory_batch_size(self.model.config, torch.finfo(self.torch_dtype).bits // 8, 1, free,
                                              full_logits=True, cap=1 << 30, share=share)
        return max(MAX_PACKED_NODES, per_node)

    def _packed_totals(self, totals: list[float], cache, ctx_mask, row_group: list[int],
                       row_conts: list[list[int]]) -> list[float] | None:
        """:meth:`_continuation_totals` with each context's continuations as one row: their token trie
        (:func:`~trust_utils.packing.build_trie`, at most :data:`MAX_PACKED_NODES` nodes a row; a longer group takes
        several rows) at positions after the context's real length, each node attending to the context and its own
        ancestors (:func:`~trust_utils.packing.attention_mask`), over the contexts' KV cache rows (forked or copied:
        ``cache`` is left as it is), in forwards of about :meth:`_packed_node_budget` nodes. ``totals`` holds the
        first tokens' log-probs; the rest are added. None when a sliding window is shorter than a packed row
        (the window would cut it): the caller scores unpacked."""
        import torch

        from .packing import attention_mask, build_trie, chunk_by_nodes

        by_ctx: dict[int, list[int]] = {}
        for r, (g, c) in enumerate(zip(row_group, row_conts, strict=True)):
            if len(c) > 1:
                by_ctx.setdefault(g, []).append(r)
        units = [(g, [rs[k] for k in chunk]) for g, rs in by_ctx.items()
                 for chunk in chunk_by_nodes([row_conts[r] for r in rs], MAX_PACKED_NODES)]
        tries = [build_trie([row_conts[r] for r in rs]) for _, rs in units]
        window = getattr(self.model.config, "sliding_window", None)
        if window and ctx_mask.shape[1] + max(len(t) for t in tries) >= int(window) - 1:
            return None
        budget = self._packed_node_budget()
        eager = self.model.config._attn_implementation == "eager"
        ctx_len = ctx_mask.sum(-1)
        k = 0
        while k < len(units):
            part, size = [k], len(tries[k])
            k += 1
            while k < len(units) and size + len(tries[k]) <= budget:
                part.append(k)
                size += len(tries[k])
                k += 1
            ctx_rows = [units[u][0] for u in part]
            if ctx_rows == list(range(ctx_mask.shape[0])):
                sub, cmask, lens = fork_cache(cache), ctx_mask, ctx_len
            else:
                sel = torch.tensor(ctx_rows, dtype=torch.long, device=ctx_mask.device)
                sub, cmask, lens = select_rows(cache, sel), ctx_mask[sel], ctx_len[sel]
            ptries = [tries[u] for u in part]
            width = max(len(t) for t in ptries)
            ids = torch.full((len(part), width), self.pad_token_id, dtype=torch.long)
            pos = lens.cpu()[:, None].repeat(1, width)
            for q, t in enumerate(ptries):
                ids[q, :len(t)] = torch.tensor(t.tokens, dtype=torch.long)
                pos[q, :len(t)] += torch.tensor(t.depths, dtype=torch.long)
            mask = attention_mask(ptries, cmask, width, additive_dtype=self.torch_dtype if eager else None)
            self.batch_sizes_used.add(len(part))
            out = self._forward(ids.to(self.device), mask, position_ids=pos.to(self.device), fp32_head=True,
                                **{self._cache_kwarg(): sub})
            logp = torch.log_softmax(out.logits.float(), dim=-1)
            qq: list[int] = []
            nn: list[int] = []
            tt: list[int] = []
            owner: list[int] = []
            for q, u in enumerate(part):
                for r, path in zip(units[u][1], tries[u].paths, strict=True):
                    qq += [q] * len(path)
                    nn += path
                    tt += row_conts[r][1:]
                    owner += [r] * len(path)
            dev = logp.device
            vals = logp[torch.tensor(qq, device=dev), torch.tensor(nn, device=dev), torch.tensor(tt, device=dev)]
            sums = torch.zeros(len(row_conts), dtype=torch.float64, device=dev).index_add_(
                0, torch.tensor(owner, device=dev), vals.double())
            added = sums.tolist()  # one transfer, not a float() per continuation
            for r in set(owner):
                totals[r] += added[r]
        return totals

    def next_token_logprobs(self, prompts: list[str], candidates: list[str], desc: str = "") -> list[dict[str, float]]:
        """Log-prob of each candidate's FIRST token as the next token after each (formatted) prompt (a batch's common
        prompt prefix computed once, as in generation: :meth:`~trust_utils.decoding.Decoding._prefill`)."""
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
                    with torch.inference_mode():
                        self.model_calls += 1
                        # the batch's common prefix (a chat template's system prompt, a task instruction) runs once
                        out, _, _, _ = self._prefill([enc[b] for b in batch], fp32_head=True)
                        logits = out.logits[:, -1, :]
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


__all__ = ["Likelihood", "SCORE_HEAD_DTYPE"]
