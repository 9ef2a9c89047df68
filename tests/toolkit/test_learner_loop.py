"""The learner's loop in the kernel: names after a restart, hint steps, stale cells, views,
their own lesson copies."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from course.learner import api, lessons, save, views
from course.learner.views import Result, Verdict
from course.workspace import course_home

HELPERS = (course_home() / "src" / "utils" / "helpers.py").read_text()


def run(client, code: str) -> tuple[str, list[str]]:
    """(text output, error lines) of one cell."""
    msg_id = client.execute(code)
    text, errors = [], []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status" and content["execution_state"] == "idle":
            return "".join(text), errors
        if kind == "stream":
            text.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            text.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            errors.append("\n".join(content["traceback"]))


def test_after_a_restart_the_course_is_there_before_any_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("COURSE_RAISE", "0")
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        for _ in range(2):  # a fresh kernel, then the same after a restart
            out, errors = run(client, "print(sorted(n for n in ('check', 'progress', 'invoke', "
                                      "'events', 'restore') if n in globals()))")
            assert not errors and "['check', 'events', 'invoke', 'progress', 'restore']" in out
            out, errors = run(client, f"%%save src/utils/helpers.py\n{HELPERS}")
            assert not errors, errors
            out, errors = run(client, "check('0.1')")
            assert not errors and "all 6 checks pass" in out, (out, errors)
            manager.restart_kernel(now=True)
            client.wait_for_ready(timeout=60)
        out, errors = run(client, "import course\ncourse.doctor()\ncourse.doctor()")
        assert not errors and out.count("Set-up check: all good") == 2, (out, errors)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_placeholder_reached_from_a_demo_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_WORKSPACE", str(tmp_path))
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        run(client, '%%save src/handlers/todo.py\ndef lambda_handler(event, context):\n'
                    '    raise NotImplementedError("Exercise 2.1: write your code here")\n')
        for demo in ("from handlers.todo import lambda_handler\nlambda_handler({}, None)",
                     "invoke('handlers.todo.lambda_handler', {})"):
            _, errors = run(client, demo)
            assert len(errors) == 1 and len(errors[0].splitlines()) == 1, errors
            assert "exercise 2.1 first" in errors[0] and "src/handlers/todo.py, line 2" in \
                errors[0], errors
        _, errors = run(client, "%%save src/a.py\nx = (\n")
        assert len(errors) == 1 and "line 2 of this cell" in errors[0], errors
        assert len(errors[0].splitlines()) == 1
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_an_edited_but_unsaved_cell_is_reported(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    save.save("src/utils/helpers.py", HELPERS, tmp_path)
    time.sleep(0.01)
    notebook = tmp_path / "lesson.ipynb"
    edited = HELPERS.replace("json.dumps(body)", "json.dumps(body, indent=1)")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"%%save src/utils/helpers.py\n{edited}")])
    nbformat.write(nb, notebook)
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert api._unsaved_edits(("src/utils/helpers.py",), tmp_path) == ["src/utils/helpers.py"]
    save.save("src/utils/helpers.py", edited, tmp_path)  # the learner runs the cell
    assert api._unsaved_edits(("src/utils/helpers.py",), tmp_path) == []
    placeholder = 'def f():\n    raise NotImplementedError("Exercise 0.1: write your code here")\n'
    nb.cells[0].source = f"%%save src/utils/helpers.py\n{placeholder}"
    nbformat.write(nb, notebook)
    os.utime(notebook)  # a blank cell never counts as an edit of the learner's own file
    assert api._unsaved_edits(("src/utils/helpers.py",), tmp_path) == []


def test_hints_step_up_with_repeated_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:
    shown = []
    monkeypatch.setattr(api, "_show", shown.append)
    monkeypatch.setenv("COURSE_RAISE", "0")
    reply = Verdict("0.1", "t", [Result("a", False, "m", ["concept", "closer", "closest"])])
    monkeypatch.setattr(api._worker, "run", lambda *_: reply.to_json())
    for _ in range(5):
        api.check("0.1", project=tmp_path)
    steps = [view.plain.count("Hint") for view in shown]
    assert steps == [1, 1, 2, 2, 3]  # one more step every second failure


def test_views_render_markdown_say_a_shared_message_once_and_colour_progress() -> None:
    verdict = Verdict("0.1", "t", [Result("a", False, "same"), Result("b", False, "same"),
                                   Result("c", False, "own `x`", ["use `json.dumps`"])])
    view = views.verdict_view(verdict, checked=["src/x.py saved 14:02 (just now)"],
                              warnings=["changed"])
    assert view.html.count("same") == 1 and view.plain.count("same") == 1
    assert "<code>json.dumps</code>" in view.html and "<code>x</code>" in view.html
    assert "Checked: src/x.py saved 14:02" in view.plain and "⚠ changed" in view.plain
    partial = views.progress_view([("00", [("0.1", "t", "passed"), ("0.2", "t", "todo")])])
    assert f"--c:{views.AMBER}" in partial.html
    done = views.progress_view([("00", [("0.1", "t", "passed")])])
    assert f"--c:{views.GREEN}" in done.html


def test_lesson_copies_are_the_learners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = tmp_path / "course"
    (course / "notebooks").mkdir(parents=True)
    (course / "tests" / "checks").mkdir(parents=True)
    lesson = course / "notebooks" / "00-welcome.ipynb"
    lesson.write_text(json.dumps({"v": 1}))
    monkeypatch.setenv("COURSE_HOME", str(course))
    ws = tmp_path / "ws"
    assert lessons.sync(ws) == ["added notebooks/00-welcome.ipynb"]
    mine = ws / "notebooks" / "00-welcome.ipynb"
    assert lessons.sync(ws) == []  # nothing new: nothing said, nothing touched
    lesson.write_text(json.dumps({"v": 2}))  # a course update, learner's copy untouched
    assert lessons.sync(ws) == ["updated notebooks/00-welcome.ipynb (you had not changed it)"]
    assert json.loads(mine.read_text()) == {"v": 2}
    mine.write_text(json.dumps({"v": 2, "mine": True}))  # the learner works in it
    lesson.write_text(json.dumps({"v": 3}))
    said = lessons.sync(ws)
    assert len(said) == 1 and "beside yours" in said[0]
    assert json.loads(mine.read_text()) == {"v": 2, "mine": True}
    beside = list((ws / "notebooks").glob("00-welcome (updated *).ipynb"))
    assert len(beside) == 1 and json.loads(beside[0].read_text()) == {"v": 3}
    mine.unlink()  # deleted by the learner: a fresh copy comes back
    assert lessons.sync(ws) == ["added notebooks/00-welcome.ipynb"]


def test_working_in_the_courses_copy_is_pointed_out(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    course_copy = course_home() / "notebooks" / "00-welcome.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(course_copy))
    [warning] = api._in_the_courses_copy(tmp_path)
    assert str(tmp_path / "notebooks" / "00-welcome.ipynb") in warning
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "notebooks" / "00-welcome.ipynb"))
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00-welcome.ipynb").write_text("{}")
    assert api._in_the_courses_copy(tmp_path) == []


def test_a_question_is_answered_with_a_click_and_counted(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from course.checks import exercises
    from course.learner import progress, questions

    q = exercises.Question("0.z", "00", "What does `json.dumps({})` return?",
                           ("the dict {}", "the string '{}'"), 1,
                           ("It returns a str.", "Yes: a JSON text."))
    monkeypatch.setitem(exercises.QUESTIONS, "0.z", q)
    view = questions.ask("0.z", project=tmp_path)
    assert "Question 0.z" in repr(view) and "A) the dict {}" in repr(view)
    assert "Yes: a JSON text" not in repr(view)  # the explanations wait for an answer
    box = view.widget()
    choices, button, result = box.children[1], box.children[2], box.children[3]
    button.click()
    assert "Pick an answer first" in result.value
    choices.value = 0
    button.click()
    assert "Not quite. It returns a str." in result.value
    choices.value = 1
    button.click()
    assert "Right. Yes: a JSON text." in result.value
    entry = progress.load(tmp_path)["questions"]["0.z"]
    assert entry["right"] and entry["attempts"] == 2
    assert "? 0.z" in progress.view(tmp_path).html
