"""The functions a learner calls: check, progress and the set-up check."""

from __future__ import annotations

import os
from pathlib import Path

from course import workspace
from course.checks import _worker
from course.checks.project import LearnerError
from course.learner import progress as store
from course.learner import views


class CheckFailed(AssertionError):
    """A check did not pass (raised only outside an interactive Jupyter session)."""


def _show(view: object) -> None:
    try:
        from IPython.display import display

        display(view)
    except ImportError:
        print(view)


def _should_raise() -> bool:
    """Raise on failure in CI, nbval and scripts; in JupyterLab the widget is enough."""
    forced = os.environ.get("COURSE_RAISE")
    if forced in ("0", "1"):
        return forced == "1"
    return "JPY_SESSION_NAME" not in os.environ


def check(exercise_id: str, *, project: str | Path | None = None) -> None:
    """Run exercise `exercise_id`'s hidden tests against your workspace and show the verdict."""
    root = workspace.root(project)
    try:
        reply = _worker.run(str(exercise_id), root)
    except (LearnerError, _worker.WorkerError) as exc:
        reply = {"error": str(exc)}
    if "error" in reply:
        _show(views.message_view(f"Check {exercise_id} could not run", reply["error"]))
        if _should_raise():
            raise CheckFailed(f"Check {exercise_id} could not run: {reply['error']}")
        return
    verdict = views.Verdict.from_json(reply)
    store.record(verdict, root)
    _show(views.verdict_view(verdict))
    if not verdict.passed and _should_raise():
        failing = sum(not r.passed for r in verdict.results)
        raise CheckFailed(f"Exercise {exercise_id}: {failing} of {len(verdict.results)} "
                          "checks fail (details above)")


def progress(*, project: str | Path | None = None) -> None:
    """Show every exercise of the course, passed or not (kept in your workspace)."""
    _show(store.view(workspace.root(project)))


def doctor() -> None:
    """The set-up check: versions, the sandbox, and that real AWS is out of reach."""
    from course.learner.doctor import report

    _show(report())
