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
