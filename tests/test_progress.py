"""Progress lines: a stage reports only when the runner asks, the runner echoes them while the stage runs."""

from types import SimpleNamespace

from trust_utils import progress


def test_report_is_a_no_op_without_a_runner(monkeypatch):
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    assert progress.report("step 1") is False


def test_follow_echoes_reported_lines_and_restores_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    monkeypatch.setattr(progress, "_last", {})
    seen = []
    with progress.follow(tmp_path / "stage", echo=seen.append, poll_s=0.05) as path:
        assert progress.report("loading model")
        assert progress.report("generate: 16/64", topic="bar:generate")
        assert not progress.report("generate: 32/64", topic="bar:generate")  # rate-limited
        assert progress.report("generate: 64/64", topic="bar:generate", final=True)  # the last one always shows
        progress.trainer_callback().on_log(None, SimpleNamespace(global_step=3, max_steps=3), None,
                                           logs={"loss": 0.6931, "learning_rate": 1e-5})
    assert path == tmp_path / "stage" / progress.PROGRESS_FILE
    msgs = [s[len("    | "):].split(" ", 1)[1] for s in seen]  # "    | HH:MM:SS message"
    assert msgs == ["loading model", "generate: 16/64", "generate: 64/64", "train step 3/3 loss 0.6931"]
    assert all(s.startswith("    | ") for s in seen)
    assert progress.ENV_VAR not in __import__("os").environ


def test_engine_bar_reports_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "_last", {})
    log = tmp_path / "p.log"
    monkeypatch.setenv(progress.ENV_VAR, str(log))

    class Quiet:
        def update(self, n):
            pass

        def close(self):
            pass

    bar = progress.Bar(Quiet(), 4, "loglikelihood")
    bar.update(2)
    bar.update(2)
    lines = log.read_text().splitlines()
    assert [ln.split(" ", 1)[1].split(" (")[0] for ln in lines] == ["loglikelihood: 2/4", "loglikelihood: 4/4"]
