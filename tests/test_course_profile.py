"""`configs/course.yaml`: the tiny chain with every exercise left to the students."""

from __future__ import annotations

from trust_utils.checkpoints import METHODS
from trust_utils.paths import resolve_run_dir
from trust_utils.pipeline import run
from trust_utils.profiles import load_profile
from trust_utils.registry import VERTICALS


def _exercise_stages() -> set[str]:
    return {m.stage for m in METHODS if m.exercise} | {v.name for v in VERTICALS.values() if v.exercise}


def test_course_is_tiny_without_the_solutions(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    course, tiny = load_profile("course"), load_profile("tiny")
    assert course.run_dir == resolve_run_dir("runs/course") != tiny.run_dir
    assert course.stage_names() == tiny.stage_names() and course.shared == tiny.shared
    assert course.kernels == tiny.kernels == "portable"
    # every stage with an exercise has solutions off, also one added to tiny later (course inherits its block)
    assert _exercise_stages() <= set(course.stages)
    solutions = {s: course.stages[s].get("solutions") for s in _exercise_stages()}
    assert solutions == dict.fromkeys(_exercise_stages(), False)
    assert all(tiny.stages[s].get("solutions") is True for s in _exercise_stages())
    # everything else is the tiny profile's (the analysis names its own run)
    for name, params in course.stages.items():
        mine = {k: v for k, v in params.items() if k != "solutions"}
        theirs = {k: v for k, v in tiny.stages[name].items() if k != "solutions"}
        if name == "analysis":
            assert mine.pop("profile") == "course" and theirs.pop("profile") == "tiny"
        assert mine == theirs, name


def test_course_plans(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    lines: list[str] = []
    plans = run(load_profile("course"), dry_run=True, echo=lines.append)
    assert [p.stage.name for p in plans] == load_profile("tiny").stage_names()
    assert all(p.status == "planned" for p in plans)
    assert not any(p.params.get("solutions") for p in plans)  # what papermill would inject
    assert {p.stage.name for p in plans if "solutions" in p.params} == _exercise_stages()
