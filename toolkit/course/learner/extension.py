"""What the course adds to a learner's IPython kernel. Safe to load any number of times."""

from __future__ import annotations

import sys
from typing import Any

from course import workspace
from course.checks import _worker
from course.learner import save


def load(ipython: Any) -> None:
    save.register(ipython)
    learner_src = str(workspace.src_dir())
    if learner_src not in sys.path:
        sys.path.insert(0, learner_src)  # `from handlers.x import y` reads the learner's files
    _worker.prestart()
