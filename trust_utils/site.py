"""A run as a static site: its executed notebooks in course order, and a records browser per vertical.

:func:`build_site` writes, under ``out_dir``:

* ``notebooks/<stage>.html``: each stage's executed notebook (``<run>/<stage>/<notebook>.ipynb``, the copy the runner
  leaves), rendered by :func:`trust_utils.pipeline.export_html`, the exporter of the analysis' ``report.html``:
  figures inlined as ``data:`` images, Markdown and HTML outputs sanitised, JavaScript outputs dropped, no script
  tag and nothing from a CDN (math stays TeX text);
* ``records/<vertical>.html``: the records browser of each vertical that wrote records
  (:mod:`trust_utils.site_records`: checkpoint selector, free-text, "unparsed", "leaked", "degenerate" and "changed
  between two checkpoints" filters, every value written as text);
* ``index.html``: the stages in course order (:data:`trust_utils.stages.STAGES`), each linking its notebook page
  and, for a vertical, its records browser; a stage the run has not executed is listed as not run.

Every page opens from the file system, offline. Nothing in the run is changed.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from .pipeline import export_html
from .registry import VERTICALS
from .run import Run
from .site_records import DEFAULT_VIEW, VIEWS, browser_rows, page_data, records_page
from .stages import STAGES, Stage
from .utils import atomic_write_text, read_jsonl

INDEX_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; }
li { margin: 0.3em 0; }
.missing { color: #888; }
"""
_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)


def _with_back_link(page: Path) -> None:
    """Put a link back to the index at the top of a rendered notebook (after its ``<body>`` tag)."""
    text = page.read_text(encoding="utf-8")
    m = _BODY.search(text)
    if m:
        nav = '<nav style="margin:1em 2em"><a href="../index.html">index</a></nav>'
        atomic_write_text(page, text[:m.end()] + nav + text[m.end():])


def render_notebooks(run: Run, out_dir: Path) -> dict[str, Path]:
    """``{stage: page}`` for each stage whose executed notebook is in the run, rendered under ``out_dir/notebooks``."""
    pages = {}
    for s in STAGES:
        executed = run.dir / s.name / s.notebook
        if executed.is_file():
            page = export_html(executed, out_dir / "notebooks" / f"{s.name}.html")
            _with_back_link(page)
            pages[s.name] = page
    return pages


def render_records(run: Run, out_dir: Path) -> dict[str, Path]:
    """``{vertical: page}`` for each vertical with records in the run, one browser page under ``out_dir/records``."""
    pages = {}
    for name, v in VERTICALS.items():
        files = {p.stem: p for p in (run.dir / name / "records").glob("*.jsonl")}
        if not files:
            continue
        order = run.order(files)
        rows = {c: browser_rows(read_jsonl(files[c]), VIEWS.get(name, DEFAULT_VIEW)) for c in order}
        data = page_data(name, v.title, [(c, run.label(c)) for c in order], rows)
        pages[name] = atomic_write_text(out_dir / "records" / f"{name}.html", records_page(data))
    return pages


def index_page(run: Run, notebooks: dict[str, Path], records: dict[str, Path]) -> str:
    """The site's front page: every stage in course order with links to what the run has of it."""
    def item(s: Stage) -> str:
        title = html.escape(f"{s.title} ({s.name})")
        if s.name not in notebooks and s.name not in records:
            return f'<li class="missing">{title}: not run</li>'
        links = []
        if s.name in notebooks:
            links.append(f'<a href="notebooks/{html.escape(s.name)}.html">{title}</a>')
        else:
            links.append(title)
        if s.name in records:
            links.append(f'<a href="records/{html.escape(s.name)}.html">records</a>')
        return f"<li>{' · '.join(links)}</li>"

    items = "\n".join(item(s) for s in STAGES)
    name = html.escape(run.dir.name)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>rlhf-trust: run {name}</title><style>{INDEX_STYLE}</style></head>
<body><h1>rlhf-trust: run {name}</h1>
<p>The run's executed notebooks in course order, and per trust vertical a browser of its per-example records.</p>
<ol>
{items}
</ol>
</body></html>
"""


def build_site(run: Run | str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Render ``run`` (a :class:`Run` or its directory) as a static site in ``out_dir``; returns the site's
    ``index.html``. (It takes the run, not a bare ``run_dir``: the entry points taking one are counted.)"""
    run = Run.open(run)
    if not run.dir.is_dir():
        raise FileNotFoundError(f"run directory {run.dir} does not exist: run a profile first (rlhf-trust run)")
    out = Path(out_dir).expanduser().resolve()
    notebooks = render_notebooks(run, out)
    records = render_records(run, out)
    for sub, pages in (("notebooks", notebooks), ("records", records)):  # pages of stages a rebuild no longer has
        for old in (out / sub).glob("*.html"):
            if old not in pages.values():
                old.unlink()
    if not notebooks and not records:
        raise FileNotFoundError(f"{run.dir} holds no executed notebook and no records: run a profile into it first")
    return atomic_write_text(out / "index.html", index_page(run, notebooks, records))


__all__ = ["build_site", "render_notebooks", "render_records", "index_page"]
