"""The repository's own rules: one source of truth, and the app/toolkit boundary."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from course import authoring, magics
from course.workspace import COURSE_ROOT

APP_PACKAGES = ("handlers", "models", "services", "utils")
# Files the learner writes that the repo cannot hold byte for byte, because the repo's own
# copy configures the course too. Their checks pass on the repo's copy instead.
SHARED_WITH_THE_COURSE = {"pyproject.toml"}


def saved_files() -> dict[str, str]:
    """What the solution notebooks save, path -> text of the last save (lessons in order)."""
    files: dict[str, str] = {}
    for solution in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        for cell in nbformat.read(solution, as_version=4).cells:
            first, _, body = cell.source.partition("\n")
            if cell.cell_type == "code" and first.startswith("%%save "):
                lines = body.splitlines(keepends=True)
                files[first.split(maxsplit=1)[1].strip()] = "".join(
                    line for line in lines if not magics.MARKER.match(line))
    return files


def test_solutions_and_reference_do_not_drift() -> None:
    files = saved_files()
    assert files, "the solution notebooks save no files"
    for relative, text in files.items():
        if relative in SHARED_WITH_THE_COURSE:
            continue
        reference = COURSE_ROOT / relative
        assert reference.exists(), f"{relative} is saved by a solution but missing in the repo"
        assert text.rstrip("\n") == reference.read_text().rstrip("\n"), (
            f"{relative}: the solution notebook and the reference file differ")


def test_the_app_never_imports_the_toolkit() -> None:
    for package in APP_PACKAGES:
        for path in (COURSE_ROOT / "src" / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                assert not any(n.split(".")[0] == "course" for n in names), (
                    f"{path.relative_to(COURSE_ROOT)} imports the course toolkit: "
                    "a deployed zip would break")


def test_every_lesson_has_a_solution_a_learner_copy_and_checks() -> None:
    solutions = sorted(p.name for p in authoring.SOLUTIONS.glob("*.ipynb"))
    assert solutions == sorted(p.name for p in authoring.NOTEBOOKS.glob("*.ipynb"))
    for name in solutions:
        lesson = name[:2]
        assert Path(COURSE_ROOT / "tests" / "checks" / f"lesson_{lesson}.py").exists(), name


def test_requirements_are_pinned_and_frozen_consistently() -> None:
    def pins(name: str) -> dict[str, str]:
        found = {}
        for line in (COURSE_ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                assert "==" in line, f"{name}: {line!r} is not pinned with =="
                package, version = line.split("==")
                found[package.split("[")[0].lower().replace("_", "-")] = version.strip()
        return found

    frozen = pins("constraints.txt")
    for package, version in pins("requirements.txt").items():
        assert frozen.get(package) == version, (
            f"{package}=={version} in requirements.txt, {frozen.get(package)} in constraints.txt")
