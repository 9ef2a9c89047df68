"""Where things are: the course (lessons, hidden tests) and the learner's project.

The course folder is `$COURSE_HOME`, else the folder this package was installed from in
editable mode, else the nearest folder above the current one that holds `tests/checks`.
The learner's project is `$COURSE_WORKSPACE`, else `<course>/workspace`, in the guideline's
layout (src/handlers, models, services, utils; tests/unit, tests/integration; terraform).
"""

from __future__ import annotations

import os
import stat
import tempfile
from functools import cache
from pathlib import Path

LAYOUT = ("src/handlers", "src/models", "src/services", "src/utils",
          "tests/unit", "tests/integration", "terraform")


def _is_course(folder: Path) -> bool:
    return (folder / "tests" / "checks").is_dir() and (folder / "notebooks").is_dir()


@cache
def _discovered(cwd: Path) -> Path:
    installed_from = Path(__file__).resolve().parents[2]  # toolkit/course/ -> the course
    for folder in (installed_from, cwd, *cwd.parents):
        if _is_course(folder):
            return folder
    raise RuntimeError(
        "Cannot find the course folder (the one holding notebooks/ and tests/checks/). Start "
        "JupyterLab with `make lab` from the course folder, or set COURSE_HOME to its path.")


def course_home() -> Path:
    """The course's folder: lessons in notebooks/, hidden tests in tests/checks/."""
    env = os.environ.get("COURSE_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return _discovered(Path.cwd())


def root(project: str | Path | None = None) -> Path:
    """The learner's project: the argument, else $COURSE_WORKSPACE, else <course>/workspace."""
    if project is not None:
        return Path(project).expanduser().resolve()
    env = os.environ.get("COURSE_WORKSPACE")
    return Path(env).expanduser().resolve() if env else course_home() / "workspace"


def src_dir(project: str | Path | None = None) -> Path:
    return root(project) / "src"


def create_layout(project: str | Path | None = None) -> Path:
    """Create the guideline's folders (Python packages get an empty __init__.py)."""
    base = root(project)
    for folder in LAYOUT:
        path = base / folder
        path.mkdir(parents=True, exist_ok=True)
        if folder.startswith("src/"):
            (path / "__init__.py").touch()
    return base


def scratch() -> Path:
    """This user's private temporary folder (mode 0700) for the toolkit's caches and logs.

    On a shared machine (a JupyterHub) /tmp is shared: a predictable name there could be
    taken, or filled with code, by another user. If the name is not ours, use a fresh folder.
    """
    return _scratch(os.getuid())  # per uid: the grader drops to each learner's uid


@cache
def _scratch(uid: int) -> Path:
    base = Path(tempfile.gettempdir()) / f"course-{uid}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        info = base.lstat()
        if stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o077:
            return base
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="course-"))
