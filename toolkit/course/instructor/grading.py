"""Grade a class with the checker the learners use in their notebooks.

    python -m course.instructor.grading WORKSPACES_DIR [--out gradebook.csv] [--feedback DIR]
                                        [--jobs N]
    python -m course.instructor.grading --explain  # every behaviour, its hint, its message

Each subfolder of WORKSPACES_DIR is one learner's workspace. Every exercise is checked with
the check engine (what `check()` runs, after the same warm-up) against a private
copy of the workspace in a temporary folder, so nothing a learner's code does reaches the
original. Run as root, each learner's checks run in a forked grader confined by
`_confine`: its own unprivileged uid (UID_BASE + n), a private mount namespace in which
/tmp is empty and the course shows only the toolkit and the hidden tests (no other learner,
no reference app, no solutions), at most NPROC processes, and every process it leaves behind
is killed when it is done. Without root the copies still protect the originals, but learners'
code runs as you: grade untrusted code as root, or in a throwaway container or VM.

Writes a gradebook CSV (one column per exercise: passed behaviours/total) and one markdown
feedback file per learner, built from the checker's messages and hints only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from course.checks import _engine, _worker, exercises
from course.checks._process import Child
from course.instructor import _confine as confine
from course.instructor.gradebook import (
    Graded,
    class_summary,
    feedback,
    not_graded,
    safe_name,
    write_gradebook,
)
from course.learner import wheelhouse
from course.learner.views import Verdict
from course.workspace import course_home

UID_BASE = 64000  # learner n runs as uid/gid UID_BASE + n (no passwd entry needed)
# Not the learner's work: caches, environments and build output (lesson 07's builds alone
# hold thousands of files, which would crowd the learner's sources out of MAX_FILES).
SKIP_DIRS = {".course", ".git", ".venv", "venv", "node_modules", "__pycache__", "build",
             "dist", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache", ".terraform"}
MAX_FILE = 20 * 2**20  # bigger workspace files are not copied
MAX_FILES = 5000
GRACE = 10.0  # seconds on top of a learner's summed limits
WHEELHOUSE_LESSONS = {"07", "11"}  # their checks install the app's pinned wheels


def exercise_ids(lessons: list[str] | None = None) -> list[str]:
    """Every exercise, or those of the given lessons ("00", "05"...)."""
    return [ex.id for ex in exercises.ordered() if not lessons or ex.lesson in lessons]


def budget(exercise_ids: list[str]) -> float:
    """Seconds a learner may take at most: the checks' own limits, summed, plus grace."""
    return GRACE + sum(exercises.get(e).budget * _engine.WALL_FACTOR for e in exercise_ids)


# --- the private copy ---------------------------------------------------------------------


def copy_workspace(source: Path, target: Path, notes: list[str], count: list[int]) -> None:
    """Copy regular files and symlinks (as links, never followed); skip the rest."""
    for entry in sorted(os.scandir(source), key=lambda e: e.name):
        dest = target / entry.name
        try:
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), dest)
            elif entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS:
                    dest.mkdir()
                    copy_workspace(Path(entry.path), dest, notes, count)
            elif entry.is_file(follow_symlinks=False):
                count[0] += 1
                if count[0] > MAX_FILES:
                    if count[0] == MAX_FILES + 1:
                        notes.append(f"more than {MAX_FILES} files: the rest were not copied")
                    return
                if entry.stat(follow_symlinks=False).st_size > MAX_FILE:
                    notes.append(f"{entry.name}: over {MAX_FILE // 2**20} MB, not copied")
                    continue
                shutil.copyfile(entry.path, dest, follow_symlinks=False)
        except OSError as exc:
            notes.append(f"could not copy {entry.name}: {exc.strerror or exc}")


def _chown_tree(top: Path, uid: int) -> None:
    os.lchown(top, uid, uid)
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)


# --- running one learner --------------------------------------------------------------------


@dataclass
class Confinement:
    """How a learner's checks run: as which uid, in a private mount namespace or not."""

    uid: int | None = None
    namespace: bool = False
    keep: list[Path] = field(default_factory=list)
    hide: list[Path] = field(default_factory=list)


def _confine(private: Path, confinement: Confinement) -> None:
    """In the forked grader of one learner, before any of its code runs."""
    home = private / "home"
    if confinement.uid is not None:
        if confinement.namespace:
            confine.private_mounts([*confinement.keep, private], confinement.hide)
        confine.drop(confinement.uid)
    confine.limit(dropped=confinement.uid is not None)
    os.environ.update(HOME=str(home), TMPDIR=str(home))
    tempfile.tempdir = None


def run_checks(private: Path, exercise_ids: list[str], confinement: Confinement) -> tuple[
        dict[str, Verdict], bool]:
    """Every exercise against private/workspace in a forked, confined grader;
    (verdicts, timed_out)."""

    def grade(out: IO[str]) -> None:  # in the forked grader, as the learner's uid
        for exercise_id in exercise_ids:
            verdict = _engine.run_isolated(exercise_id, private / "workspace")
            out.write(json.dumps(verdict.to_json()) + "\n")
            confine.kill_strays(confinement.uid)

    def prepare(write_fd: int) -> None:
        confine.only_fds(write_fd)
        _confine(private, confinement)

    child = Child(grade, before=prepare)
    lines, timed_out = child.lines(time.monotonic() + budget(exercise_ids))
    child.finish()
    verdicts = {}
    for line in lines:
        try:
            verdict = Verdict.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue
        if verdict.exercise in exercise_ids and verdict.exercise not in verdicts:
            verdicts[verdict.exercise] = verdict
    return verdicts, timed_out


def grade_learner(name: str, source: Path, exercise_ids: list[str], scratch: Path,
                  confinement: Confinement) -> Graded:
    """Grade one learner against a private copy of their workspace (runs in a pool process)."""
    start = time.perf_counter()
    graded = Graded(name)
    private = Path(tempfile.mkdtemp(dir=scratch))  # mode 700
    (private / "workspace").mkdir()
    (private / "home").mkdir()
    try:
        copy_workspace(source, private / "workspace", graded.notes, [0])
        graded.attempted = [e for e in exercise_ids if any(
            (private / "workspace" / f).exists() for f in exercises.get(e).files)]
        if confinement.uid is not None:
            _chown_tree(private, confinement.uid)
        verdicts, timed_out = run_checks(private, exercise_ids, confinement)
    finally:
        if confinement.uid is not None:
            confine.kill_uid(confinement.uid)
        shutil.rmtree(private, ignore_errors=True)
    why = ("Not graded: checking your work ran out of time." if timed_out else
           "Not graded: the checker stopped before this exercise.")
    if len(verdicts) < len(exercise_ids):
        graded.notes.append("grading ran out of time" if timed_out else "grading stopped early")
    graded.verdicts = {e: verdicts.get(e) or not_graded(e, why) for e in exercise_ids}
    graded.seconds = round(time.perf_counter() - start, 2)
    return graded


# --- the class ------------------------------------------------------------------------------


def learners(root: Path) -> list[tuple[str, Path | None, str]]:
    """(name, folder or None, note) for every entry of WORKSPACES_DIR but hidden ones."""
    found: list[tuple[str, Path | None, str]] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found.append((entry.name, entry, ""))
        else:
            found.append((entry.name, None, "not a folder: nothing to grade"))
    return found


def _uids(count: int, base: int) -> list[int]:
    import pwd

    uids: list[int] = []
    candidate = base
    while len(uids) < count:
        try:
            pwd.getpwuid(candidate)  # a real account: never borrow it
        except KeyError:
            uids.append(candidate)
        candidate += 1
    return uids


def _progress(done: int, total: int, name: str) -> None:
    end = "\n" if done == total else ""
    print(f"\r[{done:>{len(str(total))}}/{total}] {name[:40]:<40}", end=end, file=sys.stderr,
          flush=True)


class GradingError(RuntimeError):
    pass


def confinements(names: list[str], uid_base: int, drop: bool,
                 root: Path) -> dict[str, Confinement]:
    """One Confinement per learner: their own uid, in a private mount namespace if possible
    (hiding the class folder `root` too)."""
    if not drop or not names:
        return {name: Confinement() for name in names}
    uids = _uids(len(names), uid_base)
    keep, hide = confine.needed_paths(), confine.hidden_paths(root)
    problems = []
    for namespace in (True, False):
        problem = confine.probe(uids[0], keep, hide if namespace else None)
        confine.kill_uid(uids[0])
        if not problem:
            return {name: Confinement(uid, namespace, keep, hide)
                    for name, uid in zip(names, uids, strict=True)}
        problems.append(problem)
    raise GradingError(
        "learners' code cannot run as an unprivileged user here (" + "; ".join(problems) +
        "). Make the Python installation and the course readable by all users, or grade "
        "trusted code as yourself with --no-drop.")


def grade_class(root: Path, jobs: int = 2, uid_base: int = UID_BASE, drop: bool | None = None,
                lessons: list[str] | None = None,
                progress: Callable[[int, int, str], None] = _progress) -> list[Graded]:
    """Grade every learner folder of `root`; drop privileges when root (unless drop=False)."""
    ids = exercise_ids(lessons)
    # Learners' checks run where the course folder is hidden but for the toolkit, the hidden
    # tests and the wheelhouse: tell them where those are rather than let them search.
    os.environ["COURSE_HOME"] = str(course_home())
    wheels = wheelhouse.folder()
    os.environ["COURSE_WHEELHOUSE"] = str(wheels)
    needs = sorted({exercises.get(e).lesson for e in ids} & WHEELHOUSE_LESSONS)
    if needs and not wheelhouse.complete(wheels):
        print(f"Warning: the wheelhouse ({wheels}) is missing or incomplete: "
              f"lessons {', '.join(needs)} will fail for every learner. Fetch it first: "
              "python -m course.learner.wheelhouse", file=sys.stderr)
    try:
        _worker.warm_up()  # as the notebook's worker does: forks inherit warm imports
    except Exception:  # noqa: BLE001 - colder checks still work
        pass
    entries = learners(root)
    results = {name: Graded(name, {e: not_graded(e, f"Not graded: {note}.") for e in ids},
                            [note]) for name, path, note in entries if path is None}
    todo = [(name, path) for name, path, _ in entries if path is not None]
    drop = os.geteuid() == 0 if drop is None else drop
    confined = confinements([name for name, _ in todo], uid_base, drop, root)
    scratch = Path(tempfile.mkdtemp(prefix="course-grading-"))
    os.chmod(scratch, 0o711)  # learners' uids may pass through, not list it
    done = len(results)
    try:
        for attempt in range(2):  # a pool broken by a crash gets one fresh try
            retry = []
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
                futures = {pool.submit(grade_learner, name, path, ids, scratch,
                                       confined[name]): (name, path) for name, path in todo}
                for future in as_completed(futures):
                    name, path = futures[future]
                    try:
                        results[name] = future.result()
                    except BrokenProcessPool:
                        if attempt == 0:
                            retry.append((name, path))
                            continue
                        results[name] = Graded(name, {e: not_graded(
                            e, "Not graded: the grader crashed.") for e in ids},
                            ["the grader crashed"])
                    except Exception as exc:  # noqa: BLE001 - one learner never stops the class
                        results[name] = Graded(name, {e: not_graded(
                            e, "Not graded: the grader failed.") for e in ids},
                            [f"grader failed: {type(exc).__name__}: {exc}"])
                    done += 1
                    progress(done, len(entries), name)
            todo = retry
            if not todo:
                break
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not entries:
        progress(0, 0, "")
    return [results[name] for name, _, _ in entries]


def explain() -> str:
    """Markdown: per exercise, each behaviour, its hint, and its message on an empty workspace."""
    try:
        _worker.warm_up()
    except Exception:  # noqa: BLE001 - colder checks still work
        pass
    times = exercises.lessons()
    out, lesson = [], None
    with tempfile.TemporaryDirectory() as empty:
        for exercise_id in exercise_ids():
            ex = exercises.get(exercise_id)
            if ex.lesson != lesson:
                lesson = ex.lesson
                title, time_ = times.get(lesson, (f"Lesson {lesson}", ""))
                out += [f"### Lesson {lesson} · {title}" + (f" ({time_})" if time_ else ""), ""]
            verdict = _engine.run_isolated(exercise_id, empty)
            out += [f"**{ex.id} · {ex.title}** — files: {', '.join(ex.files) or '—'}; "
                    f"limit {ex.timeout:g} s per behaviour", ""]
            messages = {r.message for r in verdict.results}
            if len(messages) == 1:
                out += [f"On an empty workspace every behaviour fails with: “{messages.pop()}”",
                        ""]
            for r in verdict.results:
                out.append(f"- {r.name} — *hints:* " + " → ".join(r.hints))
                if len(set(x.message for x in verdict.results)) > 1:
                    out.append(f"  - empty workspace: “{r.message}”")
            out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.instructor.grading", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspaces", nargs="?", type=Path, help="one subfolder per learner")
    parser.add_argument("--out", type=Path, default=Path("gradebook.csv"))
    parser.add_argument("--feedback", type=Path, default=Path("feedback"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--lessons", type=lambda text: [n.zfill(2) for n in text.split(",")],
                        default=None, metavar="00,01",
                        help="grade only these lessons' exercises (default: all)")
    parser.add_argument("--uid-base", type=int, default=UID_BASE,
                        help=f"as root, learner n runs as uid UID_BASE+n (default {UID_BASE})")
    parser.add_argument("--no-drop", action="store_true",
                        help="as root, run learners' code as root (trusted code only)")
    parser.add_argument("--explain", action="store_true",
                        help="list every behaviour with its hint and its failure message")
    args = parser.parse_args(argv)
    if args.explain:
        print(explain())
        return 0
    if args.workspaces is None or not args.workspaces.is_dir():
        parser.error(f"WORKSPACES_DIR {args.workspaces} is not a folder")
    root = args.workspaces.resolve()
    if os.geteuid() == 0 and root.stat().st_mode & 0o007:
        print(f"warning: {root} is readable by other users; learners' code runs unprivileged "
              "and could read the originals: chmod 700 it", file=sys.stderr)
    start = time.perf_counter()
    try:
        rows = grade_class(root, jobs=args.jobs, uid_base=args.uid_base,
                           drop=False if args.no_drop else None, lessons=args.lessons)
    except GradingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    graded_ids = exercise_ids(args.lessons)
    write_gradebook(rows, args.out, graded_ids)
    summary = args.out.with_suffix(".md")
    summary.write_text(class_summary(rows, graded_ids))
    args.feedback.mkdir(parents=True, exist_ok=True)
    for graded in rows:
        (args.feedback / f"{safe_name(graded.learner)}.md").write_text(feedback(graded))
    print(f"graded {len(rows)} learners in {time.perf_counter() - start:.0f} s: "
          f"{args.out}, {summary} (what the class gets wrong), {args.feedback}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
