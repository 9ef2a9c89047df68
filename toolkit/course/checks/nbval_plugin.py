"""pytest hooks for running the course notebooks under nbval (`-p course.checks.nbval_plugin`).

* Checks raise on failure (COURSE_RAISE=1), so nbval sees them.
* Notebooks never touch the learner's real workspace: each notebook runs in a fresh temporary
  one, holding what the earlier lessons of its folder save (a lesson builds on the last), so
  notebooks can run in any order, on several cores.
* In a learner copy every `check(...)` cell must fail *because the check failed*
  (CheckFailed), not for any other reason: nbval alone would accept any exception.
* Every cell is safe to run again: after its last cell, a solution notebook runs top to
  bottom a second time in the same kernel ("Run All again"), and no cell may fail there but
  those tagged `raises-exception`. (Restart & Run All is what nbval itself does.)
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from course.learner import save
from course.workspace import course_home, create_layout

CHECK_CALL = re.compile(r"^\s*check\(", re.M)


def is_check_cell(cell: Any) -> bool:
    return cell["cell_type"] == "code" and bool(CHECK_CALL.search(cell["source"]))


_base = Path(tempfile.gettempdir())  # replaced by a fresh folder for each session


def _nbval_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_configure(config: pytest.Config) -> None:
    global _base
    os.environ["COURSE_RAISE"] = "1"
    _base = Path(tempfile.mkdtemp(prefix="course-nbval-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_base, ignore_errors=True)


def seed_workspace(notebook: Path, workspace: Path) -> Path:
    """Fill `workspace` with what the notebooks before this one (same folder) save, in the
    layout lesson 01 creates: where a learner who did the earlier lessons starts this one."""
    workspace.mkdir(parents=True, exist_ok=True)
    if notebook.name[:2] > "01":
        create_layout(workspace)
    for earlier in sorted(notebook.parent.glob("*.ipynb")):
        if earlier.name >= notebook.name:
            break
        for relative, text in save.saved_cells(earlier):
            target = workspace / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return workspace


def _workspace_for(notebook: Path) -> Path:
    workspace = _base / notebook.parent.name / notebook.stem
    return workspace if workspace.exists() else seed_workspace(notebook, workspace)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _nbval_cell(item):  # before nbval starts the notebook's kernel, which inherits this
        os.environ["COURSE_WORKSPACE"] = str(_workspace_for(Path(item.path)))


RERUN_TIMEOUT = 120  # seconds per cell, as --nbval-cell-timeout


class RunAllAgain(pytest.Item):
    """A solution notebook run top to bottom a second time, in the kernel nbval ran it in."""

    def runtest(self) -> None:
        kernel = getattr(self.parent, "kernel", None)
        assert kernel is not None and kernel.is_alive(), "the notebook's kernel is gone"
        unexpected = []
        notebook: Any = self.parent  # nbval's IPyNbFile: its kernel and its cells
        for number, cell in enumerate(notebook.nb.cells):
            if cell.cell_type != "code":
                continue
            msg_id = kernel.execute_cell_input(cell.source, allow_stdin=False)
            while True:  # the execute_reply says whether the cell raised
                reply = kernel.get_message(stream="shell", timeout=RERUN_TIMEOUT)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            kernel.await_idle(msg_id, RERUN_TIMEOUT)
            content = reply["content"]
            if content["status"] == "error" and "raises-exception" not in cell.metadata.get(
                    "tags", []):
                unexpected.append(f"cell {number}: {content.get('ename')}: "
                                  f"{str(content.get('evalue'))[:200]}")
        assert not unexpected, f"Run All a second time failed: {unexpected}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(self.path), 0, f"{self.path.name}: Run All again"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each solution notebook ends with a second Run All in its kernel."""
    solutions = (course_home() / "solutions").resolve()
    last: dict[Any, int] = {}
    for index, item in enumerate(items):
        if _nbval_cell(item) and Path(item.path).parent.resolve() == solutions:
            last[item.parent] = index
    for notebook, index in sorted(last.items(), key=lambda pair: -pair[1]):
        items.insert(index + 1, RunAllAgain.from_parent(notebook, name="Run All again"))


def _error_names(item: pytest.Item) -> list[str]:
    outputs = getattr(item, "test_outputs", None) or []
    return [out.get("ename", "") for out in outputs if out.get("output_type") == "error"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                               call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    cell = getattr(item, "cell", None)  # nbval's cell items carry their notebook cell
    if call.when != "call" or cell is None or not is_check_cell(cell):
        return report
    learner_copy = Path(item.path).parent.resolve() == (course_home() / "notebooks").resolve()
    if learner_copy and report.passed:
        errors = _error_names(item)
        if "CheckFailed" not in errors:
            report.outcome = "failed"
            got = ", ".join(errors) or "no error at all"
            report.longrepr = (f"{item.name}: a check cell of a learner copy must fail with "
                               f"CheckFailed; it gave {got}")
    return report



