"""%%save and restore: files land in the workspace, nothing is lost, mistakes are one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from course.learner import save

PLACEHOLDER = 'def f():\n    raise NotImplementedError("Exercise 1.2: write your code here")\n'


def test_saves_without_markers(tmp_path: Path) -> None:
    save.save("src/a.py", "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n", tmp_path)
    assert (tmp_path / "src/a.py").read_text() == "x = 1\ny = 2\n"


def test_a_saved_file_ends_with_a_newline(tmp_path: Path) -> None:
    save.save("src/a.py", "x = 1", tmp_path)  # a cell's text has no final newline
    assert (tmp_path / "src/a.py").read_text() == "x = 1\n"


def test_keeps_the_previous_version_and_says_how_to_restore(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save.save("src/a.py", "first = 1\n", tmp_path)
    save.save("src/a.py", "second = 2\n", tmp_path)
    history = list((tmp_path / ".course/history/src").glob("a.py.*"))
    assert [p.read_text() for p in history] == ["first = 1\n"]
    assert 'restore("src/a.py") brings it back' in capsys.readouterr().out


def test_saving_the_same_text_keeps_no_copy(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    save.save("src/a.py", "x = 1\n", tmp_path)
    save.save("src/a.py", "x = 1\n", tmp_path)
    assert not (tmp_path / ".course/history").exists()
    assert "unchanged" in capsys.readouterr().out


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.py", "", "src/../../x.py"])
def test_refuses_paths_outside_the_workspace(tmp_path: Path, path: str) -> None:
    with pytest.raises(save.SaveError):
        save.save(path, "x = 1\n", tmp_path)


def test_syntax_error_is_saved_then_reported_with_the_cell_line(tmp_path: Path) -> None:
    with pytest.raises(save.SavedWithSyntaxError, match="line 3 of this cell") as caught:
        save.save("src/a.py", "x = 1\ndef f(\n", tmp_path, cell_offset=1)
    assert (tmp_path / "src/a.py").exists()
    assert not isinstance(caught.value, SyntaxError)  # IPython would add its own traceback
    assert len(caught.value._render_traceback_()) == 1


def test_unsolved_placeholder_raises(tmp_path: Path) -> None:
    with pytest.raises(save.ExerciseNotFinished, match="Exercise 1.2"):
        save.save("src/a.py", PLACEHOLDER, tmp_path)
    assert (tmp_path / "src/a.py").read_text() == PLACEHOLDER  # a new file: the scaffold


def test_a_placeholder_never_replaces_the_learners_own_file(tmp_path: Path) -> None:
    save.save("src/a.py", "def f():\n    return 42\n", tmp_path)
    with pytest.raises(save.ExerciseNotFinished, match="Kept your src/a.py, saved .*exercise 1.2"):
        save.save("src/a.py", PLACEHOLDER, tmp_path)
    assert (tmp_path / "src/a.py").read_text() == "def f():\n    return 42\n"
    assert not (tmp_path / ".course/history").exists()


def test_restore_brings_back_each_version_and_can_be_undone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for n in (1, 2, 3):
        save.save("src/a.py", f"v = {n}\n", tmp_path)
        time.sleep(0.002)  # distinct stamps
    assert len(save.versions("src/a.py", tmp_path)) == 2
    save.restore("src/a.py", project=tmp_path)
    assert (tmp_path / "src/a.py").read_text() == "v = 2\n"
    out = capsys.readouterr().out
    assert "Restored src/a.py to the version saved at" in out
    assert 'restore("src/a.py", 2)' in out  # the other versions, each with its command
    save.restore("src/a.py", project=tmp_path)  # again: back to what it replaced
    assert (tmp_path / "src/a.py").read_text() == "v = 3\n"
    save.restore("src/a.py", 2, project=tmp_path)
    assert (tmp_path / "src/a.py").read_text() == "v = 1\n"
    texts = sorted(p.read_text() for p, _ in save.versions("src/a.py", tmp_path))
    assert texts == ["v = 2\n", "v = 3\n"]  # nothing lost


def test_restore_without_versions_or_with_a_bad_number_says_so(tmp_path: Path) -> None:
    with pytest.raises(save.NothingToRestore, match="no earlier version"):
        save.restore("src/a.py", project=tmp_path)
    save.save("src/a.py", "v = 1\n", tmp_path)
    save.save("src/a.py", "v = 2\n", tmp_path)
    with pytest.raises(save.NothingToRestore, match="from 1 \\(the newest\\) to 1"):
        save.restore("src/a.py", 5, project=tmp_path)


def test_restore_lists_the_files_with_versions(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    save.restore(project=tmp_path)
    assert "No file has an earlier version yet" in capsys.readouterr().out
    save.save("src/a.py", "v = 1\n", tmp_path)
    save.save("src/a.py", "v = 2\n", tmp_path)
    save.restore(project=tmp_path)
    assert 'src/a.py: 1 earlier version(s)' in capsys.readouterr().out


def test_load_saved_puts_the_learners_file_in_a_save_cell(tmp_path: Path) -> None:
    with pytest.raises(save.ExerciseNotFinished, match="does not exist yet"):
        save.load_saved("src/a.py", tmp_path)
    save.save("src/a.py", "def f():\n    return 42\n", tmp_path)
    text, message = save.load_saved("src/a.py", tmp_path)
    assert text == "%%save src/a.py\ndef f():\n    return 42\n"
    assert message.startswith("Loaded your src/a.py, saved ")


def test_ago() -> None:
    from datetime import datetime, timedelta

    now = datetime(2026, 11, 30, 14, 5)
    assert save.ago(now - timedelta(seconds=20), now) == "14:04 (just now)"
    assert save.ago(now - timedelta(minutes=3), now) == "14:02 (3 minutes ago)"
    assert save.ago(now - timedelta(minutes=61), now) == "13:04 (1 hour ago)"
