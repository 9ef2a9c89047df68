"""The functions a learner calls: check, progress and the set-up check."""

from __future__ import annotations

import json
import os
from pathlib import Path

from course import workspace
from course.checks import _worker, exercises
from course.checks.project import LearnerError
from course.learner import progress as store
from course.learner import save, views

FAILURES_PER_HINT = 2  # one more hint step every second failure of the same behaviour


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


def _notebook() -> Path | None:
    """The notebook this kernel runs, as JupyterLab tells its kernels (JPY_SESSION_NAME)."""
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        return None
    path = Path(name)
    path = path if path.is_absolute() else Path.cwd() / path.name
    return path if path.suffix == ".ipynb" and path.is_file() else None


def _unsaved_edits(files: tuple[str, ...], root: Path) -> list[str]:
    """Files whose %%save cell in this notebook (as last saved to disk) differs from the file
    and was changed after it: the learner edited the cell but did not run it."""
    notebook = _notebook()
    if notebook is None:
        return []
    try:
        cells = json.loads(notebook.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return []
    latest: dict[str, str] = {}
    for cell in cells:
        source = "".join(cell.get("source", ""))
        first, _, body = source.partition("\n")
        if cell.get("cell_type") == "code" and first.startswith("%%save "):
            relative = first.split(maxsplit=1)[1].strip()
            if relative in files and not save.PLACEHOLDER.search(body):
                latest[relative] = save.strip_markers(body)
    stale = []
    for relative, body in latest.items():
        path = root / relative  # a missing file is the check's to report
        if path.is_file() and path.read_text().rstrip("\n") != body.rstrip("\n") \
                and notebook.stat().st_mtime > path.stat().st_mtime:
            stale.append(relative)
    return stale


def _in_the_courses_copy(root: Path) -> list[str]:
    """A warning when the learner runs the course's copy of a lesson instead of their own."""
    notebook = _notebook()
    try:
        course = (workspace.course_home() / "notebooks").resolve()
    except RuntimeError:
        return []
    if notebook is None or notebook.resolve().parent != course:
        return []
    mine = root / "notebooks" / notebook.name
    return [f"You are working in the course's copy of this lesson ({notebook}), which a course "
            f"update replaces: your own copy is {mine}. Open that one to keep your work."]


def _checked(files: tuple[str, ...], root: Path) -> list[str]:
    return [f"{relative} saved {save.saved_at(root / relative)}" for relative in files
            if (root / relative).is_file()]


def check(exercise_id: str, *, project: str | Path | None = None) -> None:
    """Run exercise `exercise_id`'s hidden tests against your workspace and show the verdict."""
    root = workspace.root(project)
    exercise_id = str(exercise_id)
    warnings: list[str] = []
    files: tuple[str, ...] = ()
    try:
        files = exercises.get(exercise_id).files
        warnings = [f"The cell that saves {relative} was changed after the file was saved: "
                    "run that cell first. This verdict is about the saved file."
                    for relative in _unsaved_edits(files, root)] + _in_the_courses_copy(root)
        reply = _worker.run(exercise_id, root)
    except (LearnerError, _worker.WorkerError) as exc:
        reply = {"error": str(exc)}
    if "error" in reply:
        _show(views.message_view(f"Check {exercise_id} could not run", reply["error"]))
        if _should_raise():
            raise CheckFailed(f"Check {exercise_id} could not run: {reply['error']}")
        return
    verdict = views.Verdict.from_json(reply)
    failures = store.record(verdict, root)
    for result in verdict.results:  # hints step up as the same behaviour keeps failing
        shown = 1 + (failures.get(result.name, 1) - 1) // FAILURES_PER_HINT
        result.hints = [] if result.passed else result.hints[:shown]
    _show(views.verdict_view(verdict, checked=_checked(files, root), warnings=warnings))
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


