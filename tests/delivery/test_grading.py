"""Class grading: hostile or broken learners cannot stop, slow or corrupt the others."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from course.checks import _engine, exercises
from course.instructor import grading
from course.workspace import course_home

COURSE_ROOT = course_home()

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
NOT_IN_A_LEARNER = {".git", ".venv", ".venv-checkov", "wheelhouse", "workspace", "build",
                    "notebooks", "solutions", "course",
                    "checks", "toolkit", "delivery", "browser", "binder", ".ci", "__pycache__",
                    ".hypothesis", ".ruff_cache", ".pytest_cache", ".ipynb_checkpoints"}
HELPERS = "src/utils/helpers.py"


def solved(folder: Path, secret: str) -> None:
    """A learner who solved everything: the reference project's files."""
    shutil.copytree(COURSE_ROOT, folder,
                    ignore=lambda _, names: [n for n in names if n in NOT_IN_A_LEARNER])
    with (folder / HELPERS).open("a") as f:
        f.write(f"# {secret}\n")


def with_helpers(folder: Path, source: str) -> None:
    (folder / HELPERS).parent.mkdir(parents=True)
    (folder / HELPERS).write_text(source)


LOOP = "def json_response(status_code, body, headers=None):\n    while True:\n        pass\n"
PRINTER = ("import sys\nsys.stdout.write('x' * 50_000_000)\n\n"
           "def json_response(status_code, body, headers=None):\n"
           "    print('y' * 50_000_000)\n    return {}\n")
RAISER = "raise RuntimeError('boom at import')\n"
FORK_BOMB = ("import os\n\ndef json_response(status_code, body, headers=None):\n"
             "    while True:\n        try:\n            os.fork()\n        except OSError:\n"
             "            pass\n")
HOSTILE = """\
import glob, os, shutil, signal
victims = glob.glob("../../*/workspace/src/utils/helpers.py") + [{original!r}]
answers = [{reference!r}, {solution!r}]
for path in victims:
    try:
        os.remove(path)
    except OSError:
        pass
try:
    shutil.rmtree({original_dir!r})
except OSError:
    pass
stolen = ""
for path in victims + answers:
    try:
        stolen += f"[{{path}}: {{open(path).read()[-80:]}}]"
    except OSError:
        pass
with open({marker!r}, "w") as f:
    f.write("written by a learner")


def json_response(status_code, body, headers=None):
    raise RuntimeError("stolen: " + stolen)
"""


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def grading_processes() -> list[psutil.Process]:
    top = grading.UID_BASE + 1000
    return [p for p in psutil.process_iter(["uids"])
            if p.info["uids"] and grading.UID_BASE <= p.info["uids"].real < top]


def _gone_or_zombie(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def left_after_reaping(grace: float = 5.0) -> list[psutil.Process]:
    """A learner's processes still there once zombies (already dead, waiting for whoever
    adopted them to reap them) have had `grace` seconds to go; a live one returns at once."""
    deadline = time.monotonic() + grace
    while True:
        left = grading_processes()
        zombies_only = all(_gone_or_zombie(p) for p in left)
        if not left or not zombies_only or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def namespaces_work() -> bool:
    from course.instructor import _confine as confine

    uid = grading.UID_BASE + 999
    try:
        return not confine.probe(uid, confine.needed_paths(), confine.hidden_paths())
    finally:
        confine.kill_uid(uid)


@pytest.fixture
def marker(tmp_path: Path):
    path = Path(f"/tmp/outside-marker-{tmp_path.name}-{os.getpid()}")
    yield path
    path.unlink(missing_ok=True)


@ROOT_ONLY
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_grading_a_class_with_hostile_learners(tmp_path: Path, marker: Path) -> None:
    klass = tmp_path / "class"
    klass.mkdir(mode=0o700)
    secret = f"SECRET-{os.getpid()}-{time.time_ns()}"
    solved(klass / "ada-solved", secret)
    (klass / "bob-blank").mkdir()
    with_helpers(klass / "cy-loop", LOOP)
    with_helpers(klass / "dee-printer", PRINTER)
    original = klass / "ada-solved" / HELPERS
    with_helpers(klass / "eve-hostile", HOSTILE.format(
        original=str(original), original_dir=str(original.parents[2]), marker=str(marker),
        reference=str(COURSE_ROOT / HELPERS),
        solution=str(COURSE_ROOT / "solutions" / "00-welcome.ipynb")))
    with_helpers(klass / "fay-raiser", RAISER)
    with_helpers(klass / "gus-forkbomb", FORK_BOMB)
    (klass / "notes.txt").write_text("not a learner")
    before = {p.name: tree_hash(p) for p in klass.iterdir() if p.is_dir()}
    lessons = ["00", "01"]  # confinement is what is tested here: two lessons are enough
    ids = grading.exercise_ids(lessons)
    limit = 7 * grading.budget(ids)  # the sum of every learner's limits

    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "course.instructor.grading", str(klass),
         "--out", str(tmp_path / "gb.csv"), "--feedback", str(tmp_path / "feedback"),
         "--jobs", "2", "--lessons", ",".join(lessons)],
        capture_output=True, text=True, timeout=limit + 60, cwd=tmp_path)
    took = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"\ngrading 7 learners x {len(ids)} exercises: {took:.1f} s "
          f"(limit {limit:.0f} s)")
    assert took < limit
    assert "[8/8]" in proc.stderr

    # The originals are untouched, whatever the learners' code tried.
    assert {p.name: tree_hash(p) for p in klass.iterdir() if p.is_dir()} == before
    if marker.exists():  # /tmp is world-writable: allowed, but only as an unprivileged uid
        assert marker.stat().st_uid >= grading.UID_BASE
    assert not left_after_reaping(), "processes of a learner survived the grading"

    rows = {row["learner"]: row for row in csv.DictReader((tmp_path / "gb.csv").open())}
    assert set(rows) == {p.name for p in klass.iterdir()}
    graded_columns = {c for c in rows["ada-solved"] if c[:1].isdigit()}
    assert graded_columns == set(ids), "--lessons grades those lessons' exercises only"
    # Graded = what check() says: the solved learner gets the reference project's verdicts.
    for exercise_id in ids:
        reference = _engine.run_isolated(exercise_id, COURSE_ROOT)
        expected = f"{sum(r.passed for r in reference.results)}/{len(reference.results)}"
        assert rows["ada-solved"][exercise_id] == expected, (exercise_id, rows["ada-solved"])
    for learner in ("bob-blank", "cy-loop", "dee-printer", "eve-hostile", "fay-raiser",
                    "gus-forkbomb"):
        assert rows[learner]["passed"] == "0", (learner, rows[learner])
    assert "not a folder" in rows["notes.txt"]["notes"]
    summary = (tmp_path / "gb.md").read_text()
    assert "## 0.1 · An API Gateway proxy response: " in summary
    assert "still running after" in summary  # cy-loop attempted 0.1 and looped

    feedback = {p.stem: p.read_text() for p in (tmp_path / "feedback").glob("*.md")}
    assert set(feedback) == set(rows)
    assert "still running after" in feedback["cy-loop"]
    assert "raised RuntimeError: boom at import" in feedback["fay-raiser"]
    assert "stolen: " in feedback["eve-hostile"] and secret not in feedback["eve-hostile"]
    if namespaces_work():  # the course's answers are out of sight too
        assert str(COURSE_ROOT) not in feedback["eve-hostile"]
    assert max(len(text) for text in feedback.values()) < 200_000
    source_lines = {line.strip() for path in exercises.lesson_modules()
                    for line in path.read_text().splitlines() if len(line.strip()) >= 30}
    for learner, text in feedback.items():
        assert "def _(" not in text, learner
        for line in text.splitlines():  # hints may say "assert ..."; code lines never appear
            body = re.sub(r"^\s*(?:[-*>]\s*|\*Hint:\*\s*)*", "", line)
            assert not re.match(r"(assert|def|import|from \S+ import)\s", body), (learner, line)
        leaked = [line for line in source_lines if line in text]
        assert not leaked, f"test source in {learner}'s feedback: {leaked[:3]}"


def test_grading_without_privilege_drop_still_uses_copies(tmp_path: Path) -> None:
    """--no-drop (or not root): learners still get a private copy; originals stay intact."""
    klass = tmp_path / "class"
    with_helpers(klass / "writer", "open('written-in-copy', 'w').write('x')\n"
                                   "def json_response(s, b, headers=None):\n    return {}\n")
    (klass / "empty").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "course.instructor.grading", str(klass), "--no-drop",
         "--jobs", "1", "--lessons", "00",  # copies are what is tested: one lesson is enough
         "--out", str(tmp_path / "gb.csv"), "--feedback", str(tmp_path / "fb")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (klass / "writer" / "written-in-copy").exists()
    rows = list(csv.DictReader((tmp_path / "gb.csv").open()))
    assert [row["learner"] for row in rows] == ["empty", "writer"]
    assert rows[1]["0.1"] != "0/0" and rows[1]["passed"] == "0"
    summary = (tmp_path / "gb.md").read_text()
    assert "## 0.1 · An API Gateway proxy response: 0 complete / 1 attempted" in summary
    assert "## 0.2 · A first boto3 call, against moto: 0 complete / 0 attempted" in summary


def test_explain_lists_every_behaviour_with_hint_and_message() -> None:
    proc = subprocess.run([sys.executable, "-m", "course.instructor.grading", "--explain"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout
    for exercise_id in grading.exercise_ids():
        ex = exercises.get(exercise_id)
        assert f"**{ex.id} · {ex.title}**" in text
        for behaviour in ex.behaviours:
            assert f"- {behaviour.name} — *hints:* " + " → ".join(behaviour.hints) in text
    assert "does not exist yet in your workspace" in text
    assert not re.search(r"^\s*def _\(", text, re.M)


def test_build_output_never_crowds_out_the_learners_work(tmp_path: Path) -> None:
    """Lesson 07's builds hold thousands of files: they are not copied, so src/ always is."""
    learner = tmp_path / "learner"
    wheels = learner / "build" / "site-packages"
    wheels.mkdir(parents=True)
    for n in range(grading.MAX_FILES + 10):
        (wheels / f"m{n}.py").touch()
    (learner / "src").mkdir()
    (learner / "src" / "app.py").write_text("x = 1\n")
    copy, notes, count = tmp_path / "copy", [], [0]
    copy.mkdir()
    grading.copy_workspace(learner, copy, notes, count)
    assert (copy / "src" / "app.py").read_text() == "x = 1\n"
    assert not (copy / "build").exists() and not notes
