"""Which exercises pass, remembered in the workspace (`.course/progress.json`)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from course import workspace
from course.checks import exercises
from course.learner.views import Rendered, Verdict, progress_view


def _store(project: Path) -> Path:
    return project / ".course" / "progress.json"


def load(project: Path | None = None) -> dict[str, dict[str, Any]]:
    path = _store(workspace.root(project))
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(verdict: Verdict, project: Path | None = None) -> dict[str, int]:
    """Remember the latest verdict of an exercise (atomic write: a crash loses nothing).

    Returns how many times each behaviour has failed so far (hints step up with it)."""
    path = _store(workspace.root(project))
    data = load(project)
    entry = data.get(verdict.exercise, {"attempts": 0})
    failures = dict(entry.get("failures", {}))
    for result in verdict.results:
        if not result.passed:
            failures[result.name] = failures.get(result.name, 0) + 1
    entry.update(
        passed=verdict.passed,
        attempts=entry.get("attempts", 0) + 1,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        failing=[r.name for r in verdict.results if not r.passed],
        failures=failures,
    )
    if verdict.passed:
        entry.setdefault("first_passed", entry["at"])
    data[verdict.exercise] = entry
    _write(path, data)
    return failures


def record_answer(question_id: str, right: bool, project: Path | None = None) -> None:
    """Remember a formative question's latest answer (counted in the progress view)."""
    path = _store(workspace.root(project))
    data = load(project)
    answers = data.setdefault("questions", {})
    entry = answers.get(question_id, {"attempts": 0})
    entry.update(right=right, attempts=entry.get("attempts", 0) + 1,
                 at=datetime.now(UTC).isoformat(timespec="seconds"))
    answers[question_id] = entry
    _write(path, data)


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        json.dump(data, tmp, indent=1, sort_keys=True)
    os.replace(tmp.name, path)


def view(project: Path | None = None) -> Rendered:
    data = load(project)
    titles = exercises.lessons()
    lessons: dict[str, list[tuple[str, str, str]]] = {}
    for ex in exercises.ordered():
        entry = data.get(ex.id)
        status = "todo" if entry is None else ("passed" if entry.get("passed") else "failed")
        lessons.setdefault(ex.lesson, []).append((ex.id, ex.title, status))
    answers = data.get("questions", {})
    for q in sorted(exercises.QUESTIONS.values(), key=lambda q: exercises.sort_key(q.id)):
        entry = answers.get(q.id)
        status = "todo" if entry is None else ("answered" if entry.get("right") else "failed")
        lessons.setdefault(q.lesson, []).append((q.id, "question", status))
    return progress_view((f"{number} {titles.get(number, ('', ''))[0]}".strip(), items)
                         for number, items in sorted(lessons.items()))
