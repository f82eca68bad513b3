"""Shared fixtures: a session cache with the tiny model, and a run directory with prepared data."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"

# Threads of every stage kernel a test starts (profiles pin 2): the suite's two workers already take both cores, and
# a 2-thread kernel beside a busy worker runs 2-3x slower than a 1-thread one (OpenMP's threads wait for a core the
# other worker holds). Values computed under it are compared within a run, never with a 2-thread run's.
SUITE_THREADS = 1


def pytest_configure(config):
    # One thread per test process: the suite runs on 2-core machines beside other work.
    os.environ.setdefault("OMP_NUM_THREADS", str(SUITE_THREADS))
    import torch

    torch.set_num_threads(SUITE_THREADS)


@pytest.fixture(autouse=True)
def _suite_threads_after_each_test():
    """A test that runs a stage in this process sets the stage's threads (2 by default) for the whole process: put
    the suite's count back, so the tests after it do not run oversubscribed."""
    yield
    import torch

    if torch.get_num_threads() != SUITE_THREADS:
        torch.set_num_threads(SUITE_THREADS)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A session-wide model cache, also exported to notebook kernels via RLHF_TRUST_CACHE."""
    d = tmp_path_factory.mktemp("cache")
    os.environ["RLHF_TRUST_CACHE"] = str(d)
    return d


@pytest.fixture(scope="session")
def tiny_model_dir(cache_dir) -> Path:
    from trust_utils.models import build_tiny_model

    return build_tiny_model(cache_dir, seed=0)


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct converted from its GGUF once for the whole suite: the xdist workers share one
    conversion (about a minute on two cores), the second waiting on a file lock for the first.
    ``tests/test_models.py`` checks what it wrote and that a second conversion reuses it."""
    from trust_utils.models import resolve_model_ref

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' common base directory of this run
    shared = root / "shared-models"
    shared.mkdir(exist_ok=True)
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return Path(resolve_model_ref("smollm2-gguf", shared))


@pytest.fixture(scope="session")
def prepared_run(tmp_path_factory, tiny_model_dir, cache_dir) -> Path:
    """A run directory whose data stage has run on the bundled set (tiny tokenizer)."""
    from trust_utils.data.prepare import DataConfig, run

    run_dir = tmp_path_factory.mktemp("run")
    run(DataConfig(run_dir=str(run_dir), data_source="bundled", model="tiny", cache_dir=str(cache_dir),
                   max_prompt_length=192, max_length=320))
    return run_dir


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when it is absent (a user's fresh clone)."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not present (../shared is only beside the project on development machines)")
    return p


def run_notebook(notebook: str, tmp_path: Path, **params) -> Path:
    """Execute ``notebooks/<notebook>`` with papermill into ``tmp_path`` (run directory ``tmp_path/run``).

    Returns the run directory. ``threads`` defaults to :data:`SUITE_THREADS`. Parameters are checked like the
    runner does (a field of the stage's config or a name in the notebook's parameters cell) and split the same way
    (cell names injected, the rest in ``overrides``), so a test cannot pass by injecting a name the notebook ignores.
    """
    import papermill

    from trust_utils.params import config_fields, load_config_class
    from trust_utils.pipeline import injected_params, notebook_parameters
    from trust_utils.stages import STAGES

    nb = Path(__file__).resolve().parents[1] / "notebooks" / notebook
    declared = notebook_parameters(nb)
    stage = next(s for s in STAGES if s.notebook == notebook)
    fields = config_fields(load_config_class(stage.config)) if stage.config else {}
    unknown = set(params) - set(declared) - set(fields)
    assert not unknown, f"{notebook} does not declare {sorted(unknown)}"
    if "threads" in declared or "threads" in fields:
        params.setdefault("threads", SUITE_THREADS)
    run_dir = tmp_path / "run"
    papermill.execute_notebook(str(nb), str(tmp_path / "out.ipynb"), kernel_name="python3", progress_bar=False,
                               parameters=injected_params(stage, {"run_dir": str(run_dir), **params}, declared))
    return run_dir
