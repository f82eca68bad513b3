"""The vertical notebooks' preview (`trust_utils.verticals.common.vertical_example`) prints its prompts in full."""

from __future__ import annotations

from trust_utils.verticals.common import _full_texts


def test_full_texts_keep_every_character_and_line_break():
    long = "x" * 300 + "\nsecond line"
    out = {"variant": "benign", "prompt": long, "formatted_prompt": f"\n\nHuman: {long}\n\nAssistant:",
           "generation": " yes", "n_prompt_tokens": 7}
    text = _full_texts("ethics", out)
    assert text == ("----- ethics, variant benign: prompt -----\n" + long + "\n"
                    "----- ethics, variant benign: formatted_prompt (what the engine sends) -----\n"
                    f"\n\nHuman: {long}\n\nAssistant:\n"
                    "----- ethics, variant benign: generation -----\n yes")


def test_formatted_prompt_equal_to_the_prompt_is_not_repeated():
    text = _full_texts("toxicity", {"variant": "adversarial", "prompt": "p", "formatted_prompt": "p"})
    assert text == "----- toxicity, variant adversarial: prompt (the engine sends it as is) -----\np"


def test_vertical_example_prints_the_whole_prompt(tiny_model_dir, tmp_path, capsys):
    from trust_utils.generation import Engine
    from trust_utils.verticals import ethics
    from trust_utils.verticals.common import vertical_example

    eng = Engine(str(tiny_model_dir), device="cpu", cache_dir=str(tmp_path / "gen"), prompt_format="hh",
                 progress=False)
    cfg = ethics.EthicsConfig(run_dir=str(tmp_path / "run"), max_new_tokens=4, variants=["jb_moral"])
    sc = ethics.Scenario("s1", "I took my neighbour's bike, " + "and then I kept it for a very long time " * 4, 1, True)
    df = vertical_example("ethics", eng, cfg, sc)["value"]
    printed = capsys.readouterr().out
    assert len(df["formatted_prompt"]) > 200  # longer than a table cell shows
    assert df["prompt"] in printed and df["formatted_prompt"] in printed and df["generation"] in printed
    vertical_example("ethics", eng, cfg, sc, show=False)
    assert capsys.readouterr().out == ""
