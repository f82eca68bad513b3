"""HH dialogue parsing on inline dialogues with hand-worked expectations."""

import pytest

from trust_utils.data.hh import DropReport, HHParseError, _parse_rows, make_pair, parse_pair, split_dialogue

SINGLE_C = "\n\nHuman: How do I boil an egg?\n\nAssistant: Put it in boiling water for 9 minutes."
SINGLE_R = "\n\nHuman: How do I boil an egg?\n\nAssistant: Eggs are laid by hens."
MULTI_C = ("\n\nHuman: hi\n\nAssistant: Hello! How can I help?\n\nHuman: tell me a joke"
           "\n\nAssistant: Why did the chicken cross the road? To get to the other side.")
MULTI_R = ("\n\nHuman: hi\n\nAssistant: Hello! How can I help?\n\nHuman: tell me a joke"
           "\n\nAssistant: No.")


def test_split_keeps_prompt_through_last_assistant_marker():
    prompt, reply = split_dialogue(SINGLE_C)
    assert prompt == "\n\nHuman: How do I boil an egg?\n\nAssistant:"
    assert reply == " Put it in boiling water for 9 minutes."
    assert prompt + reply == SINGLE_C


def test_single_turn_pair():
    p = parse_pair(SINGLE_C, SINGLE_R, "helpful-base", "train")
    assert p.prompt == "\n\nHuman: How do I boil an egg?\n\nAssistant:"
    assert p.chosen == " Put it in boiling water for 9 minutes."
    assert p.rejected == " Eggs are laid by hens."
    assert (p.subset, p.split) == ("helpful-base", "train")


def test_multi_turn_prompt_contains_earlier_assistant_turns():
    p = parse_pair(MULTI_C, MULTI_R)
    assert p.prompt.endswith("\n\nHuman: tell me a joke\n\nAssistant:")
    assert p.prompt.count("\n\nAssistant:") == 2
    assert p.rejected == " No."


def test_id_is_stable_and_content_based():
    a, b = parse_pair(SINGLE_C, SINGLE_R), parse_pair(SINGLE_C, SINGLE_R, "x", "y")
    assert a.id == b.id and len(a.id) == 12
    assert a.id != parse_pair(MULTI_C, MULTI_R).id


@pytest.mark.parametrize("chosen,rejected,reason", [
    ("\n\nHuman: hello there", "\n\nHuman: hello there", "no_assistant_turn"),
    (SINGLE_C, "\n\nHuman: How do I fry an egg?\n\nAssistant: Use oil.", "prompt_mismatch"),
    (SINGLE_C, "\n\nHuman: How do I boil an egg?\n\nAssistant:   ", "empty_reply"),
    ("\n\nHuman: How do I boil an egg?\n\nAssistant:", SINGLE_R, "empty_reply"),
    (SINGLE_C, SINGLE_C, "identical_pair"),
    (SINGLE_C, None, "bad_row"),
])
def test_bad_rows_raise_with_reason(chosen, rejected, reason):
    with pytest.raises(HHParseError) as exc:
        parse_pair(chosen, rejected)
    assert exc.value.reason == reason


def test_presplit_triple_as_in_static_hh():
    p = make_pair("\n\nHuman: Hi\n\nAssistant:", " Hello!", " Go away.")
    assert (p.chosen, p.rejected) == (" Hello!", " Go away.")
    with pytest.raises(HHParseError, match="identical_pair"):
        make_pair("\n\nHuman: Hi\n\nAssistant:", " Hello!", " Hello!  ")


def test_drop_report_counts_every_reason_and_keeps_the_rest():
    rows = [("r1", {"chosen": SINGLE_C, "rejected": SINGLE_R}),
            ("r2", {"chosen": SINGLE_C, "rejected": SINGLE_C}),
            ("r3", "not json at all"),
            ("r4", {"chosen": MULTI_C, "rejected": MULTI_R}),
            ("r5", {"chosen": "\n\nHuman: x", "rejected": "\n\nHuman: x"}),
            ("r6", {"prompt": "\n\nHuman: Hi\n\nAssistant:", "chosen": " Hello!", "rejected": " Go away."})]
    report = DropReport()
    pairs = _parse_rows(rows, "s", "train", report)
    assert len(pairs) == 3
    assert dict(report.counts) == {("s", "train", "identical_pair"): 1, ("s", "train", "bad_row"): 1,
                                   ("s", "train", "no_assistant_turn"): 1}
    table = {r["reason"]: r["count"] for r in report.rows()}
    assert table == {"parsed": 3, "identical_pair": 1, "bad_row": 1, "no_assistant_turn": 1}
    assert report.examples["bad_row"][0]["where"] == "r3"
