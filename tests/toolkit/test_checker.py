"""The checker against broken learner code: every failure is a clear message, fast."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from course import checker, worker


def project_with(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "src" / "utils" / "helpers.py"
    path.parent.mkdir(parents=True)
    path.write_text(source)
    return tmp_path


def messages(verdict: checker.Verdict) -> list[str]:
    return [r.message for r in verdict.results if not r.passed]


def test_reference_passes() -> None:
    verdict = checker.run_isolated("0.1", Path("."))
    assert verdict.passed, messages(verdict)


def test_missing_file_says_which_and_how(tmp_path: Path) -> None:
    verdict = checker.run_isolated("0.1", tmp_path)
    assert not verdict.passed
    assert all("src/utils/helpers.py does not exist yet" in m for m in messages(verdict))


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    verdict = checker.run_isolated("0.1", project_with(tmp_path, "def json_response(\n"))
    assert "syntax error on line 1" in messages(verdict)[0]


def test_exception_at_import(tmp_path: Path) -> None:
    verdict = checker.run_isolated("0.1", project_with(tmp_path, "x = 1 / 0\n"))
    assert "raised ZeroDivisionError" in messages(verdict)[0]


def test_exception_in_learner_code_points_at_their_line(tmp_path: Path) -> None:
    source = "def json_response(status_code, body, headers=None):\n    return body['x']\n"
    verdict = checker.run_isolated("0.1", project_with(tmp_path, source))
    assert any("(at src/utils/helpers.py, line 2)" in m for m in messages(verdict))


def test_wrong_answer_gets_the_learner_message_and_hint(tmp_path: Path) -> None:
    source = ("def json_response(status_code, body, headers=None):\n"
              "    return {'statusCode': status_code, 'headers': {}, 'body': body}\n")
    verdict = checker.run_isolated("0.1", project_with(tmp_path, source))
    failed = {r.name: r for r in verdict.results if not r.passed}
    assert "body is the data as a JSON string" in failed
    assert failed["body is the data as a JSON string"].hint
    assert "must be a JSON string" in failed["body is the data as a JSON string"].message


@pytest.mark.parametrize("source,expected", [
    ("def json_response(s, b, headers=None):\n    while True:\n        pass\n",
     "still running after"),
    ("while True:\n    pass\n", "did not finish in time (still at line 1)"),
    ("def json_response(s, b, headers=None):\n    while True:\n        try:\n            pass\n"
     "        except Exception:\n            pass\n", "still running after"),
])
def test_endless_loops_are_stopped_quickly(tmp_path: Path, source: str, expected: str) -> None:
    start = time.perf_counter()
    verdict = checker.run_isolated("0.1", project_with(tmp_path, source))
    assert time.perf_counter() - start < 8
    assert expected in messages(verdict)[0]
    assert len(verdict.results) == 6  # the others are reported, not lost


def test_runaway_memory(tmp_path: Path) -> None:
    source = "def json_response(s, b, headers=None):\n    return bytearray(64 * 1024**3)\n"
    verdict = checker.run_isolated("0.1", project_with(tmp_path, source))
    assert "ran out of memory (at src/utils/helpers.py, line 2)" in messages(verdict)[0]
    assert "Not run: fix the runaway memory use" in messages(verdict)[1]


def test_process_exit_is_reported(tmp_path: Path) -> None:
    source = "import os\ndef json_response(s, b, headers=None):\n    os._exit(3)\n"
    verdict = checker.run_isolated("0.1", project_with(tmp_path, source))
    assert "ended abruptly" in messages(verdict)[0]


def test_learner_prints_do_not_leak(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    source = "print('x' * 100000)\nimport sys\nsys.stderr.write('noise')\n"
    checker.run_isolated("0.1", project_with(tmp_path, source))
    out, err = capfd.readouterr()
    assert "xxxx" not in out and "noise" not in err


def test_reference_app_never_shadows_a_missing_learner_module(tmp_path: Path) -> None:
    # The course's own src/ has handlers/hello.py; a learner without it must fail.
    verdict = checker.run_isolated("0.3", tmp_path)
    assert not any(r.passed for r in verdict.results)


def test_unknown_exercise() -> None:
    with pytest.raises(Exception, match="no exercise '9.9'"):
        checker.run_isolated("9.9", Path("."))


def test_worker_round_trip_and_survives_a_crash(tmp_path: Path) -> None:
    reply = worker.run("0.1", Path(".").resolve())
    assert all(r["passed"] for r in reply["results"])
    crash = project_with(tmp_path, "import os\nos.kill(os.getpid(), 9)\n")
    reply = worker.run("0.1", crash)
    assert not any(r["passed"] for r in reply["results"])
    assert all(r["passed"] for r in worker.run("0.1", Path(".").resolve())["results"])


def test_without_fork_a_fresh_interpreter_does_the_same(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.delattr(os, "fork")  # as on Windows
    assert checker.run_isolated("0.1", Path(".").resolve()).passed
    verdict = checker.run_isolated("0.1", tmp_path)
    assert not any(r.passed for r in verdict.results)
    assert "does not exist yet" in verdict.results[0].message
