"""Shared by the course's tests."""

from __future__ import annotations

from collections.abc import Iterable

import pytest


@pytest.fixture(scope="session")
def warm_checks() -> None:
    """Import what checks need once per test process, as the check worker does: every check
    forks from this process, so it inherits boto3, moto and Powertools already loaded."""
    from course.checks import _worker

    _worker.warm_up()


def per_lesson(namespace: dict, base: type, items: Iterable[str]) -> None:
    """Define one subclass of `base` per lesson that has `items` (Test<Base>NN, with
    `lesson = "NN"`) in `namespace`: `make test` runs on every core with pytest-xdist's
    --dist loadscope, which keeps a class on one worker, so one class per lesson spreads a
    big parametrized suite."""
    for lesson in sorted({lesson_of(item) for item in items}):
        name = f"Test{base.__name__.removeprefix('_')}{lesson}"
        namespace[name] = type(name, (base,), {"lesson": lesson, "__test__": True})


def per_exercise(namespace: dict, base: type, items: Iterable[str]) -> None:
    """As per_lesson, one class per exercise (Test<Base>NN_M, with `exercise = "N.M"`): for
    suites whose cases of one lesson take minutes (the capstone's re-run every check)."""
    for exercise_id in sorted(set(items), key=lambda e: tuple(map(int, e.split(".")))):
        number = exercise_id.split(".")[1]
        name = f"Test{base.__name__.removeprefix('_')}{lesson_of(exercise_id)}_{number}"
        namespace[name] = type(name, (base,), {"exercise": exercise_id, "__test__": True})


def lesson_of(item_id: str) -> str:
    """"4.2" -> "04"; "04-dynamodb" -> "04"."""
    head = item_id.split(".")[0].split("-")[0]
    return head.zfill(2)
