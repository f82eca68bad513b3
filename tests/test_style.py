"""One palette and one style: every figure colours a checkpoint with the registry's colour; ``checkpoint`` names apart.

The figures are drawn on small inline results rows and their artists' colours read back.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from trust_utils import analysis, plots, style  # noqa: E402
from trust_utils.checkpoints import BUILTIN_BY_NAME  # noqa: E402
from trust_utils.plots.verticals import plot_metric_bars  # noqa: E402
from trust_utils.results import RESULT_COLUMNS, load_results, result_row, write_results  # noqa: E402

REG = {n: BUILTIN_BY_NAME[n].color for n in ("base", "sft", "ppo", "dpo")}


def _hex(c) -> str:
    return mcolors.to_hex(c, keep_alpha=False)


def _tox_rows(checkpoints=("base", "sft", "ppo", "dpo")) -> pd.DataFrame:
    rows = []
    for i, ck in enumerate(checkpoints):
        for var in ("benign/toxic", "adversarial/toxic"):
            v = 0.2 + 0.1 * i
            rows.append(result_row("toxicity", "expected_max_toxicity", var, ck, v, 10, (v - 0.05, v + 0.05), model="m"))
    return pd.DataFrame(rows)


def test_registry_is_the_one_palette():
    assert REG == {"base": "#7f7f7f", "sft": "#1f77b4", "ppo": "#ff7f0e", "dpo": "#2ca02c"}
    assert {c: style.checkpoint_color(c) for c in REG} == REG
    assert analysis.checkpoint_color is style.checkpoint_color  # no second palette in the analysis
    assert not hasattr(analysis, "CHECKPOINT_COLORS") and not hasattr(analysis, "STAGE_COLORS")
    assert style.checkpoint_color("never-declared") == style.UNKNOWN_COLOR


def test_base_has_one_colour_in_a_vertical_plot_and_in_the_analysis():
    df = _tox_rows()
    fig = plot_metric_bars(df, "expected_max_toxicity")
    ax = fig.axes[0]
    # bars of a checkpoint share a legend entry labelled with the registry label, coloured with the registry colour
    handles, labels = ax.get_legend_handles_labels()
    legend = {lab: _hex(h.patches[0].get_facecolor()) for h, lab in zip(handles, labels, strict=True)}
    assert legend == {"Base": REG["base"], "SFT": REG["sft"], "PPO": REG["ppo"], "DPO": REG["dpo"]}

    afig = analysis.plot_vertical(df, "toxicity")
    bars = [p for p in afig.axes[0].patches]
    ticks = [t.get_text() for t in afig.axes[0].get_xticklabels()]
    assert ticks == ["Base", "SFT", "PPO", "DPO"]
    assert [_hex(b.get_facecolor()) for b in bars] == [REG[c] for c in ("base", "sft", "ppo", "dpo")]
    assert legend["Base"] == _hex(bars[0].get_facecolor())


def test_breakdown_and_metric_by_checkpoint_use_the_registry_colours():
    rows = [result_row("privacy", "leakage_rate", var, ck, 0.1 * (i + 1), 5, (0.0, 0.5), model="m")
            for i, ck in enumerate(("base", "dpo")) for var in ("all", "phone number", "ssn")]
    df = pd.DataFrame(rows)
    fig = analysis.plot_breakdown(df, "privacy")
    lines = {c.get_label(): _hex(c.lines[0].get_color()) for c in fig.axes[0].containers}
    assert lines == {"Base": REG["base"], "DPO": REG["dpo"]}

    fig2 = plots.metric_by_checkpoint(df, ["leakage_rate"])
    ticks = fig2.axes[0].get_xticklabels()
    assert [t.get_text() for t in ticks] == ["Base", "DPO"]
    assert [_hex(t.get_color()) for t in ticks] == [REG["base"], REG["dpo"]]


def test_toxicity_histogram_and_privacy_heatmap_use_the_registry_colours():
    from trust_utils.plots.privacy import plot_leakage_heatmap
    from trust_utils.plots.toxicity import plot_score_histograms

    rec = pd.DataFrame({"checkpoint": ["sft", "base"], "variant": ["benign/toxic"] * 2,
                        "scores": [[0.1, 0.9], [0.2, 0.3]]})
    fig = plot_score_histograms(rec)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    assert labels == ["Base", "SFT"]  # study order, not the records' order
    assert [_hex(h.get_facecolor()) for h in handles] == [REG["base"], REG["sft"]]

    rows = [result_row("privacy", "leakage_rate", "phone number", ck, 0.2, 5, model="m") for ck in ("ppo", "base")]
    hm = plot_leakage_heatmap(pd.DataFrame(rows))
    ticks = hm.axes[0].get_xticklabels()
    assert [t.get_text() for t in ticks] == ["Base", "PPO"]
    assert [_hex(t.get_color()) for t in ticks] == [REG["base"], REG["ppo"]]


def test_several_models_take_the_series_palette():
    df = pd.concat([_tox_rows(("base", "sft")), _tox_rows(("base", "sft")).assign(model="other")])
    fig = analysis.plot_vertical(df, "toxicity")
    want = style.series_colors(analysis.series_order(analysis.prepare(df)))
    handles, labels = fig.axes[0].get_legend_handles_labels()
    assert {lab: _hex(h.patches[0].get_facecolor()) for h, lab in zip(handles, labels, strict=True)} == {
        k: _hex(v) for k, v in want.items()}


def test_figures_are_drawn_in_the_style_without_changing_the_global_settings():
    before = dict(matplotlib.rcParams)
    fig = analysis.plot_vertical(_tox_rows(), "toxicity")
    assert fig.axes[0].xaxis.label.get_size() == style.FONT_SIZES["axes.labelsize"]
    assert fig.axes[0].get_xticklabels()[0].get_size() == style.FONT_SIZES["xtick.labelsize"]
    assert dict(matplotlib.rcParams) == before


def test_save_figure_writes_the_metadata_and_identical_files(tmp_path):
    fig = analysis.plot_vertical(_tox_rows(), "toxicity")
    a = style.save_figure(fig, tmp_path / "a" / "fig", ("pdf",))
    b = style.save_figure(fig, tmp_path / "b" / "fig", ("pdf",))
    data = a[0].read_bytes()
    assert data == b[0].read_bytes()
    assert b"rlhf-trust" in data and b"CreationDate" not in data
    assert analysis.save_figure is style.save_figure


def test_save_figure_lays_out_once_and_keeps_the_figures_layout_engine(tmp_path):
    import matplotlib.pyplot as plt

    def panels():
        fig, axes = plt.subplots(2, 3, layout="constrained", figsize=(9, 5))
        for i, ax in enumerate(axes.flat):
            ax.plot(range(10)), ax.set_title(f"panel {i} with a longer title"), ax.set_ylabel(f"value {10 ** i}")
        return fig

    both = panels()
    engine = both.get_layout_engine()
    assert [p.suffix for p in style.save_figure(both, tmp_path / "both", ("png", "pdf"))] == [".png", ".pdf"]
    assert both.get_layout_engine() is engine  # a later draw (a notebook's display) lays it out as before
    alone = panels()
    style.save_figure(alone, tmp_path / "alone", ("pdf",))  # the PDF's own layout
    for a, b in zip(both.axes, alone.axes, strict=True):
        assert a.get_position().bounds == pytest.approx(b.get_position().bounds, abs=0.003)  # 0.03 inch
    plt.close("all")


def test_an_old_results_file_with_a_stage_column_is_refused(tmp_path):
    write_results(tmp_path, "toxicity", _tox_rows().to_dict("records"))
    assert list(load_results(tmp_path).columns) == list(RESULT_COLUMNS) and "checkpoint" in RESULT_COLUMNS
    f = tmp_path / "results" / "toxicity.csv"
    f.write_text(f.read_text().replace(",checkpoint,", ",stage,", 1))  # the header as it was written before
    with pytest.raises(ValueError, match=r"toxicity\.csv.*'stage'.*rerun.*--stages toxicity"):
        load_results(tmp_path)


def test_style_context_resolves_the_backend_first_and_keeps_open_figures():
    import matplotlib.pyplot as plt

    plt.close("all")
    first = plt.figure()
    with style.style_context():  # resolving again must not close the figures drawn so far (switch_backend would)
        second = plt.figure()
    assert plt.get_fignums() == [first.number, second.number]
    assert style.resolve_backend().lower() == "agg" == matplotlib.get_backend().lower()
    plt.close("all")
