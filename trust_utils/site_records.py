"""The records browser of the static site: one page per vertical, every checkpoint's per-example records.

:func:`browser_rows` turns a vertical's records (``<run>/<vertical>/records/<checkpoint>.jsonl``) into the rows the
page shows: the prompt, the generation, the parsed answer, the score, the other per-unit ``values`` and the
degenerate flags (the ``degenerate_*`` values above 0, see :mod:`trust_utils.verticals.validity`). Which record field
holds what differs by vertical (:data:`VIEWS`, read off the records the verticals write; a vertical without an entry
gets :data:`DEFAULT_VIEW`, which knows the common names).

The filters: free text (any shown field), ``unparsed`` (the record's ``degenerate_unparsed`` value is above 0: the
vertical's parser found no answer), ``leaked`` (privacy: the reply contains the asked value), ``degenerate`` (any
flag) and ``changed``: the records of the shown checkpoint whose unit (:func:`record_key`: unit or id, variant,
sample) the other checkpoint also has, with a different parsed answer or score as the page shows them (numbers to 4
significant digits, so a score that moves in the fifth digit counts as the same; :func:`changed_keys`; a unit only
one side has is not "changed"). The changed sets are computed here, once, for every ordered pair of checkpoints, so
the page's script only looks them up.

The page is one file: the data sits in a ``<script type="application/json">`` block (``<``, ``>`` and ``&`` written
as ``\\u003c``-style escapes, so no value can close the block or open a comment), read by a small inline script
that writes every value with ``textContent`` (never as markup). A Content-Security-Policy allows that one script
(by its hash), inline styles and nothing else: no network, no CDN, no other script.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

#: Record fields shown in their own column, or too long to list among a record's other fields.
_SHOWN = frozenset({"prompt", "values", "checkpoint", "also_variants", "candidate_logliks", "logprobs", "scores",
                    "system_prompt", "candidates", "options", "cues", "names"})
_MAX_DETAIL = 200


@dataclass(frozen=True)
class RecordView:
    """Where a vertical's records hold what the browser shows; each entry lists candidate field names, the first
    one present in a record wins (``()``: the vertical has no such field)."""

    generation: tuple[str, ...] = ("generation", "reply", "continuations")
    parsed: tuple[str, ...] = ("parsed", "stance", "matched", "answer")
    score: tuple[str, ...] = ("score", "leaked")
    sample_scores: tuple[str, ...] = ()  # a score per sample of a list-valued generation, shown beside each sample


DEFAULT_VIEW = RecordView()
#: Per vertical, read off the records of a tiny run: toxicity scores several continuations per prompt (its score is
#: the prompt's expected maximum toxicity, nothing is parsed); bias parses a stance per sample; ethics the parser's
#: yes/no (``answer`` is after ``unparsed_as``); truthfulness the option text matched; privacy parses nothing and
#: scores whether the reply leaked the value.
VIEWS: dict[str, RecordView] = {
    "toxicity": RecordView(generation=("continuations",), parsed=(), score=("max_toxicity", "score"),
                           sample_scores=("scores",)),
    "bias": RecordView(generation=("generation",), parsed=("stance",), score=("score",)),
    "ethics": RecordView(generation=("generation",), parsed=("parsed",), score=("score",)),
    "truthfulness": RecordView(generation=("generation",), parsed=("matched",), score=("score",)),
    "privacy": RecordView(generation=("reply",), parsed=(), score=("leaked",)),
}


def _first(rec: Mapping[str, Any], names: Sequence[str]) -> Any:
    for n in names:
        if n in rec:
            return rec[n]
    return None


def _text(x: Any) -> str:
    """A value as the text the page shows (a list of samples one per line, numbers to 4 significant digits)."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, float):
        return "nan" if math.isnan(x) else f"{x:.4g}"
    if isinstance(x, (list, tuple)):
        return "\n".join(f"[{i}] {_text(v)}" for i, v in enumerate(x))
    return str(x)


def _answer(x: Any) -> str:
    """A parsed answer as text; a list (truthfulness: the options matched) comma-separated."""
    return ", ".join(_text(v) for v in x) if isinstance(x, (list, tuple)) else _text(x)


def _generation(rec: Mapping[str, Any], view: RecordView) -> str:
    gen, scores = _first(rec, view.generation), _first(rec, view.sample_scores)
    if isinstance(gen, list) and isinstance(scores, list) and len(scores) == len(gen):
        pairs = enumerate(zip(gen, scores, strict=True))
        return "\n".join(f"[{i}] ({_text(sc) or 'not scored'}) {_text(g)}" for i, (g, sc) in pairs)
    return _text(gen)


def record_key(rec: Mapping[str, Any], index: int) -> str:
    """A record's unit across checkpoints: its ``unit`` (else ``id``, else its position), variant and sample."""
    unit = rec.get("unit", rec.get("id", f"#{index}"))
    return f"{unit}|{rec.get('variant', '')}|{rec.get('sample', '')}"


def browser_rows(records: Iterable[Mapping[str, Any]], view: RecordView = DEFAULT_VIEW) -> list[dict[str, Any]]:
    """The rows the page shows for one checkpoint's records (keys made unique by a ``#n`` suffix on a repeat)."""
    rows, seen = [], set()
    shown = _SHOWN | {"id", "unit", "variant", "sample", *view.generation, *view.parsed, *view.score,
                      *view.sample_scores}
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise ValueError(f"record {i} is a {type(rec).__name__}, not an object: rerun the vertical's stage")
        key = record_key(rec, i)
        if key in seen:
            key = f"{key}#{i}"
        seen.add(key)
        values = rec.get("values") or {}
        flags = {k.removeprefix("degenerate_"): v for k, v in values.items()
                 if k.startswith("degenerate_") and isinstance(v, (int, float)) and v and not math.isnan(v)}
        leaked = rec.get("leaked")
        rows.append({
            "key": key, "variant": _text(rec.get("variant", "")), "prompt": _text(rec.get("prompt")),
            "generation": _generation(rec, view), "parsed": _answer(_first(rec, view.parsed)),
            "score": _text(_first(rec, view.score)),
            "values": {k: _text(v) for k, v in values.items() if not k.startswith("degenerate_")},
            "flags": {k: _text(v) for k, v in flags.items()},
            "unparsed": bool(flags.get("unparsed")), "leaked": None if leaked is None else bool(leaked),
            "details": {k: _text(v)[:_MAX_DETAIL] for k, v in rec.items()
                        if k not in shown and not isinstance(v, (dict, list))},
        })
    return rows


def changed_keys(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keys of the rows of ``a`` whose unit ``b`` also has with a different parsed answer or score (in ``a``'s
    order)."""
    other = {r["key"]: (r["parsed"], r["score"]) for r in b}
    return [r["key"] for r in a if r["key"] in other and other[r["key"]] != (r["parsed"], r["score"])]


def page_data(vertical: str, title: str, checkpoints: Sequence[tuple[str, str]],
              rows: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """What the page embeds: its checkpoints ``(name, label)`` in run order, their rows, and the changed keys of
    every ordered pair (``"a|b"``)."""
    names = [c for c, _ in checkpoints]
    changed = {f"{a}|{b}": changed_keys(rows[a], rows[b]) for a in names for b in names if a != b}
    return {"vertical": vertical, "title": title, "checkpoints": [{"name": c, "label": lab} for c, lab in checkpoints],
            "rows": {c: rows[c] for c in names}, "changed": changed}


def script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` block: ``<``, ``>`` and ``&`` as ``\\u`` escapes (no ``</script>``, no
    ``<!--``), which ``JSON.parse`` reads back unchanged."""
    return (json.dumps(data, ensure_ascii=False, allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("records-data").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var LIMIT = 500;
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function option(sel, value, label) { var o = el("option", label); o.value = value; sel.appendChild(o); }
  data.checkpoints.forEach(function (c) { option($("ckpt"), c.name, c.label); option($("vs"), c.name, c.label); });
  function state() {
    var s = {ckpt: data.checkpoints.length ? data.checkpoints[0].name : "", vs: "", f: "all", q: ""};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) { s[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); }
    });
    if (!s.vs) {
      var other = data.checkpoints.filter(function (c) { return c.name !== s.ckpt; });
      s.vs = other.length ? other[other.length - 1].name : s.ckpt;
    }
    return s;
  }
  function keep(r, s, changed) {
    if (s.f === "unparsed" && !r.unparsed) { return false; }
    if (s.f === "leaked" && r.leaked !== true) { return false; }
    if (s.f === "degenerate" && !Object.keys(r.flags).length) { return false; }
    if (s.f === "changed" && !changed[r.key]) { return false; }
    if (s.q) {
      var hay = [r.key, r.prompt, r.generation, r.parsed, r.score, JSON.stringify(r.values),
                 JSON.stringify(r.flags), JSON.stringify(r.details)].join("\n").toLowerCase();
      if (hay.indexOf(s.q.toLowerCase()) < 0) { return false; }
    }
    return true;
  }
  function pairs(obj) {
    return Object.keys(obj).map(function (k) { return k + " " + obj[k]; }).join("\n");
  }
  function render() {
    var s = state();
    $("ckpt").value = s.ckpt; $("vs").value = s.vs; $("filter").value = s.f;
    if ($("q") !== document.activeElement) { $("q").value = s.q; }
    var rows = data.rows[s.ckpt] || [];
    var changed = {};
    (data.changed[s.ckpt + "|" + s.vs] || []).forEach(function (k) { changed[k] = true; });
    var shown = rows.filter(function (r) { return keep(r, s, changed); });
    var body = $("rows");
    body.replaceChildren();
    shown.slice(0, LIMIT).forEach(function (r) {
      var tr = el("tr");
      tr.className = "record";
      [r.key, r.variant, r.prompt, r.generation, r.parsed, r.score, pairs(r.values), pairs(r.flags),
       pairs(r.details)].forEach(function (v, i) { tr.appendChild(el("td", v, i === 7 && v ? "flag" : "")); });
      body.appendChild(tr);
    });
    $("count").textContent = String(shown.length);
    $("total").textContent = String(rows.length);
    $("limit").textContent = shown.length > LIMIT ? "showing the first " + LIMIT + "; narrow the filter" : "";
    $("status").textContent = "ready";
  }
  function push() {
    var h = ["ckpt", "vs", "f", "q"].map(function (k) {
      var v = {ckpt: $("ckpt").value, vs: $("vs").value, f: $("filter").value, q: $("q").value}[k];
      return encodeURIComponent(k) + "=" + encodeURIComponent(v);
    }).join("&");
    history.replaceState(null, "", "#" + h);
    render();
  }
  ["ckpt", "vs", "filter"].forEach(function (id) { $(id).addEventListener("change", push); });
  $("q").addEventListener("input", push);
  window.addEventListener("hashchange", render);
  render();
})();
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 0.3em; vertical-align: top; white-space: pre-wrap; word-break: break-word; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.flag { color: #a00; }
.controls label { margin-right: 1em; }
"""


def records_page(data: Mapping[str, Any]) -> str:
    """The records browser of one vertical as a standalone HTML page (see the module docstring)."""
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:"
    title = html.escape(f"Records: {data['title']}")
    heads = "".join(f"<th>{h}</th>" for h in ("unit", "variant", "prompt", "generation", "parsed answer", "score",
                                             "values", "degenerate flags", "other fields"))
    filters = "".join(f'<option value="{v}">{lab}</option>' for v, lab in (
        ("all", "all records"), ("unparsed", "unparsed"), ("leaked", "leaked"), ("degenerate", "any degenerate flag"),
        ("changed", "changed vs the other checkpoint")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(csp)}">
<title>{title}</title><style>{STYLE}</style></head>
<body><nav><a href="../index.html">index</a></nav>
<h1>{title}</h1>
<p class="controls">
<label>checkpoint <select id="ckpt"></select></label>
<label>filter <select id="filter">{filters}</select></label>
<label>other checkpoint (for "changed") <select id="vs"></select></label>
<label>text <input id="q" type="search"></label>
</p>
<p><span id="count">0</span> of <span id="total">0</span> records <span id="limit"></span>
<span id="status" hidden>loading</span></p>
<table><thead><tr>{heads}</tr></thead><tbody id="rows"></tbody></table>
<script type="application/json" id="records-data">{script_json(data)}</script>
<script>{SCRIPT}</script>
</body></html>
"""


__all__ = ["RecordView", "DEFAULT_VIEW", "VIEWS", "record_key", "browser_rows", "changed_keys", "page_data",
           "script_json", "records_page"]
