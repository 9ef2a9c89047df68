"""Progress is remembered in the workspace and shown for every exercise."""

from __future__ import annotations

from pathlib import Path

from course.checks import exercises
from course.learner import progress
from course.learner.views import Result, Verdict


def test_remembers_across_loads(tmp_path: Path) -> None:
    progress.record(Verdict("0.1", "t", [Result("a", True)]), tmp_path)
    progress.record(Verdict("0.2", "t", [Result("a", False, "m")]), tmp_path)
    data = progress.load(tmp_path)
    assert data["0.1"]["passed"] and not data["0.2"]["passed"]
    assert data["0.2"]["failing"] == ["a"]


def test_view_lists_every_exercise(tmp_path: Path) -> None:
    progress.record(Verdict("0.1", "t", [Result("a", True)]), tmp_path)
    view = progress.view(tmp_path)
    for exercise_id in exercises.load_all():
        assert exercise_id in view.plain
    assert "✔ 0.1" in view.plain and "○ 0.2" in view.plain
    assert "course-progress" in view.html


def test_corrupt_store_is_not_fatal(tmp_path: Path) -> None:
    (tmp_path / ".course").mkdir()
    (tmp_path / ".course/progress.json").write_text("{not json")
    assert progress.load(tmp_path) == {}


def test_failures_are_counted_per_behaviour(tmp_path: Path) -> None:
    for _ in range(3):
        counts = progress.record(Verdict("0.1", "t", [Result("a", False, "m"),
                                                      Result("b", True)]), tmp_path)
    assert counts == {"a": 3}
