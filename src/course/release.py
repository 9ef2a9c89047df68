"""Build what learners receive: `python -m course.release [OUT] [--binder OWNER/REPO]`.

OUT (default build/release) gets the learner copies of the lessons (rendered from the
solutions, exactly as `make notebooks` does), the toolkit (src/course), the hidden tests
(tests/checks), requirements.txt, binder/, the Makefile without its author-only targets, a
pyproject.toml whose tests are the learner copies, and a learner README; plus OUT.zip and
OUT.tar.gz next to it.

Never in it: solution notebooks, the reference app (src/handlers, models, services, utils),
its tests, the reference Terraform. The build ends with a scan that refuses to produce a
release holding solution markers.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import sys
import tarfile
from pathlib import Path

import nbformat

from course import authoring
from course.workspace import COURSE_ROOT

DEFAULT_OUT = COURSE_ROOT / "build" / "release"
STAMP = ".course-release"  # marks a folder this module may wipe and rebuild
COPIED = ("src/course", "binder", "requirements.txt", "constraints.txt", ".gitignore")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")
AUTHOR_TARGETS = ("bench", "notebooks", "release", "grade")  # need solutions/, tests/…
# Toolkit modules for authors and instructors: shipped only if a shipped module imports them.
AUTHOR_MODULES = ("authoring", "release", "grading", "gradebook", "confine")
MARKERS = tuple(f"{edge} SOLUTION" for edge in ("BEGIN", "END"))  # spelt so: no marker here
TESTPATHS = re.compile(r"^(# .*\n)?testpaths\s*=.*$", re.M)
RELEASE_TESTPATHS = ("# `make test` runs every lesson's learner copy in a scratch workspace\n"
                     "# (yours is never touched): proof that the course works on this machine.\n"
                     'testpaths = ["notebooks"]')
BINDER_URL = "https://mybinder.org/v2/gh/{repo}/HEAD?urlpath=lab%2Ftree%2Fnotebooks%2F00-welcome.ipynb"
BADGE = "[![Binder](https://mybinder.org/badge_logo.svg)]({url})"


class ReleaseError(RuntimeError):
    pass


def lessons() -> list[tuple[str, str, str]]:
    """(file name, title, time estimate) of every lesson, from its opening cell."""
    found = []
    for path in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0].source
        title = re.search(r"^#\s+(?:\d+\s*·\s*)?(.+)$", first, re.M)
        time = re.search(r"\*\*Time:\*\*\s*([^·\n]+)", first)
        found.append((path.name, title.group(1).strip() if title else path.stem,
                      time.group(1).strip() if time else ""))
    return found


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


def pyproject(text: str) -> str:
    if not TESTPATHS.search(text):
        raise ReleaseError("pyproject.toml has no `testpaths = ...` line to replace")
    return TESTPATHS.sub(lambda _: RELEASE_TESTPATHS, text, count=1)


def readme(binder_repo: str) -> str:
    url = BINDER_URL.format(repo=binder_repo)
    rows = "\n".join(f"| {name[:2]} | [{title}](notebooks/{name}) | {time} |"
                     for name, title, time in lessons())
    return f"""# AWS Lambda in Python — a hands-on course that runs offline

{BADGE.format(url=url)}

You build one real serverless project, file by file: an HTTP API on API Gateway and DynamoDB,
an SQS worker, an S3 file processor, their tests, a deployment package and its Terraform.
Every exercise is checked the moment you ask, offline, against moto: no AWS account needed.

## Start

```bash
make lab    # first time: installs the pinned requirements into .venv (about a minute)
```

Needs Python 3.11+ and make (Linux, macOS or WSL). No installation at all: the Binder badge
above opens the course in your browser — but a Binder session is deleted after a while of
inactivity, so download your `workspace/` folder before you leave.

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
a scratch workspace to prove the course works on your machine; `make lint` runs ruff.
"""


def _needed_author_modules(toolkit: Path) -> set[str]:
    """Author-only toolkit modules that another shipped module imports."""
    needed = set()
    for path in toolkit.glob("*.py"):
        if path.stem in AUTHOR_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            needed |= {m for m in AUTHOR_MODULES if f"course.{m}" in names}
    return needed


def _prepare(out: Path) -> None:
    if out.exists():
        if not (out / STAMP).exists() and any(out.iterdir()):
            raise ReleaseError(f"{out} exists and is not a release folder: not overwriting it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / STAMP).write_text("built by python -m course.release\n")


def leaks(out: Path) -> list[str]:
    """Files of the release that hold solution markers (the authoring module may, by design)."""
    allowed = {f"src/course/{m}.py" for m in AUTHOR_MODULES}
    found = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        text = path.read_bytes().decode("utf-8", "replace")
        if rel not in allowed and any(marker in text for marker in MARKERS):
            found.append(rel)
    return found


def build(out: Path = DEFAULT_OUT, binder_repo: str = "OWNER/REPO") -> Path:
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
    toolkit = out / "src" / "course"
    for module in set(AUTHOR_MODULES) - _needed_author_modules(toolkit):
        (toolkit / f"{module}.py").unlink(missing_ok=True)
    (out / "notebooks").mkdir()
    (out / "tests" / "checks").mkdir(parents=True)
    for solution in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        (out / "notebooks" / solution.name).write_text(authoring.render(solution))
        checks = COURSE_ROOT / "tests" / "checks" / f"lesson_{solution.name[:2]}.py"
        if checks.exists():  # a lesson still being written has no solution yet: not shipped
            shutil.copy2(checks, out / "tests" / "checks" / checks.name)
    (out / "Makefile").write_text(makefile((COURSE_ROOT / "Makefile").read_text()))
    (out / "pyproject.toml").write_text(pyproject((COURSE_ROOT / "pyproject.toml").read_text()))
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
    parser = argparse.ArgumentParser(prog="python -m course.release", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--binder", default="OWNER/REPO", metavar="OWNER/REPO",
                        help="the GitHub repository the release is published to (Binder badge)")
    args = parser.parse_args(argv)
    stale = authoring.build(check=True)
    if stale:
        print("note: the committed learner copies are out of date (the release renders its "
              f"own): {', '.join(p.name for p in stale)}", file=sys.stderr)
    try:
        out = build(args.out, args.binder)
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
