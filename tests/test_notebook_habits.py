"""Every cell of every lesson is safe to run again: each solution notebook, run top to bottom
twice in one kernel (Run All, then Run All again), shows no error but where the lesson
expects one. (Restart & Run All is what nbval does: a fresh kernel per notebook.)"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course.checks.nbval_plugin import seed_workspace
from course.workspace import course_home
from tests.conftest import lesson_of, per_lesson

SOLUTIONS = sorted((course_home() / "solutions").glob("*.ipynb"))


def errors(cell: nbformat.NotebookNode) -> list[str]:
    return [f"{out['ename']}: {out['evalue']}"[:300] for out in cell.get("outputs", [])
            if out.get("output_type") == "error"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "notebook" in metafunc.fixturenames:
        notebooks = [p for p in SOLUTIONS if lesson_of(p.name) == metafunc.cls.lesson]
        metafunc.parametrize("notebook", notebooks, ids=[p.stem for p in notebooks])


class _RunAllTwice:
    __test__ = False
    lesson = ""

    def test_run_all_twice_in_one_kernel(self, notebook: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
        run_all_twice(notebook, tmp_path, monkeypatch)


per_lesson(globals(), _RunAllTwice, [p.name for p in SOLUTIONS])


def run_all_twice(notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_WORKSPACE", str(seed_workspace(notebook, tmp_path / "ws")))
    monkeypatch.setenv("COURSE_RAISE", "1")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                            resources={"metadata": {"path": str(notebook.parent)}})
    with client.setup_kernel():
        for run in ("first Run All", "second Run All"):
            unexpected = []
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                client.execute_cell(cell, index)
                if errors(cell) and "raises-exception" not in cell.metadata.get("tags", []):
                    unexpected.append(f"cell {index}: {errors(cell)}")
            assert not unexpected, f"{notebook.name}, {run}: {unexpected}"
