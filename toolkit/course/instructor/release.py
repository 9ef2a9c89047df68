"""Build what learners receive: `python -m course.instructor.release [OUT] [--binder OWNER/REPO]`.

OUT (default build/release) gets the learner copies of the lessons (rendered from the
solutions, exactly as `make notebooks` does), the toolkit without its instructor part
(toolkit/course/instructor/), the hidden tests of the lessons that exist (tests/checks),
the pinned requirements, binder/, pytest.ini, the Makefile without its author-only targets
and a learner README; plus OUT.zip and OUT.tar.gz next to it.

Never in it: solution notebooks, the reference app (src/), its tests, its Terraform, the
instructor tools. The build ends with a scan that refuses a release holding solution markers.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tarfile
from pathlib import Path

from course.checks import exercises
from course.instructor import authoring
from course.workspace import course_home

COURSE_ROOT = course_home()
DEFAULT_OUT = COURSE_ROOT / "build" / "release"
STAMP = ".course-release"  # marks a folder this module may wipe and rebuild
COPIED = ("toolkit", "binder", "requirements.txt", "constraints.txt", ".gitignore", "pytest.ini")
INSTRUCTOR = Path("toolkit/course/instructor")  # never shipped
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache",
                              "*.egg-info", "build")
AUTHOR_TARGETS = ("bench", "notebooks", "release", "lint", "test-fast")  # need solutions/, dev
MARKERS = tuple(f"{edge} SOLUTION" for edge in ("BEGIN", "END"))  # spelt so: no marker here
BINDER_URL = ("https://mybinder.org/v2/gh/{repo}/HEAD"
              "?urlpath=lab%2Ftree%2Fworkspace%2Fnotebooks%2F00-welcome.ipynb")
BADGE = "[![Binder](https://mybinder.org/badge_logo.svg)]({url})"


class ReleaseError(RuntimeError):
    pass


def makefile(text: str) -> str:
    """The Makefile without its author-only targets."""
    out, skipping = [], False
    for line in text.splitlines():
        target = re.match(r"^([\w.-]+)\s*:(?!=)", line)
        if target:
            skipping = target.group(1) in AUTHOR_TARGETS
        elif skipping and (line.startswith("\t") or not line.strip()):
            continue
        else:
            skipping = False
        if skipping:
            continue
        if line.startswith(".PHONY:"):
            line = " ".join(w for w in line.split() if w not in AUTHOR_TARGETS)
        out.append(line)
    return "\n".join(out).rstrip("\n") + "\n"


def readme(binder_repo: str | None) -> str:
    badge = BADGE.format(url=BINDER_URL.format(repo=binder_repo)) if binder_repo else ""
    binder = ("the Binder badge above opens the course in your browser — but a Binder session "
              "is deleted after a while of inactivity, so download your `workspace/` folder "
              "before you leave." if binder_repo else
              "on Binder, once this release is published: `--binder OWNER/REPO` adds its badge.")
    names = {path.name[:2]: path.name for path in authoring.SOLUTIONS.glob("*.ipynb")}
    rows = "\n".join(f"| {number} | [{title}](notebooks/{names[number]}) | {time} |"
                     for number, (title, time) in exercises.lessons().items() if number in names)
    return f"""# AWS Lambda in Python — a hands-on course that runs offline

{badge}

You build one real serverless project, file by file: an HTTP API on API Gateway and DynamoDB,
an SQS worker, an S3 file processor, their tests, a deployment package and its Terraform.
Every exercise is checked the moment you ask, offline, against moto: no AWS account needed.

## Start

```bash
make lab    # first time: installs the pinned requirements into .venv (about a minute)
```

Needs Python 3.11+ and make (Linux, macOS or WSL). Stop with Ctrl-C; `make lab` again resumes:
your files, your progress and your own copies of the lessons (`workspace/notebooks/`) stay in
`workspace/`. No browser opened? Open the address `make lab` prints. No installation at all:
{binder}

The first `make lab` also fetches the wheels lessons 07 and 11 package (the wheelhouse,
about 30 MB): the only time the course needs the internet. `course.doctor()` in lesson 00
says whether it is there; `make wheelhouse` fetches it again. Lesson 08 can also run
checkov on your Terraform: `make checkov` installs it (once, about 300 MB; optional).

## Lessons

| # | Lesson | Time |
|---|---|---|
{rows}

## How a lesson works

- An exercise cell starts with `%%save src/...py`: running it writes the cell as that file of
  your project, in `workspace/` (or `$COURSE_WORKSPACE`). Earlier versions are kept in
  `workspace/.course/history/`.
- `check("1.2")` runs exercise 1.2's tests against your files and shows which behaviours pass,
  with a hint for each failure. `progress()` shows the whole course.
- `invoke(...)` runs a handler the way Lambda does; `events` builds realistic sample events.
- Importing `course` switches on a sandbox: fake AWS credentials and no network beyond this
  machine, so nothing you run can reach a real AWS account unless you opt in.

## Your work

`workspace/` is a normal project in the layout of the guideline (src/handlers, models,
services, utils; tests/; terraform/): keep it, it is yours. `make test` runs every lesson in
a scratch workspace to prove the course works on your machine.
"""


def _prepare(out: Path) -> None:
    if out.exists():
        if not (out / STAMP).exists() and any(out.iterdir()):
            raise ReleaseError(f"{out} exists and is not a release folder: not overwriting it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / STAMP).write_text("built by python -m course.instructor.release\n")


def leaks(out: Path) -> list[str]:
    """Files of the release that hold solution markers."""
    found = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace")
        if any(marker in text for marker in MARKERS):
            found.append(path.relative_to(out).as_posix())
    return found


def build(out: Path = DEFAULT_OUT, binder_repo: str | None = None) -> Path:
    """Write the release into `out` (wiped first if it is an earlier release)."""
    out = out.resolve()
    _prepare(out)
    for relative in COPIED:
        source = COURSE_ROOT / relative
        if source.is_dir():
            shutil.copytree(source, out / relative, ignore=SKIP)
        elif source.exists():
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / relative)
    shutil.rmtree(out / INSTRUCTOR)
    (out / "notebooks").mkdir()
    (out / "tests" / "checks").mkdir(parents=True)
    for solution in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        (out / "notebooks" / solution.name).write_text(authoring.render(solution))
        checks = COURSE_ROOT / "tests" / "checks" / f"lesson_{solution.name[:2]}.py"
        if checks.exists():  # a lesson still being written has no solution yet: not shipped
            shutil.copy2(checks, out / "tests" / "checks" / checks.name)
    (out / "Makefile").write_text(makefile((COURSE_ROOT / "Makefile").read_text()))
    (out / "README.md").write_text(readme(binder_repo))
    found = leaks(out)
    if found:
        raise ReleaseError(f"solution markers in the release: {', '.join(found)}")
    return out


def archive(out: Path) -> list[Path]:
    """OUT.zip and OUT.tar.gz next to OUT, each holding one top-level folder."""
    zipped = Path(shutil.make_archive(str(out), "zip", out.parent, out.name))
    tarball = out.with_name(out.name + ".tar.gz")
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(out, arcname=out.name)
    return [zipped, tarball]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.instructor.release", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--binder", default=None, metavar="OWNER/REPO",
                        help="the GitHub repository the release is published to (Binder badge)")
    args = parser.parse_args(argv)
    stale = authoring.build(check=True)
    if stale:
        print("note: the committed learner copies are out of date (the release renders its "
              f"own): {', '.join(p.name for p in stale)}", file=sys.stderr)
    try:
        out = build(args.out.resolve(), args.binder)
    except ReleaseError as exc:
        print(f"release refused: {exc}", file=sys.stderr)
        return 1
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"release: {out} ({files} files)")
    for path in archive(out):
        print(f"archive: {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
