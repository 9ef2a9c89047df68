"""The course toolkit. Its whole public surface:

    from course import check, progress, invoke, events

Importing it turns the AWS sandbox on (fake credentials, loopback-only network), and in a
notebook registers `%%save` and starts warming the check worker.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from course import sandbox

sandbox.activate()

from course import events, workspace  # noqa: E402
from course.lambda_runtime import invoke  # noqa: E402

__all__ = ["check", "progress", "invoke", "events", "doctor"]


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
    from course import checker, checking, display, worker
    from course import progress_store as store

    root = workspace.root(project)
    try:
        reply = worker.run(str(exercise_id), root)
    except (checking.LearnerError, worker.WorkerError) as exc:
        reply = {"error": str(exc)}
    if "error" in reply:
        _show(display.message_view(f"Check {exercise_id} could not run", reply["error"]))
        if _should_raise():
            raise CheckFailed(f"Check {exercise_id} could not run: {reply['error']}")
        return
    verdict = checker.Verdict.from_json(reply)
    store.record(verdict, root)
    _show(display.verdict_view(verdict))
    if not verdict.passed and _should_raise():
        failing = sum(not r.passed for r in verdict.results)
        raise CheckFailed(f"Exercise {exercise_id}: {failing} of {len(verdict.results)} "
                          "checks fail (details above)")


def progress(*, project: str | Path | None = None) -> None:
    """Show every exercise of the course, passed or not (kept in your workspace)."""
    from course import progress_store as store

    _show(store.view(workspace.root(project)))


def doctor() -> None:
    """The set-up check: versions, the sandbox, and that real AWS is out of reach."""
    from course.doctor import report

    _show(report())


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    return bool(ipython and ipython.get_ipython() is not None)


if _in_kernel():
    from course import magics, worker

    magics.register(sys.modules["IPython"].get_ipython())
    learner_src = str(workspace.src_dir())
    if learner_src not in sys.path:
        sys.path.insert(0, learner_src)  # `from handlers.x import y` reads the learner's files
    worker.prestart()
