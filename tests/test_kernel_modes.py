"""Kernel modes: which variables each sets, which mode a process is in, and what cache keys take from it."""

import pytest

from trust_utils.kernel_modes import (
    KERNEL_MODES,
    active_kernel_mode,
    check_kernel_mode,
    kernel_key,
    kernel_mode_env,
)

PORTABLE = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def test_portable_fixes_the_three_libraries_and_native_sets_nothing():
    assert kernel_mode_env("portable") == PORTABLE
    assert kernel_mode_env("native") == {}
    env = kernel_mode_env("portable")
    env["MKL_CBWR"] = "AUTO"
    assert KERNEL_MODES["portable"]["MKL_CBWR"] == "COMPATIBLE"  # a copy: the declaration stays
    with pytest.raises(ValueError, match=r"profile x: unknown kernel mode 'avx2'; use one of \['native', 'portable'\]"):
        check_kernel_mode("avx2", "profile x")


def test_the_active_mode_needs_every_variable_with_its_value():
    assert active_kernel_mode({}) == "native"
    assert active_kernel_mode({**PORTABLE, "PATH": "/bin"}) == "portable"
    assert active_kernel_mode({**PORTABLE, "MKL_CBWR": "AVX2"}) == "native"  # MKL not fixed: not portable
    assert active_kernel_mode({k: v for k, v in PORTABLE.items() if k != "ATEN_CPU_CAPABILITY"}) == "native"


def test_keys_take_the_mode_only_when_it_is_not_native(monkeypatch):
    assert kernel_key({}) == {}
    assert kernel_key(PORTABLE) == {"kernels": "portable"}
    for k, v in PORTABLE.items():
        monkeypatch.setenv(k, v)
    from trust_utils.cache import cache_key
    from trust_utils.provenance import versions, versions_string

    assert versions()["kernels"] == "portable" and versions_string().endswith(";kernels=portable")
    portable = cache_key(kind="gen", **kernel_key())
    monkeypatch.delenv("MKL_CBWR")
    assert "kernels" not in versions() and "kernels" not in versions_string()
    assert cache_key(kind="gen", **kernel_key()) == cache_key(kind="gen") != portable


def test_generation_scores_and_trained_models_are_keyed_by_the_mode(monkeypatch, tiny_model_dir):
    from trust_utils.decoding_config import DecodingConfig
    from trust_utils.generation import Engine
    from trust_utils.training.config import training_versions

    native_engine, native_training = Engine(str(tiny_model_dir), device="cpu", dtype="float32"), training_versions()
    for k, v in PORTABLE.items():
        monkeypatch.setenv(k, v)
    engine = Engine(str(tiny_model_dir), device="cpu", dtype="float32")
    assert engine.key_base == {**native_engine.key_base, "kernels": "portable"}
    assert engine._gen_key("p", DecodingConfig(), 0, 0) != native_engine._gen_key("p", DecodingConfig(), 0, 0)
    assert training_versions() == {**native_training, "kernels": "portable"}


def test_profiles_pin_a_mode_and_the_command_line_overrides_it(capsys):
    from trust_utils import cli
    from trust_utils.profiles import load_profile

    assert load_profile("tiny").kernels == "portable" and load_profile("default").kernels == "native"
    assert load_profile("tiny", kernels="native").kernels == "native"
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--profile", "tiny", "--kernels", "avx512", "--dry-run"])
    assert exc.value.code == 2 and "invalid choice: 'avx512'" in capsys.readouterr().err
