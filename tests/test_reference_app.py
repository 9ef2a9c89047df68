"""The reference app's own tests (tests/unit, tests/integration) pass, run the way a learner
runs theirs: `python -m pytest` with the solved workspace's pyproject.toml (lesson 01's
answer), in a process of their own, so the app never shares a process with the toolkit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from course.workspace import course_home


@pytest.mark.parametrize("suite", ["tests/unit", "tests/integration"])
def test_the_app_s_own_tests_pass(suite: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COURSE_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", "pyproject.toml", "-q", "-p", "no:cacheprovider",
         suite], cwd=course_home(), env=env, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-500:]
