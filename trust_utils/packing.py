"""Continuations of one context packed into one row: a token trie scored in one pass over the context's KV cache.

Scoring ``log p(c | context)`` for many continuations ``c`` of the same context needs, for each ``c``, the
next-token log-probs after ``context + c[:k]`` for ``k = 1 .. len(c) - 1`` (the first token is scored by the
context's own last position). Each such prefix ``c[:k]`` is a **node**: the token ``c[k-1]`` whose parent is
the node of ``c[:k-1]`` (the context, for ``k = 1``). Continuations that begin alike share their first nodes
(a trie), and a row of the model's batch holds all nodes of one context's continuations:

* a node sits at position ``context length + depth`` (depth 0 for a child of the context), so it sees exactly
  the positions the plain computation gives its prefix;
* a node attends to the context's real tokens and to its own ancestors and itself, nothing else (a 4D attention
  mask, :func:`attention_mask`), so its hidden state is the plain computation's for ``context + prefix``.

The context's keys and values are then held once per row instead of once per continuation, and a shared prefix
runs once: the exposure's 24 candidates of one prompt are one row of about 210 tokens instead of 24 rows, each
with its copy of the ~130-token context (:mod:`trust_utils.likelihood`). Values equal the padded computation's
within float rounding (tested against a plain forward).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence


@dataclass
class Trie:
    """The nodes of a group of continuations (see the module docstring).

    ``tokens[n]``, ``parents[n]`` (-1: a child of the context) and ``depths[n]`` describe node ``n``; parents come
    before their children. ``paths[i]``: for continuation ``i``, the nodes whose next-token log-probs score its
    tokens ``1 ..`` (``len(c) - 1`` of them; empty for a one-token continuation)."""

    tokens: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    paths: list[list[int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tokens)


def build_trie(continuations: Sequence[Sequence[int]]) -> Trie:
    """The trie of ``continuations`` (token lists): one node per distinct prefix ``c[:k]``, ``1 <= k < len(c)``."""
    t = Trie()
    index: dict[tuple[int, int], int] = {}
    for c in continuations:
        path: list[int] = []
        parent = -1
        for k in range(1, len(c)):
            key = (parent, int(c[k - 1]))
            n = index.get(key)
            if n is None:
                n = index[key] = len(t.tokens)
                t.tokens.append(int(c[k - 1]))
                t.parents.append(parent)
                t.depths.append(0 if parent < 0 else t.depths[parent] + 1)
            path.append(n)
            parent = n
        t.paths.append(path)
    return t


def chunk_by_nodes(continuations: Sequence[Sequence[int]], max_nodes: int) -> list[list[int]]:
    """Indices of ``continuations`` in consecutive chunks of at most ``max_nodes`` nodes each (counted without
    sharing, so a bound; a single longer continuation is a chunk of its own)."""
    chunks: list[list[int]] = []
    size = 0
    for i, c in enumerate(continuations):
        need = max(0, len(c) - 1)
        if not chunks or (size + need > max_nodes and chunks[-1]):
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += need
    return chunks


def attention_mask(tries: Sequence[Trie], ctx_mask, width: int, *, additive_dtype=None):
    """``(batch, 1, width, context length + width)`` mask of the packed rows: row ``r`` holds ``tries[r]``'s nodes,
    right-padded to ``width``; a node sees the real tokens of its context (``ctx_mask``, the rows' context masks)
    and its ancestors and itself. A padding node sees the context only (its output is never read). Boolean
    (True: attend) for SDPA; ``additive_dtype`` gives 0 / the dtype's minimum for eager attention."""
    import torch

    B, Lc = ctx_mask.shape
    nodes = torch.zeros((B, width, width), dtype=torch.bool)
    for r, t in enumerate(tries):
        anc = nodes[r]
        for n, p in enumerate(t.parents):
            if p >= 0:
                anc[n] = anc[p]
            anc[n, n] = True
    nodes = nodes.to(ctx_mask.device)
    ctx = ctx_mask.bool()[:, None, :].expand(B, width, Lc)
    mask = torch.cat([ctx, nodes], dim=2)[:, None]
    if additive_dtype is None:
        return mask
    zero = torch.zeros((), dtype=additive_dtype, device=mask.device)
    low = torch.full((), torch.finfo(additive_dtype).min, dtype=additive_dtype, device=mask.device)
    return torch.where(mask, zero, low)


__all__ = ["Trie", "build_trie", "chunk_by_nodes", "attention_mask"]
