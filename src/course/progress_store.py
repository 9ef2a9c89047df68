"""Which exercises pass, remembered in the workspace (`.course/progress.json`)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from course import checking, workspace
from course.checker import Verdict
from course.display import Rendered, progress_view

LESSON_TITLES = {
    "00": "00 Welcome", "01": "01 Basic handler", "02": "02 Powertools",
    "03": "03 API Gateway patterns", "04": "04 DynamoDB service", "05": "05 SQS batches",
    "06": "06 S3 events", "07": "07 Packaging", "08": "08 Terraform deploy",
    "09": "09 Observability", "10": "10 Performance", "11": "11 Capstone",
}


def _store(project: Path) -> Path:
    return project / ".course" / "progress.json"


def load(project: Path | None = None) -> dict[str, dict]:
    path = _store(workspace.root(project))
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record(verdict: Verdict, project: Path | None = None) -> None:
    """Remember the latest verdict of an exercise (atomic write: a crash loses nothing)."""
    path = _store(workspace.root(project))
    data = load(project)
    entry = data.get(verdict.exercise, {"attempts": 0})
    entry.update(
        passed=verdict.passed,
        attempts=entry.get("attempts", 0) + 1,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        failing=[r.name for r in verdict.results if not r.passed],
    )
    if verdict.passed:
        entry.setdefault("first_passed", entry["at"])
    data[verdict.exercise] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        json.dump(data, tmp, indent=1, sort_keys=True)
    os.replace(tmp.name, path)


def view(project: Path | None = None) -> Rendered:
    data = load(project)
    lessons: dict[str, list[tuple[str, str, str]]] = {}
    for ex in sorted(checking.load_all().values(), key=lambda e: checking.sort_key(e.id)):
        entry = data.get(ex.id)
        status = "todo" if entry is None else ("passed" if entry["passed"] else "failed")
        lessons.setdefault(ex.lesson, []).append((ex.id, ex.title, status))
    return progress_view((LESSON_TITLES.get(k, k), v) for k, v in lessons.items())
