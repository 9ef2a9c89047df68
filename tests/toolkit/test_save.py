"""%%save: files land in the workspace, nothing is lost, mistakes are loud."""

from __future__ import annotations

from pathlib import Path

import pytest
from course.learner import save


def test_saves_without_markers(tmp_path: Path) -> None:
    save.save("src/a.py", "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n", tmp_path)
    assert (tmp_path / "src/a.py").read_text() == "x = 1\ny = 2\n"


def test_keeps_the_previous_version(tmp_path: Path) -> None:
    save.save("src/a.py", "first = 1\n", tmp_path)
    save.save("src/a.py", "second = 2\n", tmp_path)
    history = list((tmp_path / ".course/history/src").glob("a.py.*"))
    assert [p.read_text() for p in history] == ["first = 1\n"]


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.py", "", "src/../../x.py"])
def test_refuses_paths_outside_the_workspace(tmp_path: Path, path: str) -> None:
    with pytest.raises(save.SaveError):
        save.save(path, "x = 1\n", tmp_path)


def test_syntax_error_is_saved_then_reported(tmp_path: Path) -> None:
    with pytest.raises(SyntaxError, match="line 2"):
        save.save("src/a.py", "x = 1\ndef f(\n", tmp_path)
    assert (tmp_path / "src/a.py").exists()


def test_unsolved_placeholder_raises(tmp_path: Path) -> None:
    source = 'def f():\n    raise NotImplementedError("Exercise 1.2: write your code here")\n'
    with pytest.raises(NotImplementedError, match="Exercise 1.2"):
        save.save("src/a.py", source, tmp_path)
