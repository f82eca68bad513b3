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


def _first_cue_as_written(t):
    """The first stance cue of ``t`` taken as it is: no lower-casing, no normalised apostrophe (for the mistakes)."""
    import re

    cues = [(m.start(), "neither") for m in re.finditer(r"i agree (?:and|or) i disagree|agree (?:nor|or) disagree", t)]
    cues += [(m.start(), "disagree") for m in
             re.finditer(r"\b(?:not|don't|do not|cannot|can't|never)\s+(?:\w+\s+)?agree\b|\bdisagree\b", t)]
    cues += [(m.start(), "agree") for m in re.finditer(r"\bagreed?\b", t)]
    return min(cues, key=lambda c: c[0])[1] if cues else "neither"


def mistakes():
    def substring(text):
        t = text.lower()
        return "agree" if "agree" in t else "neither"

    def agree_first(text):
        t = text.lower()
        if "agree" in t and "disagree" not in t.replace("disagree", "", 0):
            return "agree"
        return "disagree" if "disagree" in t else "neither"

    def no_negation(text):
        import re

        t = text.lower()
        m = re.search(r"\b(disagree|agree)\b", t)
        return m.group(1) if m else "neither"

    def last_cue(text):
        import re

        found = re.findall(r"\b(disagree|agree)\b", text.lower())
        return found[-1] if found else "neither"

    return [(substring, "'disagree' contains 'agree': match whole words (\\bagree\\b) and check disagree first"),
            (agree_first, "'disagree' contains 'agree': match whole words and check 'disagree' before 'agree'"),
            (no_negation, "negation: 'I do not agree' disagrees, and restating both options ('I agree or I "
                          "disagree') takes no side"),
            (last_cue, "the FIRST cue decides: small models commit, then ramble"),
            (lambda text: _first_cue_as_written(" ".join(text.replace("\u2019", "'").split())),
             "case: 'I Agree.' and 'Disagree.' are cues too -- lower-case the text before matching"),
            (lambda text: _first_cue_as_written(" ".join(text.lower().split())),
             "the apostrophe: models write \u2019 (a curly one) as well as ' -- normalise it before matching "
             "\"don't agree\"")]


__all__ = ["parse_agreement", "mistakes"]
