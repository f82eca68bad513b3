"""Nothing stale, nothing mixed: cache keys that cannot collide, code closures, named file errors, CLI conventions."""

import gzip
import json
import os
import shutil

import pytest

from trust_utils import codehash
from trust_utils.cache import ResultCache
from trust_utils.generation import DecodingConfig, Engine
from trust_utils.utils import DataFileError, atomic_write_text, read_json, read_jsonl, resolve_hub_revision


# ------------------------------------------------------------------------------------------ cache keys
def test_fp32_and_bf16_entries_of_one_prompt_coexist(tiny_model_dir, tmp_path):
    cache = tmp_path / "gen"
    cfg = DecodingConfig(max_new_tokens=6)
    prompt = ["The quick brown fox jumps over the lazy"]
    with Engine(str(tiny_model_dir), device="cpu", dtype="float32", cache_dir=str(cache), progress=False) as e32:
        out32 = e32.generate(prompt, cfg)
        assert e32.model_calls > 0
    with Engine(str(tiny_model_dir), device="cpu", dtype="bfloat16", cache_dir=str(cache), progress=False) as e16:
        assert e16.key_base["dtype"] == "bfloat16" and e16.key_base["device"] == "cpu"
        e16.generate(prompt, cfg)
        assert e16.model_calls > 0, "a bf16 engine must not read the fp32 entry as a hit"
        e16.loglikelihood(["Hello"], [" world"])
    assert len(ResultCache(cache)) == 3  # fp32 generation, bf16 generation, bf16 score: three keys
    with Engine(str(tiny_model_dir), device="cpu", dtype="float32", cache_dir=str(cache), progress=False) as again:
        assert again.generate(prompt, cfg) == out32 and again.model_calls == 0
        again.loglikelihood(["Hello"], [" world"])
        assert again.model_calls > 0, "the bf16 score is not an fp32 hit"


def _package_copy(tmp_path, monkeypatch):
    """A copy of the package that codehash hashes instead of the real one (edit it to simulate a code change)."""
    copy = tmp_path / "trust_utils"
    shutil.copytree(codehash.package_root(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codehash, "package_root", lambda: copy)
    return copy


def _append(path, text="\n# an edit\n"):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def test_a_cached_value_is_served_only_to_the_code_that_computed_it(tiny_model_dir, tmp_path, monkeypatch):
    from trust_utils import cache as cache_mod

    cache, cfg, prompt = tmp_path / "gen", DecodingConfig(max_new_tokens=4), ["The quick brown fox"]

    def calls():
        with Engine(str(tiny_model_dir), device="cpu", dtype="float32", cache_dir=str(cache), progress=False) as e:
            e.generate(prompt, cfg)
            e.loglikelihood(["Hello"], [" world"])
            return e.model_calls, e.describe()["code"]

    first, code = calls()
    assert first > 0
    copy = _package_copy(tmp_path, monkeypatch)
    assert calls() == (0, code)  # the same code: both values are hits
    _append(copy / "verticals" / "bias.py")
    assert calls() == (0, code), "a vertical's module does not compute generations: still a hit"
    _append(copy / "generation.py")
    n, new_code = calls()
    assert n == 2 and new_code != code, "an edited engine must recompute, not be served the old engine's values"
    real = cache_mod.library_versions
    monkeypatch.setattr(cache_mod, "library_versions",
                        lambda libs: {**real(libs), "torch": "0.0.other"} if "torch" in libs else real(libs))
    assert calls()[0] == 2, "another torch must recompute"
    _append(copy / "models.py")  # model loading is in the engine's import closure
    assert calls()[0] == 2
    _append(copy / "checkpoints.py")  # a newly registered method: a registry, not engine code
    assert calls()[0] == 0


def test_value_neutral_modules_are_real_registries_not_model_code():
    """The modules value keys leave out exist (a renamed one would silently be hashed again, which is safe but slow),
    and none of them pulls in training, vertical or engine code (what they import stays in the value keys)."""
    mods = codehash.all_modules()
    assert codehash.VALUE_NEUTRAL <= mods
    reached = codehash.module_closure(codehash.VALUE_NEUTRAL) - codehash.VALUE_NEUTRAL
    # what they import is still hashed by value keys; keep that small and free of model code
    assert not {m for m in reached if m.startswith(("trust_utils.training", "trust_utils.verticals",
                                                     "trust_utils.generation"))}, reached


def test_a_cached_toxicity_score_is_served_only_to_the_scorer_code_that_computed_it(tmp_path, monkeypatch):
    from trust_utils.verticals.scorers import Scorer, score_texts

    class Counting(Scorer):
        name = "counting"
        n = 0

        def score(self, texts):
            Counting.n += len(texts)
            return [0.5] * len(texts)

    cache = ResultCache(tmp_path / "c")
    assert score_texts(Counting(), ["a", "b"], cache) == [0.5, 0.5] and Counting.n == 2
    copy = _package_copy(tmp_path, monkeypatch)
    score_texts(Counting(), ["a", "b"], cache)
    _append(copy / "generation.py")  # the engine does not score toxicity
    score_texts(Counting(), ["a", "b"], cache)
    assert Counting.n == 2
    _append(copy / "verticals" / "scorers.py")
    score_texts(Counting(), ["a", "b"], cache)
    assert Counting.n == 4, "an edited scorer module must rescore"


def test_hub_revision_is_resolved_or_said_to_be_unresolved(monkeypatch, tmp_path):
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert resolve_hub_revision("org/model", sha) == sha  # a commit is already resolved
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path))
    assert resolve_hub_revision("org/missing", "") == "unresolved:main"  # offline, not in the cache
    refs = tmp_path / "datasets--org--data" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(sha)
    assert resolve_hub_revision("org/data", "", "dataset") == sha  # offline, from the local hub cache


# ------------------------------------------------------------------------------------------ code closure
def test_module_closure_follows_lazy_and_relative_imports(tmp_path):
    root = tmp_path / "trust_utils"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "a.py").write_text("def f():\n    from .sub import b  # lazy\n    return b\n")
    (root / "sub" / "b.py").write_text("from ..c import x\n")
    (root / "c.py").write_text("x = 1\n")
    (root / "unused.py").write_text("y = 2\n")
    (root / "sub" / "table.csv").write_text("k,v\n")
    mods = codehash.module_closure(["trust_utils.a"], root)
    assert mods == {"trust_utils", "trust_utils.a", "trust_utils.sub", "trust_utils.sub.b", "trust_utils.c"}
    files = codehash.stage_code(["%matplotlib inline\nimport trust_utils.a"], root)
    assert set(files) == {"__init__.py", "a.py", "sub/__init__.py", "sub/b.py", "c.py", "sub/table.csv"}
    before = codehash.code_hash(files)
    (root / "unused.py").write_text("y = 3\n")
    assert codehash.code_hash(codehash.stage_code(["import trust_utils.a"], root)) == before
    (root / "c.py").write_text("x = 2\n")
    assert codehash.code_hash(codehash.stage_code(["import trust_utils.a"], root)) != before
    assert codehash.notebook_modules(["def broken(:"], root) == codehash.all_modules(root)


def test_bias_notebook_depends_on_the_parser_but_toxicity_does_not():
    import nbformat

    from trust_utils.paths import notebooks_dir

    def files(nb):
        cells = [c.source for c in nbformat.read(str(notebooks_dir() / nb), 4).cells if c.cell_type == "code"]
        return codehash.stage_code(cells)

    assert "verticals/parsing.py" in files("21_bias.ipynb") and "verticals/bias.py" in files("21_bias.ipynb")
    tox = files("20_toxicity.ipynb")
    assert "verticals/bias.py" not in tox and "verticals/toxicity.py" in tox
    assert "reference/paper_results.csv" in files("90_analysis.ipynb")
    # the look-inside helpers are split: a method notebook does not rerun on a parser edit, a vertical one
    # not on an edit to the method helpers
    for method_nb in ("10_sft.ipynb", "11_reward_model.ipynb", "12_ppo.ipynb", "13_dpo.ipynb"):
        assert "verticals/parsing.py" not in files(method_nb), method_nb
    assert "course.py" not in files("21_bias.ipynb")
    # one exercise module (and one reference solution) per notebook: an edit to the DPO exercise reruns 13_dpo only
    from trust_utils.exercises import EXERCISES

    for nb, mod in EXERCISES.values():
        got = {f for f in files(f"{nb}.ipynb") if f.startswith(("exercises/", "solutions/"))}
        assert got == {"exercises/__init__.py", f"exercises/{mod}.py", "solutions/__init__.py",
                       f"solutions/{mod}.py"}, nb
    assert "losses.py" not in files("20_toxicity.ipynb")  # the SFT solution's import no longer reaches the verticals


# ------------------------------------------------------------------------------------------ bad files
def test_truncated_jsonl_gz_names_the_file(tmp_path):
    good = tmp_path / "train.jsonl.gz"
    with gzip.open(good, "wt", encoding="utf-8") as fh:
        for i in range(200):
            fh.write(json.dumps({"chosen": f"\n\nHuman: q{i}\n\nAssistant: a", "rejected": "x" * 50}) + "\n")
    data = good.read_bytes()
    bad = tmp_path / "harmless-base" / "train.jsonl.gz"
    bad.parent.mkdir()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError, match=r"train\.jsonl\.gz is truncated.*copy the file again"):
        list(read_jsonl(bad))
    from trust_utils.data import hh

    with pytest.raises(DataFileError, match="harmless-base/train.jsonl.gz is truncated"):
        list(hh._read_jsonl_rows(bad))


def test_broken_json_names_the_file_and_position(tmp_path):
    p = tmp_path / "mc_task.json"
    p.write_text('[{"question": "Q?", "mc1_targets": {"A": 1}')
    with pytest.raises(DataFileError, match=r"mc_task\.json is not valid JSON \(line 1, column \d+"):
        read_json(p)
    lines = tmp_path / "records.jsonl"
    lines.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(DataFileError, match=r"records\.jsonl, line 2: not valid JSON"):
        list(read_jsonl(lines))


def test_broken_truthfulqa_file_gives_the_named_error(tmp_path):
    from trust_utils.verticals import truthfulness

    root = tmp_path / "tqa" / "data"
    root.mkdir(parents=True)
    (root / "mc_task.json").write_text('[{"question": ')
    cfg = truthfulness.TruthfulnessConfig(run_dir=str(tmp_path / "run"), data_source="local",
                                          local_dir=str(tmp_path / "tqa"))
    with pytest.raises(DataFileError, match="mc_task.json is not valid JSON"):
        truthfulness.load_questions(cfg)


def test_reports_are_world_readable(tmp_path):
    old = os.umask(0o022)
    try:
        p = atomic_write_text(tmp_path / "report.html", "<html></html>")
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------------------------------------ CLI
def test_cli_version_and_exit_codes(capsys, tmp_path, monkeypatch):
    from trust_utils import __version__
    from trust_utils.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out
    assert main(["run", "--profile", "no-such-profile"]) == 2  # a usage error


def test_pyproject_requires_python_311():
    import tomllib
    from pathlib import Path

    meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert meta["project"]["requires-python"] == ">=3.11"


# ------------------------------------------------------------------------------------------ result provenance
def test_result_rows_carry_the_model_and_data_revisions(tmp_path, tiny_model_dir, cache_dir):
    from trust_utils.models import model_fingerprint
    from trust_utils.results import load_results
    from trust_utils.verticals import ethics
    from trust_utils.verticals.common import _data_revision

    cfg = ethics.EthicsConfig(run_dir=str(tmp_path / "run"), model=str(tiny_model_dir), checkpoints=["base"],
                              max_examples=2, variants=["benign"], n_boot=20, threads=1, progress=False,
                              cache_dir=str(cache_dir))
    ethics.run(cfg)
    df = load_results(tmp_path / "run")
    assert set(df["model_revision"]) == {model_fingerprint(str(tiny_model_dir))}
    assert set(df["data_revision"]) == {"bundled"}
    src = {"kind": "hub", "id": "AI-Secure/DecodingTrust", "revision": "", "resolved_revision": "abc123"}
    assert _data_revision(src) == "hub:AI-Secure/DecodingTrust@abc123"
    assert _data_revision({"kind": "hub", "id": "x/y", "revision": "v2", "resolved_revision": ""}) == "hub:x/y@v2"


def test_training_reuse_key_covers_the_training_code_and_only_it(tmp_path, monkeypatch):
    from trust_utils.training.dpo import DPOStageConfig
    from trust_utils.training.reuse import _what_changed

    copy = _package_copy(tmp_path, monkeypatch)
    cfg = DPOStageConfig(run_dir=str(tmp_path / "run"), model="tiny")
    before = cfg.reuse_parts()
    assert "training/dpo.py" in codehash.module_code(["trust_utils.training.dpo"])
    with open(copy / "verticals" / "bias.py", "a", encoding="utf-8") as fh:
        fh.write("\n# a vertical's edit cannot change a trained model\n")
    assert cfg.reuse_parts() == before
    # registering a method or changing a colour reruns the notebooks, but retrains nothing
    assert "checkpoints.py" in codehash.module_code(["trust_utils.training.dpo"])
    for declarative in ("checkpoints.py", "stages.py", "style.py"):
        _append(copy / declarative)
        assert cfg.reuse_parts() == before, declarative
    for edited in ("training/dpo.py", "training/config.py"):  # the stage's module, then a helper it imports
        with open(copy / edited, "a", encoding="utf-8") as fh:
            fh.write("\n# an edit to the code that trains DPO\n")
        after = cfg.reuse_parts()
        assert after["code"] != before["code"], edited
        assert _what_changed(before, after) == "code"
        before = after
