"""What Binder (repo2docker) would build from binder/, simulated without Docker.

repo2docker copies the repository, installs `binder/requirements.txt` from the repository
root, runs `binder/postBuild` there, and runs every container command through
`binder/start`. This test does the same with a fresh virtual environment made from the
binder/ files only, starts JupyterLab from it through `binder/start`, checks what the
Binder launch URL opens, then executes lesson 00's solution notebook with that
environment's kernel and asserts that every check passed.

Speed: creating the environment takes one to two minutes (pip uses this machine's local
wheel index). The environment is cached under ~/.cache/course-binder-sim/<key>/ (override
with COURSE_BINDER_CACHE), keyed on the SHA-256 of requirements.txt, constraints.txt and
every file in binder/, so a later run only re-copies the repository and re-runs postBuild
(~15 s). Delete the folder to force a rebuild. Deselect with `-m "not slow"`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from course.workspace import course_home

COURSE_ROOT = course_home()

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BINDER = COURSE_ROOT / "binder"
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", ".venv-checkov", "workspace", "build",
                                    "__pycache__",
                                    ".hypothesis", ".ruff_cache", ".pytest_cache",
                                    ".ipynb_checkpoints")
CACHE = Path(os.environ.get("COURSE_BINDER_CACHE", "~/.cache/course-binder-sim")).expanduser()
LAUNCH = "lab/tree/workspace/notebooks/00-welcome.ipynb"  # the badge's urlpath


def env_key() -> str:
    digest = hashlib.sha256()
    for path in [COURSE_ROOT / "requirements.txt", COURSE_ROOT / "constraints.txt",
                 *sorted(BINDER.iterdir())]:
        if not path.exists():
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything of the course's own venv or test run."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "COURSE_", "JUPYTER", "JPY_", "IPYTHONDIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n" \
                                 f"{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, float]]:
    """(repository copy, venv, seconds spent building) with postBuild already run."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one simulation at a time shares the cached venv
        repo = tmp_path_factory.mktemp("binder") / "repo"
        shutil.copytree(COURSE_ROOT, repo, ignore=NOT_COPIED, symlinks=True)
        venv = CACHE / env_key() / "venv"
        start = time.perf_counter()
        if not (venv / ".complete").exists():
            for stale in CACHE.iterdir():  # one cached environment at a time (~400 MB)
                if stale.is_dir():
                    shutil.rmtree(stale)
            run([sys.executable, "-m", "venv", str(venv)], env=clean_env())
            # Exactly repo2docker's step: from the repository root, the binder/ file.
            run([str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", "-q",
                 "-r", "binder/requirements.txt"], cwd=repo, env=clean_env())
            (venv / ".complete").touch()
        built = time.perf_counter() - start
        path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
        post = run(["bash", "binder/postBuild"], cwd=repo, env=clean_env(PATH=path))
        assert f"course: {repo}" in post.stdout
        yield repo, venv, built


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def binder_runtime_env(repo: Path, venv: Path, scratch: Path) -> dict[str, str]:
    """The container's environment: $HOME is the repository, the venv comes first on PATH."""
    dirs = {name: scratch / name.lower() for name in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
        "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR")}
    for folder in dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    return clean_env(HOME=str(repo), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                     **{k: str(v) for k, v in dirs.items()})


def test_the_release_badge_opens_what_binder_serves() -> None:
    from urllib.parse import quote

    from course.instructor import release

    assert f"urlpath={quote(LAUNCH, safe='')}" in release.BINDER_URL


def test_binder_files_reuse_the_root_requirements() -> None:
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    includes = [line for line in lines if line and not line.startswith("#")]
    assert includes[0] == "-r ../requirements.txt", includes
    # Whatever else `make` installs with must reach Binder too (e.g. -c constraints.txt).
    make_install = re.search(r"^\t\$\(PIP\).*-r requirements\.txt(.*)$",
                             (COURSE_ROOT / "Makefile").read_text(), re.M)
    assert make_install, "the Makefile no longer installs requirements.txt with pip"
    extra = re.findall(r"-c\s+(\S+)", make_install.group(1))
    assert includes[1:] == [f"-c ../{name}" for name in extra], (includes, extra)
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    for script in ("postBuild", "start"):
        assert os.access(BINDER / script, os.X_OK), f"binder/{script} must be executable"


def test_toolkit_importable_and_reference_app_not(binder_env: tuple[Path, Path, float]) -> None:
    repo, venv, _ = binder_env
    probe = ("import importlib.util, course; print(course.__file__); "
             "print([m for m in ('handlers', 'models', 'services', 'utils') "
             "if importlib.util.find_spec(m)])")
    out = run([str(venv / "bin" / "python"), "-c", probe], cwd="/",
              env=clean_env()).stdout.splitlines()
    installed = Path(out[0])  # a plain install: a copy in site-packages, not the repo's folder
    assert installed.is_relative_to(venv) and "site-packages" in installed.parts, installed
    assert installed.read_text() == (repo / "toolkit" / "course" / "__init__.py").read_text()
    assert out[1] == "[]", f"the reference app is importable from the Binder env: {out[1]}"
    version = run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version[:4])"],
                  env=clean_env()).stdout.strip()
    assert f"python-{version}" == (BINDER / "runtime.txt").read_text().strip()


def test_binder_launch_runs_lesson_00(binder_env: tuple[Path, Path, float],
                                      tmp_path: Path) -> None:
    repo, venv, built = binder_env
    env = binder_runtime_env(repo, venv, tmp_path)
    port, token = free_port(), secrets.token_hex(16)
    log = (tmp_path / "lab.log").open("w")
    start = time.perf_counter()
    server = subprocess.Popen(
        [str(repo / "binder" / "start"), "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", "--allow-root",
         f"--ServerApp.root_dir={repo}"],
        cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                if get(f"{base}/api/status?token={token}")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer /api/status in 90 s"
            time.sleep(0.25)
        lab_up = time.perf_counter() - start
        # What the badge's launch URL opens (the learner's own copy of lesson 00, which
        # binder/start made), and the settings the toolkit's install put in the environment.
        assert get(f"{base}/{LAUNCH}?token={token}")[0] == 200
        status, body = get(f"{base}/api/contents/workspace/notebooks/00-welcome.ipynb"
                           f"?token={token}")
        assert status == 200 and json.loads(body)["type"] == "notebook"
        _, body = get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification"
                      f"?token={token}")
        properties = json.loads(body)["schema"]["properties"]
        defaults = {key: value.get("default") for key, value in properties.items()}
        assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults
        specs = json.loads(get(f"{base}/api/kernelspecs?token={token}")[1])
        assert "python3" in specs["kernelspecs"]

        ran = execute_solution(repo, venv, env)
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        log.close()
    checks = [cell for cell in ran if cell["check"]]
    assert checks, "lesson 00's solution has no check cells"
    for cell in checks:
        assert not cell["errors"], f"{cell['source']!r} raised {cell['errors']}"
        assert "Well done" in cell["text"], f"{cell['source']!r} printed {cell['text']!r}"
    assert (repo / "workspace" / "src" / "utils" / "helpers.py").is_file(), (
        "binder/start should put the learner's workspace in $HOME/workspace")
    print(f"\nbinder sim: environment {'built' if built > 5 else 'reused'} in {built:.1f} s, "
          f"JupyterLab up in {lab_up:.1f} s, lesson 00 ran in {time.perf_counter() - start:.1f} s")


EXECUTE = r"""
import json, sys
import nbformat
from nbclient import NotebookClient

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=180, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
cells = []
for cell in nb.cells:
    if cell.cell_type != "code":
        continue
    text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                   for o in cell.outputs)
    errors = [o["ename"] for o in cell.outputs if o.output_type == "error"]
    cells.append({"source": cell.source[:40], "text": text, "errors": errors,
                  "check": cell.source.lstrip().startswith("check(")})
print(json.dumps(cells))
"""


def execute_solution(repo: Path, venv: Path, env: dict[str, str]) -> list[dict]:
    """Run lesson 00's solution in a kernel of the Binder env, as the container would."""
    notebook = repo / "solutions" / "00-welcome.ipynb"
    proc = run([str(repo / "binder" / "start"), str(venv / "bin" / "python"), "-c", EXECUTE,
                str(notebook), str(repo / "notebooks")],
               cwd=repo / "notebooks", env={**env, "COURSE_RAISE": "1"}, timeout=300)
    return json.loads(proc.stdout.strip().splitlines()[-1])
