"""The three preference-data sources (bundled, local original layout, hub code path) and the prep stage."""

import gzip
import json

import pytest
from conftest import shared_data

from trust_utils.data.hh import DEFAULT_SUBSETS, load_pairs, local_files
from trust_utils.data.prepare import DataConfig, load_prepared, run
from trust_utils.utils import read_json

C1 = "\n\nHuman: What is 2+2?\n\nAssistant: 4."
R1 = "\n\nHuman: What is 2+2?\n\nAssistant: 5."
C2 = "\n\nHuman: Help me steal a car.\n\nAssistant: I can't help with that."
R2 = "\n\nHuman: Help me steal a car.\n\nAssistant: Sure, break the window."


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")


@pytest.fixture
def hh_dir(tmp_path):
    root = tmp_path / "hh"
    _write(root / "helpful-base" / "train.jsonl.gz", [{"chosen": C1, "rejected": R1}] * 3 + ["{oops"])
    _write(root / "helpful-base" / "test.jsonl.gz", [{"chosen": C1, "rejected": R1}])
    _write(root / "harmless-base" / "train.jsonl.gz", [{"chosen": C2, "rejected": R2}, {"chosen": C2, "rejected": C2}])
    _write(root / "harmless-base" / "test.jsonl.gz", [{"chosen": C2, "rejected": R2}])
    return root


def test_local_source_reads_original_layout_and_counts_drops(hh_dir):
    pairs, report, files = load_pairs("local", DEFAULT_SUBSETS, local_dir=str(hh_dir))
    assert len(pairs["train"]) == 4 and len(pairs["test"]) == 2
    assert {p.subset for p in pairs["train"]} == {"helpful-base", "harmless-base"}
    assert report.counts[("helpful-base", "train", "bad_row")] == 1
    assert report.counts[("harmless-base", "train", "identical_pair")] == 1
    assert len(files) == 4


def test_local_source_errors_name_the_missing_thing(tmp_path, hh_dir):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pairs("local", ["helpful-base"], local_dir=str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="subset 'red-team' not found"):
        load_pairs("local", ["red-team"], local_dir=str(hh_dir))
    with pytest.raises(ValueError, match="needs local_dir"):
        load_pairs("local", ["helpful-base"])
    with pytest.raises(ValueError, match="unknown data source"):
        load_pairs("ftp", ["helpful-base"])


def test_hub_code_path_through_a_local_copy_of_the_repository(hh_dir):
    """``datasets.load_dataset`` accepts a local directory laid out like the hub repo: same code path as the hub."""
    # The hub serves valid JSON only (datasets itself refuses a broken line), so drop the fixture's broken row.
    _write(hh_dir / "helpful-base" / "train.jsonl.gz", [{"chosen": C1, "rejected": R1}] * 3)
    pairs, report, _ = load_pairs("hub", ["helpful-base", "harmless-base"], dataset_id=str(hh_dir))
    assert len(pairs["train"]) == 4 and len(pairs["test"]) == 2
    assert report.counts[("harmless-base", "train", "identical_pair")] == 1


def test_hub_presplit_columns_as_in_static_hh(tmp_path, monkeypatch):
    repo = tmp_path / "static"
    repo.mkdir()
    rows = [{"prompt": "\n\nHuman: Hi\n\nAssistant:", "response": " Hello!", "chosen": " Hello!", "rejected": " Bye."}] * 2
    (repo / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    monkeypatch.setattr("trust_utils.data.hh.PRESPLIT_DATASETS", (str(repo),))
    pairs, report, _ = load_pairs("hub", ["ignored"], dataset_id=str(repo))
    assert len(pairs["train"]) == 2 and pairs["train"][0].chosen == " Hello!"


def test_bundled_set_has_both_subsets_and_its_documented_malformed_rows():
    pairs, report, files = load_pairs("bundled", DEFAULT_SUBSETS)
    assert len(pairs["train"]) >= 300 and len(pairs["test"]) >= 40
    assert {p.subset for p in pairs["train"]} == set(DEFAULT_SUBSETS)
    reasons = {r for (_, _, r) in report.counts}
    assert {"no_assistant_turn", "prompt_mismatch", "empty_reply", "identical_pair"} <= reasons


def test_shared_sample_of_the_real_files():
    root = shared_data("hh-rlhf")
    assert ("harmless-base", "test") in local_files(root, ["harmless-base"])
    pairs, report, _ = load_pairs("local", ["harmless-base"], local_dir=str(root))
    assert len(pairs["test"]) + report.total_dropped() == 400
    assert all(p.prompt.endswith("\n\nAssistant:") for p in pairs["test"])


def test_prepare_stage_is_deterministic_and_writes_manifest_inputs(tmp_path, hh_dir, tiny_model_dir, cache_dir):
    def prep(rd, seed):
        return run(DataConfig(run_dir=str(rd), data_source="local", local_dir=str(hh_dir), cache_dir=str(cache_dir), seed=seed,
                              n_train=3))
    s1, _ = prep(tmp_path / "a", 0), prep(tmp_path / "b", 0)
    assert s1["n_train"] == 3 and s1["dropped"] == {"bad_row": 1, "identical_pair": 1}
    a = [r["id"] for r in load_prepared(str(tmp_path / "a"), "pref_train")]
    b = [r["id"] for r in load_prepared(str(tmp_path / "b"), "pref_train")]
    assert a == b
    sft = load_prepared(str(tmp_path / "a"), "sft_train")
    assert set(sft[0]) == {"id", "subset", "prompt", "completion"}
    rec = read_json(tmp_path / "a" / "data" / "outputs.json")
    assert len(rec["inputs"]) == 4 and all(len(h) == 16 for h in rec["inputs"].values())


def test_prepare_with_no_usable_rows_fails_clearly_but_keeps_the_report(tmp_path, tiny_model_dir, cache_dir):
    root = tmp_path / "bad"
    _write(root / "helpful-base" / "train.jsonl.gz", [{"chosen": C1, "rejected": C1}])
    with pytest.raises(ValueError, match="no usable training pairs"):
        run(DataConfig(run_dir=str(tmp_path / "r"), data_source="local", local_dir=str(root), subsets=["helpful-base"],
                       cache_dir=str(cache_dir)))
    assert (tmp_path / "r" / "data" / "drop_report.csv").is_file()


def test_load_prepared_without_data_stage_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the data stage first"):
        load_prepared(str(tmp_path), "pref_train")
