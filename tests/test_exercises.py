"""Every exercise passes on the reference project and fails, behaviour by behaviour, on a
blank workspace: a check that cannot fail proves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.checks import _engine, exercises
from course.workspace import course_home

COURSE_ROOT = course_home()

EXERCISES = sorted(exercises.load_all(), key=exercises.sort_key)


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_passes_on_the_reference(exercise_id: str) -> None:
    verdict = _engine.run_isolated(exercise_id, COURSE_ROOT)
    assert verdict.passed, [(r.name, r.message) for r in verdict.results if not r.passed]


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_every_behaviour_fails_on_a_blank_workspace(exercise_id: str, tmp_path: Path) -> None:
    verdict = _engine.run_isolated(exercise_id, tmp_path)
    assert verdict.results and not any(r.passed for r in verdict.results)


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_every_behaviour_has_a_hint(exercise_id: str) -> None:
    assert all(b.hints for b in exercises.get(exercise_id).behaviours)
