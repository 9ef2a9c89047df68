"""Fixtures for the browser tests: Chromium through Playwright, and JupyterLab servers that
never touch the learner's real configuration, settings or workspace.

Chromium is Debian's /usr/bin/chromium (`ensure_tools.sh` installs it when it is missing);
`playwright install` is never used. Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
ENSURE_TOOLS = Path(__file__).with_name("ensure_tools.sh")
# Nothing leaves this machine, the tests' browser included: it resolves no name but loopback
# (no DNS lookups, no DNS over HTTPS) and fetches no updates or field trials. Playwright
# already adds --disable-background-networking and friends.
LOOPBACK_ONLY = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
    "--disable-features=DnsOverHttps,AsyncDns,NetworkTimeServiceQuerying,"
    "OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--dns-prefetch-disable",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--no-pings",
    "--disable-sync",
    "--disable-quic",
]
# Not inherited by the server from whoever runs the tests: the nbval plugin sets COURSE_RAISE=1
# in this process, and pytest started from a notebook would pass its JPY_SESSION_NAME on.
INHERITED_PREFIXES = ("COURSE_", "JPY_", "JUPYTER", "IPYTHON")
ISOLATED_DIRS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
                 "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")
# Silences the "Would you like to get notified about Jupyter news?" toast (it covers outputs).
NOTIFICATION_SETTINGS = ("@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                         {"fetchNews": "false", "checkForUpdates": False})
START_TIMEOUT = 60


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab in headless Chromium (needs /usr/bin/chromium)")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed on first use when possible; else the test is skipped."""
    if not os.access(CHROMIUM, os.X_OK):
        done = subprocess.run(["bash", str(ENSURE_TOOLS)], capture_output=True, text=True,
                              timeout=600, check=False)
        if done.returncode != 0 or not os.access(CHROMIUM, os.X_OK):
            pytest.skip(f"{CHROMIUM} is missing and could not be installed: "
                        f"{done.stderr.strip()[-500:]}")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[object]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing: pip install -r requirements.txt")
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=LOOPBACK_ONLY)
    except BaseException:
        playwright.stop()
        raise
    yield browser
    try:
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """build/screenshots/, without the previous run's lab-*.png (stale pictures mislead)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("lab-*.png"):
        old.unlink()
    return SCREENSHOTS


@dataclass
class Lab:
    """A JupyterLab server whose root folder holds copies of solutions/ and notebooks/."""

    base_url: str
    token: str
    root: Path
    workspace: Path  # COURSE_WORKSPACE: the learner's project, fresh
    log: Path
    process: subprocess.Popen

    def url(self, notebook: str, lab_workspace: str) -> str:
        # A Lab workspace of its own per page, so a page opens exactly the notebook asked for.
        return (f"{self.base_url}/lab/workspaces/{lab_workspace}/tree/{notebook}"
                f"?token={self.token}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(base: Path, *, workspace_in_root: bool = False) -> Lab:
    """Start JupyterLab on loopback with fresh config, data, runtime, settings and workspaces
    dirs, IPython dir and course workspace, all under `base` (returns before it answers).

    workspace_in_root: as `make lab` does: the workspace is root/workspace, holding the
    learner's own copies of the lessons (root/workspace/notebooks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES)}
    for name in ISOLATED_DIRS:
        (base / name.lower()).mkdir(parents=True)
        env[name] = str(base / name.lower())
    relative, settings = NOTIFICATION_SETTINGS
    settings_file = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / relative
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(json.dumps(settings))
    root = base / "root"
    for folder in ("solutions", "notebooks"):
        shutil.copytree(REPO / folder, root / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    workspace = root / "workspace" if workspace_in_root else base / "course-workspace"
    workspace.mkdir()
    env["COURSE_WORKSPACE"] = str(workspace)
    if workspace_in_root:  # what `make lab` runs before it starts the server
        subprocess.run([sys.executable, "-m", "course.learner.lessons"], env=env, check=True,
                       capture_output=True)

    port, token = _free_port(), secrets.token_hex(24)
    log = base / "jupyter-lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser",
             "--port", str(port), "--ip", "127.0.0.1", "--allow-root",
             f"--IdentityProvider.token={token}"],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return Lab(f"http://127.0.0.1:{port}", token, root, workspace, log, process)


def _wait_ready(lab: Lab) -> None:
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if lab.process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {lab.process.returncode}:\n"
                        f"{lab.log_tail()}")
        try:
            with no_proxy.open(f"{lab.base_url}/api/status?token={lab.token}", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in {START_TIMEOUT} s:\n{lab.log_tail()}")
            time.sleep(0.1)


def _stop(lab: Lab) -> None:
    """Stop the server and everything it started: kernels, the check worker, their children.

    Kernels first: jupyter_server's own shutdown of a kernel that imported `course` takes
    ~2.6 s (ipykernel waits for the check worker, which is in its process group)."""
    import psutil

    try:
        server = psutil.Process(lab.process.pid)
        kernels, family = server.children(), server.children(recursive=True)
    except psutil.NoSuchProcess:
        kernels = family = []
    for proc in kernels:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    lab.process.terminate()
    try:
        lab.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        lab.process.kill()
        lab.process.wait(timeout=5)
    _, alive = psutil.wait_procs(family, timeout=3)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lab]]:
    """Two servers, started side by side: "solutions" (one workspace for all the solution
    lessons: a lesson builds on the files the previous ones saved) and "learner" (a fresh
    workspace where nothing is solved)."""
    started = {}
    try:
        for name in ("solutions", "learner"):
            started[name] = _spawn(tmp_path_factory.mktemp(f"lab-{name}"))
        for lab in started.values():
            _wait_ready(lab)
        yield started
    finally:
        for lab in started.values():
            _stop(lab)
