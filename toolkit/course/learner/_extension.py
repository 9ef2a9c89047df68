"""What the course adds to a learner's IPython kernel. Safe to load any number of times.

Loaded at kernel start in the course's environment (`<env>/etc/ipython/ipython_kernel_config.py`
lists the `course` extension), and by `import course` in any notebook: so after a restart,
`check`, `progress`, `ask`, `invoke`, `events`, `restore`, `%%save` and `%load_saved` exist
before any cell runs.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

from course import workspace
from course.checks import _worker
from course.learner import api, events, lessons, questions, save


def _learner_line(tb: Any) -> str:
    """' (src/x.py, line 7)' for the innermost frame in the learner's workspace, or ''."""
    root = str(workspace.root()) + "/"
    frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith(root)]
    return f" ({frames[-1].filename.removeprefix(root)}, line {frames[-1].lineno})" if frames \
        else ""


def _placeholders_in_one_line(shell: Any, etype: type[BaseException], value: BaseException,
                              tb: Any, tb_offset: int | None = None) -> None:
    """A placeholder reached from a demo cell says which exercise to finish, in one line.

    IPython's custom exception hook: it shows the error itself (the cell still fails)."""
    text = str(value)
    if isinstance(value, save.ExerciseNotFinished):
        stb = value._render_traceback_()
    elif text.startswith("Exercise "):
        exercise = text.split(":")[0]
        stb = [f"\x1b[31mExerciseNotFinished\x1b[0m: Finish {exercise.lower()} first"
               f"{_learner_line(tb)}: this cell runs code that still holds its placeholder."]
    else:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)


def load(ipython: Any) -> None:
    from course.awslambda.invoke import invoke

    save.register(ipython)
    ipython.push({"check": api.check, "progress": api.progress, "invoke": invoke,
                  "events": events, "restore": save.restore, "ask": questions.ask})
    ipython.set_custom_exc((NotImplementedError,), _placeholders_in_one_line)
    try:
        learner_src = str(workspace.src_dir())
        lessons.sync()
    except (RuntimeError, OSError):  # no course folder, or a read-only one: the rest works
        return
    if learner_src not in sys.path:
        sys.path.insert(0, learner_src)  # `from handlers.x import y` reads the learner's files
    _worker.prestart()
