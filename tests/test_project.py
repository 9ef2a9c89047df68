"""The repository's own rules: one source of truth, one program per folder, boundaries."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from course.instructor import authoring
from course.learner import save
from course.workspace import course_home

COURSE_ROOT = course_home()
TOOLKIT = COURSE_ROOT / "toolkit" / "course"
APP_PACKAGES = {"handlers", "models", "services", "utils"}


def saved_files() -> dict[str, str]:
    """What the solution notebooks save, path -> text of the last save (lessons in order)."""
    files: dict[str, str] = {}
    for solution in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        files.update(save.saved_cells(solution))
    return files


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_solutions_and_reference_do_not_drift() -> None:
    files = saved_files()
    assert "pyproject.toml" in files and "src/handlers/api_handler.py" in files
    for relative, text in files.items():
        reference = COURSE_ROOT / relative
        assert reference.exists(), f"{relative} is saved by a solution but missing in the repo"
        assert text.rstrip("\n") == reference.read_text().rstrip("\n"), (
            f"{relative}: the solution notebook and the reference file differ")


def test_src_holds_exactly_what_lambda_runs() -> None:
    entries = {p.name for p in (COURSE_ROOT / "src").iterdir() if p.name != "__pycache__"}
    assert entries == APP_PACKAGES, f"src/ must hold only the Lambda app, found {entries}"


def test_the_app_never_imports_the_toolkit() -> None:
    for path in (COURSE_ROOT / "src").rglob("*.py"):
        course = [n for n in imported_modules(path) if n.split(".")[0] == "course"]
        assert not course, (f"{path.relative_to(COURSE_ROOT)} imports the course toolkit "
                            f"({course}): a deployed zip would break")


def test_what_ships_to_learners_never_imports_the_instructor_tools() -> None:
    shipped = [p for p in TOOLKIT.rglob("*.py") if "instructor" not in p.parts]
    assert len(shipped) > 10
    for path in shipped:
        instructor = [n for n in imported_modules(path) if n.startswith("course.instructor")]
        assert not instructor, f"{path.relative_to(COURSE_ROOT)} imports {instructor}"


def test_the_toolkit_never_imports_the_reference_app() -> None:
    for path in TOOLKIT.rglob("*.py"):
        app = [n for n in imported_modules(path) if n.split(".")[0] in APP_PACKAGES]
        assert not app, f"{path.relative_to(COURSE_ROOT)} imports the reference app: {app}"


def test_every_lesson_has_a_solution_a_learner_copy_and_checks() -> None:
    solutions = sorted(p.name for p in authoring.SOLUTIONS.glob("*.ipynb"))
    assert solutions == sorted(p.name for p in authoring.NOTEBOOKS.glob("*.ipynb"))
    for name in solutions:
        lesson = name[:2]
        assert (COURSE_ROOT / "tests" / "checks" / f"lesson_{lesson}.py").exists(), name


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (COURSE_ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.fullmatch(r"[\w.\[\],-]+==[\w.]+", line), f"{name}: {line!r} is not pinned"
            package, version = line.split("==")
            found[package.split("[")[0].lower().replace("_", "-")] = version
    return found


def test_requirements_are_pinned_and_frozen_consistently() -> None:
    frozen = pins("constraints.txt")
    course, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert not set(course) & set(dev), "a package is in both requirements files"
    for package, version in {**course, **dev}.items():
        assert frozen.get(package) == version, (
            f"{package}=={version} in the requirements, {frozen.get(package)} in constraints.txt")


def test_learners_do_not_install_the_authors_tools() -> None:
    course = pins("requirements.txt")
    for tool in ("playwright", "ruff", "mypy", "pytest-xdist"):
        assert tool not in course and tool in pins("requirements-dev.txt"), tool
    binder = (COURSE_ROOT / "binder" / "requirements.txt").read_text()
    assert "requirements-dev" not in binder


def test_each_exercise_title_is_its_heading_in_the_lesson() -> None:
    from course.checks import exercises

    headings: dict[str, str] = {}
    for solution in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        for cell in json.loads(solution.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                for number, title in re.findall(r"^#+ Exercise (\d+\.\d+) · (.+)$",
                                                "".join(cell["source"]), re.M):
                    headings[number] = title.strip()
    for exercise in exercises.ordered():
        assert headings.get(exercise.id) == exercise.title, (
            f"exercise {exercise.id}: the check says {exercise.title!r}, the lesson's heading "
            f"{headings.get(exercise.id)!r}")
