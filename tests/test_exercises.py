"""Every exercise passes on the reference project and fails, behaviour by behaviour, on a
blank workspace: a check that cannot fail proves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.checks import _engine, exercises
from course.workspace import course_home
from tests.conftest import lesson_of, per_lesson

COURSE_ROOT = course_home()
EXERCISES = [ex.id for ex in exercises.ordered()]
pytestmark = pytest.mark.usefixtures("warm_checks")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "exercise_id" in metafunc.fixturenames:
        lesson = metafunc.cls.lesson
        metafunc.parametrize("exercise_id", [e for e in EXERCISES if lesson_of(e) == lesson])


class _Exercises:
    __test__ = False
    lesson = ""

    def test_passes_on_the_reference(self, exercise_id: str) -> None:
        verdict = _engine.run_isolated(exercise_id, COURSE_ROOT)
        assert verdict.passed, [(r.name, r.message) for r in verdict.results if not r.passed]

    def test_every_behaviour_fails_on_a_blank_workspace(self, exercise_id: str,
                                                        tmp_path: Path) -> None:
        verdict = _engine.run_isolated(exercise_id, tmp_path)
        assert verdict.results and not any(r.passed for r in verdict.results)

    def test_every_behaviour_has_a_hint(self, exercise_id: str) -> None:
        assert all(b.hints for b in exercises.get(exercise_id).behaviours)


per_lesson(globals(), _Exercises, EXERCISES)
