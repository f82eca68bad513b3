"""report.html carries no live markup from values and loads nothing from the network (issue 22, item 4).

A ``model`` value (a profile's ``checkpoints:`` entry, or a results CSV) can hold HTML. The styled tables escape it
(:func:`trust_utils.analysis.tables.styled_table`) and the exporter sanitises every HTML and Markdown output
(:func:`trust_utils.pipeline.export_html`), so either one alone keeps it text.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from trust_utils.analysis import tables
from trust_utils.pipeline import export_html

PAYLOAD = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def v2_like(model: str) -> pd.DataFrame:
    """A v2 comparison row the way the analysis notebook shows it (model label, numbers, notes)."""
    v2 = pd.DataFrame({"vertical": ["ethics"], "metric": ["fnr"], "variant": ["benign"], "model": [model],
                       "run_base": [0.5], "run_aligned": [0.4], "aligned_checkpoints": ["ppo, dpo"],
                       "run_rel_change": [-0.2], "run_direction": ["better"], "run_degenerate": [0.05],
                       "interpretable": [True], "paper_rel_change": [-0.31], "paper_direction": ["better"],
                       "same_direction": ["yes"], "run_note": [""], "paper_note": [""]})
    return v2.assign(model=v2["model"].map(tables.model_label))


FORMATS = {"run_base": "{:.3f}", "run_aligned": "{:.3f}", "run_rel_change": "{:+.0%}", "run_degenerate": "{:.0%}",
           "paper_rel_change": "{:+.0%}"}


def test_styled_table_escapes_values_index_and_column_names():
    html = tables.styled_table(v2_like(PAYLOAD), FORMATS).to_html()
    assert PAYLOAD not in html and ESCAPED in html
    assert "0.500" in html and "-20%" in html  # the number formats still apply
    df = pd.DataFrame({PAYLOAD: [1.0]}, index=[PAYLOAD])
    html = tables.styled_table(df, {PAYLOAD: "{:.2f}"}).to_html()
    assert PAYLOAD not in html and html.count(ESCAPED) == 2 and "1.00" in html


def test_plain_styler_would_leak_the_payload():
    # what the notebook did before: the reason styled_table exists (if pandas ever escapes by default, this says so)
    assert PAYLOAD in v2_like(PAYLOAD).style.format(FORMATS, na_rep="n/a").to_html()


def _notebook(tmp_path: Path) -> Path:
    raw_styler = v2_like(PAYLOAD).style.format(FORMATS, na_rep="n/a").to_html()  # unescaped: the exporter must clean it
    nb = new_notebook(cells=[
        new_markdown_cell("# Report\n\nSee **the table** and [the paper](https://arxiv.org/abs/2404.18870)."),
        new_code_cell("display(v2)", outputs=[
            new_output("display_data", data={"text/html": tables.styled_table(v2_like(PAYLOAD), FORMATS).to_html(),
                                             "text/plain": "table"}),
            new_output("display_data", data={"text/html": raw_styler, "text/plain": "table"}),
            new_output("display_data", data={"text/markdown": f"**Note:** {PAYLOAD} <script>alert(2)</script>",
                                             "text/plain": "note"}),
            new_output("display_data", data={"application/javascript": "alert(3)", "text/plain": "js"}),
        ]),
    ])
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    return path


def test_export_html_escapes_values_and_needs_no_cdn(tmp_path):
    out = export_html(_notebook(tmp_path), tmp_path / "report.html")
    html = out.read_text(encoding="utf-8")
    assert PAYLOAD not in html and "onerror=alert(1)>" not in html
    assert html.count(ESCAPED) == 3  # the escaped table, the sanitised raw table, the note
    assert "&lt;script&gt;alert(2)" in html and "alert(3)" not in html
    assert re.findall(r"<script\b", html) == []  # no require.js, MathJax, mermaid or widget loader
    assert "<script src=\"http" not in html and "cdnjs" not in html and "cdn.jsdelivr" not in html
    # the page is still a report: headings, emphasis, links, table heads and the Styler's CSS survive
    assert '<h1 id="Report"' in html and "<strong>the table</strong>" in html
    assert '<a href="https://arxiv.org/abs/2404.18870">' in html and "<thead>" in html and "0.500" in html


@pytest.mark.slow
def test_a_model_name_with_markup_is_text_in_the_analysis_report(tmp_path):
    """End to end: a results CSV whose model carries the payload, the analysis notebook through the runner."""
    import yaml
    from test_analysis import write_synthetic

    from trust_utils.pipeline import run
    from trust_utils.profiles import load_profile

    run_dir = tmp_path / "run"
    write_synthetic(run_dir, models=(PAYLOAD,))
    prof = tmp_path / "xss.yaml"
    prof.write_text(yaml.safe_dump({"description": "markup in a model name", "run_dir": str(run_dir),
                                    # what the report says, not its intervals or PDFs, is under test
                                    "stages": {"analysis": {"figures_dir": str(tmp_path / "figs"), "n_boot": 50,
                                                            "formats": ["png"]}}}))
    assert [p.status for p in run(load_profile(prof), echo=lambda _m: None, progress=False)] == ["done"]
    html = (run_dir / "analysis" / "report.html").read_text(encoding="utf-8")
    assert PAYLOAD not in html and ESCAPED in html
    assert re.findall(r"<script\b", html) == []
