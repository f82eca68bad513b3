"""One input layer (issue 22, item 5): data files read through one reader, stage parameters checked before a run,
model directories and run directories that cannot be used named in the error; and the model fingerprints kept out of
the user's folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trust_utils.models import ModelLoadError, fingerprint_record_path, load_causal_lm, model_fingerprint
from trust_utils.refs import check_ref


# ------------------------------------------------------------------------------------------------ model directories
def _copy_with_cut_weights(src: Path, dst: Path, keep: int) -> Path:
    shutil.copytree(src, dst)
    weights = dst / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:keep])
    return dst


def test_fingerprint_of_a_read_only_folder_writes_nothing_in_it(tmp_path, tiny_model_dir):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "users-model")
    (folder / ".content_hash").unlink(missing_ok=True)
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    for p in [folder, *folder.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        first = model_fingerprint(str(folder))
        assert first == model_fingerprint(str(tiny_model_dir))  # the same content, the same identity
        assert model_fingerprint(str(folder)) == first  # second call: from the record in the cache
    finally:
        for p in [folder, *folder.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before  # nothing written, nothing touched
    record = fingerprint_record_path(folder)
    assert record.is_file() and str(folder.resolve()) in record.read_text()


def test_fingerprint_record_follows_edits(tmp_path, tiny_model_dir):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "m")
    first = model_fingerprint(str(folder))
    (folder / "extra.txt").write_text("x")
    assert model_fingerprint(str(folder)) != first


def test_cut_short_weights_fail_naming_the_directory(tmp_path, tiny_model_dir):
    folder = _copy_with_cut_weights(tiny_model_dir, tmp_path / "cut", keep=4096)
    with pytest.raises(ModelLoadError) as exc:
        load_causal_lm(str(folder))
    msg = str(exc.value)
    assert str(folder) in msg and "model.safetensors" in msg and "cut short" in msg and "copy the model" in msg


def test_cut_short_checkpoint_of_a_run_names_the_checkpoint_and_the_rerun(tmp_path, tiny_model_dir):
    stage = tmp_path / "run" / "sft"
    stage.mkdir(parents=True)
    (stage / "manifest.json").write_text("{}")
    folder = _copy_with_cut_weights(tiny_model_dir, stage / "model", keep=4096)
    with pytest.raises(ModelLoadError, match=r"checkpoint 'sft' of run .*--stages sft --force"):
        load_causal_lm(str(folder))


def test_dry_run_reads_the_weights_headers(tmp_path, tiny_model_dir):
    good = check_ref("ext", str(tiny_model_dir))
    assert good["error"] == "" and good["kind"] == "dir"
    folder = _copy_with_cut_weights(tiny_model_dir, tmp_path / "cut", keep=4096)
    row = check_ref("ext", str(folder))
    assert str(folder) in row["error"] and "model.safetensors" in row["error"] and "cut short" in row["error"]
    (folder / "model.safetensors").write_bytes(b"\x05\x00")  # shorter than the header length itself
    assert "fewer than the 8" in check_ref("ext", str(folder))["error"]


# ------------------------------------------------------------------------------------------------ one text reader
BAD = b"caf\xe9"  # Latin-1 e-acute: not UTF-8


def _write(root: Path, rel: str | Path, data: bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def _assert_names_line(exc_info, path: Path, line: int) -> None:
    msg = str(exc_info.value)
    assert str(path) in msg and f"line {line}," in msg and "UTF-8" in msg and "re-encode" in msg


def test_reader_names_the_exact_line_past_the_first_block(tmp_path):
    from trust_utils.utils import DataFileError, iter_text_lines

    lines = [b"x" * 100 + b"\n"] * 500  # 50 kB: the text stream fails while decoding a block, not at the line
    p = _write(tmp_path, "big.txt", b"".join(lines) + BAD + b"\n")
    with pytest.raises(DataFileError) as exc:
        list(iter_text_lines(p))
    _assert_names_line(exc, p, 501)
    assert "column 4 (byte 0xe9)" in str(exc.value)


def test_read_json_not_utf8(tmp_path):
    from trust_utils.utils import DataFileError, read_json

    p = _write(tmp_path, "x.json", b'[\n"ok",\n"' + BAD + b'"\n]')
    with pytest.raises(DataFileError) as exc:
        read_json(p)
    _assert_names_line(exc, p, 3)


def test_toxicity_loader_not_utf8(tmp_path):
    from trust_utils.utils import DataFileError
    from trust_utils.verticals.toxicity import ToxicityConfig, load_prompts

    ok = b'{"filename": "a", "prompt": {"text": "hello", "toxicity": 0.1}}\n'
    bad = b'{"filename": "b", "prompt": {"text": "' + BAD + b'", "toxicity": 0.2}}\n'
    p = _write(tmp_path, "toxicity/user_prompts/toxic.jsonl", ok + ok + bad)
    cfg = ToxicityConfig(run_dir=str(tmp_path / "run"), data_source="local", local_dir=str(tmp_path),
                         subsets=["toxic"])
    with pytest.raises(DataFileError) as exc:
        load_prompts(cfg)
    _assert_names_line(exc, p, 3)
    p.write_bytes(ok + ok)  # the same layout, UTF-8: loads
    items, _, files = load_prompts(cfg)
    assert [i["text"] for i in items["toxic"]] == ["hello", "hello"] and files == [p]


STEREO_HEADER = b"stereotype_topic,target_group,stereotype_template,user_prompt\n"


def test_stereotype_loader_not_utf8_and_missing_column(tmp_path):
    from trust_utils.utils import DataFileError
    from trust_utils.verticals.bias import USER_PROMPTS, BiasConfig, load_statements

    row = b'hiv,Homosexuals,[target_group] have HIV.,"I am going to express my view. Homosexuals have HIV."\n'
    p = _write(tmp_path, USER_PROMPTS, STEREO_HEADER + row + row.replace(b"HIV.,", BAD + b".,"))
    cfg = BiasConfig(run_dir=str(tmp_path / "run"), data_source="local", local_dir=str(tmp_path))
    with pytest.raises(DataFileError) as exc:
        load_statements(cfg)
    _assert_names_line(exc, p, 3)
    p.write_bytes(STEREO_HEADER.replace(b",target_group", b"") + b"hiv,[target_group] have HIV.,x\n")
    with pytest.raises(DataFileError, match=r"no column 'target_group'") as exc:
        load_statements(cfg)
    assert str(p) in str(exc.value)
    p.write_bytes(STEREO_HEADER + row)
    items, bad, _ = load_statements(cfg)
    assert [s.statement for s in items] == ["Homosexuals have HIV."] and bad == {}


def test_ethics_loader_not_utf8_and_missing_column(tmp_path):
    from trust_utils.utils import DataFileError
    from trust_utils.verticals.ethics import CM_TEST, EthicsConfig, load_scenarios

    head = b"label,input,is_short,edited\n"
    p = _write(tmp_path, CM_TEST, head + b"1,I took the cake.,True,False\n" + b"0,I ate " + BAD + b".,True,False\n")
    cfg = EthicsConfig(run_dir=str(tmp_path / "run"), data_source="local", local_dir=str(tmp_path), expect_n=0)
    with pytest.raises(DataFileError) as exc:
        load_scenarios(cfg)
    _assert_names_line(exc, p, 3)
    p.write_bytes(b"label,text,is_short\n1,x,True\n")
    with pytest.raises(DataFileError, match=r"no column 'input'"):
        load_scenarios(cfg)


def test_truthfulqa_loader_not_utf8(tmp_path):
    from trust_utils.utils import DataFileError
    from trust_utils.verticals.truthfulness import MC_FILE, TruthfulnessConfig, load_questions

    p = _write(tmp_path / "truthfulqa", MC_FILE,
               b'[{"question": "Q' + BAD + b'?",\n "mc1_targets": {"a": 1, "b": 0}, "mc2_targets": {"a": 1}}]')
    cfg = TruthfulnessConfig(run_dir=str(tmp_path / "run"), data_source="local", local_dir=str(tmp_path / "truthfulqa"))
    with pytest.raises(DataFileError) as exc:
        load_questions(cfg)
    _assert_names_line(exc, p, 1)


@pytest.mark.parametrize("name", ["train.jsonl", "train.jsonl.gz"])
def test_hh_loader_not_utf8(tmp_path, name):
    import gzip

    from trust_utils.data.hh import load_pairs
    from trust_utils.utils import DataFileError

    good = b'{"chosen": "\\n\\nHuman: hi\\n\\nAssistant: hello", "rejected": "\\n\\nHuman: hi\\n\\nAssistant: go"}\n'
    data = good + good.replace(b"hello", BAD)
    p = _write(tmp_path, f"helpful-base/{name}", gzip.compress(data) if name.endswith(".gz") else data)
    with pytest.raises(DataFileError) as exc:
        load_pairs("local", ["helpful-base"], local_dir=str(tmp_path))
    _assert_names_line(exc, p, 2)


# ------------------------------------------------------------------------------------------------ stage parameters
def _tiny_profile(tmp_path: Path, stage: str = "", key: str = "", value=None) -> Path:
    import yaml

    from trust_utils.paths import configs_dir

    raw = yaml.safe_load((configs_dir() / "tiny.yaml").read_text())
    raw["run_dir"] = str(tmp_path / "run")
    if stage == "shared":
        raw["shared"][key] = value
    elif stage:
        raw["stages"].setdefault(stage, {})[key] = value
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_tiny_profile_still_plans(tmp_path):
    from trust_utils.pipeline import plan
    from trust_utils.profiles import load_profile

    names = [p.stage.name for p in plan(load_profile(_tiny_profile(tmp_path)))]
    assert names[:2] == ["data", "sft"] and "analysis" in names


@pytest.mark.parametrize("stage, key, value, allowed", [
    ("toxicity", "max_examples", -5, "or 0 (all)"),
    ("bias", "n_samples", -1, "a whole number >= 1"),
    ("toxicity", "n_samples", 0, "a whole number >= 1"),
    ("sft", "max_steps", -3, "or 0 (epochs decide)"),
    ("dpo", "batch_size", -4, "a whole number >= 1"),
    ("sft", "n_samples", -2, "or 0 (no samples shown)"),
    ("ethics", "batch_size", -1, "or 0 (sized from free memory)"),
    ("shared", "device", "gpu0", "auto, cpu, cuda, cuda:N"),
    ("data", "n_train", -10, "or 0 (all)"),
    ("attribution", "n_test", 0, "a whole number >= 1"),
    ("analysis", "dpi", -1, "a whole number >= 1"),
])
def test_a_bad_value_fails_the_plan_naming_stage_parameter_value_and_what_is_allowed(tmp_path, stage, key, value,
                                                                                      allowed):
    from trust_utils.pipeline import PipelineError, plan
    from trust_utils.profiles import load_profile

    with pytest.raises(PipelineError) as exc:
        plan(load_profile(_tiny_profile(tmp_path, stage, key, value)))
    msg = str(exc.value)
    assert f"parameter '{key}' is {value!r}" in msg and allowed in msg
    if stage != "shared":
        assert f"stage '{stage}'" in msg


def test_the_stage_itself_refuses_a_bad_value():
    from trust_utils.training.config import TrainingError
    from trust_utils.training.sft import SFTStageConfig
    from trust_utils.utils import ConfigError
    from trust_utils.verticals.toxicity import ToxicityConfig

    with pytest.raises(ConfigError, match=r"stage 'toxicity': parameter 'max_examples' is -5"):
        ToxicityConfig(run_dir="r", max_examples=-5)
    with pytest.raises(TrainingError, match=r"stage 'sft': parameter 'device' is 'cuda0'"):
        SFTStageConfig(run_dir="r", device="cuda0").validate()
    for device in ("auto", "cpu", "cuda", "cuda:1", "mps"):
        ToxicityConfig(run_dir="r", device=device, batch_size=0)  # 0 = auto batch size, documented


# ------------------------------------------------------------------------------------------------ run directories
def test_a_run_dir_under_a_file_is_named_by_the_plan_and_by_the_stage(tmp_path):
    # chmod cannot make a directory unwritable for root, so the run directory is put under a regular file
    import yaml

    from trust_utils.pipeline import PipelineError, plan
    from trust_utils.profiles import load_profile
    from trust_utils.run import Run, RunDirError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    path = _tiny_profile(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["run_dir"] = str(blocker / "run")
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PipelineError) as exc:
        plan(load_profile(path))
    msg = str(exc.value)
    assert str(blocker / "run") in msg and f"{blocker} is a file" in msg and "--run-dir" in msg
    with pytest.raises(RunDirError) as exc:
        Run.open(blocker / "run").stage_dir("toxicity")
    assert str(blocker / "run" / "toxicity") in str(exc.value) and f"{blocker} is a file" in str(exc.value)
    assert not (tmp_path / "run").exists()
