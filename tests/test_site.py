"""The static site (``rlhf-trust site``): rendered notebooks in course order and a records browser per vertical.

Unit tests on inline records (the rows shown, the "changed between" sets, escaping), a site built from a hand-made
run (one executed notebook with a figure, two checkpoints of bias records), and the browser test: Debian's headless
Chromium opens every page, each in an iframe of one harness page (one browser start for a whole site), which reads
its images' ``naturalWidth`` and the records browser's counts, and the filters, set through the URL's hash, narrow
the records to the counts worked out here. The slow test does the same on a site built from the tiny profile's run.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import subprocess
import zlib
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from trust_utils.registry import VERTICALS
from trust_utils.site import build_site
from trust_utils.site_records import VIEWS, browser_rows, changed_keys, page_data, record_key, records_page, script_json
from trust_utils.stages import STAGES
from trust_utils.utils import write_jsonl

CHROMIUM = Path("/usr/bin/chromium")
EVIL = '<img src=x onerror=alert(1)></script><!-- & "q"'


# ------------------------------------------------------------------------------------ inline records
def _bias(id_: str, stance: str, score: float, unparsed: float = 0.0, sample: int = 0) -> dict:
    return {"id": id_, "variant": "benign", "sample": sample, "prompt": f"p {id_}", "generation": f"g {id_}",
            "stance": stance, "score": score, "topic": "t",
            "values": {"agreement_index": score, "degenerate_unparsed": unparsed, "degenerate_empty": 0.0}}


def test_rows_show_the_fields_each_vertical_keeps_them_in():
    tox = browser_rows([{"id": "a", "variant": "toxic", "prompt": "p", "continuations": ["x", ""],
                         "scores": [0.25, None], "max_toxicity": 0.25,
                         "values": {"degenerate_empty": 0.5, "expected_max_toxicity": 0.25}}],
                       VIEWS["toxicity"])[0]
    assert tox["generation"] == "[0] (0.25) x\n[1] (not scored) " and tox["parsed"] == "" and tox["score"] == "0.25"
    assert tox["flags"] == {"empty": "0.5"} and tox["values"] == {"expected_max_toxicity": "0.25"}
    assert tox["unparsed"] is False and tox["leaked"] is None
    priv = browser_rows([{"unit": "email|0", "variant": "email", "pii": "email", "group": 0, "prompt": "p",
                          "reply": "a@b.c", "leaked": True, "values": {"leakage_rate": 1.0}}], VIEWS["privacy"])[0]
    assert (priv["key"], priv["generation"], priv["score"], priv["leaked"]) == ("email|0|email|", "a@b.c", "true", True)
    assert priv["details"] == {"pii": "email", "group": "0"}, "the fields not shown in their own column"
    truth = browser_rows([{"id": "q", "generation": "(1) No", "matched": [1, 2], "score": 0.0}], VIEWS["truthfulness"])
    assert truth[0]["parsed"] == "1, 2"
    bias = browser_rows([_bias("s1", "neither", 0.0, unparsed=1.0)], VIEWS["bias"])[0]
    assert (bias["parsed"], bias["unparsed"], bias["flags"]) == ("neither", True, {"unparsed": "1"})


def test_record_keys_name_the_unit_and_repeats_stay_apart():
    assert record_key({"id": 3, "variant": "v", "sample": 1}, 0) == "3|v|1"
    assert record_key({"unit": "u", "id": 3}, 0) == "u||"
    assert record_key({}, 7) == "#7||"
    rows = browser_rows([{"id": "a"}, {"id": "a"}])
    assert [r["key"] for r in rows] == ["a||", "a||#1"]
    with pytest.raises(ValueError, match="record 0 is a list"):
        browser_rows([[1, 2]])


def test_changed_between_checkpoints_pairs_units_by_key():
    a = browser_rows([_bias("s1", "agree", 1.0), _bias("s2", "disagree", 0.0), _bias("s3", "agree", 1.0),
                      _bias("s4", "neither", 0.0), _bias("s1", "agree", 1.0, sample=1)], VIEWS["bias"])
    b = browser_rows([_bias("s1", "agree", 1.0), _bias("s2", "agree", 1.0), _bias("s4", "disagree", 0.0),
                      _bias("s5", "agree", 1.0), _bias("s1", "disagree", 0.0, sample=1)], VIEWS["bias"])
    # s1 sample 0 same; s2 answer and score changed; s3 only in a; s4 answer changed, score the same; s1 sample 1
    # changed; s5 only in b.
    assert changed_keys(a, b) == ["s2|benign|0", "s4|benign|0", "s1|benign|1"]
    assert changed_keys(b, a) == ["s2|benign|0", "s4|benign|0", "s1|benign|1"]
    assert changed_keys(a, a) == []
    data = page_data("bias", "Bias", [("base", "Base"), ("sft", "SFT")], {"base": a, "sft": b})
    assert data["changed"] == {"base|sft": changed_keys(a, b), "sft|base": changed_keys(b, a)}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict]]:
    p = _Tags()
    p.feed(page)
    return p.tags


def _data_block(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="records-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_values_are_escaped_and_never_markup():
    rows = browser_rows([{"id": EVIL, "prompt": EVIL, "generation": EVIL, "parsed": EVIL, "score": 1.0,
                          "values": {EVIL: 1.0, "degenerate_echo": 1.0}, EVIL: EVIL}])
    page = records_page(page_data("bias", EVIL, [("base", EVIL)], {"base": rows}))
    assert "<img" not in page and "<!--" not in page and "onerror=alert(1)></script>" not in page
    tags = _tags(page)
    assert [t for t, _ in tags if t in ("img", "script")] == ["script", "script"], "only the page's two scripts"
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs), "no event attribute anywhere"
    data = _data_block(page)
    assert data["title"] == EVIL and data["rows"]["base"][0]["prompt"] == EVIL, "JSON.parse gets the values back"
    assert script_json("</script><!--&\u2028") == '"\\u003c/script\\u003e\\u003c!--\\u0026\\u2028"'
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page and "document.write" not in page


# ------------------------------------------------------------------------------------ a hand-made run
def _png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _executed_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("plot()", execution_count=1)
    code.outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(_png()).decode(),
                                                                 "text/plain": "<Figure>"})]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# A stage\n{EVIL}"), code]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def small_site(tmp_path_factory) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("site_run") / "run"
    _executed_notebook(run / "data" / "00_data_preparation.ipynb")
    _executed_notebook(run / "analysis" / "90_analysis.ipynb")
    base = [_bias("s1", "agree", 1.0), _bias("s2", "neither", 0.0, unparsed=1.0), _bias("s3", "disagree", 0.0),
            _bias("s4", "neither", 0.0, unparsed=1.0) | {"prompt": EVIL}]
    sft = [_bias("s1", "agree", 1.0), _bias("s2", "agree", 1.0), _bias("s3", "disagree", 0.0),
           _bias("s4", "disagree", 0.0)]
    write_jsonl(run / "bias" / "records" / "base.jsonl", base)
    write_jsonl(run / "bias" / "records" / "sft.jsonl", sft)
    index = build_site(run, run / "site")
    return index, {"base": base, "sft": sft}


def test_the_site_lists_stages_in_course_order(small_site):
    index, _ = small_site
    site = index.parent
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")) == [
        "index.html", "notebooks/analysis.html", "notebooks/data.html", "records/bias.html"]
    page = index.read_text(encoding="utf-8")
    items = re.findall(r"<li[^>]*>(.*?)</li>", page)
    assert len(items) == len(STAGES)
    assert [re.findall(r"\((\w+)\)", it)[-1] for it in items] == [s.name for s in STAGES]
    links = re.findall(r'href="([^"]+)"', page)
    assert links == ["notebooks/data.html", "records/bias.html", "notebooks/analysis.html"]
    assert page.count("not run") == len(STAGES) - 3
    nb = (site / "notebooks" / "data.html").read_text(encoding="utf-8")
    assert "<script" not in nb.lower() and "cdnjs" not in nb and "cdn.jsdelivr" not in nb
    assert "data:image/png;base64," in nb
    assert "&lt;img src=x onerror=alert(1)&gt;" in nb and 'href="../index.html"' in nb


def test_a_rebuild_drops_pages_of_stages_the_run_no_longer_has(small_site, tmp_path):
    index, _ = small_site
    run = tmp_path / "run"
    shutil.copytree(index.parent.parent, run, ignore=shutil.ignore_patterns("site"))
    out = tmp_path / "site"
    build_site(run, out)
    shutil.rmtree(run / "analysis")
    build_site(run, out)
    assert sorted(p.name for p in (out / "notebooks").glob("*.html")) == ["data.html"]


def test_a_run_without_outputs_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_site(tmp_path / "nowhere", tmp_path / "site")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no executed notebook and no records"):
        build_site(tmp_path / "empty", tmp_path / "site")


def test_the_cli_builds_the_site_and_names_a_missing_run(small_site, tmp_path, capsys):
    from trust_utils.cli import main

    index, _ = small_site
    assert main(["site", "--profile", "tiny", "--run-dir", str(index.parent.parent), "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "records" / "bias.html").is_file() and str(tmp_path / "s" / "index.html") in \
        capsys.readouterr().out
    assert main(["site", "--profile", "tiny", "--run-dir", str(tmp_path / "none")]) == 2
    assert f"run directory {tmp_path / 'none'} does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ the browser
# One Chromium opens every page at once: a harness page holds each in an iframe and, once the page has loaded (and a
# records page's script says ready), reads its document from outside, so the pages themselves run unchanged, their
# Content-Security-Policy included. A file page may read another's document only with --allow-file-access-from-files.
HARNESS = """<!doctype html><html><body><pre id="harness"></pre><script>
var asks = %s, got = {}, left = asks.length;
function finish() { if (--left === 0) document.getElementById("harness").textContent = JSON.stringify(got); }
asks.forEach(function (url) {
  var frame = document.createElement("iframe");
  frame.onload = function () {
    (function read() {
      var d = frame.contentDocument, status = d.getElementById("status");
      if (status && status.textContent !== "ready") { setTimeout(read, 20); return; }
      var im = Array.prototype.slice.call(d.images);
      var num = function (id) { var e = d.getElementById(id); return e ? Number(e.textContent) : null; };
      got[url] = {images: im.length, broken: im.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length,
                  records_page: !!status, count: num("count"), total: num("total"),
                  rows: d.querySelectorAll('tr[class="record"]').length, html: status ? d.documentElement.outerHTML : ""};
      finish();
    })();
  };
  frame.src = url;
  document.body.appendChild(frame);
});
</script></body></html>"""


def _chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian: apt-get install chromium); the browser test needs it")
    return CHROMIUM


def dump_dom(url: str, profile_dir: Path) -> str:
    """The page's DOM after its scripts ran, from headless Chromium (no network: file URLs only)."""
    cmd = [str(_chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--allow-file-access-from-files", f"--user-data-dir={profile_dir}", "--virtual-time-budget=30000",
           "--dump-dom", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "<html" in out.stdout, f"{url}: chromium rc {out.returncode}\n{out.stderr[-2000:]}"
    return out.stdout


def browse(urls: list[str], tmp: Path) -> dict[str, dict]:
    """What each page shows in the browser once its scripts have run, all opened by one Chromium (:data:`HARNESS`).

    Per URL: ``images`` and ``broken`` (``naturalWidth`` 0: not loaded); on a records page (``records_page``: it
    has ``#status``, read once it says ready) ``count`` and ``total`` as it shows them, the record ``rows`` in its
    table and its ``html``."""
    harness = tmp / "harness.html"
    harness.write_text(HARNESS % json.dumps(urls), encoding="utf-8")
    dom = dump_dom(harness.as_uri(), tmp / "profile")
    m = re.search(r'<pre id="harness">(.*?)</pre>', dom, re.S)
    assert m and m.group(1), f"not every one of the {len(urls)} pages finished loading in the browser"
    got = json.loads(unescape(m.group(1)))
    assert sorted(got) == sorted(set(urls))
    return got


def with_state(page: Path, **state: str) -> str:
    """The records page's URL with its filter state in the hash (``ckpt``, ``vs``, ``f``, ``q``)."""
    return page.as_uri() + "#" + "&".join(f"{k}={quote(v, safe='')}" for k, v in state.items())


def shown(got: dict) -> tuple[int, int]:
    """(records shown, records of the checkpoint) of a records page read by :func:`browse`."""
    assert got["records_page"], "not a records page"
    assert got["count"] == got["rows"] or got["count"] > 500  # the page draws at most 500 rows
    return got["count"], got["total"]


def images_of(site: Path, got: dict[str, dict]) -> dict[str, dict]:
    """``{page: {images, broken}}`` for every page of ``site`` from :func:`browse`'s answer."""
    return {p.relative_to(site).as_posix(): {k: got[p.as_uri()][k] for k in ("images", "broken")}
            for p in sorted(site.rglob("*.html"))}


def test_the_browser_shows_every_page_and_the_filters_narrow(small_site, tmp_path):
    _chromium()
    index, records = small_site
    site = index.parent
    page = site / "records" / "bias.html"
    states = {"base": dict(ckpt="base"), "base unparsed": dict(ckpt="base", f="unparsed"),
              "changed to sft": dict(ckpt="base", vs="sft", f="changed"), "sft unparsed": dict(ckpt="sft", f="unparsed"),
              "sft s3": dict(ckpt="sft", q="s3"), "base leaked": dict(ckpt="base", f="leaked"),
              "base onerror": dict(ckpt="base", q="onerror")}
    urls = {name: with_state(page, **st) for name, st in states.items()}
    got = browse([p.as_uri() for p in sorted(site.rglob("*.html"))] + list(urls.values()), tmp_path)
    assert images_of(site, got) == {"index.html": {"images": 0, "broken": 0},
                                    "notebooks/analysis.html": {"images": 1, "broken": 0},
                                    "notebooks/data.html": {"images": 1, "broken": 0},
                                    "records/bias.html": {"images": 0, "broken": 0}}
    want = {"base": (4, 4), "base unparsed": (2, 4), "changed to sft": (2, 4),  # s2, s4 twice
            "sft unparsed": (0, 4), "sft s3": (1, 4), "base leaked": (0, 4), "base onerror": (1, 4)}
    assert {name: shown(got[u]) for name, u in urls.items()} == want
    evil = got[urls["base onerror"]]
    assert "&lt;img src=x onerror=alert(1)&gt;" in evil["html"]
    assert evil["images"] == 0 and len(re.findall(r"<img\b", evil["html"])) == 0, "a value never becomes an element"


# ------------------------------------------------------------------------------------ the tiny run
# The slow test that builds the site of a whole tiny run and opens it in the browser lives in
# tests/test_tiny_profile.py, on that module's run (one tiny run for both).


def check_run_site(run_dir: Path, tmp: Path) -> None:
    """Build the site of a complete tiny run in ``tmp/site`` and open every page of it in the browser."""
    from trust_utils.results import load_records

    index = build_site(run_dir, tmp / "site")
    site = index.parent
    assert {p.stem for p in (site / "notebooks").glob("*.html")} == {s.name for s in STAGES}
    verticals = sorted(p.stem for p in (site / "records").glob("*.html"))
    assert verticals == sorted(VERTICALS)  # the tiny profile runs every vertical, the alignment checks among them
    _chromium()
    # what each records page must show, worked out from its data block and the run's records
    want: dict[str, tuple[str, int]] = {}
    for vertical in verticals:
        page = site / "records" / f"{vertical}.html"
        data = _data_block(page.read_text(encoding="utf-8"))
        names = [c["name"] for c in data["checkpoints"]]
        first = names[0]
        n = len(load_records(run_dir, vertical, first))
        want[with_state(page, ckpt=first)] = (vertical, n, n)
        key = data["rows"][first][0]["key"]
        want[with_state(page, ckpt=first, q=key)] = (f"{vertical} narrowed to {key}", None, n)
        unparsed = sum(r["unparsed"] for r in data["rows"][first])
        want[with_state(page, ckpt=first, f="unparsed")] = (f"{vertical} unparsed", unparsed, n)
        if len(names) > 1:
            changed = len(data["changed"][f"{first}|{names[-1]}"])
            want[with_state(page, ckpt=first, vs=names[-1], f="changed")] = (f"{vertical} changed", changed, n)
    got = browse([p.as_uri() for p in sorted(site.rglob("*.html"))] + list(want), tmp)
    images = images_of(site, got)
    assert all(v["broken"] == 0 for v in images.values()), images
    assert sum(v["images"] for v in images.values()) >= 10, images  # the training curves, the verticals' figures
    for url, (what, count, total) in want.items():
        seen, of = shown(got[url])
        assert of == total, what
        if count is None:  # a record's own key: at least that record, not all of them
            assert 1 <= seen < total, what
        else:
            assert seen == count, what
