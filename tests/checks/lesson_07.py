"""Hidden tests for lesson 07 (dependencies and packaging). Messages are written for the learner.

Everything installs from the course's wheelhouse (`course.learner.wheelhouse`), never from
the internet: pip runs with no configuration file of this machine and, where a behaviour
proves that nothing reaches a package index, with an index on loopback that records requests.

- 7.1 reads requirements-lambda.txt against the wheelhouse's wheels (versions, tags, hashes,
  Requires-Dist) and imports every module of the learner's src/ in a fresh interpreter that
  has only the pinned packages (built for this interpreter) and the runtime's AWS SDK.
- 7.2-7.4 import build_lambda.py and call its functions with the check's own requirements
  file (the lesson's runtime pins, with every hash the wheelhouse has), so a mistake in 7.1
  does not fail them; 7.4 runs the two zips with `invoke(code=..., layers=...)`.
- 7.5 reads the Dockerfile (no Docker engine is assumed).
No working build script is written in this file: it ships to learners.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.checks import LearnerError, Project, exercise, question
from course.checks.kit import once

REQUIREMENTS = "requirements-lambda.txt"
BUILD = "build_lambda.py"
DOCKERFILE = "Dockerfile"
RUNTIME = (3, 13)
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}
# The Lambda runtime's own AWS SDK: present in every python3.x runtime, next to the stdlib.
SDK = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
SDK_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
APP_PACKAGES = {"handlers", "models", "services", "utils"}
# The runtime dependencies the lesson pins: the check's own requirements file for 7.2-7.4.
CHECK_PINS = ("aws-lambda-powertools==3.37.0", "aws-xray-sdk==2.15.0", "wrapt==2.5.2",
              "jmespath==1.1.0", "pydantic==2.14.3", "pydantic-core==2.50.4",
              "annotated-types==0.8.0", "typing-extensions==4.16.0", "typing-inspection==0.4.5")
CACHE_NAMES = ("__pycache__", ".pytest_cache")
# Options pip accepts in a requirements file that only make an install stricter.
SAFE_OPTIONS = ("--require-hashes", "--only-binary", "--prefer-binary")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wheelhouse() -> Path:
    from course.learner import wheelhouse

    try:
        return wheelhouse.path()
    except wheelhouse.WheelhouseMissing as exc:
        raise LearnerError(str(exc)) from None


# --- requirements files -------------------------------------------------------------------


@dataclass
class Pin:
    line: str  # the requirement as written (without its options)
    name: str = ""
    extras: frozenset[str] = frozenset()
    version: str | None = None  # set only for exactly one `==` specifier
    hashes: set[str] = field(default_factory=set)
    problem: str = ""


def _logical_lines(text: str) -> list[str]:
    """The file's requirement lines: continuations joined, comments and blank lines dropped."""
    joined, current = [], ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            joined.append(current.strip())
        current = ""
    if current.strip():
        joined.append(current.strip())
    return joined


def _parse(text: str) -> list[Pin]:
    from packaging.requirements import InvalidRequirement, Requirement

    pins = []
    for line in _logical_lines(text):
        tokens = line.split()
        spec_tokens, hashes, index = [], set(), 0
        while index < len(tokens):
            token = tokens[index]
            if token.startswith("--hash"):
                value = token.partition("=")[2] if "=" in token else (
                    tokens[index + 1] if index + 1 < len(tokens) else "")
                index += 1 if "=" in token else 2
                hashes.add(value.removeprefix("sha256:").lower())
                continue
            spec_tokens.append(token)
            index += 1
        spec = " ".join(spec_tokens)
        if spec_tokens and spec_tokens[0].split("=")[0] in SAFE_OPTIONS:
            continue  # pip reads these from the file too; they only make the install stricter
        pin = Pin(spec, hashes=hashes)
        if not spec or spec.startswith("-"):
            pin.problem = (f"{spec or line!r} is an option, not a requirement: the file holds "
                           "only pins (name==version) with their hashes")
        else:
            try:
                requirement = Requirement(spec)
            except InvalidRequirement:
                pin.problem = f"{spec!r} is not a requirement pip understands"
            else:
                pin.name, pin.extras = _normal(requirement.name), frozenset(requirement.extras)
                specifiers = list(requirement.specifier)
                if requirement.url:
                    pin.problem = f"{spec!r} installs from a URL, not a pinned version"
                elif (len(specifiers) == 1 and specifiers[0].operator in ("==", "===")
                      and "*" not in specifiers[0].version):
                    pin.version = specifiers[0].version
        pins.append(pin)
    return pins


def _pins(project: Project) -> list[Pin]:
    text = project.require(REQUIREMENTS).read_text(errors="replace")
    if "NotImplementedError" in text:
        raise LearnerError(f"{REQUIREMENTS} still holds the exercise's placeholder: write your "
                           "pins in the cell and run it again.")
    pins = _parse(text)
    assert pins, f"{REQUIREMENTS} holds no requirement at all"
    return pins


# --- the wheelhouse's wheels ---------------------------------------------------------------


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str
    version: str
    tags: frozenset[Any]

    @property
    def sha256(self) -> str:
        return _sha256(self.path)


@once
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@once
def _wheels() -> tuple[Wheel, ...]:
    from packaging.utils import parse_wheel_filename

    found = []
    for path in sorted(_wheelhouse().glob("*.whl")):
        name, version, _, tags = parse_wheel_filename(path.name)
        found.append(Wheel(path, _normal(str(name)), str(version), frozenset(tags)))
    return tuple(found)


@once
def _runtime_tags(arch: str) -> frozenset[Any]:
    """The wheel tags pip accepts for python3.13 on Lambda's Linux for `arch`."""
    from packaging import tags

    machine = ARCHES[arch]
    platforms = [f"manylinux_2_17_{machine}", f"manylinux2014_{machine}",
                 f"manylinux_2_12_{machine}", f"manylinux2010_{machine}",
                 f"manylinux_2_5_{machine}", f"manylinux1_{machine}"]
    return frozenset([*tags.cpython_tags(RUNTIME, platforms=platforms),
                      *tags.compatible_tags(RUNTIME, "cp313", platforms=platforms)])


def _runtime_wheels(name: str, version: str, arch: str) -> list[Wheel]:
    accepted = _runtime_tags(arch)
    return [w for w in _wheels() if w.name == name and w.version == version
            and w.tags & accepted]


def _requires(name: str, version: str, extras: frozenset[str]) -> list[Any]:
    """The Requires-Dist of name==version that apply on python3.13 Linux, with `extras`."""
    from email.parser import Parser

    from packaging.requirements import Requirement

    wheels = [w for w in _wheels() if w.name == name and w.version == version]
    if not wheels:
        return []
    with zipfile.ZipFile(wheels[0].path) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(meta).decode("utf-8", "replace"))
    found = []
    for line in message.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        environments = [{"extra": extra} for extra in extras or {""}]
        if requirement.marker is None or any(
                requirement.marker.evaluate({"python_version": "3.13",
                                             "python_full_version": "3.13.0",
                                             "sys_platform": "linux",
                                             "platform_system": "Linux",
                                             "platform_machine": "aarch64", **env})
                for env in environments):
            found.append(requirement)
    return found


@once
def _module_owners() -> dict[str, str]:
    """Top-level module name -> the distribution whose wheel in the wheelhouse holds it."""
    owners: dict[str, str] = {}
    for wheel in _wheels():
        with zipfile.ZipFile(wheel.path) as archive:
            for entry in archive.namelist():
                top = entry.split("/")[0]
                if top.endswith((".dist-info", ".data")) or top.endswith("-stubs"):
                    continue
                top = top.split(".")[0] if "/" not in entry else top
                owners.setdefault(top, wheel.name)
    return owners


def _src_imports(project: Project) -> set[str]:
    """The top-level modules the learner's src/ imports (stdlib and the app left out)."""
    import ast

    names: set[str] = set()
    for path in sorted(project.src.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in APP_PACKAGES
            and n != "__future__"}


def _uses_tracer(project: Project) -> bool:
    return any(re.search(r"\bTracer\s*\(", p.read_text(errors="replace"))
               for p in project.src.rglob("*.py"))


def _needed(project: Project) -> tuple[set[str], list[str]]:
    """(distributions the app needs at run time, modules no wheel of the wheelhouse holds)."""
    owners = _module_owners()
    top, unknown = set(), []
    for module in sorted(_src_imports(project)):
        if module in owners:
            top.add(owners[module])
        else:
            unknown.append(module)
    if _uses_tracer(project):
        top.add("aws-xray-sdk")  # Tracer() imports the X-Ray SDK: Powertools' tracer extra
    versions = {w.name: w.version for w in _wheels()}
    needed, todo = set(), sorted(top)
    while todo:
        name = todo.pop()
        if name in needed or name not in versions:
            continue
        needed.add(name)
        todo += [_normal(r.name) for r in _requires(name, versions[name], frozenset())]
    return needed, unknown


# --- running pip and Python ----------------------------------------------------------------


@contextlib.contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    """Whatever this process and its subprocesses write to fd 1 and 2 inside the block."""
    out = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = [os.dup(1), os.dup(2)]
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            out.write(sink.read().decode("utf-8", "replace"))


def _pip_said(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["(nothing)"])[0][:300]


def _pip_env() -> dict[str, str]:
    """pip with no configuration of this machine: only what the call itself says counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_INPUT": "1", "PIP_RETRIES": "0", "PIP_TIMEOUT": "3"})
    return env


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _install_for_here(pins: list[tuple[str, str]], target: Path) -> str:
    """Install name==version pins for this interpreter from the wheelhouse, without hashes
    (the check's own tool, not the learner's): returns pip's error, '' on success."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
               "--no-index", "--find-links", str(_wheelhouse()), "--only-binary=:all:",
               "--target", str(target), *[f"{n}=={v}" for n, v in pins]]
    run = subprocess.run(command, capture_output=True, text=True, env=_pip_env(), timeout=120)
    return _pip_said(run.stderr) if run.returncode else ""


@once
def _sdk_dir() -> str:
    """A folder holding only the runtime's AWS SDK (links into this environment)."""
    import importlib.util

    folder = Path(tempfile.mkdtemp(prefix="course-sdk-"))
    for module in SDK_MODULES:
        spec = importlib.util.find_spec(module)
        if spec and spec.origin:
            origin = Path(spec.origin)
            source = origin.parent if origin.name == "__init__.py" else origin
            (folder / source.name).symlink_to(source)
    return str(folder)


def _import_isolated(modules: list[str], paths: list[str]) -> dict[str, str]:
    """Import each module in a fresh interpreter whose only packages are `paths` and the
    runtime's AWS SDK: module -> '' or the error it raised."""
    script = (
        "import importlib, json, sys\n"
        f"sys.path[:0] = {[*paths, _sdk_dir()]!r}\n"
        "result = {}\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        result[name] = ''\n"
        "    except BaseException as exc:\n"
        "        result[name] = f'{type(exc).__name__}: {exc}'[:300]\n"
        "print(json.dumps(result))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "us-east-1")})
    run = subprocess.run([sys.executable, "-S", "-E", "-c", script], capture_output=True,
                         text=True, timeout=60, env=env)
    try:
        return json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {name: f"the interpreter failed: {_pip_said(run.stderr)}" for name in modules}


def _app_modules(src: Path) -> list[str]:
    names = []
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src).with_suffix("")
        if relative.parts[0] in APP_PACKAGES and "__pycache__" not in relative.parts:
            names.append(".".join(relative.parts).removesuffix(".__init__"))
    return names


def _requirements_text(pins: tuple[str, ...] = CHECK_PINS, *, hashes: bool = True) -> str:
    """A requirements file for `pins` with every hash the wheelhouse has for them."""
    lines = []
    for pin in pins:
        name, version = pin.split("==")
        digests = sorted(w.sha256 for w in _wheels() if w.name == _normal(name)
                         and w.version == version) if hashes else []
        lines.append(" ".join([pin, *[f"--hash=sha256:{d}" for d in digests]]))
    return "\n".join(lines) + "\n"


# --- 7.1 ------------------------------------------------------------------------------------

ex71 = exercise("7.1", "Runtime requirements, pinned with hashes", files=[REQUIREMENTS],
                timeout=6)


def _named(pins: list[Pin]) -> list[Pin]:
    return [p for p in pins if p.name]


@ex71.behaviour("every requirement is pinned to exactly one version (==)",
                hint=["Lesson 07, 'Three requirement files': the file that builds the zip pins "
                      "each package to one version, so every build installs the same code.",
                      "A range (>=, ~=) or a bare name lets pip pick whatever is newest on the "
                      "day you build; hash-checking refuses them too."])
def _(project: Project) -> None:
    pins = _pins(project)
    problems = [p.problem for p in pins if p.problem]
    assert not problems, problems[0]
    loose = [p.line for p in pins if p.version is None]
    assert not loose, (
        f"not pinned to one version: {', '.join(loose)}. Each line names one exact version "
        "(name==version): a range installs whatever is newest on the day you build")


@ex71.behaviour("each pinned version has wheels for python3.13 on arm64 and x86_64",
                hint=["Lesson 07, 'Three requirement files': the versions to pin are the ones "
                      "the course's wheelhouse holds (section 2 lists them); a lesson never "
                      "downloads.",
                      "The guideline's versions are from 2023: Powertools 2 and pydantic 1 have "
                      "no wheels for python3.13 in the wheelhouse."])
def _(project: Project) -> None:
    missing = []
    for pin in _named(_pins(project)):
        if pin.version is None:
            continue
        for arch in ARCHES:
            if not _runtime_wheels(pin.name, pin.version, arch):
                missing.append(f"{pin.name}=={pin.version} ({arch})")
                break
    assert not missing, (
        f"the wheelhouse has no wheel for python3.13 of {', '.join(missing)}. Pin the versions "
        "the lesson uses: a version without a python3.13 wheel for Lambda's Linux either does "
        "not install or has to be compiled on your machine")


@ex71.behaviour("every pin lists the hashes of its wheels for both architectures",
                hint=["Lesson 07, 'Hashes': with a hash on each pin, pip refuses any file whose "
                      "SHA-256 differs. A compiled package has one wheel per platform, each with "
                      "its own hash.",
                      "Hashes taken from an install on your laptop cover only your laptop's "
                      "wheel: list the hash of the arm64 and of the x86_64 python3.13 wheel "
                      "(section 3's cell prints them all)."])
def _(project: Project) -> None:
    pins = [p for p in _named(_pins(project)) if p.version]
    unhashed = [p.name for p in pins if not p.hashes]
    assert not unhashed, (
        f"no --hash for {', '.join(unhashed)}: without hashes, pip installs whatever file the "
        "index serves under that name and version")
    for pin in pins:
        for arch in ARCHES:
            wheels = _runtime_wheels(pin.name, pin.version or "", arch)
            uncovered = [w.path.name for w in wheels if w.sha256 not in pin.hashes]
            assert not uncovered, (
                f"{pin.name}=={pin.version}: no hash for {uncovered[0]}, the wheel pip "
                f"installs for python3.13 on {arch}. pip would refuse to build for {arch}: "
                "list the hash of every wheel you deploy")


def _pip_dry_run(requirements: Path, arch: str) -> str:
    """pip's own verdict on a requirements file, as the build runs it for Lambda's `arch`
    (resolved and hash-checked from the wheelhouse, nothing installed): '' or pip's error."""
    from course.learner import wheelhouse

    target = _scratch("dry-run")
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet",
               "--requirement", str(requirements), "--target", str(target),
               "--require-hashes", "--no-deps", "--only-binary=:all:", "--no-index",
               "--find-links", str(_wheelhouse()), "--platform", wheelhouse.PLATFORMS[arch],
               "--implementation", "cp", "--python-version", ".".join(map(str, RUNTIME))]
    run = subprocess.run(command, capture_output=True, text=True, env=_pip_env(), timeout=120)
    return _pip_said(run.stderr) if run.returncode else ""


@ex71.behaviour("pip installs the file as written, hash-checked, for arm64 and for x86_64",
                hint=["Lesson 07, 'Hashes': the build hands this very file to pip with "
                      "--require-hashes; pip reads it line by line, and a `\\` continues a "
                      "line only when it is the line's very last character.",
                      "Run pip install --dry-run with the build's options on your file (section "
                      "2's resolve() shows how) and read its first ERROR line: a comment or a "
                      "space after a `\\`, or a hash that is not lower-case hex as pip prints "
                      "it, are the usual causes."])
def _(project: Project) -> None:
    path = project.require(REQUIREMENTS)
    _pins(project)  # the placeholder and an empty file have their own messages
    for arch in ARCHES:
        error = _pip_dry_run(path, arch)
        assert not error, (
            f"pip refuses {REQUIREMENTS} for python3.13 on {arch}: {error}. The build installs "
            "this file as it is, so the zip could not be built")


@ex71.behaviour("every module of src/ imports with only the pinned packages and the runtime's SDK",
                hint=["Lesson 07, 'What goes into the zip': Lambda's Python has the standard "
                      "library and boto3, nothing else. Everything else your code imports "
                      "comes from this file — and what those packages import in turn.",
                      "Installed with --no-deps, nothing is added for you: pin the packages "
                      "your packages need too (pip's --dry-run --report in section 2 lists them), "
                      "and remember the extra that Tracer needs."])
def _(project: Project) -> None:
    pins = [(p.name, p.version) for p in _named(_pins(project)) if p.version]
    available = {(w.name, w.version) for w in _wheels()}
    target = Path(tempfile.mkdtemp(prefix="course-pins-"))
    error = _install_for_here([pin for pin in pins if pin in available], target)
    assert not error, f"installing your pins failed: {error}"
    results = _import_isolated(_app_modules(project.src), [str(project.src), str(target)])
    failed = {name: why for name, why in results.items() if why}
    assert results and not failed, (
        "with only your pinned packages (and the runtime's boto3), importing "
        + "; ".join(f"{name} fails: {why}" for name, why in list(failed.items())[:2])
        + ". In Lambda that is a Runtime.ImportModuleError on every invocation")


@ex71.behaviour("the pins agree: what each package requires is pinned too, in a version it accepts",
                hint=["Lesson 07, 'What goes into the zip': each package declares what it needs "
                      "(Requires-Dist); installing with --no-deps trusts your file to hold it.",
                      "The runtime's boto3 can stand in for boto3's family only while you do "
                      "not pin boto3 yourself: pin boto3 and its own dependencies come with it."])
def _(project: Project) -> None:
    pins = {p.name: p for p in _named(_pins(project)) if p.version}
    for pin in pins.values():
        for requirement in _requires(pin.name, pin.version or "", pin.extras):
            name = _normal(requirement.name)
            if name in pins:
                assert requirement.specifier.contains(pins[name].version, prereleases=True), (
                    f"{pin.name}=={pin.version} requires {requirement}, and your file pins "
                    f"{name}=={pins[name].version}: it would fail at import or run")
            elif name in SDK and pin.name not in SDK:
                continue  # the runtime's SDK provides it
            else:
                why = (" (you pin boto3, so the runtime's copy of its dependencies no longer "
                       "matches it)" if name in SDK else "")
                raise AssertionError(
                    f"{pin.name}=={pin.version} requires {requirement}, which your file does "
                    f"not pin{why}. Installed with --no-deps, it would be missing")


@ex71.behaviour("nothing the function does not need: no test tools, no course packages",
                hint=["Lesson 07, 'Three requirement files': test and lint tools belong to the "
                      "dev dependency group of pyproject.toml, the course's packages to "
                      "requirements.txt. The zip gets only what the handlers import.",
                      "Every extra package makes the zip bigger and each cold start slower, and "
                      "is code you ship without using it (the guideline's requests, for one)."])
def _(project: Project) -> None:
    needed, _ = _needed(project)
    extra = [p.name for p in _named(_pins(project)) if p.name not in needed | SDK]
    assert not extra, (
        f"your file pins {', '.join(extra)}, which no module of src/ needs at run time. "
        "Development tools go to pyproject.toml's dev group; unused packages only make the "
        "zip bigger and cold starts slower")


# --- shared by 7.2-7.4 ------------------------------------------------------------------------


def _build_module(project: Project) -> Any:
    sys.modules.pop("build_lambda", None)
    return project.load_file(BUILD, "build_lambda")


def _function(module: Any, name: str) -> Any:
    func = getattr(module, name, None)
    if not callable(func):
        raise LearnerError(f"{BUILD} has no function named {name!r}: check the def line.")
    return func


def _call(func: Any, *args: Any, **kwargs: Any) -> tuple[Any, BaseException | None, str]:
    """(result, exception, what pip or the function printed), with this machine's pip
    configuration out of the way."""
    with _environment(_pip_env()), _captured_output() as out:
        try:
            return func(*args, **kwargs), None, ""
        except Exception as exc:  # noqa: BLE001 - the learner's function may raise anything
            error = exc
    return None, error, out.getvalue()


def _failure(what: str, error: BaseException, printed: str) -> str:
    said = _pip_said(printed) if printed.strip() else ""
    return (f"{what} raised {type(error).__name__}: {str(error)[:200]}"
            + (f". pip said: {said}" if said else ""))


def _shared_objects(target: Path) -> list[str]:
    return sorted(p.name for p in target.rglob("*.so"))


def _scratch(label: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"course-{label}-"))


SMALL_PINS = ("pydantic-core==2.50.4", "typing-extensions==4.16.0")  # one compiled package


@once
def _check_requirements(pins: tuple[str, ...] = CHECK_PINS) -> Path:
    path = _scratch("requirements") / REQUIREMENTS
    path.write_text(_requirements_text(pins))
    return path


# --- 7.2 --------------------------------------------------------------------------------------

ex72 = exercise("7.2", "Dependencies for Lambda's platform", files=[BUILD], timeout=8)


@once
def _installed(project: Project, arch: str | None, python: str | None) -> Path:
    """Where the learner's install_dependencies put the check's pins (AssertionError when it
    failed)."""
    install = _function(_build_module(project), "install_dependencies")
    target = _scratch("deps")
    _, error, printed = _call(install, _check_requirements(), target, wheelhouse=_wheelhouse(),
                              arch=arch, python=python)
    if error is not None:
        raise AssertionError(_failure(f"install_dependencies(..., arch={arch!r}, "
                                      f"python={python!r})", error, printed))
    return target


def _assert_platform(target: Path, arch: str) -> None:
    objects = _shared_objects(target)
    assert objects, (
        f"install_dependencies(..., arch={arch!r}) installed no compiled module at all "
        "(pydantic-core has one): did it install anything?")
    wrong = [o for o in objects if f"cpython-313-{ARCHES[arch]}-linux-gnu" not in o]
    assert not wrong, (
        f"for arch={arch!r} and python '3.13' the compiled modules are {', '.join(wrong)}; "
        f"Lambda's python3.13 on {arch} imports only *.cpython-313-{ARCHES[arch]}-linux-gnu.so. "
        "A build for your laptop's platform or Python fails there at import, on every "
        "invocation")


@ex72.behaviour("arch='arm64': the compiled dependencies are python3.13 builds for Linux aarch64",
                hint=["Lesson 07, 'Built for Lambda, not for your laptop': pip installs the "
                      "wheels of the machine it runs on unless told the target platform and "
                      "Python version.",
                      "Lambda's arm64 is Linux on aarch64: the platform tag is "
                      "manylinux2014_aarch64 (there is no 'arm64' tag), and the Python version "
                      "is the runtime's."])
def _(project: Project) -> None:
    _assert_platform(_installed(project, "arm64", "3.13"), "arm64")


@ex72.behaviour("arch='x86_64': the compiled dependencies are python3.13 builds for Linux x86_64",
                hint=["Lesson 07, 'Built for Lambda, not for your laptop': the platform comes "
                      "from the arch argument, each architecture has its own wheel.",
                      "Map each architecture to its manylinux2014 platform tag; do not build "
                      "x86_64 whatever is asked."])
def _(project: Project) -> None:
    _assert_platform(_installed(project, "x86_64", "3.13"), "x86_64")


@once
def _other_python(arch: str) -> str | None:
    """A Python version other than the runtime's for which the wheelhouse has pydantic-core
    for Lambda's Linux on `arch` (the wheels of this machine's Python), or None."""
    found = set()
    for wheel in _wheels():
        if wheel.name == "pydantic-core":
            for tag in wheel.tags:
                match = re.fullmatch(r"cp3(\d+)", tag.interpreter)
                if match and tag.platform.endswith(ARCHES[arch]) and \
                        tag.platform.startswith("manylinux") and int(match[1]) != RUNTIME[1]:
                    found.add(f"3.{match[1]}")
    return min(found) if found else None


@ex72.behaviour("python set to another version: the compiled dependencies are built for that "
                "Python",
                hint=["Lesson 07, exercise 7.2: install_dependencies builds for the Python "
                      "version it is given, not always for the runtime's.",
                      "Pass the python argument on to pip's --python-version; the runtime's "
                      "3.13 is only its default."])
def _(project: Project) -> None:
    python = _other_python("arm64")
    if python is None:  # no wheel of another Python for Lambda's Linux in this wheelhouse
        return
    install = _function(_build_module(project), "install_dependencies")
    requirements = _scratch("other") / REQUIREMENTS
    requirements.write_text(_requirements_text(SMALL_PINS))
    target = _scratch("deps")
    _, error, printed = _call(install, requirements, target, wheelhouse=_wheelhouse(),
                              arch="arm64", python=python)
    if error is not None:
        raise AssertionError(_failure(f"install_dependencies(..., arch='arm64', "
                                      f"python={python!r})", error, printed))
    tag = f"cpython-{python.replace('.', '')}-aarch64-linux-gnu"
    objects = _shared_objects(target)
    assert objects and all(tag in o for o in objects), (
        f"for python={python!r} the compiled modules are {', '.join(objects) or 'none'}; "
        f"expected *.{tag}.so. A build that ignores its python argument deploys modules "
        "another runtime version cannot import")


@ex72.behaviour("arch=None and python=None: a build this interpreter can import",
                hint=["Lesson 07, section 5: to prove a zip works on this machine, the same "
                      "pins are built for the interpreter at hand.",
                      "With arch None, pass no platform; with python None, no Python version: "
                      "pip then picks this machine's wheels."])
def _(project: Project) -> None:
    target = _installed(project, None, None)
    results = _import_isolated(["pydantic_core", "wrapt"], [str(target)])
    failed = {name: why for name, why in results.items() if why}
    assert not failed, (
        "with arch=None and python=None the packages should be built for this interpreter, but "
        + "; ".join(f"importing {name} fails: {why}" for name, why in failed.items()))


class _IndexSpy(http.server.ThreadingHTTPServer):
    """A package index on loopback that answers 404 and counts the requests it got."""

    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[str] = []
        spy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                spy.requests.append(self.path)
                self.send_error(404)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@ex72.behaviour("installs from the wheelhouse only: never asks a package index",
                hint=["Lesson 07, section 2: the lessons install from the course's wheelhouse, "
                      "never from the internet — and so can your CI, from a folder it fills once.",
                      "Giving pip the wheelhouse with --find-links is not enough: pip still asks "
                      "its index unless you tell it not to use one."])
def _(project: Project) -> None:
    install = _function(_build_module(project), "install_dependencies")
    spy = _IndexSpy()
    threading.Thread(target=spy.serve_forever, daemon=True).start()
    requirements = _scratch("unknown") / REQUIREMENTS
    requirements.write_text("six==1.16.0 --hash=sha256:" + "0" * 64 + "\n")  # not in it
    try:
        with _environment({**_pip_env(),
                           "PIP_INDEX_URL": f"http://127.0.0.1:{spy.server_address[1]}/simple"}):
            with _captured_output():
                try:
                    install(requirements, _scratch("deps"), wheelhouse=_wheelhouse(),
                            arch="arm64", python="3.13")
                    raised = False
                except Exception:  # noqa: BLE001 - any failure is the expected outcome
                    raised = True
    finally:
        spy.shutdown()
    assert not spy.requests, (
        f"for a package that is not in the wheelhouse, pip asked the package index "
        f"({spy.requests[0]}): during a lesson, and in a build that must be repeatable, "
        "nothing may come from the internet")
    assert raised, "a requirement that is not in the wheelhouse must make the install fail"


@ex72.behaviour("hash-checked: a requirements file without hashes is refused",
                hint=["Lesson 07, 'Hashes': pip checks hashes when a file has them — and a file "
                      "without any simply installs, unless you require them.",
                      "pip has an option that refuses every requirement that has no hash."])
def _(project: Project) -> None:
    install = _function(_build_module(project), "install_dependencies")
    requirements = _scratch("nohash") / REQUIREMENTS
    requirements.write_text(_requirements_text(("jmespath==1.1.0",), hashes=False))
    target = _scratch("deps")
    _, error, _ = _call(install, requirements, target, wheelhouse=_wheelhouse(), arch="arm64",
                        python="3.13")
    assert error is not None and not (target / "jmespath").exists(), (
        "install_dependencies installed a requirements file that has no hashes at all: anyone "
        "who edits the file (or a compromised index) changes what you deploy, unnoticed")


@ex72.behaviour("installs exactly the pins: no dependency of theirs is added",
                hint=["Lesson 07, 'What goes into the zip': aws-xray-sdk declares botocore as a "
                      "dependency, and the runtime already has it.",
                      "pip resolves dependencies unless told not to; your requirements file "
                      "already lists everything the zip needs."])
def _(project: Project) -> None:
    target = _installed(project, "arm64", "3.13")
    added = sorted({p.name.split("-")[0] for p in target.glob("*.dist-info")}
                   - {re.sub(r"[-.]", "_", pin.split("==")[0]) for pin in CHECK_PINS})
    assert not added, (
        f"install_dependencies added {', '.join(added)}, which the requirements file does not "
        "pin: the runtime already has boto3's family, and anything added behind your back is "
        "unpinned and unhashed")


@ex72.behaviour("an unknown architecture is an error, not a silent x86_64 build",
                hint=["Lesson 07, exercise 7.2: arch is 'arm64' or 'x86_64' (or None).",
                      "Look the platform up in a mapping and raise ValueError for anything "
                      "else, before running pip."])
def _(project: Project) -> None:
    install = _function(_build_module(project), "install_dependencies")
    target = _scratch("deps")
    _, error, _ = _call(install, _check_requirements(), target, wheelhouse=_wheelhouse(),
                        arch="arm", python="3.13")
    assert error is not None and not _shared_objects(target), (
        "install_dependencies(..., arch='arm') built something instead of raising: a typo "
        "in a build setting must stop the build, not deploy the wrong platform")
    assert isinstance(error, ValueError), (
        f"install_dependencies(..., arch='arm') raised {type(error).__name__}: {str(error)[:120]}"
        ". The function promises a ValueError that names the architectures it knows, which a "
        "caller (or a CI log) can act on")


# --- 7.3 --------------------------------------------------------------------------------------

ex73 = exercise("7.3", "A reproducible zip", files=[BUILD])
TREE = {"handlers/__init__.py": "", "handlers/api.py": "def lambda_handler(e, c):\n    return 1\n",
        "models/user.py": "X = 1\n", "utils/data.json": '{"a": 1}\n'}
# A compiled module's bytes: not UTF-8, as a layer's .so files are not.
BINARY = {"models/_speedups.cpython-313-x86_64-linux-gnu.so": bytes(range(256)) * 4}
OTHER_TREE = {"aws_lambda_powertools/__init__.py": "VERSION = 3\n",
              "annotated_types/py.typed": ""}
CACHES = {"handlers/__pycache__/api.cpython-313.pyc": "pyc", "models/user.pyc": "pyc",
          ".pytest_cache/v/cache/nodeids": "[]", "utils/__pycache__/x.cpython-311.pyc": "pyc"}


def _scratch_fast(label: str) -> Path:
    """A scratch folder on tmpfs where there is one: it lists files newest first, so code that
    zips them in the order the disk lists them is caught."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=f"course-{label}-", dir=base))


def _tree(files: dict[str, str | bytes], *, reverse: bool = False, mtime: float | None = None,
          mode: int | None = None) -> Path:
    """A tree of `files` (text or bytes), written in sorted or reverse order; `mode` is each
    file's permissions on disk (what a checkout under another umask gives)."""
    root = _scratch_fast("tree") / "src"
    for name in sorted(files, reverse=reverse):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        content = files[name]
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        if mode is not None:
            path.chmod(mode)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    return root


def _zip(project: Project, *trees: Path, prefix: str = "", archive: Path | None = None
         ) -> Path:
    write_zip = _function(_build_module(project), "write_zip")
    archive = archive or _scratch_fast("zip") / "out.zip"
    args: dict[str, Any] = {"prefix": prefix} if prefix else {}
    _, error, printed = _call(write_zip, archive, *trees, **args)
    if error is not None:
        raise AssertionError(_failure("write_zip", error, printed))
    assert archive.is_file() and zipfile.is_zipfile(archive), (
        f"write_zip(archive, tree) left no zip file at {archive.name}")
    return archive


def _names(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as zipped:
        return [n for n in zipped.namelist() if not n.endswith("/")]


@ex73.behaviour("each tree's files sit at the zip's root, under the prefix when one is given",
                hint=["Lesson 07, 'What goes into the zip': Lambda unpacks the zip into "
                      "/var/task and imports handlers.api_gateway_handler from there, so "
                      "handlers/ must be at the top, not inside src/.",
                      "Name each entry by the file's path relative to the tree you zip (not to "
                      "its parent), with the prefix in front."])
def _(project: Project) -> None:
    names = set(_names(_zip(project, _tree(TREE))))
    assert names >= set(TREE), (
        f"the zip of a src/ holding {sorted(TREE)} has the entries {sorted(names)[:6]}: Lambda "
        "would look for handlers/api.py at the root of the zip")
    names = set(_names(_zip(project, _tree(TREE), _tree(OTHER_TREE))))
    missing = sorted((set(TREE) | set(OTHER_TREE)) - names)
    assert not missing, (
        f"write_zip(archive, tree, other_tree) left out {', '.join(missing[:3])}: every file of "
        "each tree given belongs in the zip")
    archive = _scratch_fast("zip") / "build" / "fresh" / "out.zip"
    write_zip = _function(_build_module(project), "write_zip")
    _, error, printed = _call(write_zip, archive, _tree(TREE))
    assert error is None and archive.is_file(), (
        _failure("write_zip into a folder that does not exist yet", error, printed)
        if error is not None else "write_zip into a folder that does not exist yet wrote nothing")
    names = set(_names(_zip(project, _tree(TREE), prefix="python/")))
    assert names >= {"python/" + n for n in TREE}, (
        f"with prefix='python/' the entries are {sorted(names)[:6]}; expected python/handlers/"
        "api.py and so on (a layer's packages live under python/)")


@ex73.behaviour("every file of each tree, byte for byte, binary files too",
                hint=["Lesson 07, 'A reproducible zip': an entry holds the file's bytes; a layer "
                      "is full of compiled modules (.so), which are not text.",
                      "Read each file as bytes and give those bytes to writestr (writestr takes "
                      "the data, not a file name)."])
def _(project: Project) -> None:
    files = {**TREE, **BINARY}
    with zipfile.ZipFile(_zip(project, _tree(files))) as zipped:
        stored = {n: zipped.read(n) for n in zipped.namelist() if not n.endswith("/")}
    for name, content in files.items():
        expected = content if isinstance(content, bytes) else content.encode()
        assert name in stored, f"the zip has no entry {name}"
        assert stored[name] == expected, (
            f"the entry {name} holds {len(stored[name])} bytes ({stored[name][:30]!r}...), not the "
            f"file's {len(expected)}: the function would import something else than your code")


@ex73.behaviour("no caches: no __pycache__ folder, no .pyc file, no .pytest_cache",
                hint=["Lesson 07, 'What goes into the zip': bytecode caches are written by "
                      "whichever Python ran your tests, for its own version.",
                      "Skip any path that has a cache folder among its parts, and .pyc files."])
def _(project: Project) -> None:
    names = _names(_zip(project, _tree({**TREE, **CACHES})))
    cached = [n for n in names if n.endswith(".pyc") or any(c in n for c in CACHE_NAMES)]
    assert not cached, (
        f"the zip holds caches: {', '.join(cached[:3])}. They are only valid for the Python that "
        "wrote them, change on every test run (so the zip's hash does too) and take space")


@ex73.behaviour("the same files give the same bytes, whatever their times, permissions and "
                "the order they were written",
                hint=["Lesson 07, 'A reproducible zip': a zip entry stores the file's time and "
                      "mode, and entries are stored in the order you write them.",
                      "Give every entry the same fixed date_time and the same mode (not the "
                      "file's own), and write the entries in sorted order, not in the order the "
                      "disk lists them."])
def _(project: Project) -> None:
    first = _zip(project, _tree(TREE, mtime=1_700_000_000, mode=0o644))
    second = _zip(project, _tree(TREE, reverse=True, mtime=1_800_000_000, mode=0o664))
    digests = [hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in (first, second)]
    assert digests[0] == digests[1], (
        f"two zips of the same files (written at other times, with other permissions on disk, "
        f"in another order) differ "
        f"(SHA-256 {digests[0]}... and {digests[1]}...): Terraform's source_code_hash would "
        "change, and deploy again, after every build")


@ex73.behaviour("every entry is a file anyone may read",
                hint=["Lesson 07, 'A reproducible zip': Lambda runs your code as a user that "
                      "is not the owner of the files, so each file needs read permission for "
                      "everyone.",
                      "A ZipInfo you create yourself has no permissions at all: set its "
                      "external_attr to a file mode such as 0o644, shifted 16 bits left."])
def _(project: Project) -> None:
    with zipfile.ZipFile(_zip(project, _tree(TREE, mode=0o600))) as zipped:
        unreadable = [(i.filename, (i.external_attr >> 16) & 0o777) for i in zipped.infolist()
                      if not i.is_dir() and ((i.external_attr >> 16) & 0o444) != 0o444]
    assert not unreadable, (
        f"{unreadable[0][0]} is stored without read permission for everyone (mode "
        f"{unreadable[0][1]:03o}; the file on disk was 600, as a checkout under umask 077 "
        "leaves it): Lambda runs your code as another user, and the import fails with "
        "\"Permission denied\"")


@ex73.behaviour("entries are compressed (deflate)",
                hint=["Lesson 07, 'Size': the 50 MB limit is for the zipped upload.",
                      "zipfile stores entries uncompressed unless the ZipInfo or the ZipFile "
                      "asks for ZIP_DEFLATED."])
def _(project: Project) -> None:
    with zipfile.ZipFile(_zip(project, _tree(TREE))) as zipped:
        stored = [i.filename for i in zipped.infolist()
                  if i.file_size and i.compress_type != zipfile.ZIP_DEFLATED]
    assert not stored, (
        f"{stored[0]} is stored uncompressed: the upload limit (50 MB) is for the zip, and a "
        "bigger zip is slower to upload and to fetch at a cold start")


@ex73.behaviour("writing a zip replaces the file: nothing is left from an earlier zip",
                hint=["Lesson 07, 'A reproducible zip': the guideline's `zip -g` adds to an "
                      "existing zip, so a file you deleted stays deployed.",
                      "Open the archive for writing, not appending."])
def _(project: Project) -> None:
    archive = _scratch_fast("zip") / "out.zip"
    with zipfile.ZipFile(archive, "w") as old:
        old.writestr("handlers/deleted_last_week.py", "SECRET = 1\n")
    names = _names(_zip(project, _tree(TREE), archive=archive))
    assert "handlers/deleted_last_week.py" not in names, (
        "a file from the zip that was already at that path is still in the new one: a module "
        "you deleted would stay deployed")


# --- 7.4 --------------------------------------------------------------------------------------

ex74 = exercise("7.4", "A function zip and a layer zip", files=[BUILD], timeout=8)


# A module only the check's copy of src/ has: a build that zips another src/ lacks it.
PROBE = "utils/course_build_probe.py"
# A module the first of two builds in the same folder has, and the second must not.
DELETED = "handlers/deleted_since_last_build.py"


@once
def _built(project: Project, arch: str | None, python: str | None, out: Path | None = None,
           pins: tuple[str, ...] = CHECK_PINS, extra: str = "") -> tuple[Path, Path, Path]:
    """(function.zip, layer.zip, out) of the learner's build() for a copy of their project that
    holds the check's requirements file (`pins`, every hash of the wheelhouse), PROBE, and
    `extra` (a module path) when given."""
    build = _function(_build_module(project), "build")
    root = _scratch("root")
    shutil.copytree(project.src, root / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for module in (PROBE, extra):
        if module and (root / "src" / module).parent.is_dir():
            (root / "src" / module).write_text("PROBE = True\n")
    shutil.copy(_check_requirements(pins), root / REQUIREMENTS)
    out = out or _scratch("out")
    result, error, printed = _call(build, out, wheelhouse=_wheelhouse(), arch=arch,
                                   python=python, root=root)
    if error is not None:
        raise AssertionError(_failure(f"build(out, arch={arch!r}, python={python!r})", error,
                                      printed))
    assert isinstance(result, tuple | list) and len(result) == 2, (
        f"build() returned {result!r:.80}; expected the paths of function.zip and layer.zip")
    function, layer = (Path(p) for p in result)
    for path in (function, layer):
        assert path.is_file() and zipfile.is_zipfile(path), (
            f"build() returned {path}, which is not a zip file")
    return function, layer, out


@ex74.behaviour("function.zip holds exactly the content of src/, at its root",
                hint=["Lesson 07, 'What goes into the zip': the function's zip is your code: "
                      "src/'s packages at the top, no tests, no dependencies, no project files.",
                      "Zip the src folder of root (the folder build() is given) and nothing "
                      "else; the dependencies go to the layer."])
def _(project: Project) -> None:
    function, _, _ = _built(project, None, None)
    expected = {p.relative_to(project.src).as_posix() for p in project.src.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    if (project.src / PROBE).parent.is_dir():
        expected.add(PROBE)
    names = set(_names(function))
    missing, extra = sorted(expected - names), sorted(names - expected)
    assert missing != [PROBE], (
        f"function.zip lacks {PROBE}, which only the src/ of the root that build() was given "
        "holds: zip root / 'src', not the folder of build_lambda.py (ROOT), or building another "
        "checkout (CI, a release branch) ships this one's code")
    assert not missing, (
        f"function.zip lacks {', '.join(missing[:3])} (expected src/'s files at the root of the "
        "zip, e.g. handlers/api_gateway_handler.py)")
    assert not extra, (
        f"function.zip also holds {', '.join(extra[:3])}: only src/ belongs in it (tests, "
        "project files and dependencies do not; the dependencies are in the layer)")


@ex74.behaviour("layer.zip holds the dependencies, and only them, under python/",
                hint=["Lesson 07, 'A layer for the dependencies': Lambda unpacks layers into "
                      "/opt, and Python finds packages in /opt/python.",
                      "Install into a folder of its own and zip it with the prefix 'python/'."])
def _(project: Project) -> None:
    _, layer, _ = _built(project, None, None)
    names = _names(layer)
    outside = [n for n in names if not n.startswith("python/")]
    assert not outside, (
        f"layer.zip has entries outside python/ ({', '.join(outside[:3])}): Lambda's Python "
        "finds a layer's packages only in /opt/python")
    for package in ("python/aws_lambda_powertools/", "python/pydantic_core/"):
        assert any(n.startswith(package) for n in names), (
            f"layer.zip has no {package} folder: the dependencies of requirements-lambda.txt "
            "belong in it")
    code = [n for n in names if n.split("/")[1] in APP_PACKAGES]
    assert not code, f"layer.zip holds your code ({code[0]}): it belongs in function.zip"
    _, small, _ = _small(project, "arm64")
    pinned = {re.sub(r"[-.]", "_", pin.split("==")[0]) for pin in SMALL_PINS}
    tops = {n.split("/")[1] for n in _names(small)}
    others = sorted(t for t in tops if t.split("-")[0].removesuffix(".py") not in pinned)
    assert not others, (
        f"with a root whose {REQUIREMENTS} pins only {' and '.join(SMALL_PINS)}, layer.zip "
        f"also holds {', '.join(others[:3])}: install root / '{REQUIREMENTS}', the file of the "
        "project build() was given, not another one")


def _small(project: Project, arch: str, out: Path | None = None) -> tuple[Path, Path, Path]:
    """A build with one compiled package; the arm64 one's src/ holds DELETED too."""
    return _built(project, arch, "3.13", out, pins=SMALL_PINS,
                  extra=DELETED if arch == "arm64" and out is None else "")


def _layer_objects(layer: Path) -> list[str]:
    return [n.rsplit("/", 1)[-1] for n in _names(layer) if n.endswith(".so")]


@ex74.behaviour("the layer is built for the architecture asked for, for python3.13",
                hint=["Lesson 07, exercise 7.4: build() passes arch and python on to "
                      "install_dependencies.",
                      "Build for x86_64 and look at the .so files in the layer: they must say "
                      "x86_64."])
def _(project: Project) -> None:
    for arch in ("arm64", "x86_64"):
        _, layer, _ = _small(project, arch)
        objects = _layer_objects(layer)
        wrong = [o for o in objects if f"cpython-313-{ARCHES[arch]}-linux-gnu" not in o]
        assert objects and not wrong, (
            f"build(arch={arch!r}) gave a layer whose compiled modules are "
            f"{', '.join(wrong or ['none'])}")


@ex74.behaviour("a fresh build: nothing is left from an earlier build in the same folder",
                hint=["Lesson 07, 'A layer for the dependencies': pip --target does not replace "
                      "what a folder already holds (it warns and skips).",
                      "Delete the dependencies folder before installing into it."])
def _(project: Project) -> None:
    _, _, out = _small(project, "arm64")  # then x86_64 there, with DELETED gone from src/
    function, layer, _ = _small(project, "x86_64", out)
    leftovers = [o for o in _layer_objects(layer) if "aarch64" in o]
    assert not leftovers, (
        f"after an arm64 build then an x86_64 build in the same folder, the x86_64 layer still "
        f"holds {leftovers[0]}: the arm64 files were left behind, and the x86_64 function would "
        "fail to import pydantic")
    assert DELETED not in _names(function), (
        f"after a build whose src/ held {DELETED}, then a build without it in the same folder, "
        "function.zip still holds it: a module you deleted stays deployed")


@ex74.behaviour("the two zips answer an event from a clean folder (built for this interpreter)",
                hint=["Lesson 07, 'Proof that the zip works': invoke(code=..., layers=...) "
                      "unpacks the zips as Lambda does and imports only what they hold.",
                      "If this fails, build for this interpreter (arch=None, python=None) and "
                      "run section 5's cell: the error there says what is missing."])
def _(project: Project) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    from course import events, invoke

    function, layer, _ = _built(project, None, None)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("dynamodb", endpoint_url=endpoint).create_table(
            TableName="users", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                                  {"AttributeName": "email", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[{"IndexName": "email-index", "Projection": {
                "ProjectionType": "ALL"}, "KeySchema": [{"AttributeName": "email",
                                                        "KeyType": "HASH"}]}])
        result = invoke("handlers.api_gateway_handler.lambda_handler",
                        events.api_gateway_rest("GET", "/users"), code=function,
                        layers=[layer], timeout=30, cold=True,
                        env={"AWS_ENDPOINT_URL": endpoint, "USERS_TABLE": "users",
                             "POWERTOOLS_TRACE_DISABLED": "true"})
    finally:
        server.stop()
    response = result.response if isinstance(result.response, dict) else {}
    assert response.get("statusCode") == 200, (
        f"GET /users through function.zip + layer.zip gave {str(result.response)[:200]}. "
        f"The function's log ends: {result.logs.strip()[-300:]}")


# --- 7.5 --------------------------------------------------------------------------------------

ex75 = exercise("7.5", "A container image, pinned", files=[DOCKERFILE])


@dataclass
class Instruction:
    keyword: str
    args: str


def _instructions(project: Project) -> list[Instruction]:
    text = project.require(DOCKERFILE).read_text(errors="replace")
    if "NotImplementedError" in text:
        raise LearnerError(f"{DOCKERFILE} still holds the exercise's placeholder: write it in "
                           "the cell and run it again.")
    found, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.strip().partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
        current = ""
    if current.strip():
        keyword, _, args = current.strip().partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
    assert found, f"{DOCKERFILE} holds no instruction"
    return found


def _args_before_from(instructions: list[Instruction]) -> dict[str, str]:
    values = {}
    for instruction in instructions:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG" and "=" in instruction.args:
            name, _, value = instruction.args.partition("=")
            values[name.strip()] = value.strip().strip('"')
    return values


def _final_from(instructions: list[Instruction]) -> tuple[str, str]:
    """(image reference with ARGs filled in, platform) of the last FROM."""
    froms = [i for i in instructions if i.keyword == "FROM"]
    assert froms, f"{DOCKERFILE} has no FROM line"
    values = _args_before_from(instructions)
    words = froms[-1].args.split()
    platform = ""
    while words and words[0].startswith("--"):
        option = words.pop(0)
        if option.startswith("--platform="):
            platform = option.partition("=")[2]
    image = words[0] if words else ""

    def fill(text: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), text)

    return fill(image), fill(platform)


@ex75.behaviour("FROM AWS's base image for python3.13, pinned by a sha256 digest",
                hint=["Lesson 07, 'A container image': public.ecr.aws/lambda/python has one "
                      "image per runtime version; use the zip's runtime.",
                      "A tag (even :3.13) moves whenever AWS publishes a new image; "
                      "@sha256:<digest> names one exact image."])
def _(project: Project) -> None:
    image, _ = _final_from(_instructions(project))
    match = re.fullmatch(r"public\.ecr\.aws/lambda/python(?::([\w.-]+))?(?:@sha256:([0-9a-f]+))?",
                         image)
    assert match, (
        f"the image is {image!r}: use AWS's base image public.ecr.aws/lambda/python, which "
        "holds the runtime interface client Lambda talks to")
    tag, digest = match.groups()
    assert tag and re.fullmatch(r"3\.13(?:[.-][\w.-]*)?", tag), (
        f"the image's tag is {tag!r}: the zip runs on python3.13, the image should too (and "
        "name it: a digest alone does not tell a reader which Python it is)")
    assert digest and len(digest) == 64, (
        f"{image} is not pinned by digest (@sha256: and 64 hex digits): a tag such as :3.13 "
        "or :latest moves when AWS publishes a new image, so two builds of the same Dockerfile "
        "can differ")


@ex75.behaviour("built for arm64",
                hint=["Lesson 07, 'A container image': an image holds binaries for one "
                      "architecture; the function's architecture must match it.",
                      "Say the platform on the FROM line (the buildx command in the lesson "
                      "builds for it)."])
def _(project: Project) -> None:
    image, platform = _final_from(_instructions(project))
    assert platform in ("linux/arm64", "linux/arm64/v8") or re.search(r":[\w.]*-?arm64", image), (
        f"the FROM line does not choose arm64 (platform {platform or 'not set'}): built on an "
        "x86_64 laptop, the image would be x86_64 and fail on an arm64 function")


def _runs(instructions: list[Instruction]) -> list[tuple[int, Instruction]]:
    return [(n, i) for n, i in enumerate(instructions) if i.keyword == "RUN"]


TASK_ROOTS = ("${LAMBDA_TASK_ROOT}", "$LAMBDA_TASK_ROOT", "/var/task")


def _copies(instructions: list[Instruction]) -> list[tuple[int, list[str]]]:
    """(index, sources + [destination]) of each COPY/ADD from the build context (a COPY
    --from=<stage> copies from another stage, not from the project); a relative destination
    is resolved against the WORKDIR set before it."""
    found, workdir = [], ""
    for n, instruction in enumerate(instructions):
        if instruction.keyword == "WORKDIR":
            path = instruction.args.strip().strip('"').rstrip("/")
            workdir = path if path.startswith(("/", "$")) else f"{workdir}/{path}"
        if instruction.keyword in ("COPY", "ADD"):
            if re.search(r"(^|\s)--from[= ]", instruction.args):
                continue
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            if words and words[0].startswith("["):
                try:
                    words = json.loads(instruction.args[instruction.args.index("["):])
                except ValueError:
                    pass
            if len(words) >= 2 and workdir and not words[-1].startswith(("/", "$")):
                relative = words[-1].removeprefix("./").rstrip("/")
                words = [*words[:-1], f"{workdir}/{relative}".rstrip("/.") or workdir]
            found.append((n, words))
    return found


def _is_src(source: str) -> bool:
    return source.rstrip("/") in ("src", "./src")


def _pip_runs(instructions: list[Instruction]) -> list[tuple[int, str]]:
    return [(n, i.args) for n, i in _runs(instructions) if re.search(r"\bpip3?\b", i.args)]


@ex75.behaviour("installs requirements-lambda.txt: the pinned, hashed runtime dependencies",
                hint=["Lesson 07, 'A container image': the image installs the same pins as the "
                      "zip's layer, not the course's requirements.txt.",
                      "COPY the file into the image, then RUN pip install with it."])
def _(project: Project) -> None:
    instructions = _instructions(project)
    installs = [(n, args) for n, args in _pip_runs(instructions) if REQUIREMENTS in args]
    assert installs, (
        f"no RUN pip install reads {REQUIREMENTS}: the image must install the same pinned, "
        "hashed dependencies as the zip (requirements.txt is the course's, not the app's)")
    copied = [n for n, words in _copies(instructions) if REQUIREMENTS in " ".join(words[:-1])]
    assert copied, f"{REQUIREMENTS} is never copied into the image, so pip cannot read it"
    assert min(copied) < installs[0][0], (
        f"pip install runs before {REQUIREMENTS} is copied into the image: at that step the "
        "file is not there yet, and the build fails")
    for _, args in installs:
        words = args.split()
        targeted = any(w in ("-t", "--target") or w.startswith(("--target=", "-t=")) for w in words)
        assert not targeted or "--no-deps" in words, (
            "pip install --target ignores what the base image already has, so without --no-deps "
            "it resolves boto3's family (aws-xray-sdk needs botocore), which "
            f"{REQUIREMENTS} does not pin or hash: in hash-checking mode the build fails. Install "
            "exactly the pins, as the zip's build does")


@ex75.behaviour("the dependencies are installed before the code is copied",
                hint=["Lesson 07, 'A container image': Docker reuses each layer until an "
                      "instruction or a file it copies changes.",
                      "Copy and install the requirements first, then copy src/: a code change "
                      "then rebuilds only the last layer."])
def _(project: Project) -> None:
    instructions = _instructions(project)
    installs = [n for n, args in _pip_runs(instructions) if REQUIREMENTS in args]
    code = [n for n, words in _copies(instructions)
            if any(_is_src(w) or w.rstrip("/") == "." for w in words[:-1])]
    assert installs and code, "the Dockerfile must install the requirements and copy src/"
    assert max(installs) < min(code), (
        "the code is copied before the dependencies are installed: every change to a handler "
        "invalidates Docker's cache and reinstalls every package")


@ex75.behaviour("copies the content of src/ into ${LAMBDA_TASK_ROOT}, and nothing else of "
                "the project",
                hint=["Lesson 07, 'A container image': as in the zip, Lambda imports "
                      "handlers.api_gateway_handler from the task root.",
                      "COPY src/ to ${LAMBDA_TASK_ROOT}/; never the whole project folder "
                      "(tests, .venv, your workspace's notes...)."])
def _(project: Project) -> None:
    copies = _copies(_instructions(project))
    sources = [w for _, words in copies for w in words[:-1]]
    assert not any(s in (".", "./", "*") for s in sources), (
        "a COPY takes the whole project folder: tests, .venv and anything else in it end up in "
        "the image (and secrets in it would ship too)")
    others = sorted({s for s in sources if not _is_src(s)
                     and s.removeprefix("./") != REQUIREMENTS})
    assert not others, (
        f"the image also gets {', '.join(others[:3])} from the project: only the content of "
        f"src/ (and {REQUIREMENTS}, to install it) belongs in it. Tests, tooling and project "
        "files make the image bigger and ship what the function never runs")
    src = [words for _, words in copies if any(_is_src(w) for w in words[:-1])]
    assert src, "nothing copies src/ into the image"
    destination = src[0][-1].rstrip("/")
    assert destination in TASK_ROOTS, (
        f"src/ is copied to {src[0][-1]}: Lambda imports the handler from ${{LAMBDA_TASK_ROOT}} "
        "(/var/task), where handlers/ must be a top-level folder")


@ex75.behaviour("CMD names the users API's handler, in exec form, and it exists in src/",
                hint=["Lesson 07, 'A container image': the base image's entry point reads the "
                      "handler from CMD, as module.function relative to the task root.",
                      "Write CMD as a JSON list holding one string; the module path starts at "
                      "handlers, not at src."])
def _(project: Project) -> None:
    cmds = [i for i in _instructions(project) if i.keyword == "CMD"]
    assert cmds, "the Dockerfile has no CMD: the base image needs it to know the handler"
    try:
        value = json.loads(cmds[-1].args)
    except ValueError:
        value = None
    assert isinstance(value, list) and len(value) == 1 and isinstance(value[0], str), (
        f"CMD {cmds[-1].args} is not in exec form (a JSON list with one string): in shell form, "
        "the entry point is given /bin/sh as the handler")
    module, _, function = value[0].rpartition(".")
    assert module == "handlers.api_gateway_handler" and function == "lambda_handler", (
        f"CMD names {value[0]!r}; the users API's handler is lambda_handler in "
        "src/handlers/api_gateway_handler.py, named from the task root (no src. in front)")
    path = project.src / "handlers" / "api_gateway_handler.py"
    assert path.is_file() and re.search(r"^def lambda_handler\(", path.read_text(), re.M), (
        "src/handlers/api_gateway_handler.py has no lambda_handler: finish lessons 03-04 first")


# --- questions --------------------------------------------------------------------------------

question(
    "7.a",
    "Your laptop is a Mac with Python 3.12. You run `pip install -r requirements.txt --target "
    "package` and zip `package/` with your code for a python3.13 arm64 function. What happens?",
    ["It works: pydantic is a pure-Python package",
     "Every invocation fails at import: pydantic-core's compiled module is a macOS build for "
     "Python 3.12",
     "It works, but slower: Lambda recompiles the module for Linux at the first cold start"],
    answer=1,
    why=["pydantic's own code is Python, but it depends on pydantic-core, which is compiled "
         "(Rust): one wheel per platform and Python version.",
         "Right: Lambda's Python loads only *.cpython-313-aarch64-linux-gnu.so and finds a "
         "darwin 3.12 one: Runtime.ImportModuleError on every invocation (section 2 shows the "
         "error).",
         "Lambda never compiles anything: the zip is unpacked and imported as it is."])

question(
    "7.b",
    "Why does the course leave boto3 out of requirements-lambda.txt?",
    ["Because boto3 cannot be installed with --platform",
     "Because the python3.13 runtime already has boto3 (and botocore): pinning it adds about "
     "30 MB unzipped, but freezes the version you tested",
     "Because Lambda refuses zips that contain boto3"],
    answer=1,
    why=["boto3 is pure Python: it installs for any platform.",
         "Right: leaving it out keeps the zip small and takes the runtime's version, which AWS "
         "updates; pin it (with its dependencies) when your code needs an API newer than the "
         "runtime's copy, or to test and run the very same version.",
         "A zip may hold boto3: it then shadows the runtime's copy."])

question(
    "7.c",
    "You build the same commit twice, an hour apart, with a zip writer that stores each file's "
    "modification time. What does `terraform plan` say the second time?",
    ["No changes: the code is the same",
     "The function's code changes: the zip's bytes differ, so filebase64sha256() differs",
     "An error: the hash does not match the state"],
    answer=1,
    why=["Terraform compares hashes of the zip's bytes, not your source files.",
         "Right: a checkout, a touch or a fresh clone changes the times, so every build looks "
         "like a new version and every apply deploys again.",
         "A changed hash is not an error: it is a change to apply."])

question(
    "7.d",
    "You move every dependency into a layer. What happens to the function's cold start?",
    ["It gets faster: layers are cached by Lambda",
     "About the same: the layer is unpacked into /opt of each new execution environment, and "
     "its modules are imported as before",
     "It gets slower by the layer's size in seconds"],
    answer=1,
    why=["Lambda does not keep your layer's modules loaded between environments: a new "
         "environment unpacks and imports them like the zip's own.",
         "Right: layers share and organise dependencies (and the 250 MB limit counts them "
         "too); they do not make imports cheaper.",
         "Not that dramatic: the time to import is what it was without the layer."])

question(
    "7.e",
    "Your build runs `pip install --find-links wheelhouse -r requirements-lambda.txt ...` "
    "without `--no-index`. One pinned package is missing from the wheelhouse. What happens?",
    ["The install fails: --find-links replaces the package index",
     "pip quietly downloads it from its index (PyPI): the build needs the network and takes "
     "whatever the index serves that day",
     "pip skips the missing package and installs the others"],
    answer=1,
    why=["--find-links adds a place to look; the index stays in use until --no-index removes it.",
         "Right: only --no-index makes the wheelhouse the one source. Hashes still protect "
         "you from a different file, but the build is no longer offline or repeatable.",
         "pip never skips a requirement: it installs it or fails."])

question(
    "7.f",
    "This kernel runs Python 3.11. You build the layer for python3.13 on x86_64 — this "
    "machine's architecture — and run it with `invoke(code=..., layers=[...])`. What happens?",
    ["It works: same architecture, same Linux",
     "The import fails: the compiled modules are built for CPython 3.13 "
     "(*.cpython-313-x86_64-linux-gnu.so), which 3.11 does not load",
     "It works, more slowly: Python 3.11 emulates 3.13"],
    answer=1,
    why=["The architecture matches, but a compiled module is built for one Python version's "
         "ABI too.",
         "Right: that is why the proof uses the same pins built for the interpreter at hand, "
         "and the runtime builds are checked by their tags.",
         "No Python runs modules compiled for another version."])

question(
    "7.g",
    "A function with a 10-second timeout calls DynamoDB through a boto3 client created with "
    "the defaults, and DynamoDB's endpoint stops answering. What happens?",
    ["botocore gives up after 1 second and your code logs the error",
     "Lambda ends the invocation at 10 seconds while botocore is still waiting (its defaults "
     "are 60 s to connect and 60 s per read, with retries): nothing of yours is logged",
     "boto3 never waits: DynamoDB calls are asynchronous"],
    answer=1,
    why=["botocore's defaults are far longer: 60 seconds each for connecting and reading.",
         "Right: set connect_timeout, read_timeout and retries with botocore's Config so that "
         "your code gets control back before the function's timeout.",
         "boto3 calls are synchronous: the thread waits for the answer."])

question(
    "7.h",
    "Your Dockerfile says `FROM public.ecr.aws/lambda/python:3.13`. You rebuild an unchanged "
    "project a month later. Is the image the same?",
    ["Yes: the tag names one image forever",
     "Not necessarily: AWS republishes :3.13 with patches, so the base (and your image) can "
     "differ; a @sha256 digest names one exact image",
     "No: Docker always pulls :latest"],
    answer=1,
    why=["Tags move: AWS updates its base images regularly under the same tag.",
         "Right: pin the digest, and update it on purpose (a reviewed change), to get patches "
         "without surprises.",
         "Docker pulls the tag you name; :latest is only the default when you name none."])
