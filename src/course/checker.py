"""Run one exercise's behaviours against a project, isolated from the caller.

Each run happens in a child process (forked from the warm worker, or started fresh
where fork is missing): the learner's modules are imported anew, a hanging loop is
interrupted after the exercise's time limit, a crash or a runaway allocation cannot
touch the kernel, and whatever the learner's code prints is discarded.

Results travel back as JSON lines, one per behaviour, so a child killed half-way
still reports the behaviours it finished.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course import checking
from course.checking import Behaviour, BehaviourTimeout, LearnerError, Project
from course.workspace import COURSE_ROOT

MEMORY_HEADROOM = 2 * 1024**3  # bytes a check may allocate beyond the worker's own size
SLACK = 3.0  # seconds of grace for the whole run on top of the per-behaviour limits


@dataclass
class Result:
    name: str
    passed: bool
    message: str = ""
    hint: str = ""
    seconds: float = 0.0


@dataclass
class Verdict:
    exercise: str
    title: str
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Verdict:
        results = [Result(**r) for r in data.get("results", [])]
        return cls(data["exercise"], data["title"], results, data.get("seconds", 0.0))


# --- inside the child -------------------------------------------------------------------


def _learner_location(exc: BaseException, root: Path) -> str:
    """'src/x.py, line 7' for the innermost frame of the learner's own code, or ''."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(root):
            where = f"{path.relative_to(root)}, line {frame.lineno}"
    return where


def _explain(exc: BaseException, root: Path, limit: float) -> str:
    where = _learner_location(exc, root)
    at = f" (at {where})" if where else ""
    if isinstance(exc, AssertionError):
        return str(exc) or "A check failed without a message."
    if isinstance(exc, LearnerError):
        return str(exc)
    if isinstance(exc, BehaviourTimeout):
        return (f"Your code was still running after {limit:g} s{at}. "
                "Look for a loop that never ends or a call that waits forever.")
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


_armed = False  # a behaviour is running: SIGALRM means its time is up
REFIRE = 0.25  # seconds between repeated alarms, should one be swallowed (e.g. in an at-fork hook)
MAX_MESSAGE = 2000  # characters of a failure message (a learner's exception text can be huge)


def _on_alarm(signum: int, frame: object) -> None:
    if _armed:
        raise BehaviourTimeout


RUNAWAY_SKIP = {"time": "Not run: fix the endless loop reported above first.",
                "memory": "Not run: fix the runaway memory use reported above first."}


def run_behaviour(behaviour: Behaviour, project: Project, limit: float) -> tuple[Result, str]:
    """Run one behaviour; the second value is "time" or "memory" when it ran away, else ""."""
    global _armed
    start = time.perf_counter()
    _armed = True
    signal.setitimer(signal.ITIMER_REAL, limit, REFIRE)
    runaway = ""
    try:
        behaviour.func(project)
        passed, message = True, ""
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
        _armed = False
        passed, message = False, _explain(exc, project.root, limit)[:MAX_MESSAGE]
        runaway = ("time" if isinstance(exc, BehaviourTimeout)
                   else "memory" if isinstance(exc, MemoryError) else "")
    finally:
        _armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
    result = Result(behaviour.name, passed, message, "" if passed else behaviour.hint,
                    round(time.perf_counter() - start, 4))
    return result, runaway


def _isolate(root: Path) -> None:
    """Make the child see the learner's project and nothing of the course's reference app."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    reference_src = (COURSE_ROOT / "src").resolve()
    sys.path[:] = [str(root / "src")] + [
        p for p in sys.path if p and Path(p).resolve() != reference_src
    ]
    for name in [m for m in sys.modules if m.split(".")[0] in ("handlers", "models",
                                                               "services", "utils")]:
        del sys.modules[name]
    os.chdir(root)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        import psutil

        limit = psutil.Process().memory_info().vms + MEMORY_HEADROOM
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass
    signal.signal(signal.SIGALRM, _on_alarm)


def serve(exercise_id: str, root: Path, out_fd: int) -> None:
    """Run every behaviour of the exercise, writing one JSON line per result to out_fd."""
    exercise = checking.get(exercise_id)
    _isolate(root)
    project = Project(root)
    skipped = ""
    with os.fdopen(out_fd, "w", buffering=1) as out:
        for behaviour in exercise.behaviours:
            if skipped:  # one endless loop is enough to report: skip the rest quickly
                result = Result(behaviour.name, False, skipped, behaviour.hint)
            else:
                result, runaway = run_behaviour(behaviour, project, exercise.timeout)
                skipped = RUNAWAY_SKIP.get(runaway, "")
            out.write(json.dumps(asdict(result)) + "\n")


# --- in the parent (the worker) ----------------------------------------------------------


def _collect(read_fd: int, deadline: float, child_alive) -> tuple[list[Result], bool]:
    """Read result lines until EOF or the deadline; returns (results, timed_out)."""
    import selectors

    buffer = b""
    results: list[Result] = []
    with selectors.DefaultSelector() as sel:
        sel.register(read_fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return results, True
            if not sel.select(timeout=min(remaining, 0.5)):
                if not child_alive():
                    break
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            results += [Result(**json.loads(line)) for line in lines if line.strip()]
    return results, False


def _complete(exercise: checking.Exercise, results: list[Result], why: str) -> list[Result]:
    """Mark behaviours that never reported as failed, saying why."""
    done = {r.name for r in results}
    missing = [b for b in exercise.behaviours if b.name not in done]
    return results + [Result(b.name, False, why, b.hint) for b in missing]


def run_isolated(exercise_id: str, root: Path | str) -> Verdict:
    """Check `exercise_id` against the project at `root` in a child process."""
    root = Path(root).resolve()
    exercise = checking.get(exercise_id)
    start = time.perf_counter()
    deadline = time.monotonic() + exercise.timeout * len(exercise.behaviours) + SLACK
    read_fd, write_fd = os.pipe()
    if hasattr(os, "fork"):
        pid = os.fork()
        if pid == 0:  # child
            os.close(read_fd)
            code = 0
            try:
                os.setsid()
                serve(exercise_id, root, write_fd)
            except BaseException:  # noqa: BLE001
                code = 1
            os._exit(code)
        os.close(write_fd)

        def alive() -> bool:
            return os.waitpid(pid, os.WNOHANG) == (0, 0)

        def kill() -> None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        def reap() -> None:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # already reaped by alive()
                pass
    else:  # no fork (Windows): a fresh interpreter, slower but equally isolated
        os.set_inheritable(write_fd, True)
        proc = subprocess.Popen([sys.executable, "-m", "course.checker", exercise_id,
                                 str(root), str(write_fd)], close_fds=False)
        os.close(write_fd)
        alive, kill, reap = (lambda: proc.poll() is None), proc.kill, proc.wait

    results, timed_out = _collect(read_fd, deadline, alive)
    os.close(read_fd)
    if timed_out:
        kill()
        why = ("Not finished: the check ran out of time (is something in your code waiting "
               "forever?).")
    else:
        why = ("Not finished: the check process ended abruptly (did your code call exit() "
               "or crash the interpreter?).")
    reap()
    verdict = Verdict(exercise.id, exercise.title, _complete(exercise, results, why))
    verdict.seconds = round(time.perf_counter() - start, 4)
    return verdict


if __name__ == "__main__":  # the no-fork fallback's child
    from course import sandbox

    sandbox.activate()
    serve(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
