"""The nbval plugin: a solution notebook must survive a second Run All in its kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from course.workspace import course_home


def run_pytest(course: Path, notebook: Path) -> subprocess.CompletedProcess[str]:
    (course / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "COURSE_HOME": str(course)}
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "course.checks.nbval_plugin", "--nbval-lax", "--nbval-current-env", "-c",
         str(course / "pytest.ini"), str(notebook)], cwd=course, env=env, capture_output=True,
        text=True, timeout=300)


def test_a_cell_that_breaks_on_a_second_run_all_is_caught(tmp_path: Path) -> None:
    for folder in ("solutions", "notebooks", "tests/checks"):
        (tmp_path / folder).mkdir(parents=True)
    notebook = tmp_path / "solutions" / "00-once.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("assert 'seen' not in globals(), 'ran before'\nseen = 1"),
        nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),
    ])
    nbformat.write(nb, notebook)
    proc = run_pytest(tmp_path, notebook)
    assert "1 failed, 2 passed" in proc.stdout, proc.stdout[-2000:]
    assert "Run All a second time failed: ['cell 0: AssertionError: ran before']" in proc.stdout
    nb.cells[0].source = "seen = 1"  # safe to run again; the tagged error is expected
    nbformat.write(nb, notebook)
    assert "3 passed" in run_pytest(tmp_path, notebook).stdout
    assert course_home() != tmp_path
