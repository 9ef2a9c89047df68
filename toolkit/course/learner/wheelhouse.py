"""The wheelhouse: the wheels lessons 07 and 08 install, fetched once when the course is set up.

`python -m course.learner.wheelhouse` (run by the Makefile's install step and binder/postBuild)
downloads into `<course>/wheelhouse/`, a flat folder of wheel files:

- every pin of `PINS` for Lambda's runtime (`RUNTIME`, python3.13) on both architectures,
  manylinux2014 x86_64 and aarch64: what a deployment package holds;
- the same pins for the interpreter at hand (this machine's platform and Python): the build
  that `invoke(code=...)` can import here, to prove a zip works;
- pydantic-core for this Python on the *other* Linux architecture: lesson 07's demo of a
  compiled dependency built for the wrong platform.

Lessons then install with `pip install --no-index --find-links <wheelhouse>`: nothing is
downloaded during a lesson. Without a network at set-up the fetch says so and stops without
failing the install; `make wheelhouse` tries again.

In a lesson: `wheelhouse.path()` (raises a clear error while it is missing), `files(name)`,
`hashes(name, version)` and `wheel_tags(file)`.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from course.workspace import course_home

RUNTIME = "3.13"  # the Lambda runtime the course deploys: python3.13
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# What the app needs at run time (lesson 07's answer draws from these), and the runtime's own
# AWS SDK, for those who decide to pin it. Versions: those of the course's constraints.txt.
PINS = (
    "aws-lambda-powertools==3.37.0",
    "aws-xray-sdk==2.15.0",
    "wrapt==2.5.2",
    "pydantic==2.14.3",
    "pydantic-core==2.50.4",
    "annotated-types==0.8.0",
    "typing-extensions==4.16.0",
    "typing-inspection==0.4.5",
    "jmespath==1.1.0",
    "boto3==1.44.8",
    "botocore==1.44.8",
    "s3transfer==0.19.3",
    "python-dateutil==2.9.0.post0",
    "six==1.17.0",
    "urllib3==2.8.0",
)
WRONG_PLATFORM_DEMO = "pydantic-core==2.50.4"
MARKER = ".complete"


class WheelhouseMissing(RuntimeError):
    pass


def folder() -> Path:
    """Where the wheelhouse is (or will be): `$COURSE_WHEELHOUSE`, else <course>/wheelhouse."""
    env = os.environ.get("COURSE_WHEELHOUSE")
    return Path(env).expanduser().resolve() if env else course_home() / "wheelhouse"


def local_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def other_linux_platform() -> str:
    """manylinux2014 for the architecture this machine does not have (aarch64 on x86_64)."""
    machine = platform.machine().lower()
    return PLATFORMS["x86_64"] if machine in ("aarch64", "arm64") else PLATFORMS["arm64"]


def _key() -> str:
    text = "\n".join([*PINS, RUNTIME, local_python(), platform.machine(), sys.platform,
                      WRONG_PLATFORM_DEMO])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def complete(where: Path | None = None) -> bool:
    marker = (where or folder()) / MARKER
    return marker.is_file() and marker.read_text().strip() == _key()


def path() -> Path:
    """The wheelhouse folder; a clear error while it has not been fetched."""
    where = folder()
    if not complete(where):
        raise WheelhouseMissing(
            f"The course's wheelhouse ({where}) is missing or incomplete: it is fetched when "
            "the course is installed. Run `make wheelhouse` in the course folder, or "
            "`python -m course.learner.wheelhouse` with the course's Python (it needs the "
            "internet once; on a JupyterHub ask your instructor, who can share one folder "
            "with everyone through COURSE_WHEELHOUSE), then run this cell again.")
    return where


def _pip_download(pins: Iterable[str], dest: Path, *, python: str | None = None,
                  platform_tag: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
               "--no-deps", "--only-binary=:all:", "--dest", str(dest), "--quiet"]
    if platform_tag:
        command += ["--platform", platform_tag, "--implementation", "cp"]
    if python:
        command += ["--python-version", python]
    return subprocess.run([*command, *pins], capture_output=True, text=True, timeout=900)


def fetch(where: Path | None = None) -> bool:
    """Download every wheel the lessons need (skipped when already complete). Returns True
    when the wheelhouse is complete, False (with a message) when it could not be fetched."""
    where = where or folder()
    if complete(where):
        print(f"The wheelhouse is ready: {where}")
        return True
    where.mkdir(parents=True, exist_ok=True)
    print(f"Fetching the wheels of lessons 07-08 into {where} (once; about 25 MB) ...")
    jobs: list[tuple[tuple[str, ...], str | None, str | None]] = [
        (PINS, RUNTIME, tag) for tag in PLATFORMS.values()]
    jobs += [(PINS, None, None), ((WRONG_PLATFORM_DEMO,), local_python(), other_linux_platform())]
    for pins, python, tag in jobs:
        run = _pip_download(pins, where, python=python, platform_tag=tag)
        if run.returncode:
            last = (run.stderr.strip().splitlines() or ["pip failed"])[-1]
            print(f"Could not fetch the wheelhouse ({last[:200]}). Lessons 00-06 do not need "
                  "it; before lesson 07, run `make wheelhouse` with a network.")
            return False
    (where / MARKER).write_text(_key() + "\n")
    print(f"The wheelhouse is ready: {len(list(where.glob('*.whl')))} wheels in {where}")
    return True


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def files(name: str, version: str | None = None, where: Path | None = None) -> list[Path]:
    """The wheel files of a distribution (any spelling of its name), optionally one version."""
    found = []
    for wheel in sorted((where or path()).glob("*.whl")):
        dist, wheel_version = wheel.name.split("-")[:2]
        if _normal(dist) == _normal(name) and version in (None, wheel_version):
            found.append(wheel)
    return found


def sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def hashes(name: str, version: str, where: Path | None = None) -> dict[str, str]:
    """wheel file name -> its sha256, for every wheel of name==version in the wheelhouse."""
    return {wheel.name: sha256(wheel) for wheel in files(name, version, where)}


def wheel_tags(file: str | Path) -> tuple[str, str, str]:
    """(python tag, ABI tag, platform tag) of a wheel file name, e.g. ('cp313', 'cp313',
    'manylinux2014_aarch64.manylinux_2_17_aarch64')."""
    python_tag, abi, platform_tag = Path(file).name.removesuffix(".whl").split("-")[-3:]
    return python_tag, abi, platform_tag


def main() -> int:
    fetch()
    return 0  # never fails the install: lessons 00-06 do not need the wheelhouse


if __name__ == "__main__":
    sys.exit(main())
