"""Where the learner's project lives: a folder in the guideline's layout.

Default `<course>/workspace/`; `COURSE_WORKSPACE` points elsewhere (CI, grading).
"""

from __future__ import annotations

import os
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parents[2]
LAYOUT = ("src/handlers", "src/models", "src/services", "src/utils",
          "tests/unit", "tests/integration", "terraform")


def root(project: str | Path | None = None) -> Path:
    """The project folder: the argument, else $COURSE_WORKSPACE, else <course>/workspace."""
    if project is not None:
        return Path(project).expanduser().resolve()
    env = os.environ.get("COURSE_WORKSPACE")
    return Path(env).expanduser().resolve() if env else COURSE_ROOT / "workspace"


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
