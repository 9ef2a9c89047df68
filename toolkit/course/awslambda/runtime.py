"""The runtime inside a Lambda function's process (`python -m course.awslambda.runtime`).

`course.awslambda.invoke` (in the learner's kernel) starts a fresh Python process for a cold
start, running this module, which then behaves like Lambda's Python runtime (awslambdaric):

1. init: activate the course sandbox (fake credentials, loopback-only network), put the project's
   src folder first on `sys.path`, import the handler module and look up the function;
2. invoke, again and again while the process stays warm: build a `LambdaContext`, call
   `handler(event, context)`, encode the return value as JSON.

The protocol with the kernel is one JSON object per line on two dedicated pipes (commands in,
results out), never stdout: whatever the handler prints or logs goes to the function's log file.

Only the standard library and the course sandbox are imported here (a test proves it), so the
process starts quickly and finds no package but the learner's and the standard library's.
"""

from __future__ import annotations

import decimal
import importlib
import importlib.machinery
import importlib.util
import json
import logging
import math
import os
import sys
import threading
import time
import traceback
from typing import Any

from course import sandbox
from course.awslambda.context import LambdaContext

# The lines START/END/REPORT are written by the parent; this module writes what Lambda's runtime
# writes itself: the "[ERROR] ..." block for an unhandled exception, and the root logger's lines.
_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
_current_request_id = ""


def peak_rss_kb(pid: int | None = None) -> int | None:
    """Peak resident memory in KiB of process `pid` (default: this one), or None if unknown.

    Linux: VmHWM from /proc. Not `resource.getrusage(...).ru_maxrss`: on Linux a child started
    with vfork/exec inherits the parent's high-water mark there (a kernel using 400 MB made
    every child report 400 MB). Elsewhere: this process's ru_maxrss, another's current RSS.
    """
    try:
        with open(f"/proc/{pid or 'self'}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    if pid is not None and pid != os.getpid():  # the kernel asking about a function process
        try:
            import psutil

            return int(psutil.Process(pid).memory_info().rss // 1024)
        except Exception:  # noqa: BLE001 (psutil missing, process gone: no figure)
            return None
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error = {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}


class _FreshSourceLoader(importlib.machinery.SourceFileLoader):
    """Compile the learner's files from source every time, never from `__pycache__`.

    Python trusts a .pyc whose recorded mtime (in whole seconds) and size match the source, so
    editing a file twice within a second could run the old code after a cold start.
    """

    def path_stats(self, path: str) -> Any:
        raise OSError("the course always compiles project files from source")


def _under(path: str | None, root: str) -> bool:
    if not path:
        return False
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


def _prepare_path(src: str) -> None:
    """The project's src first on sys.path, its files always compiled from source."""
    sys.path[:] = [src, *(entry for entry in sys.path
                          if entry and os.path.realpath(entry) != src)]

    loaders = [(importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
               (_FreshSourceLoader, importlib.machinery.SOURCE_SUFFIXES)]

    def project_hook(entry: str) -> importlib.machinery.FileFinder:
        if _under(entry or os.getcwd(), src):
            return importlib.machinery.FileFinder(entry, *loaders)
        raise ImportError("not a project folder")

    sys.path_hooks.insert(0, project_hook)
    for entry in list(sys.path_importer_cache):
        if _under(entry, src):
            del sys.path_importer_cache[entry]


def _learner_frames(tb: Any, src: str) -> list[str]:
    frames = [frame for frame in traceback.extract_tb(tb) if _under(frame.filename, src)]
    return traceback.format_list(frames)


def _relative(path: str, src: str) -> str:
    """`src/handlers/x.py` for a path inside the project, else the path itself."""
    if _under(path, src):
        return "src/" + os.path.relpath(os.path.realpath(path), src).replace(os.sep, "/")
    return path


def _load_handler(handler: str, src: str) -> Any:
    """Import the handler's module and return the function, raising `_InitError` like Lambda."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as exc:
        raise _InitError("Runtime.MalformedHandlerName",
                         f"Bad handler '{handler}': {exc}") from None
    modname = modname.replace("/", ".")
    expected = "src/" + modname.replace(".", "/") + ".py"
    top = modname.split(".")[0]
    if top in sys.builtin_module_names:
        raise _InitError("Runtime.BuiltInModuleConflict",
                         f"Cannot use built-in module {modname} as a handler module")
    prefix = f"Unable to import module '{modname}'"

    spec = importlib.util.find_spec(top) if top not in sys.modules else sys.modules[top].__spec__
    if spec is None:
        raise _InitError("Runtime.ImportModuleError",
                         f"{prefix}: No module named '{top}' (your project has no {expected}; "
                         f"looked in {src})")
    places = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    if not any(_under(place, src) for place in places):
        where = places[0] if places else "a built-in module"
        raise _InitError("Runtime.ImportModuleError",
                         f"{prefix}: '{top}' was found at {where}, outside your project ({src}). "
                         f"Lambda only sees the files in your zip: add {expected} to your project.")
    try:
        module = importlib.import_module(modname)
    except SyntaxError as exc:
        where = f'  File "{exc.filename}" Line {exc.lineno}\n        {(exc.text or "").strip()}\n'
        raise _InitError("Runtime.UserCodeSyntaxError",
                         f"Syntax error in module '{modname}': {exc}", [where]) from None
    except ImportError as exc:
        ours = exc.name is not None and (modname == exc.name or modname.startswith(exc.name + "."))
        if isinstance(exc, ModuleNotFoundError) and ours:
            detail = f"(your project has no {expected}; looked in {src})"
        else:
            detail = f"(raised while importing {expected})"
        raise _InitError("Runtime.ImportModuleError", f"{prefix}: {exc} {detail}",
                         _learner_frames(exc.__traceback__, src)) from None
    file = getattr(module, "__file__", None)
    places = [file] if file else list(getattr(module, "__path__", []))
    if not any(_under(place, src) for place in places):
        raise _InitError("Runtime.ImportModuleError",
                         f"{prefix}: it was found at {places[0] if places else '?'}, outside "
                         f"your project ({src}). Add {expected} to your project.")
    try:
        return getattr(module, fname)
    except AttributeError:
        defined = sorted(name for name, value in vars(module).items()
                         if callable(value) and not name.startswith("_")
                         and getattr(value, "__module__", None) == module.__name__)
        have = f"; it defines {', '.join(defined)}" if defined else ""
        raise _InitError("Runtime.HandlerNotFound",
                         f"Handler '{fname}' missing on module '{modname}' "
                         f"({_relative(file or expected, src)}{have})") from None


def _decimal_default(value: Any) -> Any:
    # Like Lambda's marshaller: Decimals (e.g. numbers read from DynamoDB) become JSON numbers.
    if isinstance(value, decimal.Decimal):
        if value.is_nan():
            return math.nan
        if value == value.to_integral_value() and value.as_tuple().exponent >= 0:  # type: ignore[operator]
            return int(value)
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_RESPONSE_LIMIT = 6 * 1024 * 1024  # synchronous invocation response payload limit


def _error_lines(error: dict[str, Any]) -> str:
    """The block Lambda's Python runtime logs for an error (awslambdaric's log_error)."""
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    stack = error.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            lines.extend(element.splitlines() or [""])
    return "\n".join(lines) + "\n"


def _flush() -> None:
    for stream in {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__}:
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


def _install_root_logging() -> None:
    """Lambda's runtime puts a handler on the root logger (level left at WARNING).

    So `logging.warning("x")` shows up as `[WARNING]<tab>time<tab>request id<tab>x`, `logging.info`
    needs `logging.getLogger().setLevel(logging.INFO)`, and `logging.basicConfig()` does nothing.
    """
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _watch_parent(parent: int) -> None:
    """Exit when the parent (the kernel) goes away, even while a handler loops forever."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


class _Runtime:
    def __init__(self, commands: Any, results: int, config: dict[str, Any]) -> None:
        self.commands = commands
        self.results = results
        self.src = os.path.realpath(config["src"])
        self.handler_name = config["handler"]
        self.timeout = float(config["timeout"])
        self.arn = config["function_arn"]
        self.handler: Any = None

    def send(self, message: dict[str, Any], raw_response: str | None = None) -> None:
        line = json.dumps(message, ensure_ascii=False, default=str)
        if raw_response is not None:  # splice the already-encoded response in, no re-encoding
            line = line[:-1] + ', "response": ' + raw_response + "}"
        data = (line + "\n").encode("utf-8", "surrogatepass")
        while data:
            data = data[os.write(self.results, data):]

    def init(self, config: dict[str, Any]) -> None:
        _prepare_path(self.src)
        sandbox.activate()
        os.environ.update(config.get("env") or {})  # the function's own variables win
        _install_root_logging()
        watchdog = threading.Thread(target=_watch_parent, args=(os.getppid(),),
                                    name="course-runtime-watchdog", daemon=True)
        watchdog.start()
        try:
            self.handler = _load_handler(self.handler_name, self.src)
        except _InitError as exc:
            self.fail_init(exc.error)
        except Exception as exc:  # noqa: BLE001 (raised by the module's top-level code)
            self.fail_init({"errorMessage": str(exc), "errorType": type(exc).__name__,
                            "stackTrace": _learner_frames(exc.__traceback__, self.src)})
        _flush()
        self.send({"type": "ready", "max_rss_kb": peak_rss_kb(),
                   "init_cpu_ms": time.process_time() * 1000})

    def fail_init(self, error: dict[str, Any]) -> None:
        sys.stdout.write(_error_lines(error))
        _flush()
        self.send({"type": "init_error", "error": error, "max_rss_kb": peak_rss_kb()})
        os._exit(0)

    def invoke(self, message: dict[str, Any]) -> None:
        global _current_request_id
        request_id = message["request_id"]
        _current_request_id = request_id
        context = LambdaContext(aws_request_id=request_id, invoked_function_arn=self.arn,
                                deadline_ms=int(time.time() * 1000 + self.timeout * 1000))
        error = None
        raw = None
        started = time.perf_counter()
        try:
            result = self.handler(message["event"], context)
        except Exception as exc:  # noqa: BLE001 (Lambda reports any exception of the handler)
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                     "requestId": request_id,
                     "stackTrace": _learner_frames(exc.__traceback__, self.src)}
        else:
            try:
                raw = json.dumps(result, default=_decimal_default, ensure_ascii=False,
                                 allow_nan=True)
            except (TypeError, ValueError) as exc:
                error = {"errorMessage": f"Unable to marshal response: {exc}",
                         "errorType": "Runtime.MarshalError", "requestId": request_id,
                         "stackTrace": []}
            else:
                if len(raw.encode("utf-8", "surrogatepass")) > _RESPONSE_LIMIT:
                    error = {"errorMessage": "Response payload size exceeded maximum allowed "
                                             f"payload size ({_RESPONSE_LIMIT} bytes).",
                             "errorType": "Function.ResponseSizeTooLarge",
                             "requestId": request_id}
                    raw = None
        duration_ms = (time.perf_counter() - started) * 1000
        if error is not None:
            sys.stdout.write(_error_lines(error))
        _flush()
        _current_request_id = ""
        self.send({"type": "result", "request_id": request_id, "duration_ms": duration_ms,
                   "error": error, "max_rss_kb": peak_rss_kb()}, raw)

    def serve(self) -> None:
        while True:
            line = self.commands.readline()
            if not line:
                return  # the parent closed the pipe: the sandbox is shut down
            message = json.loads(line)
            if message.get("op") == "invoke":
                self.invoke(message)
            else:
                return


def main(argv: list[str]) -> None:
    """Entry point of the function's process: `<commands fd> <results fd>` as arguments."""
    command_fd, result_fd = int(argv[0]), int(argv[1])
    os.set_inheritable(command_fd, False)  # processes the handler starts must not get them
    os.set_inheritable(result_fd, False)
    sys.argv = [__file__]
    commands = os.fdopen(command_fd, "rb")
    config = json.loads(commands.readline())
    runtime = _Runtime(commands, result_fd, config)
    runtime.init(config)
    runtime.serve()
    _flush()
    os._exit(0)  # like Lambda shutting the sandbox down: no atexit hooks of the learner's code


if __name__ == "__main__":
    main(sys.argv[1:])
