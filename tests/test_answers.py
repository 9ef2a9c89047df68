"""The wrong-answer suites: every check fails on each wrong-but-plausible answer, on the
behaviour that answer breaks, and passes on each right-but-different answer.

Cases live in tests/answers/<exercise>/<case>/ (see tests/answers/README.md).
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from course.checks import _engine, exercises
from course.workspace import course_home
from tests.conftest import per_exercise

HOME = course_home()
ANSWERS = HOME / "tests" / "answers"
SOLVED = ("src", "tests/unit", "tests/integration", "terraform", "scripts", "pyproject.toml",
          "requirements-lambda.txt", "build_lambda.py", "Dockerfile", "template.yaml")
CASES = sorted(p.parent for p in ANSWERS.glob("*/*/case.toml"))
MIN_WRONG, MIN_RIGHT = 6, 2
pytestmark = pytest.mark.usefixtures("warm_checks")


def solved_workspace(target: Path) -> Path:
    """A copy of the repository's solved workspace."""
    for part in SOLVED:
        source = HOME / part
        if source.is_dir():
            shutil.copytree(source, target / part,
                            ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        elif source.is_file():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)
    return target


def apply(case: Path, workspace: Path) -> dict:
    """Apply a case's changes to `workspace`; returns its settings."""
    settings = tomllib.loads((case / "case.toml").read_text())
    for path in case.rglob("*"):
        if path.is_file() and path.name != "case.toml":
            target = workspace / path.relative_to(case)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for edit in settings.get("edit", []):
        target = workspace / edit["file"]
        text = target.read_text()
        count = text.count(edit["replace"])
        assert count == 1, (f"{case.relative_to(HOME)}: the text to replace occurs {count} "
                            f"times in {edit['file']} (must be once): {edit['replace'][:80]!r}")
        target.write_text(text.replace(edit["replace"], edit["with"]))
    for relative in settings.get("delete", []):
        (workspace / relative).unlink()
    return settings


def judge(case: Path, scratch: Path) -> None:
    """Raise AssertionError unless the case's check verdict is what the case says."""
    exercise_id = case.parent.name
    workspace = solved_workspace(scratch / "ws")
    settings = apply(case, workspace)
    kind, reason = settings["kind"], settings["reason"]
    assert kind in ("wrong", "right") and reason.strip(), f"{case}: kind and reason needed"
    breaks = settings.get("breaks", [])
    known = {b.name for b in exercises.get(exercise_id).behaviours}
    if kind == "wrong":
        assert breaks and set(breaks) <= known, (
            f"{case.name}: `breaks` must name behaviours of {exercise_id}: {sorted(known)}")
    # A right answer must pass every behaviour; a wrong one, fail each one it names.
    verdict = _engine.run_isolated(exercise_id, workspace,
                                   only=breaks if kind == "wrong" else None)
    failing = {r.name: r.message for r in verdict.results if not r.passed}
    if kind == "right":
        assert not failing, f"a right answer ({reason}) is rejected: {failing}"
        return
    missed = [name for name in breaks if name not in failing]
    assert not missed, (f"a wrong answer ({reason}) passes {missed}; "
                        f"it fails only {sorted(failing) or 'nothing'}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        cases = [c for c in CASES if c.parent.name == metafunc.cls.exercise]
        metafunc.parametrize("case", cases, ids=[f"{c.parent.name}/{c.name}" for c in cases])


class _Answers:
    __test__ = False
    exercise = ""

    def test_answer(self, case: Path, tmp_path: Path) -> None:
        judge(case, tmp_path)


per_exercise(globals(), _Answers, [c.parent.name for c in CASES])


def test_a_case_that_lies_is_caught(tmp_path: Path) -> None:
    """The suite can fail: a "wrong" answer that breaks nothing, and a "right" one that
    breaks something, are both reported."""
    case = tmp_path / "0.1" / "harmless"
    case.mkdir(parents=True)
    (case / "case.toml").write_text('kind = "wrong"\nreason = "a comment"\n'
                                    'breaks = ["body is the data as a JSON string"]\n'
                                    '[[edit]]\nfile = "src/utils/helpers.py"\n'
                                    'replace = "import json"\nwith = "import json  # hi"\n')
    with pytest.raises(AssertionError, match="passes"):
        judge(case, tmp_path / "a")
    (case / "case.toml").write_text('kind = "right"\nreason = "not json"\n'
                                    '[[edit]]\nfile = "src/utils/helpers.py"\n'
                                    'replace = "json.dumps(body)"\nwith = "str(body)"\n')
    with pytest.raises(AssertionError, match="is rejected"):
        judge(case, tmp_path / "b")


def test_every_exercise_has_its_suite() -> None:
    """At least six wrong-but-plausible answers and two right-but-different ones each."""
    short = {}
    for exercise in exercises.ordered():
        kinds = [tomllib.loads((case / "case.toml").read_text())["kind"]
                 for case in CASES if case.parent.name == exercise.id]
        wrong, right = kinds.count("wrong"), kinds.count("right")
        if wrong < MIN_WRONG or right < MIN_RIGHT:
            short[exercise.id] = f"{wrong} wrong, {right} right"
    assert not short, f"suites below {MIN_WRONG} wrong and {MIN_RIGHT} right: {short}"
