"""pytest hooks for running the course notebooks under nbval (`-p course.nbval_plugin`).

* Checks raise on failure (COURSE_RAISE=1), so nbval sees them.
* Notebooks never touch the learner's real workspace: solutions/ and notebooks/ each get
  a fresh temporary one, shared by their lessons in order (a lesson builds on the last).
* In a learner copy every `check(...)` cell must fail *because the check failed*
  (CheckFailed), not for any other reason: nbval alone would accept any exception.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from course.authoring import NOTEBOOKS, is_check_cell

_base = Path(tempfile.gettempdir())  # replaced by a fresh folder for each session


def _nbval_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_configure(config: pytest.Config) -> None:
    global _base
    os.environ["COURSE_RAISE"] = "1"
    _base = Path(tempfile.mkdtemp(prefix="course-nbval-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_base, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _nbval_cell(item):  # before nbval starts the notebook's kernel, which inherits this
        os.environ["COURSE_WORKSPACE"] = str(_base / Path(item.path).parent.name)


def _error_names(item: pytest.Item) -> list[str]:
    outputs = getattr(item, "test_outputs", None) or []
    return [out.get("ename", "") for out in outputs if out.get("output_type") == "error"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    report = yield
    if call.when != "call" or not _nbval_cell(item) or not is_check_cell(item.cell):
        return report
    if Path(item.path).parent.resolve() == NOTEBOOKS.resolve() and report.passed:
        errors = _error_names(item)
        if "CheckFailed" not in errors:
            report.outcome = "failed"
            got = ", ".join(errors) or "no error at all"
            report.longrepr = (f"{item.name}: a check cell of a learner copy must fail with "
                               f"CheckFailed; it gave {got}")
    return report



