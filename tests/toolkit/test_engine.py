"""The check engine against broken learner code: every failure is a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from course import workspace
from course.checks import _engine, _worker
from course.checks.project import LearnerError
from course.learner.views import Verdict
from course.workspace import course_home


def project_with(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "src" / "utils" / "helpers.py"
    path.parent.mkdir(parents=True)
    path.write_text(source)
    return tmp_path


def messages(verdict: Verdict) -> list[str]:
    return [r.message for r in verdict.results if not r.passed]


def test_reference_passes() -> None:
    verdict = _engine.run_isolated("0.1", course_home())
    assert verdict.passed, messages(verdict)


def test_missing_file_says_which_and_how(tmp_path: Path) -> None:
    verdict = _engine.run_isolated("0.1", tmp_path)
    assert not verdict.passed
    assert all("src/utils/helpers.py does not exist yet" in m for m in messages(verdict))


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    verdict = _engine.run_isolated("0.1", project_with(tmp_path, "def json_response(\n"))
    assert "syntax error on line 1" in messages(verdict)[0]


def test_exception_at_import(tmp_path: Path) -> None:
    verdict = _engine.run_isolated("0.1", project_with(tmp_path, "x = 1 / 0\n"))
    assert "raised ZeroDivisionError" in messages(verdict)[0]


def test_exception_in_learner_code_points_at_their_line(tmp_path: Path) -> None:
    source = "def json_response(status_code, body, headers=None):\n    return body['x']\n"
    verdict = _engine.run_isolated("0.1", project_with(tmp_path, source))
    assert any("(at src/utils/helpers.py, line 2)" in m for m in messages(verdict))


def test_wrong_answer_gets_the_learner_message_and_hint(tmp_path: Path) -> None:
    source = ("def json_response(status_code, body, headers=None):\n"
              "    return {'statusCode': status_code, 'headers': {}, 'body': body}\n")
    verdict = _engine.run_isolated("0.1", project_with(tmp_path, source))
    failed = {r.name: r for r in verdict.results if not r.passed}
    assert "body is the data as a JSON string" in failed
    assert failed["body is the data as a JSON string"].hints
    assert "must be a JSON string" in failed["body is the data as a JSON string"].message


@pytest.mark.parametrize("source,expected", [
    ("def json_response(s, b, headers=None):\n    while True:\n        pass\n",
     "still running after"),
    ("while True:\n    pass\n", "did not finish in time (still at line 1)"),
    ("def json_response(s, b, headers=None):\n    while True:\n        try:\n            pass\n"
     "        except Exception:\n            pass\n", "still running after"),
])
def test_endless_loops_are_stopped(tmp_path: Path, source: str, expected: str) -> None:
    verdict = _engine.run_isolated("0.1", project_with(tmp_path, source))
    assert expected in messages(verdict)[0]
    assert len(verdict.results) == 6  # the others are reported, not lost


def test_runaway_memory(tmp_path: Path) -> None:
    source = "def json_response(s, b, headers=None):\n    return bytearray(64 * 1024**3)\n"
    verdict = _engine.run_isolated("0.1", project_with(tmp_path, source))
    assert "ran out of memory (at src/utils/helpers.py, line 2)" in messages(verdict)[0]
    assert "Not run: fix the runaway memory use" in messages(verdict)[1]


def test_process_exit_is_reported(tmp_path: Path) -> None:
    source = "import os\ndef json_response(s, b, headers=None):\n    os._exit(3)\n"
    verdict = _engine.run_isolated("0.1", project_with(tmp_path, source))
    assert "ended abruptly" in messages(verdict)[0]


def test_learner_prints_do_not_leak(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    source = "print('x' * 100000)\nimport sys\nsys.stderr.write('noise')\n"
    _engine.run_isolated("0.1", project_with(tmp_path, source))
    out, err = capfd.readouterr()
    assert "xxxx" not in out and "noise" not in err


def test_reference_app_never_shadows_a_missing_learner_module(tmp_path: Path) -> None:
    # The course's own src/ has utils/helpers.py; a learner's handler that imports it from a
    # project without it must fail on that import, not borrow the reference module.
    assert (course_home() / "src" / "utils" / "helpers.py").is_file()
    hello = tmp_path / "src" / "handlers" / "hello.py"
    hello.parent.mkdir(parents=True)
    hello.write_text("from utils.helpers import json_response\n\n\n"
                     "def lambda_handler(event, context):\n"
                     "    return json_response(200, {'message': 'hi'})\n")
    verdict = _engine.run_isolated("0.3", tmp_path)
    assert not any(r.passed for r in verdict.results)
    assert "module 'utils' was not found" in messages(verdict)[0]


def test_unknown_exercise() -> None:
    with pytest.raises(LearnerError, match="no exercise '9.9'"):
        _engine.run_isolated("9.9", course_home())


def test_worker_round_trip_and_survives_a_crash(tmp_path: Path) -> None:
    reply = _worker.run("0.1", course_home())
    assert all(r["passed"] for r in reply["results"])
    crash = project_with(tmp_path, "import os\nos.kill(os.getpid(), 9)\n")
    reply = _worker.run("0.1", crash)
    assert not any(r["passed"] for r in reply["results"])
    assert all(r["passed"] for r in _worker.run("0.1", course_home())["results"])


def _probe_exercise(monkeypatch: pytest.MonkeyPatch, body) -> str:
    """A throwaway exercise with a 0.2 s CPU limit whose one behaviour runs `body`."""
    from course.checks import exercises

    exercises.load_all()
    probe = exercises.Exercise("99.1", "probe", "99", timeout=0.2)
    probe.behaviour("runs", hint="-")(lambda project: body())
    monkeypatch.setitem(exercises.REGISTRY, "99.1", probe)
    return "99.1"


def test_a_slow_machine_is_not_an_endless_loop(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    import time

    # 0.6 s of waiting (a loaded machine, a slow disk) but almost no computing: it passes,
    # though it takes three times the CPU limit in wall-clock time.
    exercise = _probe_exercise(monkeypatch, lambda: time.sleep(0.6))
    assert _engine.run_isolated(exercise, tmp_path).passed


def test_computing_forever_and_waiting_forever_are_told_apart(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    import time

    def spin() -> None:
        while True:
            pass

    exercise = _probe_exercise(monkeypatch, spin)
    assert "still running after 0.2 s of computing" in messages(
        _engine.run_isolated(exercise, tmp_path))[0]
    exercise = _probe_exercise(monkeypatch, lambda: time.sleep(60))
    message = messages(_engine.run_isolated(exercise, tmp_path))[0]
    assert "it was waiting" in message and "or this machine is very busy" in message


def test_temporary_files_of_a_check_are_removed(tmp_path: Path) -> None:
    """Checks (and the learner's code they run) write temporary folders: none outlives it."""
    made = tmp_path / "made.txt"
    source = ("import subprocess, sys, tempfile\n"
              "mine = tempfile.mkdtemp()\n"
              "theirs = subprocess.run([sys.executable, '-c', 'import tempfile; "
              "print(tempfile.mkdtemp())'], capture_output=True, text=True).stdout.strip()\n"
              f"open({str(made)!r}, 'w').write(mine + '\\n' + theirs)\n")
    _engine.run_isolated("0.1", project_with(tmp_path, source))
    folders = [Path(line) for line in made.read_text().splitlines()]
    assert len(folders) == 2
    for folder in folders:
        assert folder.is_relative_to(workspace.scratch()), folder
        assert not folder.exists(), f"{folder} outlived the check"


def test_scratch_is_private_and_never_someone_elses(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    uid = os.getuid()
    try:
        workspace._scratch.cache_clear()
        mine = workspace.scratch()
        assert mine == tmp_path / f"course-{uid}" and mine.stat().st_mode & 0o777 == 0o700
        workspace._scratch.cache_clear()
        mine.chmod(0o777)  # as if another user had made it first, open to all
        other = workspace.scratch()
        assert other != mine and other.stat().st_mode & 0o777 == 0o700
    finally:
        workspace._scratch.cache_clear()
