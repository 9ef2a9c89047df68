"""The wheelhouse of lessons 07-08: where it is, when it counts as complete, what it reports."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from course.learner import wheelhouse


@pytest.fixture
def house(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COURSE_WHEELHOUSE", str(tmp_path))
    return tmp_path


def test_an_empty_wheelhouse_is_reported_with_the_command_that_fills_it(house: Path) -> None:
    with pytest.raises(wheelhouse.WheelhouseMissing, match="make wheelhouse"):
        wheelhouse.path()


def test_files_hashes_and_tags_of_the_wheels(house: Path) -> None:
    for name in ("pydantic_core-2.50.4-cp313-cp313-manylinux2014_aarch64.whl",
                 "pydantic_core-2.50.4-cp313-cp313-manylinux2014_x86_64.whl",
                 "pydantic_core-2.41.0-cp313-cp313-manylinux2014_x86_64.whl",
                 "jmespath-1.1.0-py3-none-any.whl"):
        (house / name).write_bytes(name.encode())
    (house / wheelhouse.MARKER).write_text(wheelhouse._key())
    assert wheelhouse.path() == house
    assert len(wheelhouse.files("Pydantic-Core")) == 3  # any spelling of the name
    found = wheelhouse.hashes("pydantic-core", "2.50.4")
    assert len(found) == 2 and all(digest == hashlib.sha256(name.encode()).hexdigest()
                                   for name, digest in found.items())
    assert wheelhouse.wheel_tags("jmespath-1.1.0-py3-none-any.whl") == ("py3", "none", "any")
    assert wheelhouse.wheel_tags(next(iter(found)))[0] == "cp313"


def test_a_wheelhouse_of_other_pins_is_incomplete(house: Path) -> None:
    (house / wheelhouse.MARKER).write_text("another-key\n")
    assert not wheelhouse.complete()


def test_fetch_downloads_every_target_once_then_skips(house: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str | None, str | None]] = []

    class Done:
        returncode = 0
        stderr = ""

    def download(pins, dest, *, python=None, platform_tag=None):
        calls.append((python, platform_tag))
        return Done()

    monkeypatch.setattr(wheelhouse, "_pip_download", download)
    assert wheelhouse.fetch() is True
    assert (wheelhouse.RUNTIME, "manylinux2014_aarch64") in calls
    assert (wheelhouse.RUNTIME, "manylinux2014_x86_64") in calls
    assert (None, None) in calls  # this interpreter's own wheels
    count = len(calls)
    assert wheelhouse.fetch() is True and len(calls) == count  # complete: nothing again


def test_a_failed_fetch_says_so_and_does_not_fail_the_install(
        house: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class Failed:
        returncode = 1
        stderr = "ERROR: Could not find a version that satisfies the requirement\n"

    monkeypatch.setattr(wheelhouse, "_pip_download", lambda *a, **k: Failed())
    assert wheelhouse.fetch() is False
    assert wheelhouse.main() == 0
    assert "make wheelhouse" in capsys.readouterr().out
    assert not wheelhouse.complete()
