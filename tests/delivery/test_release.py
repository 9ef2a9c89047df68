"""The learner release: nothing of the answers in it, and it works on its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from course.checks import exercises
from course.instructor import authoring, release
from course.workspace import course_home

COURSE_ROOT = course_home()

REFERENCE = ("src", "tests/unit", "tests/integration", "terraform", "scripts", "pyproject.toml",
             "requirements-lambda.txt", "build_lambda.py", "Dockerfile", "template.yaml")
REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION", re.M | re.S)
MIN_REGION = 20  # shorter regions ("return x") could occur anywhere by chance


def normalise(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def code_lines(text: str) -> set[str]:
    """Distinctive lines: comments dropped, whitespace stripped, short lines ignored."""
    lines = (re.sub(r"\s+#.*$", "", line).strip() for line in text.splitlines())
    return {line for line in lines if len(line) >= 12 and not line.startswith("#")}


def searchable(path: Path) -> str:
    """A file's text as a learner reads it: a notebook's cell sources, else the raw text."""
    raw = path.read_bytes().decode("utf-8", "replace")
    if path.suffix == ".ipynb":
        raw = "\n".join(cell["source"] if isinstance(cell["source"], str)
                        else "".join(cell["source"]) for cell in json.loads(raw)["cells"])
    return normalise(raw)


def saved_cells() -> list[tuple[str, str, str]]:
    """(where, target path, cell body) of every %%save cell of the solution notebooks."""
    cells = []
    for solution in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        for n, cell in enumerate(nbformat.read(solution, as_version=4).cells):
            first, _, body = cell.source.partition("\n")
            if cell.cell_type == "code" and first.startswith("%%save "):
                cells.append((f"{solution.name} cell {n}", first.split(maxsplit=1)[1].strip(),
                              body))
    return cells


def regions() -> dict[str, str]:
    """Every solution region of every code cell of the solution notebooks: the answers."""
    found = {}
    for solution in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        for n, cell in enumerate(nbformat.read(solution, as_version=4).cells):
            if cell.cell_type == "code":
                for i, region in enumerate(REGION.findall(cell.source)):
                    found[f"solution region {i} of {solution.name} cell {n}"] = region
    return found


def shown_before(lesson: str) -> set[str]:
    """Lines the learner copies of the lessons before `lesson` show: what a learner already
    met is no later exercise's secret (an `import`, `return table`, a logging call...)."""
    return set().union(*(code_lines("\n".join(cell.source for cell in authoring.learner_copy(
        nbformat.read(path, as_version=4)).cells))
        for path in authoring.SOLUTIONS.glob("*.ipynb") if path.name[:2] < lesson))


def answers() -> dict[str, set[str]]:
    """What must never appear in the release, as distinctive lines: every solution region
    (less what earlier lessons showed), and the reference files less whatever the lessons
    show (a whole reference file copied somewhere still has lines no lesson shows)."""
    met = {p.name[:2]: shown_before(p.name[:2]) for p in authoring.SOLUTIONS.glob("*.ipynb")}
    secrets = {name: code_lines(region) - met[name.split(" of ")[1][:2]]
               for name, region in regions().items()}
    shown = shown_before("99")  # every lesson: regions catch restated answers on their own
    for folder in REFERENCE:
        top = COURSE_ROOT / folder
        for path in [top] if top.is_file() else top.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                secret = code_lines(path.read_text("utf-8", "replace")) - shown
                secrets[f"reference {path.relative_to(COURSE_ROOT)}"] = secret
    return {name: lines for name, lines in secrets.items() if lines}


def leaked(secret: set[str], lines: set[str], reference: bool) -> bool:
    """Most of a reference file's distinctive lines (4 or more), or of an answer's: an
    answer with its comments or type hints removed is still the answer."""
    hits = len(secret & lines)
    if reference:
        return len(secret) >= 4 and hits >= 0.8 * len(secret)
    if len(secret) <= 2:  # a short answer: all of it, and not only a generic line
        return hits == len(secret) and max(map(len, secret)) >= 20
    return hits >= max(2, 0.5 * len(secret))


def leaks_in(out: Path) -> dict[str, list[str]]:
    """Release file (the learner copies of the lessons included) -> the secrets it holds."""
    secrets = answers()
    assert any(k.startswith("solution region") for k in secrets), "found no solution regions"
    assert any(k.startswith("reference") for k in secrets), "found no reference files"
    found: dict[str, list[str]] = {}
    for path in files_of(out):
        lines = code_lines(searchable(path))
        for name, secret in secrets.items():
            if leaked(secret, lines, name.startswith("reference")):
                found.setdefault(path.relative_to(out).as_posix(), []).append(name)
    return found


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return release.build(tmp_path_factory.mktemp("release") / "course")


def files_of(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


def test_release_holds_what_learners_need(out: Path) -> None:
    lessons = sorted(p.name for p in authoring.SOLUTIONS.glob("*.ipynb"))
    assert sorted(p.name for p in (out / "notebooks").glob("*.ipynb")) == lessons
    for name in lessons:
        assert (out / "notebooks" / name).read_text() == authoring.render(
            authoring.SOLUTIONS / name), f"{name} differs from its generated learner copy"
        assert (out / "tests" / "checks" / f"lesson_{name[:2]}.py").exists()
    for needed in ("toolkit/pyproject.toml", "toolkit/course/__init__.py",
                   "toolkit/course/checks/_engine.py", "requirements.txt", "constraints.txt",
                   "binder/requirements.txt", "binder/postBuild", "Makefile", "pytest.ini",
                   "README.md"):
        assert (out / needed).is_file(), needed
    assert os.access(out / "binder" / "postBuild", os.X_OK)
    readme = (out / "README.md").read_text()
    assert "mybinder.org" not in readme and "notebooks/00-welcome.ipynb" in readme  # no badge
    with_badge = release.readme("acme/lambda-course")
    assert "mybinder.org/v2/gh/acme/lambda-course/HEAD?urlpath=lab%2Ftree%2Fworkspace" in \
        with_badge


def test_no_answers_and_no_instructor_tools_in_the_release(out: Path) -> None:
    assert not (out / "solutions").exists()
    for folder in REFERENCE:
        assert not (out / folder).exists(), f"{folder} (reference answers) is in the release"
    assert not (out / release.INSTRUCTOR).exists()
    assert sorted(p.name for p in (out / "toolkit" / "course").iterdir()
                  if p.is_dir() and p.name != "__pycache__") == ["awslambda", "checks", "learner"]
    for path in files_of(out):
        text = searchable(path)
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path
    found = leaks_in(out)
    assert not found, f"answers in the release (learner copies included): {found}"


def test_the_leak_scan_finds_a_planted_answer(out: Path, tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    shutil.copytree(out, planted)
    reference = max((COURSE_ROOT / "src" / "handlers").glob("*.py"),
                    key=lambda p: len(code_lines(p.read_text())))
    without_comments = "\n".join(re.sub(r"\s+#.*$", "", line)
                                 for line in reference.read_text().splitlines())
    (planted / "toolkit" / "course" / "planted.py").write_text(
        f'X = """{without_comments}"""\n')
    name = f"reference {reference.relative_to(COURSE_ROOT)}"
    assert name in leaks_in(planted).get("toolkit/course/planted.py", [])


def test_archives_hold_the_release(out: Path) -> None:
    expected = {f"{out.name}/{p.relative_to(out).as_posix()}" for p in files_of(out)}
    zipped, tarball = release.archive(out)
    with zipfile.ZipFile(zipped) as zf:
        assert {n for n in zf.namelist() if not n.endswith("/")} == expected
    with tarfile.open(tarball) as tar:
        assert {m.name for m in tar.getmembers() if m.isfile()} == expected


def test_makefile_fits_the_release(out: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    for target in ("lab", "test", "clean"):
        proc = subprocess.run(["make", "-n", target], cwd=out, capture_output=True, text=True,
                              env=env)
        assert proc.returncode == 0, proc.stderr
    makefile = (out / "Makefile").read_text()
    for path in re.findall(r"(?<![\w/=.-])[\w.-][\w./-]*\.(?:py|ipynb)\b", makefile):  # relative
        assert (out / path).exists(), f"the release Makefile uses {path}, not in the release"
    source = (COURSE_ROOT / "Makefile").read_text()
    for author_target in release.AUTHOR_TARGETS:
        assert re.search(rf"^{author_target}\s*:", source, re.M), author_target
        assert not re.search(rf"^{author_target}\s*:", makefile, re.M)
    dry_run = subprocess.run(["make", "-n", "test"], cwd=out, capture_output=True, text=True,
                             env=env).stdout
    assert "requirements-dev" not in dry_run and "./toolkit" in dry_run and "-e " not in dry_run


def release_env(out: Path, **extra: str) -> dict[str, str]:
    """Run the course's .venv python so that the release's own `course` package wins.

    PYTHONPATH entries come before the venv's editable install of this repository's
    toolkit, so the release's toolkit/ shadows it (and holds nothing else).
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COURSE_", "PYTHONPATH", "JPY_"))}
    return {**env, "PYTHONPATH": str(out / "toolkit"), "PYTHONNOUSERSITE": "1", **extra}


CHECK_IN_RELEASE = r"""
import subprocess, sys
from pathlib import Path
import course
from course.checks import exercises

out = Path(sys.argv[1])
assert Path(course.__file__).is_relative_to(out), course.__file__
assert exercises.checks_dir().is_relative_to(out), exercises.checks_dir()
# The check worker is a fresh `python -m course.checks._worker` with this environment:
worker_course = subprocess.run([sys.executable, "-c", "import course; print(course.__file__)"],
                               capture_output=True, text=True).stdout.strip()
assert Path(worker_course).is_relative_to(out), worker_course

course.check("0.1", project=sys.argv[2])
print("SOLVED PASSED")
try:
    course.check("0.1", project=sys.argv[3])
except course.CheckFailed as exc:
    print("BLANK FAILED:", exc)
"""


def test_checks_run_from_the_release_alone(out: Path, tmp_path: Path) -> None:
    solved, blank = tmp_path / "solved", tmp_path / "blank"
    blank.mkdir()
    target = exercises.get("0.1").files[0]
    (solved / target).parent.mkdir(parents=True)
    shutil.copy(COURSE_ROOT / target, solved / target)
    proc = subprocess.run([sys.executable, "-c", CHECK_IN_RELEASE, str(out), str(solved),
                           str(blank)], cwd=out, env=release_env(out), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SOLVED PASSED" in proc.stdout
    assert "BLANK FAILED: Exercise 0.1" in proc.stdout
    assert f"{target} does not exist yet in your workspace" in proc.stdout


@pytest.mark.slow
def test_make_test_of_the_release_runs_lesson_00(out: Path) -> None:
    """What `make test` runs in the release (pytest with the release's pytest.ini), lesson 00."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "notebooks/00-welcome.ipynb"],
                          cwd=out, env=release_env(out), capture_output=True, text=True,
                          timeout=280)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
