"""What to decode: :class:`DecodingConfig` (every field is part of the cache key), stop-string cutting, and the seed
of one (prompt, sample index) row that makes a sample independent of its batch (see :mod:`trust_utils.generation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .utils import hash_obj


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


__all__ = ["DecodingConfig", "cut_at_stop", "row_seed"]
