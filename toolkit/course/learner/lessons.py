"""The learner's own copies of the lessons, in `<workspace>/notebooks/`.

The course's `notebooks/` are the course's (a `git pull` or a new release updates them); what
a learner runs and edits is their copy. `sync()` (run by `make lab`, Binder's start script and
each kernel of the course) copies every lesson the learner does not have yet, never overwrites
a copy they changed, and puts a newer version of a lesson beside theirs instead:
`02-powertools (updated 2026-12-01).ipynb`.

    python -m course.learner.lessons      # sync and say what changed
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from course import workspace

STATE = Path(".course") / "lessons.json"  # lesson file name -> sha256 of the copy we made


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def learner_notebooks(project: Path | None = None) -> Path:
    return workspace.root(project) / "notebooks"


def sync(project: Path | None = None) -> list[str]:
    """Bring the learner's lesson copies up to date without losing anything; what happened."""
    root = workspace.root(project)
    course = workspace.course_home() / "notebooks"
    mine = learner_notebooks(root)
    state_file = root / STATE
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        state = {}
    said = []
    for lesson in sorted(course.glob("[0-9][0-9]-*.ipynb")):
        copy, new = mine / lesson.name, _digest(lesson)
        if copy.exists() and state.get(lesson.name) == new:
            continue  # up to date
        mine.mkdir(parents=True, exist_ok=True)
        if not copy.exists():
            shutil.copyfile(lesson, copy)
            said.append(f"added {copy.relative_to(root)}")
        elif _digest(copy) in (new, state.get(lesson.name)):  # not changed by the learner
            if _digest(copy) != new:
                shutil.copyfile(lesson, copy)
                said.append(f"updated {copy.relative_to(root)} (you had not changed it)")
        else:
            beside = copy.with_name(f"{copy.stem} (updated {date.today()}).ipynb")
            if not beside.exists():
                shutil.copyfile(lesson, beside)
                said.append(f"a new version of {lesson.name} is beside yours: "
                            f"{beside.relative_to(root)} (yours is untouched)")
        state[lesson.name] = new
    state_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=state_file.parent, delete=False) as tmp:
        json.dump(state, tmp, indent=1, sort_keys=True)
    os.replace(tmp.name, state_file)
    return said


def main() -> int:
    said = sync()
    where = learner_notebooks()
    for line in said:
        print(f"Your lessons: {line}")
    print(f"Your lessons are in {where} (yours to edit; the course's copies stay untouched).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
