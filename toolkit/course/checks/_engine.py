"""Run one exercise's behaviours against a project, in a forked child, isolated from the caller.

The child imports the learner's modules anew, discards whatever they print, caps memory,
and interrupts a behaviour that runs away. Runaways are judged by CPU time, so a slow or
busy machine (a shared hub, a tracer) does not turn a correct answer into "never finished";
a wall-clock limit several times longer catches code that waits forever without computing.

Results travel back as JSON lines, one per behaviour, so a child killed half-way still
reports the behaviours it finished.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Collection
from dataclasses import asdict
from pathlib import Path
from typing import IO

from course import workspace
from course.checks import exercises
from course.checks._process import Child
from course.checks.exercises import Behaviour, Exercise
from course.checks.project import BehaviourTimeout, LearnerError, Project
from course.learner.views import Result, Verdict

MEMORY_HEADROOM = 2 * 1024**3  # bytes a check may allocate beyond the worker's own size
WALL_FACTOR = 5.0  # a behaviour may take this many times its CPU limit in wall-clock time
REFIRE = 0.25  # seconds between repeated alarms, should one be swallowed (e.g. in an at-fork hook)
MAX_MESSAGE = 2000  # characters of a failure message (a learner's exception text can be huge)
RUNAWAY_SKIP = {"time": "Not run: fix the endless loop reported above first.",
                "wait": "Not run: fix the wait reported above first.",
                "memory": "Not run: fix the runaway memory use reported above first."}


class _WallTimeout(BehaviourTimeout):
    """The wall-clock limit passed before the CPU limit: the code waited, or the machine is busy."""


# --- inside the child -------------------------------------------------------------------


def _learner_location(exc: BaseException, root: Path) -> str:
    """'src/x.py, line 7' for the innermost frame of the learner's own code, or ''."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(root):
            where = f"{path.relative_to(root)}, line {frame.lineno}"
    return where


def _explain(exc: BaseException, root: Path, limit: float, cpu: float, wall: float) -> str:
    where = _learner_location(exc, root)
    at = f" (at {where})" if where else ""
    if isinstance(exc, AssertionError):
        return str(exc) or "A check failed without a message."
    if isinstance(exc, LearnerError):
        return str(exc)
    if isinstance(exc, _WallTimeout):
        return (f"Your code took {wall:.0f} s but computed for only {cpu:.1f} s of it{at}: it "
                "was waiting — for a network call, a lock, input() or sleep() — or this machine "
                "is very busy. If nothing in your code waits, run the check again.")
    if isinstance(exc, BehaviourTimeout):
        return (f"Your code was still running after {limit:g} s of computing{at}. "
                "Look for a loop that never ends.")
    if isinstance(exc, MemoryError):
        return f"Your code ran out of memory{at}. Look for a list or string that grows without end."
    if isinstance(exc, NotImplementedError) and str(exc).startswith("Exercise"):
        return (f"Not written yet: replace the `raise NotImplementedError` line{at} with your "
                "code, run the %%save cell again, then this check.")
    if isinstance(exc, RecursionError):
        return f"Your code recursed too deeply{at}: a function that calls itself without end?"
    if where:
        return f"Your code raised {type(exc).__name__}: {exc}{at}."
    return (f"Checking this raised {type(exc).__name__}: {exc}. Your code probably returned "
            "something of an unexpected type or shape.")


_armed = False  # a behaviour is running: an alarm means its time is up


def _on_cpu_alarm(signum: int, frame: object) -> None:
    if _armed:
        raise BehaviourTimeout


def _on_wall_alarm(signum: int, frame: object) -> None:
    if _armed:
        raise _WallTimeout


def _set_alarms(limit: float) -> None:
    signal.setitimer(signal.ITIMER_PROF, limit, REFIRE if limit else 0)
    signal.setitimer(signal.ITIMER_REAL, limit * WALL_FACTOR, REFIRE if limit else 0)


def run_behaviour(behaviour: Behaviour, project: Project, limit: float) -> tuple[Result, str]:
    """Run one behaviour; the second value says how it ran away ("time", "wait", "memory")."""
    global _armed
    start, cpu_start = time.perf_counter(), time.process_time()
    _armed = True
    _set_alarms(limit)
    runaway = ""
    try:
        behaviour.func(project)
        passed, message = True, ""
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
        _armed = False
        _set_alarms(0)
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - start
        passed, message = False, _explain(exc, project.root, limit, cpu, wall)[:MAX_MESSAGE]
        runaway = ("wait" if isinstance(exc, _WallTimeout)
                   else "time" if isinstance(exc, BehaviourTimeout)
                   else "memory" if isinstance(exc, MemoryError) else "")
    finally:
        _armed = False
        _set_alarms(0)
    result = Result(behaviour.name, passed, message, [] if passed else list(behaviour.hints),
                    round(time.perf_counter() - start, 4))
    return result, runaway


def _isolate(root: Path, scratch: Path) -> None:
    """Silence the child, give it the learner's src first on sys.path, cap its memory, and
    send whatever it writes to temporary files into `scratch` (removed when the check ends)."""
    workspace.scratch()  # the toolkit's own caches stay where they are
    tempfile.tempdir = str(scratch)
    os.environ["TMPDIR"] = str(scratch)  # and the processes it starts (pip, pytest, ...)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    sys.path.insert(0, str(root / "src"))
    logging.getLogger().handlers.clear()  # a fresh process, as in Lambda: no caller's handlers
    os.chdir(root)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        import psutil

        limit = psutil.Process().memory_info().vms + MEMORY_HEADROOM
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass
    signal.signal(signal.SIGPROF, _on_cpu_alarm)
    signal.signal(signal.SIGALRM, _on_wall_alarm)


def _serve(exercise: Exercise, behaviours: list[Behaviour], root: Path, scratch: Path,
           out: IO[str]) -> None:
    """Run the behaviours, writing one JSON line per result."""
    _isolate(root, scratch)
    project = Project(root)
    skipped = ""
    for behaviour in behaviours:
        if skipped:  # one runaway is enough to report: skip the rest quickly
            result = Result(behaviour.name, False, skipped, list(behaviour.hints))
        else:
            result, runaway = run_behaviour(behaviour, project, exercise.timeout)
            skipped = RUNAWAY_SKIP.get(runaway, "")
        out.write(json.dumps(asdict(result)) + "\n")


# --- in the parent -----------------------------------------------------------------------


def run_isolated(exercise_id: str, root: Path | str, *,
                 only: Collection[str] | None = None) -> Verdict:
    """Check `exercise_id` against the project at `root` in a forked child (only the named
    behaviours, if given: a wrong-answer suite needs just the ones an answer breaks)."""
    root = Path(root).resolve()
    exercise = exercises.get(exercise_id)
    behaviours = [b for b in exercise.behaviours if only is None or b.name in only]
    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="check-", dir=workspace.scratch()))
    try:
        child = Child(lambda out: _serve(exercise, behaviours, root, scratch, out))
        lines, timed_out = child.lines(time.monotonic() + exercise.budget * WALL_FACTOR)
        child.finish()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = [Result(**json.loads(line)) for line in lines]
    why = ("Not finished: the check ran out of time (is something in your code waiting "
           "forever?)." if timed_out else
           "Not finished: the check process ended abruptly (did your code call exit() "
           "or crash the interpreter?).")
    done = {r.name for r in results}
    results += [Result(b.name, False, why, list(b.hints)) for b in behaviours
                if b.name not in done]
    return Verdict(exercise.id, exercise.title, results, round(time.perf_counter() - start, 4))
