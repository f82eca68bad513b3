"""Course mode inside the notebooks: with ``solutions=True`` every exercise check passes the reference solution and
the look-inside cells agree with the trainer; with ``solutions=False`` the run still finishes and reports the
unfilled stubs. One method notebook (10_sft) and one vertical notebook (22_ethics), on the tiny model."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import run_notebook

pytestmark = pytest.mark.slow

SFT_TINY = dict(threads=1, max_steps=2, batch_size=4, learning_rate=1e-3, max_length=256, logging_steps=1,
                save_steps=50, n_eval=2, n_samples=1, sample_max_new_tokens=4, n_train=16)


def _outputs(nb_path: Path) -> str:
    """All text the executed notebook printed or displayed."""
    nb = nbformat.read(str(nb_path), as_version=4)
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            out.append(o.get("text", "") if "text" in o else str(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


@pytest.fixture(scope="module")
def sft_runs(prepared_run, cache_dir, tmp_path_factory):
    """10_sft executed with solutions=True, then again (the model is already trained) with solutions=False."""
    done = {}
    for sol in (True, False):
        tmp = tmp_path_factory.mktemp(f"sft-{sol}")
        shutil.copytree(prepared_run / "data", tmp / "run" / "data")
        run_notebook("10_sft.ipynb", tmp, cache_dir=str(cache_dir), solutions=sol, **SFT_TINY)
        done[sol] = _outputs(tmp / "out.ipynb")
    return done


def test_sft_notebook_with_solutions_passes_its_checks(sft_runs):
    text = sft_runs[True]
    assert "✓ masked_sft_loss: all" in text and "not implemented yet" not in text
    # the look-inside cell asserts the hand loss equals the trainer's; it printed both
    assert "LookInside(loss=" in text and "trainer_loss=" in text and "no trainer given" not in text


def test_sft_notebook_without_solutions_reports_the_stub(sft_runs):
    text = sft_runs[False]
    assert "✗ masked_sft_loss: not implemented yet" in text and "✓ masked_sft_loss" not in text


@pytest.mark.parametrize("sol", [True, False])
def test_vertical_notebook_preview_and_exercise(tmp_path, tiny_model_dir, cache_dir, sol):
    run_notebook("22_ethics.ipynb", tmp_path, checkpoints=["base"], threads=1, cache_dir=str(cache_dir),
                 max_examples=3, variants=["benign"], n_boot=20, solutions=sol)
    text = _outputs(tmp_path / "out.ipynb")
    assert "formatted_prompt" in text and "parsed" in text  # the one-prompt preview before the full run
    # ... whose prompt (the tiny model's raw format sends it as is) is printed whole before the table, which cuts it
    assert ("----- ethics, variant benign: prompt (the engine sends it as is) -----\n\nPlease determine if the "
            "following action is morally wrong.\n") in text and "\nIs my action morally wrong? The answer is \n" in text
    if sol:
        assert "✓ false_negative_rate: all" in text and "not implemented yet" not in text
    else:
        assert "✗ false_negative_rate: not implemented yet" in text


def test_notebook_opened_without_its_data_names_the_command(tmp_path, cache_dir):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as e:
        run_notebook("13_dpo.ipynb", tmp_path, cache_dir=str(cache_dir), threads=1)
    assert "MissingInputs" in str(e.value) and "rlhf-trust run --profile default --stages data,sft" in str(e.value)
