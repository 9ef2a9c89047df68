"""Run a Lambda handler the way Lambda runs it, without Docker: `invoke()` returns an `Invocation`.

    >>> from course import invoke
    >>> result = invoke("handlers.api_handler.lambda_handler", {"httpMethod": "GET"})
    >>> result.response, result.report

moto stores Lambda functions but never runs them here, so the course runs handlers itself:

- each function runs in its own Python process (`course.awslambda.runtime` is the inside), with the
  project's src folder as LAMBDA_TASK_ROOT and first on `sys.path`, the course sandbox active
  (fake credentials, loopback-only network) and Lambda's environment variables;
- the first call starts the process: a cold start, with an Init Duration. Later calls with the same
  handler, configuration and unchanged source files reuse it (warm: module-level state survives);
  `cold=True`, a new configuration or an edited .py file under src start a fresh process;
- the timeout is enforced by killing the process, memory by watching its peak resident memory;
- the result carries the response or Lambda's error object, the function's log lines
  (START / output / END / REPORT) and the REPORT figures.

Differences from Lambda worth knowing: Duration is measured around the handler call inside the
process (Lambda measures a little more); Max Memory Used is the process's peak RSS (Lambda counts
the whole sandbox, so real figures are some MB higher); a function that goes over its memory is
killed when the course notices (it checks every 25 ms and after each call), not by a cgroup at the
exact byte; the init phase is cut at min(10 s, timeout + 2 s) instead of Lambda's 10 s plus a retry.
"""

from __future__ import annotations

import atexit
import hashlib
import html
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from course import workspace
from course.awslambda._cgroup import CpuShare, vcpus
from course.awslambda.runtime import peak_rss_kb
from course.learner.views import AMBER, GREEN, RED
from course.sandbox import ACCOUNT_ID, REGION

__all__ = ["Invocation", "billed_duration_ms", "format_report", "invoke", "shutdown"]

INIT_LIMIT_S = 10.0  # Lambda's limit for the init phase of an on-demand function
INIT_GRACE_S = 2.0  # the course's init limit is min(INIT_LIMIT_S, timeout + INIT_GRACE_S)
MEMORY_RANGE_MB = (128, 10240)
MAX_TIMEOUT_S = 900.0
MAX_LAYERS = 5
# Variables Lambda refuses in a function's configuration ("reserved keys").
RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
_PAYLOAD_LIMIT = 6 * 1024 * 1024
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_POLL_S = 0.025  # how often a running function's memory is checked
_LOG_SHOWN_BYTES = 256 * 1024  # per invocation, like CloudWatch's 256 KB event limit
_LOG_FILE_RESET_BYTES = 8 * 1024 * 1024
_PY = f"{sys.version_info.major}.{sys.version_info.minor}"


def billed_duration_ms(duration_ms: float, init_duration_ms: float | None = None) -> int:
    """What Lambda bills: rounded up to the next millisecond, at least 1 ms.

    Since 1 August 2025 Lambda also bills the INIT phase of on-demand functions packaged as a zip
    with a managed runtime (like these), so a cold start bills ceil(duration + init duration);
    a warm call bills ceil(duration).
    """
    total = duration_ms + (init_duration_ms or 0.0)
    return max(1, math.ceil(round(total, 6)))


def format_report(request_id: str, duration_ms: float, billed_ms: int, memory_mb: int,
                  max_memory_used_mb: int, init_duration_ms: float | None = None,
                  status: str | None = None, error_type: str | None = None) -> str:
    """Lambda's REPORT line (tab-separated; Init Duration only on a cold start)."""
    fields = [f"REPORT RequestId: {request_id}", f"Duration: {duration_ms:.2f} ms",
              f"Billed Duration: {billed_ms} ms", f"Memory Size: {memory_mb} MB",
              f"Max Memory Used: {max_memory_used_mb} MB"]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status:
        fields.append(f"Status: {status}")
    if error_type:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields)


@dataclass(repr=False)
class Invocation:
    """One call of a handler: the response or error, the logs and the REPORT figures."""

    response: Any
    error: dict[str, Any] | None
    logs: str
    report: str
    duration_ms: float
    billed_duration_ms: int
    init_duration_ms: float | None
    max_memory_used_mb: int
    memory_mb: int
    request_id: str
    cold: bool
    handler: str = ""
    notes: list[str] = field(default_factory=list)
    # The CPU time of the init phase (cold starts only): on a busy machine the Init Duration
    # grows with the wait for a core, this does not; compare variants with it.
    init_cpu_ms: float | None = None

    @property
    def ok(self) -> bool:
        """True when the handler returned a (JSON-serialisable) value."""
        return self.error is None

    @property
    def status_code(self) -> int | None:
        """The HTTP status of an API Gateway proxy response, if the handler returned one."""
        if isinstance(self.response, dict) and isinstance(self.response.get("statusCode"), int):
            return int(self.response["statusCode"])
        return None

    def _outcome(self) -> tuple[str, str]:
        """(colour, words): Lambda's success only means the function did not crash, so an
        HTTP answer is judged by its status code."""
        if not self.ok:
            return RED, f"Function error: {self.error.get('errorType') if self.error else ''}"
        status = self.status_code
        if status is None:
            return GREEN, "Function returned"
        colour = GREEN if status < 400 else AMBER if status < 500 else RED
        return colour, f"Function returned HTTP {status}"

    def _headline(self) -> str:
        start = "cold start" if self.cold else "warm"
        return f"{self._outcome()[1]} ({start}): {self.handler}"

    def _error_text(self) -> str:
        if not self.error:
            return ""
        text = f"{self.error.get('errorType')}: {self.error.get('errorMessage')}"
        stack = self.error.get("stackTrace") or []
        if stack:
            text += "\nTraceback (most recent call last):\n" + "".join(stack).rstrip("\n")
        return text

    def __str__(self) -> str:
        parts = [self._headline()]
        if self.ok:
            parts.append("Response: " + _pretty(self.response))
        else:
            parts.append(self._error_text())
        parts.extend(f"Note: {note}" for note in self.notes)
        parts.append(self.report)
        return "\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour, words = self._outcome()
        start = "cold start" if self.cold else "warm"
        esc = html.escape
        pre = ("margin:4px 0;padding:6px;max-height:24em;overflow:auto;white-space:pre-wrap;"
               "overflow-wrap:anywhere;background:rgba(127,127,127,.08);border-radius:3px;"
               "font-size:90%")
        rows = [f'<div><b style="color:{colour}">{esc(words)}</b> &middot; {start} &middot; '
                f"<code>{esc(self.handler)}</code></div>"]
        if self.ok:
            rows.append(f'<div style="margin-top:4px">Response</div>'
                        f'<pre style="{pre}">{esc(_pretty(self.response))}</pre>')
        else:
            rows.append(f'<div style="margin-top:4px;color:{colour}">Error</div>'
                        f'<pre style="{pre}">{esc(self._error_text())}</pre>')
        if self.notes:
            items = "".join(f"<li>{esc(note)}</li>" for note in self.notes)
            rows.append(f'<ul style="margin:4px 0">{items}</ul>')
        logs = self.logs.removesuffix(self.report).rstrip("\n")  # the REPORT line: below
        line_count = logs.count("\n") + 1
        opened = " open" if line_count <= 30 or not self.ok else ""
        rows.append(f"<details{opened}><summary>Logs ({line_count} lines)</summary>"
                    f'<pre style="{pre}">{esc(logs)}</pre></details>')
        fields = "".join(f'<span style="white-space:nowrap;margin-right:1.2em">{esc(f)}</span> '
                         for f in self.report.split("\t"))
        rows.append(f'<div style="font-family:var(--jp-code-font-family,monospace);'
                    f'font-size:85%;opacity:.85;margin-top:4px">{fields}</div>')
        return (f'<div class="course-invocation" style="border:1px solid rgba(127,127,127,.35);'
                f'border-left:4px solid {colour};padding:6px 10px;margin:4px 0">'
                + "".join(rows) + "</div>")


def _pretty(value: Any, limit: int = 4000) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[:limit] + f"\n... ({len(text) - limit} more characters)"
    return text


@dataclass(frozen=True)
class _Config:
    src: str  # LAMBDA_TASK_ROOT: the project's src folder, or an unpacked deployment package
    handler: str
    env: tuple[tuple[str, str], ...]
    memory_mb: int
    timeout: float
    function_name: str
    layers: tuple[str, ...] = ()  # unpacked layers (each holds python/...), as /opt in Lambda
    isolated: bool = False  # only the package, its layers and the standard library importable
    cpu_share: bool = False  # the CPU Lambda gives memory_mb, where a cgroup can enforce it

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def init_limit(self) -> float:
        return min(INIT_LIMIT_S, self.timeout + INIT_GRACE_S)


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _fingerprint(src: Path) -> int:
    """Changes when a .py file under src is added, removed or modified (path, mtime, size)."""
    items = []
    stack = [str(src)]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name != "__pycache__" and not entry.name.startswith("."):
                            stack.append(entry.path)
                    elif entry.name.endswith(".py"):
                        stat = entry.stat()
                        items.append((entry.path, stat.st_mtime_ns, stat.st_size))
                except OSError:
                    continue
    return hash(tuple(sorted(items)))


def _mb(kb: int | None) -> int:
    return math.ceil((kb or 0) / 1024)


def _exit_message(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = (signal.strsignal(-code) or f"signal {-code}").lower()
        except ValueError:
            name = f"signal {-code}"
        return f"Runtime exited with error: signal: {name}"
    if code:
        return f"Runtime exited with error: exit status {code}"
    return "Runtime exited without providing a reason"


_RUNTIME_FILES = ("__init__.py", "sandbox.py", "awslambda/__init__.py", "awslambda/runtime.py",
                  "awslambda/context.py")
# What Lambda's Python runtime ships besides the standard library: the AWS SDK.
_RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def _runtime_root() -> str:
    """A folder holding only what Lambda keeps in /var/runtime: the course's runtime and the
    AWS SDK (linked from this environment). An isolated function imports nothing else."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(b"".join((package / f).read_bytes() for f in _RUNTIME_FILES))
    root = workspace.scratch() / f"runtime-{digest.hexdigest()[:12]}"
    if not (root / "course" / "awslambda" / "runtime.py").is_file():
        import importlib.util

        staging = Path(tempfile.mkdtemp(prefix="runtime-", dir=workspace.scratch()))
        for name in _RUNTIME_FILES:
            (staging / "course" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(package / name, staging / "course" / name)
        for name in _RUNTIME_SDK:
            spec = importlib.util.find_spec(name)
            if spec and spec.origin:
                origin = Path(spec.origin)
                source = origin.parent if origin.name == "__init__.py" else origin
                (staging / source.name).symlink_to(source)
        try:
            staging.rename(root)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    return str(root)


def _unpacked(code: str | Path, what: str) -> Path:
    """A folder with the content of `code` (a folder as it is, a .zip unpacked once)."""
    path = Path(code).expanduser().resolve()
    if path.is_dir():
        return path
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise FileNotFoundError(f"{what} {code} is neither a folder nor a .zip file")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    target = workspace.scratch() / f"package-{digest}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix="package-", dir=workspace.scratch()))
        with zipfile.ZipFile(path) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _layer_paths(layers: tuple[str, ...]) -> list[str]:
    """Where Lambda's Python runtime finds a layer's code: /opt/python and its site-packages."""
    found = []
    for layer in layers:
        python = Path(layer) / "python"
        found += [str(python), str(python / "lib" / f"python{_PY}" / "site-packages")]
    return found


def _child_env(config: _Config) -> dict[str, str]:
    env = dict(os.environ)
    # The kernel's own settings, not the function's (MPLBACKEND points at Jupyter's inline plots).
    for name in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONSAFEPATH", "MPLBACKEND"):
        env.pop(name, None)
    stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{_PY}",
        "LAMBDA_TASK_ROOT": config.src,
        "_HANDLER": config.handler,
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join(
            [*([_runtime_root()] if config.isolated else []), config.src,
             *_layer_paths(config.layers)]),
        "PYTHONUNBUFFERED": "1",  # prints reach the log even if the process is then killed
        "PYTHONIOENCODING": "utf-8",
    })
    env.update(dict(config.env))
    return env


class _ExecutionEnvironment:
    """One function process (Lambda's execution environment) and its pipes and log file."""

    def __init__(self, config: _Config, fingerprint: int) -> None:
        self.config = config
        self.fingerprint = fingerprint
        self.buffer = bytearray()
        self.peak_kb = 0
        self.init_ms = 0.0
        self.init_cpu_ms = 0.0
        self.init_logs = ""
        self.invoked = False
        # The function's stdout and stderr: a file that is deleted at once (nothing is left
        # behind however this process ends); the function appends to it (O_APPEND, so it can be
        # truncated), this process reads and truncates it through its own handle.
        handle, path = tempfile.mkstemp(prefix="course-function-", suffix=".log")
        self.log = os.fdopen(handle, "r+b")
        self.log_offset = 0
        command_read, self.commands = os.pipe()
        self.results, result_write = os.pipe()
        self.cpu = CpuShare(config.memory_mb, f"course-fn-{os.getpid()}-{uuid.uuid4().hex[:8]}") \
            if config.cpu_share else None
        self.started = time.perf_counter()
        try:
            with open(path, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, *(["-S"] if config.isolated else []),  # -S: no site-packages
                     "-m", "course.awslambda.runtime",
                     str(command_read), str(result_write)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(command_read, result_write), cwd=config.src,
                    env=_child_env(config), start_new_session=True)
        except BaseException:
            os.close(self.commands)
            os.close(self.results)
            self.log.close()
            raise
        finally:
            os.close(command_read)
            os.close(result_write)
            os.unlink(path)
        if self.cpu is not None:  # before the config goes out: the init phase runs limited
            self.cpu.add(self.proc.pid)
        self.send({"src": config.src, "handler": config.handler, "timeout": config.timeout,
                   "function_arn": config.function_arn, "env": dict(config.env)})

    def send(self, message: dict[str, Any], event_json: str | None = None) -> None:
        line = json.dumps(message, ensure_ascii=False)
        if event_json is not None:  # splice the event in: it is encoded once, by invoke()
            line = line[:-1] + ', "event": ' + event_json + "}"
        data = (line + "\n").encode("utf-8", "surrogatepass")
        try:
            while data:
                data = data[os.write(self.commands, data):]
        except OSError:
            pass  # the process is gone: wait() reports it

    def wait(self, limit_s: float) -> tuple[str, Any]:
        """The next message, or ("timeout" | "exited" | "oom", detail)."""
        deadline = time.monotonic() + limit_s
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self.buffer[:newline])
                del self.buffer[:newline + 1]
                message = json.loads(line)
                self.peak_kb = max(self.peak_kb, message.get("max_rss_kb") or 0)
                return "message", message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.peak_kb = max(self.peak_kb, peak_rss_kb(self.proc.pid) or 0)
                return "timeout", None
            if _readable(self.results, min(remaining, _POLL_S)):
                chunk = os.read(self.results, 1 << 20)
                if not chunk:
                    return "exited", self.exit_code()
                self.buffer += chunk
            else:
                self.peak_kb = max(self.peak_kb, peak_rss_kb(self.proc.pid) or 0)
                if _mb(self.peak_kb) > self.config.memory_mb:
                    return "oom", None

    def exit_code(self) -> int | None:
        try:
            return self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:  # the whole process group: also what the handler started
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
        self.proc.wait()

    def read_logs(self) -> str:
        try:
            size = os.fstat(self.log.fileno()).st_size
            count = max(size - self.log_offset, 0)
            self.log.seek(self.log_offset)
            if count <= _LOG_SHOWN_BYTES:
                data = self.log.read(count)
            else:
                head = self.log.read(_LOG_SHOWN_BYTES // 4)
                self.log.seek(size - _LOG_SHOWN_BYTES * 3 // 4)
                tail = self.log.read(_LOG_SHOWN_BYTES * 3 // 4)
                skipped = count - len(head) - len(tail)
                data = head + f"\n... [{skipped} bytes of output skipped] ...\n".encode() + tail
            self.log_offset = size
            if size > _LOG_FILE_RESET_BYTES:
                os.ftruncate(self.log.fileno(), 0)
                self.log_offset = 0
        except (OSError, ValueError):
            return ""
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        self.kill()
        self.forget()
        if self.cpu is not None:
            self.cpu.close()

    def forget(self) -> None:
        """Close this process's copies of the pipes and the log, leaving the function alone."""
        for fd in (self.commands, self.results):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()


def _readable(fd: int, timeout_s: float) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        return bool(poller.poll(max(timeout_s, 0) * 1000))
    return bool(select.select([fd], [], [], max(timeout_s, 0))[0])


_POOL: dict[tuple[str, str], _ExecutionEnvironment] = {}
_LOCK = threading.RLock()


def _forget_inherited() -> None:
    """In a forked copy of this process (e.g. a check worker): the functions are the parent's."""
    global _LOCK
    _LOCK = threading.RLock()
    for environment in _POOL.values():
        environment.forget()
    _POOL.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited)


def _normalize_handler(handler: str, src: Path, notes: list[str]) -> str:
    handler = handler.strip()
    if handler.startswith("src.") and not (src / "src").exists():
        short = handler[len("src."):]
        notes.append(
            f"Ran '{short}': the handler is relative to the zip's root, and the course packages "
            f"the contents of src/ (LAMBDA_TASK_ROOT = your src folder). Configure Lambda with "
            f"handler '{short}'; '{handler}' only works if the zip contains the src/ folder "
            f"itself, and then imports such as 'from services ...' fail.")
        return short
    return handler


def _config(src: Path, handler: str, timeout: float, memory_mb: int,
            env: dict[str, str] | None, function_name: str, layers: tuple[str, ...] = (),
            isolated: bool = False, cpu_share: bool = False) -> _Config:
    if not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise ValueError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:g}] "
                         f"(Lambda allows 1 to 900), not {timeout!r}")
    low, high = MEMORY_RANGE_MB
    if not isinstance(memory_mb, int) or not low <= memory_mb <= high:
        raise ValueError(f"memory_mb must be an integer from {low} to {high} (Lambda's range), "
                         f"not {memory_mb!r}")
    if not _FUNCTION_NAME.match(function_name):
        raise ValueError(f"function_name {function_name!r}: use 1-64 letters, digits, - or _")
    env = dict(env or {})
    bad = [key for key, value in env.items()
           if not isinstance(key, str) or not isinstance(value, str)]
    if bad:
        raise TypeError(f"env keys and values must be strings (as in Lambda): {bad}")
    reserved = sorted(RESERVED_ENV.intersection(env))
    if reserved:
        raise ValueError("Lambda does not let a function set these reserved environment "
                         f"variables: {', '.join(reserved)}")
    if "COURSE_SANDBOX" in env:
        raise ValueError("env cannot switch the course sandbox: run "
                         "course.sandbox.allow_real_aws() in the kernel to opt out")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"Lambda allows at most {MAX_LAYERS} layers per function, "
                         f"not {len(layers)}")
    return _Config(str(src), handler, tuple(sorted(env.items())), memory_mb, float(timeout),
                   function_name, layers, isolated, cpu_share)


def invoke(handler: str, event: dict | None = None, *, project: str | Path | None = None,
           timeout: float = 3.0, memory_mb: int = 128, cold: bool = False,
           env: dict[str, str] | None = None, function_name: str = "course-function",
           code: str | Path | None = None, layers: tuple[str | Path, ...] | list[str | Path]
           = (), cpu_share: bool = False) -> Invocation:
    """Run `handler(event, context)` as Lambda would and return what happened.

    handler: "handlers.api_handler.lambda_handler", relative to the project's src folder (the
    guideline's "src.handlers..." form is accepted too, with a note). event: the JSON event
    ({} when None). project: the project folder (default: the course workspace). timeout (s)
    and memory_mb: the function's configuration. cold=True forces a fresh process. env: the
    function's environment variables.

    code: a deployment package instead of the project (a .zip or a folder, its root being what
    Lambda unpacks into /var/task), run isolated as in Lambda: the function imports only what
    the package, its `layers` (.zip files or folders holding python/...) and the standard
    library hold, never this environment's packages.

    cpu_share=True: the function gets the CPU Lambda gives memory_mb (one vCPU at 1,769 MB),
    enforced with a Linux cgroup where this machine allows it (root, cgroup v1 or v2);
    elsewhere a note says the CPU was not limited.
    """
    notes: list[str] = []
    if code is not None:
        src = _unpacked(code, "code")
        layer_dirs = tuple(str(_unpacked(layer, "layer")) for layer in layers)
    else:
        src = workspace.src_dir(project)
        if not src.is_dir():
            raise FileNotFoundError(f"No source folder at {src}: the project must have a src/ "
                                    "folder holding handlers/, models/, services/ and utils/.")
        if layers:
            raise ValueError("layers go with a deployment package: pass code= too")
        layer_dirs = ()
        handler = _normalize_handler(handler, src, notes)
    config = _config(src, handler, timeout, memory_mb, env, function_name, layer_dirs,
                     isolated=code is not None, cpu_share=cpu_share)
    try:
        event_json = json.dumps({} if event is None else event, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"The event must be JSON, as every Lambda event is: {exc}") from None
    if len(event_json.encode("utf-8", "surrogatepass")) > _PAYLOAD_LIMIT:
        raise ValueError(f"The event is larger than Lambda's {_PAYLOAD_LIMIT} bytes limit for a "
                         "synchronous invocation.")
    request_id = str(uuid.uuid4())

    with _LOCK:
        key = (config.src, config.handler)
        fingerprint = _fingerprint(src)
        environment = _POOL.get(key)
        if environment is not None:
            reason = None
            if cold:
                reason = ""
            elif not environment.alive():
                reason = "the previous process had exited: this call is a cold start"
            elif environment.config != config:
                reason = "the configuration changed: this call is a cold start in a new process"
            elif environment.fingerprint != fingerprint:
                reason = "your source files changed: this call is a cold start in a new process"
            if reason is not None:
                _retire(key)
                environment = None
                if reason:
                    notes.append(reason)
        try:
            if environment is None:
                environment = _ExecutionEnvironment(config, fingerprint)
                _POOL[key] = environment
                if cpu_share and not (environment.cpu and environment.cpu.limited):
                    notes.append("CPU not limited: this machine gives the course no writable "
                                 "cgroup, so the function runs on a whole core, not on the "
                                 f"{vcpus(memory_mb):.2f} vCPU Lambda gives {memory_mb} MB")
                failed = _initialize(environment, request_id, notes)
                if failed is not None:
                    _retire(key)
                    return _unless_unfinished(failed, src)
            return _unless_unfinished(
                _invoke(key, environment, event_json, request_id, notes), src)
        except BaseException:  # e.g. KeyboardInterrupt: the process's state is unknown
            _retire(key)
            raise


def _unless_unfinished(result: Invocation, src: Path) -> Invocation:
    """The Invocation, unless the handler stopped at an exercise's placeholder: then say which
    exercise to finish first, instead of returning an error a demo cell would trip over."""
    error = result.error or {}
    message = str(error.get("errorMessage", ""))
    if error.get("errorType") == "NotImplementedError" and message.startswith("Exercise "):
        from course.learner.save import ExerciseNotFinished

        exercise = message.split(":")[0]
        frames = re.findall(r'File "([^"]+)", line (\d+)', "".join(error.get("stackTrace") or []))
        at = (f" (src/{Path(frames[-1][0]).relative_to(src).as_posix()}, line {frames[-1][1]})"
              if frames and Path(frames[-1][0]).is_relative_to(src) else "")
        raise ExerciseNotFinished(f"{exercise} is not finished yet{at}: {result.handler} still "
                                  f"holds its placeholder. Finish {exercise.lower()} first.")
    return result


def _retire(key: tuple[str, str]) -> None:
    environment = _POOL.pop(key, None)
    if environment is not None:
        environment.close()


def _initialize(environment: _ExecutionEnvironment, request_id: str,
                notes: list[str]) -> Invocation | None:
    """Wait for the init phase; None when the handler is ready, else the failed Invocation."""
    config = environment.config
    kind, message = environment.wait(config.init_limit)
    environment.init_ms = (time.perf_counter() - environment.started) * 1000
    if kind == "message" and message.get("type") == "ready":
        environment.init_cpu_ms = float(message.get("init_cpu_ms") or 0.0)
        if _mb(environment.peak_kb) <= config.memory_mb:
            environment.init_logs = environment.read_logs()
            return None
        kind = "oom"
    if kind == "message":
        error = dict(message["error"], requestId=request_id)
        error_type, status = error["errorType"], "error"
    elif kind == "timeout":
        environment.kill()
        error_type, status = "Sandbox.Timedout", "timeout"
        module = config.handler.rsplit(".", 1)[0]
        error = {"errorType": error_type, "requestId": request_id, "errorMessage": (
            f"RequestId: {request_id} Error: Init timed out after {config.init_limit:.2f} "
            f"seconds: importing '{module}' (src/{module.replace('.', '/')}.py) did not finish, "
            "e.g. a loop or a blocking call at module level. Lambda allows 10 s for init; the "
            f"course stops after min(10 s, timeout + {INIT_GRACE_S:g} s).")}
    elif kind == "oom":
        environment.kill()
        error, error_type, status = _oom_error(environment, request_id, notes, "import")
    else:
        error_type, status = "Runtime.ExitError", "error"
        error = {"errorType": error_type, "requestId": request_id,
                 "errorMessage": f"RequestId: {request_id} Error: {_exit_message(message)}"}
    environment.kill()
    init_logs = environment.read_logs()
    lines = [f"INIT_START Runtime Version: python:{_PY}", init_logs.rstrip("\n"),
             f"INIT_REPORT Init Duration: {environment.init_ms:.2f} ms\tPhase: init\t"
             f"Status: {status}" + (f"\tError Type: {error_type}" if status == "error" else ""),
             f"START RequestId: {request_id} Version: $LATEST"]
    return _finish(environment, request_id, lines, [], None, error, 0.0, environment.init_ms, notes,
                   status, error_type if status == "error" else None)


def _oom_error(environment: _ExecutionEnvironment, request_id: str, notes: list[str],
               phase: str) -> tuple[dict[str, Any], str, str]:
    notes.append(f"The process reached {_mb(environment.peak_kb)} MB during {phase}, more than the "
                 f"function's {environment.config.memory_mb} MB: Lambda kills a function that runs "
                 "out of memory. Raise memory_mb or use less memory.")
    error = {"errorType": "Runtime.OutOfMemory", "requestId": request_id,
             "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                             "signal: killed"}
    # as Lambda reports it: the memory size, not what the process reached before it was stopped
    environment.peak_kb = min(environment.peak_kb, environment.config.memory_mb * 1024)
    return error, "Runtime.OutOfMemory", "error"


def _invoke(key: tuple[str, str], environment: _ExecutionEnvironment, event_json: str,
            request_id: str, notes: list[str]) -> Invocation:
    config = environment.config
    cold = not environment.invoked
    environment.invoked = True
    lines = []
    if cold:
        lines += [f"INIT_START Runtime Version: python:{_PY}", environment.init_logs.rstrip("\n")]
    lines.append(f"START RequestId: {request_id} Version: $LATEST")
    init_ms = environment.init_ms if cold else None

    started = time.perf_counter()
    environment.send({"op": "invoke", "request_id": request_id}, event_json)
    kind, message = environment.wait(config.timeout)
    elapsed_ms = (time.perf_counter() - started) * 1000
    tail: list[str] = []
    status = error_type = None
    response = None
    if kind == "message" and _mb(environment.peak_kb) > config.memory_mb:
        kind = "oom"
    if kind == "message":
        duration_ms = message["duration_ms"]
        error = message.get("error")
        response = message.get("response")
    else:
        _POOL.pop(key, None)
        environment.kill()
        duration_ms = elapsed_ms
        if kind == "timeout":
            duration_ms = config.timeout * 1000
            status = "timeout"
            tail.append(f"{_utc_stamp()} {request_id} Task timed out after "
                        f"{config.timeout:.2f} seconds")
            error = {"errorType": "Sandbox.Timedout", "requestId": request_id,
                     "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                                     f"{config.timeout:.2f} seconds"}
            notes.append("The process was stopped: the next call is a cold start.")
        elif kind == "oom":
            error, error_type, status = _oom_error(environment, request_id, notes, "the call")
        else:
            error_type, status = "Runtime.ExitError", "error"
            error = {"errorType": error_type, "requestId": request_id,
                     "errorMessage": f"RequestId: {request_id} Error: {_exit_message(message)}"}
    result = _finish(environment, request_id, lines, tail, response, error, duration_ms, init_ms,
                     notes, status, error_type)
    if kind != "message":
        environment.close()
    result.cold = cold
    return result


def _finish(environment: _ExecutionEnvironment, request_id: str, lines: list[str],
            tail: list[str], response: Any, error: dict[str, Any] | None,
            duration_ms: float, init_ms: float | None, notes: list[str], status: str | None,
            error_type: str | None) -> Invocation:
    config = environment.config
    billed = billed_duration_ms(duration_ms, init_ms)
    used = _mb(environment.peak_kb)
    report = format_report(request_id, duration_ms, billed, config.memory_mb, used, init_ms,
                           status, error_type)
    body = environment.read_logs().rstrip("\n")
    lines = [line for line in [*lines, body, *tail] if line]
    lines += [f"END RequestId: {request_id}", report]
    return Invocation(response=response, error=error, logs="\n".join(lines), report=report,
                      duration_ms=round(duration_ms, 2), billed_duration_ms=billed,
                      init_duration_ms=None if init_ms is None else round(init_ms, 2),
                      max_memory_used_mb=used, memory_mb=config.memory_mb,
                      request_id=request_id, cold=init_ms is not None, handler=config.handler,
                      notes=notes, init_cpu_ms=None if init_ms is None else
                      round(environment.init_cpu_ms, 2))


def shutdown() -> None:
    """Stop every function process the course started (also run at interpreter exit)."""
    with _LOCK:
        for key in list(_POOL):
            _retire(key)


atexit.register(shutdown)
