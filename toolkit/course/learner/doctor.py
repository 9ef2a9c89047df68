"""Lesson 00's set-up check: is everything a learner needs here, and is AWS out of reach?"""

from __future__ import annotations

import html
import importlib.metadata
import socket
import sys

from course import sandbox, workspace
from course.learner.views import FAIL, GREEN, PASS, RED, Rendered

PACKAGES = ("jupyterlab", "ipywidgets", "boto3", "moto", "aws-lambda-powertools", "pydantic",
            "pytest")


def _real_aws_blocked() -> tuple[bool, str]:
    try:
        socket.create_connection(("sts.amazonaws.com", 443), timeout=2).close()
    except sandbox.SandboxBlocked:
        return True, "a connection to sts.amazonaws.com was refused by the sandbox"
    except OSError as exc:
        return True, f"unreachable ({type(exc).__name__})"
    return False, "REACHABLE: calls outside mock_aws() would reach a real AWS account"


def rows() -> list[tuple[bool, str, str]]:
    """(ok, what, detail) for every item of the set-up check."""
    found = []
    ok_python = sys.version_info >= (3, 11)
    found.append((ok_python, "Python", sys.version.split()[0] + ("" if ok_python else
                                                                  " (3.11 or newer needed)")))
    for name in PACKAGES:
        try:
            found.append((True, name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            found.append((False, name, "missing: run `make lab` to install the course"))
    found.append((sandbox.is_active(), "AWS sandbox",
                  "active: fake credentials, region " + sandbox.REGION if sandbox.is_active()
                  else "OFF: you opted in to real AWS"))
    blocked, detail = _real_aws_blocked()
    found.append((blocked, "Real AWS", detail))
    from course.learner import wheelhouse

    where = wheelhouse.folder()
    ready = wheelhouse.complete(where)
    found.append((ready, "Wheelhouse (lessons 07, 11)", str(where) if ready else
                  f"{where} is missing or incomplete: `make wheelhouse` (needs the internet "
                  "once), or on a JupyterHub ask your instructor"))
    root = workspace.root()
    root.mkdir(parents=True, exist_ok=True)
    probe = root / ".course" / "write-test"
    try:
        probe.parent.mkdir(exist_ok=True)
        probe.write_text("ok")
        probe.unlink()
        found.append((True, "Workspace", str(root)))
    except OSError as exc:
        found.append((False, "Workspace", f"{root} is not writable: {exc}"))
    return found


def report() -> Rendered:
    items = rows()
    ok = all(good for good, _, _ in items)
    head = "Set-up check: all good" if ok else "Set-up check: something needs attention"
    html_rows = "".join(
        f"<tr><td style='color:{GREEN if good else RED}'>{PASS if good else FAIL}</td>"
        f"<td>{html.escape(what)}</td><td>{html.escape(detail)}</td></tr>"
        for good, what, detail in items)
    body = (f'<div class="course-card" style="--c:{GREEN if ok else RED}">'
            f"<h4>{head}</h4><table>{html_rows}</table></div>")
    plain = "\n".join([head] + [f"  {PASS if g else FAIL} {w:<28} {d}" for g, w, d in items])
    return Rendered(body, plain)
