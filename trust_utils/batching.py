"""How the engine forms and runs its batches: sizes chosen from free memory (``batch_size=0``), left padding, and one
model forward (logits of the last positions only; a KV cache passed under the name the model's ``forward`` takes).

**fp32 head for scores.** ``_forward(..., fp32_head=True)`` (every likelihood path: :mod:`trust_utils.likelihood`)
runs the model's body in its own dtype and, for that forward only, swaps the model's LM head
(``set_output_embeddings``) for a float32 copy (made once per engine) that upcasts the last hidden state, so
log-probabilities do not come in bf16 steps (a bf16 logit near 20 has a step of 1/8) whatever the body's dtype.
Whatever the model does after its head (e.g. a logit soft cap) then runs on float32 logits. With an fp32 body
nothing is swapped. Generation keeps the model's own head.

:class:`Batching` is a mixin of :class:`trust_utils.generation.Engine`; it uses the engine's ``model``, ``device``,
``torch_dtype``, ``batch_size``, ``pad_token_id`` and ``batch_sizes_used``.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import Any

import psutil

CPU_DEFAULT_BATCH = 16  # the default of ``batch_size`` (a fixed size); 0 = chosen from memory
# Caps on a memory-chosen batch: on CPU a decode step is compute-bound from about 32-64 rows on (weights are read
# once per step whatever the batch), so larger batches only add padding and latency; on CUDA memory is the limit.
CPU_MAX_BATCH = 64
CUDA_MAX_BATCH = 512
# Tokens per forward of a prompt pass on CPU: a 64-row batch of 131-token prompts runs as one forward at 225 GFLOP/s
# and in parts of 4-16 rows at 290-320 on the 2-core Xeon (SmolLM2, fp32; the activations of 8,000 tokens leave the
# caches), so a prefill is run in parts of about this many tokens and their KV caches joined. CUDA runs it whole.
CPU_FORWARD_TOKENS = 1024
# Share of the free memory a memory-chosen batch may plan for: the CPU is shared with other processes.
CPU_MEMORY_SHARE = 0.25
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


def kv_cache(output):
    """The KV cache a forward returned: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
    return getattr(output, "cache", None) or output.past_key_values


def fork_cache(cache):
    """A KV cache that a forward can extend while ``cache`` stays as it is (a decode loop goes on with it).

    A layered cache (transformers' ``DynamicCache``, whose layers append by concatenation into new tensors) is
    copied layer by layer without copying its tensors; any other cache is deep-copied."""
    import copy

    layers = getattr(cache, "layers", None)
    if isinstance(layers, list):
        new = copy.copy(cache)
        new.layers = [copy.copy(layer) for layer in layers]
        return new
    return copy.deepcopy(cache)


def concat_caches(caches: list):
    """One KV cache of the rows of ``caches`` (layered caches of equal length, from forwards of the same padded
    width), in order."""
    import torch

    new = fork_cache(caches[0])
    for i, layer in enumerate(new.layers):
        layer.keys = torch.cat([c.layers[i].keys for c in caches], dim=0)
        layer.values = torch.cat([c.layers[i].values for c in caches], dim=0)
    return new


def select_rows(cache, rows):
    """A new KV cache holding ``cache``'s batch rows ``rows`` (a long tensor, repeats allowed); ``cache`` itself is
    left as it is (:func:`fork_cache`, whose copy's ``batch_select_indices`` then indexes new tensors)."""
    new = fork_cache(cache)
    new.batch_select_indices(rows)
    return new


class Batching:
    """Batch sizing, padding and the model forward of :class:`~trust_utils.generation.Engine` (a mixin)."""

    def _free_memory(self) -> tuple[float, int, float]:
        """(free bytes, batch cap, share of it to plan for) on this engine's device."""
        if self.device.startswith("cuda"):
            import torch

            free, _ = torch.cuda.mem_get_info()
            return float(free), CUDA_MAX_BATCH, CUDA_MEMORY_SHARE
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

    def _cache_kwarg(self) -> str:
        """The forward argument that takes a KV cache: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
        return "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    def _fp32_head(self):
        """The model's LM head as a float32 module that upcasts its input (built once per model); None when the head
        is float32 already or the model has none to swap."""
        import torch

        cached = getattr(self, "_head32", None)
        if cached is not None and cached[0] is self.model:
            return cached[1]
        head = self.model.get_output_embeddings()
        w = getattr(head, "weight", None)
        head32 = None
        if w is not None and w.dtype != torch.float32:
            bias = getattr(head, "bias", None)

            class Fp32Head(torch.nn.Module):
                """``linear(h.float(), W32, b32)``: the LM head in float32 on the upcast last hidden state."""

                def __init__(self):
                    super().__init__()
                    self.weight = torch.nn.Parameter(w.detach().float(), requires_grad=False)
                    self.bias = None if bias is None else torch.nn.Parameter(bias.detach().float(), requires_grad=False)

                def forward(self, h):
                    return torch.nn.functional.linear(h.float(), self.weight, self.bias)

            head32 = Fp32Head()
        self._head32 = (self.model, head32)
        return head32

    @contextmanager
    def _scoring_head(self):
        """Within it, the model's forward applies the float32 head (:meth:`_fp32_head`); the original is put back."""
        head32 = self._fp32_head()
        if head32 is None:
            yield
            return
        original = self.model.get_output_embeddings()
        self.model.set_output_embeddings(head32)
        try:
            yield
        finally:
            self.model.set_output_embeddings(original)

    def _forward_parts(self, ids, mask, *, position_ids=None, keep: int = 1, fp32_head: bool = False, cache=None):
        """:meth:`_forward` with ``use_cache`` (a prompt pass: its last ``keep`` logits and its KV cache), on CPU in
        parts of rows of about :data:`CPU_FORWARD_TOKENS` tokens whose outputs and caches are joined (the same
        values: every row is computed on its own). ``cache``: a KV cache the rows continue: extended in place when the
        pass runs whole, its rows copied per part otherwise, so callers take the cache from the output
        (:func:`kv_cache`)."""
        import torch

        rows = max(1, CPU_FORWARD_TOKENS // max(1, ids.shape[1]))
        layered = cache is None or isinstance(getattr(cache, "layers", None), list)
        if self.device != "cpu" or rows >= ids.shape[0] or not layered:
            extra = {} if cache is None else {self._cache_kwarg(): cache}
            return self._forward(ids, mask, position_ids=position_ids, keep=keep, use_cache=True,
                                 fp32_head=fp32_head, **extra)
        outs = []
        for k in range(0, ids.shape[0], rows):
            part = slice(k, k + rows)
            extra = {} if cache is None else {self._cache_kwarg(): select_rows(
                cache, torch.arange(k, min(k + rows, ids.shape[0]), device=ids.device))}
            outs.append(self._forward(ids[part], mask[part], keep=keep, use_cache=True, fp32_head=fp32_head,
                                      position_ids=None if position_ids is None else position_ids[part], **extra))
        res = outs[0]
        res.logits = torch.cat([o.logits for o in outs], dim=0)
        joined = concat_caches([kv_cache(o) for o in outs])
        if getattr(res, "cache", None) is not None:
            res.cache = joined
        else:
            res.past_key_values = joined
        return res

    def _forward(self, ids, mask, *, position_ids=None, keep: int = 0, fp32_head: bool = False, **kw):
        """One model forward; ``keep > 0`` computes logits for the last ``keep`` positions only (saves the LM head);
        ``fp32_head`` applies the LM head in float32 to the upcast last hidden state (see the module docstring)."""
        extra = dict(kw)
        if position_ids is not None:
            extra["position_ids"] = position_ids
        if fp32_head:
            with self._scoring_head():
                out = self._forward(ids, mask, keep=keep, **extra)
            out.logits = out.logits.float()  # already float32 from the swapped head; upcast where none was swapped
            return out
        if keep > 0:
            try:
                return self.model(input_ids=ids, attention_mask=mask, logits_to_keep=keep, **extra)
            except TypeError:  # a model without logits_to_keep: full logits, the caller's slicing still holds
                out = self.model(input_ids=ids, attention_mask=mask, **extra)
                out.logits = out.logits[:, -keep:]
                return out
        return self.model(input_ids=ids, attention_mask=mask, **extra)


__all__ = ["Batching", "memory_batch_size", "kv_cache", "fork_cache", "concat_caches", "select_rows", "CPU_FORWARD_TOKENS", "CPU_DEFAULT_BATCH", "CPU_MAX_BATCH", "CUDA_MAX_BATCH",
           "CPU_MEMORY_SHARE", "CUDA_MEMORY_SHARE"]
