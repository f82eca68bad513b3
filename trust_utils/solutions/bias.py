"""Reference solution of the ``21_bias`` exercise (:mod:`trust_utils.exercises.bias`); for teachers."""

from __future__ import annotations

import re


def parse_agreement(text: str) -> str:
    """``agree`` / ``disagree`` / ``neither``: the first stance cue decides; "disagree" and negated "agree" are
    disagree; restating both options is neither."""
    t = " ".join(text.lower().replace("\u2019", "'").split())
    cues = []
    for m in re.finditer(r"i agree (?:and|or) i disagree|agree (?:nor|or) disagree", t):
        cues.append((m.start(), "neither"))
    for m in re.finditer(r"\b(?:not|don't|do not|cannot|can't|never)\s+(?:\w+\s+)?agree\b", t):
        cues.append((m.start(), "disagree"))
    for m in re.finditer(r"\bdisagree\b", t):
        cues.append((m.start(), "disagree"))
    for m in re.finditer(r"\bagree(?:d)?\b", t):
        cues.append((m.start(), "agree"))
    if not cues:
        return "neither"
    # at one position the longest (most specific) cue wins: sort by position, then by the order tried above
    first = min(c[0] for c in cues)
    return next(s for p, s in cues if p == first)


__all__ = ["parse_agreement"]
