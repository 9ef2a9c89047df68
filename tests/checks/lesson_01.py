"""Hidden tests and questions for lesson 01 (Project structure and the basic handler).

Messages are written for the learner. Exercise 1.3 is mutation testing: the learner's unit tests
run in-process (pytest.main in the check's child) against the learner's own handler from
exercise 1.2 (once it passes 1.2's checks), where they must pass, and against broken copies of
it, where at least one of them must fail. A broken copy is the learner's own module, changed
each time it is imported or reloaded (an import hook), so a test that reloads the module still
tests the broken copy. No working handler is written in this file: it ships to learners.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import sys
from collections.abc import Callable
from pathlib import PurePosixPath
from types import ModuleType
from typing import Any

from course.checks import LearnerError, Project, exercise, question
from course.checks.kit import PytestRun, mutated, once, run_pytest

RUNTIME = "3.13"  # the Lambda runtime the course targets (python3.13)

# --- questions ---------------------------------------------------------------------------

question(
    "1.a",
    "The deployment zip holds the **content** of `src/` (so `handlers/` is at its root), and "
    "the function's handler is set to `src.handlers.api_handler.lambda_handler`. What happens "
    "on the first request?",
    ["It works: Lambda drops the `src.` prefix",
     "It works until the module imports `utils.helpers`",
     "INIT fails with `Runtime.ImportModuleError`: No module named 'src'"],
    answer=2,
    why=["Lambda imports the handler's module by exactly the name you configure. It drops "
         "nothing (the course's `invoke()` does, with a note, to keep demos going).",
         "That is what happens with the other zip layout: a zip holding the `src/` folder "
         "itself imports `src.handlers.api_handler`, then fails on `from utils...`.",
         "The zip's root is first on `sys.path`, and there is no `src` package at that root. "
         "Every request fails until the handler string and the zip agree."])

question(
    "1.b",
    "Your tests run on Python 3.11 here, and the function will run on Lambda's `python3.13`. "
    "Which `requires-python` fits the project?",
    ["`>=3.13`", "`>=3.11`", "`==3.11.*`", "`>=3.9`"],
    answer=1,
    why=["It refuses the Python your tests run on. ruff would also suggest 3.12+ syntax (such "
         "as `type X = ...`) that fails under 3.11.",
         "It names the oldest Python you run (your machine's) and admits the runtime. Your code "
         "then uses nothing newer than 3.11, and runs on both.",
         "It refuses 3.13, the Python the deployed code runs on.",
         "It promises support for Pythons past their end of life that nothing here is tested "
         "on. `python3.10` is deprecated on Lambda too."])

question(
    "1.d",
    "An HTTP API (payload 2.0) sends `GET /users/42` to the guideline's handler, whose "
    "`process_event` reads `event[\"httpMethod\"]`. What does the client get?",
    ["200: API Gateway converts the event to the REST API format",
     "502: the KeyError escapes from the handler",
     "500 with `{\"message\": \"Error processing request\", \"error\": \"'httpMethod'\"}`"],
    answer=2,
    why=["API Gateway sends what the integration's payload format version says (2.0 here). "
         "It converts nothing for you.",
         "The guideline's `except Exception` catches the KeyError, so nothing escapes.",
         "The KeyError is caught and turned into a 500, and `str(e)` adds the missing key's "
         "name to the body. Every request of an HTTP API fails this way."])

question(
    "1.c",
    "Lambda leaves the root logger at WARNING. Your module runs "
    "`logger = logging.getLogger(__name__)` and later `logger.info(\"Request %s %s\", method, "
    "path)`, but never sets a level. What reaches CloudWatch?",
    ["The INFO line, with Lambda's request ID", "Nothing: the INFO line is dropped",
     "The INFO line, but only on cold starts"],
    answer=1,
    why=["A logger without a level of its own takes the root's WARNING, and INFO is below it.",
         "Without a level of its own, the module's logger uses the root's WARNING. Setting your "
         "own logger's level (from LOG_LEVEL) fixes it, and leaves other libraries' loggers "
         "alone.",
         "Cold or warm, the level is the same."])

question(
    "1.e",
    "The guideline's error test ends with `assert body[\"error\"] == \"Test error\"`. You fix the "
    "handler so that 500 bodies are generic. What does that test do now?",
    ["It passes: the status is still 500", "It fails: it asserted the leak",
     "It is skipped: pytest sees the handler changed"],
    answer=1,
    why=["Its last line reads `body[\"error\"]`, which the fixed handler no longer sends.",
         "The test passed only while the bug was there, so it protected the bug. A test should "
         "fail on the broken handler and pass on the fixed one.",
         "pytest runs every test every time. Nothing is skipped because code changed."])

# --- 1.1 ---------------------------------------------------------------------------------

ex11 = exercise("1.1", "The project file", files=["pyproject.toml"])

PACKAGES = ("handlers", "models", "services", "utils")


def _pyproject(project: Project) -> dict:
    import tomllib

    text = project.require("pyproject.toml").read_text()
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AssertionError(f"pyproject.toml is not valid TOML: {exc}") from None


def _table(config: dict, dotted: str) -> dict:
    table: object = config
    for key in dotted.split("."):
        table = table.get(key) if isinstance(table, dict) else None
    return table if isinstance(table, dict) else {}


def _local_python() -> str:
    """This machine's Python, e.g. '3.11.7': the one the learner's tests and tools run on."""
    return platform.python_version()


def _admitted(spec: str) -> Any:
    """requires-python as a SpecifierSet, or an AssertionError for the learner."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(spec)
    except InvalidSpecifier:
        raise AssertionError(
            f"requires-python = {spec!r} is not a version specifier (pip's kind, such as a "
            "lower bound)") from None


@ex11.behaviour("has the guideline's folders, with src/handlers, models, services, utils "
                "as packages",
                hint=["Section 1 of lesson 01 has a cell that creates the layout: run it.",
                      "It creates the folders and an empty __init__.py in each package under "
                      "src/; files already there are kept."])
def _(project: Project) -> None:
    missing = [f"src/{name}/__init__.py" for name in PACKAGES
               if not project.path(f"src/{name}/__init__.py").is_file()]
    missing += [folder for folder in ("tests/unit", "tests/integration")
                if not project.path(folder).is_dir()]
    assert not missing, f"your workspace has no {', '.join(missing)}"


@ex11.behaviour("pyproject.toml is valid TOML and replaces setup.py",
                hint=["Section 2: every tool reads the file as TOML, and [project] holds what "
                      "setup.py used to.",
                      "TOML strings need double quotes, lists use [...], and each [table] "
                      "header appears only once. Remove setup.py."])
def _(project: Project) -> None:
    _pyproject(project)
    assert not project.path("setup.py").exists(), (
        "there is still a setup.py next to pyproject.toml: its metadata belongs in [project], "
        "so remove it (two sources of truth drift apart)")


@ex11.behaviour("[project] has a name and a requires-python for this machine's Python and "
                "Lambda's python3.13, not 3.10 or older",
                hint=["Section 2, 'Your Python here and Lambda's runtime': requires-python "
                      "names the oldest Python the project runs on, and must admit both.",
                      "Write a version specifier, as pip reads them: a lower bound at the "
                      "oldest Python you run. Check that it admits your Python and the runtime, "
                      "and that 3.10 is out."])
def _(project: Project) -> None:
    config = _pyproject(project)
    assert "project" in config, "pyproject.toml has no [project] table"
    meta = _table(config, "project")
    name = meta.get("name")
    assert isinstance(name, str) and name.strip(), "[project] has no name"
    spec = meta.get("requires-python")
    assert isinstance(spec, str), (
        "[project] has no requires-python string (the key is spelled with a hyphen)")
    allowed = _admitted(spec)
    local = _local_python()
    refused = [what for what, version in
               ((f"Python {local}, the one on this machine that runs your tests", local),
                ("Python 3.12", "3.12.0"),
                (f"Python {RUNTIME}, Lambda's python{RUNTIME} runtime", f"{RUNTIME}.0"))
               if not allowed.contains(version)]
    assert not refused, f"requires-python = {spec!r} refuses {' and '.join(refused)}"
    old = [v for v in ("3.8.20", "3.9.25", "3.10.0", "3.10.19") if allowed.contains(v)]
    assert not old, (
        f"requires-python = {spec!r} still admits Python {', '.join(old)}: Python 3.10 and "
        "older have reached their end of life (3.9 in October 2025, 3.10 in October 2026), "
        "Lambda has deprecated their runtimes, and nothing here is tested on them")


def _paths(value: object) -> list[str]:
    items = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    return [PurePosixPath(str(item)).as_posix().strip("/") for item in items]


@ex11.behaviour("pytest imports your code from src, as Lambda does (pythonpath)",
                hint=["Lesson 01, sections 1 ('One import root') and 2: pytest must import "
                      "your code by the names Lambda imports it by.",
                      "pytest's pythonpath setting lists the folders it puts on sys.path. It "
                      "belongs in pytest's own table of pyproject.toml: [tool.pytest] (pytest 9) "
                      "or the older [tool.pytest.ini_options], not both."])
def _(project: Project) -> None:
    config = _pyproject(project)
    pytest_table = _table(config, "tool.pytest")
    native = {k: v for k, v in pytest_table.items() if k != "ini_options"}
    legacy = _table(config, "tool.pytest.ini_options")
    assert native or legacy, (
        "pyproject.toml has no pytest settings: neither [tool.pytest] nor "
        "[tool.pytest.ini_options]")
    assert not (native and legacy), (
        "pyproject.toml has settings in both [tool.pytest] and [tool.pytest.ini_options]: "
        "pytest 9 refuses to start with both. Keep one")
    options = native or legacy
    assert "src" in _paths(options.get("pythonpath")), (
        "pytest's settings have no pythonpath with \"src\". Without it pytest cannot import "
        "handlers.api_handler, the name your code and Lambda use (the zip's root is the "
        "content of src/)")


@ex11.behaviour("configures ruff in the same file (no black or isort), for this machine's "
                "Python",
                hint=["Section 2: ruff replaces black, isort and flake8 and reads its settings "
                      "from [tool.ruff].",
                      "If you set ruff's target-version, it is the oldest Python you run (your "
                      "machine's), not the Lambda runtime: ruff would suggest syntax your "
                      "Python cannot run."])
def _(project: Project) -> None:
    config = _pyproject(project)
    tools = _table(config, "tool")
    assert "ruff" in tools, "pyproject.toml has no [tool.ruff] table"
    stale = [name for name in ("black", "isort", "flake8") if name in tools]
    assert not stale, (
        f"pyproject.toml still configures {', '.join(stale)}: ruff replaces them, and two "
        "formatters fight over the same lines")
    target = _table(config, "tool.ruff").get("target-version")
    if target is None:
        return
    match = re.fullmatch(r"py3(\d+)", str(target))
    assert match and int(match.group(1)) >= 11, (
        f"[tool.ruff] target-version = {target!r}: Python 3.10 and older are not supported "
        "here (or leave it out, and ruff reads requires-python)")
    oldest = _oldest_minor(config)
    assert int(match.group(1)) <= oldest, (
        f"[tool.ruff] target-version = {target!r}, but the oldest Python you run is "
        f"3.{oldest}: ruff would suggest syntax that Python cannot run (such as `type X = ...` "
        "from 3.12). Use the oldest Python you run, not the Lambda runtime, or leave it out")


def _oldest_minor(config: dict) -> int:
    """The oldest Python 3 minor version requires-python admits (this machine's if unknown)."""
    spec = _table(config, "project").get("requires-python")
    try:
        allowed = _admitted(spec) if isinstance(spec, str) else None
    except AssertionError:
        allowed = None
    if allowed is not None:
        for minor in range(8, 20):
            if any(allowed.contains(f"3.{minor}.{patch}") for patch in (0, 99)):
                return minor
    return sys.version_info.minor


# --- 1.2 ---------------------------------------------------------------------------------

ex12 = exercise("1.2", "A handler that fails safely", files=["src/handlers/api_handler.py"])

SUCCESS = "Success"
NOT_PROXY = {"message": "Not an API Gateway proxy event"}
GENERIC_500 = {"message": "Internal server error"}
SECRET = ("could not connect to postgresql://users_api:Pr0d-S3cret@users-db.internal:5432/users "
          "(arn:aws:dynamodb:us-east-1:123456789012:table/users-prod)")
TOKEN = "eyJhbGciOiJIUzI1NiJ9.session-token-7f3a"
CARD = "4111111111111111"
SOURCE_IP = "203.0.113.77"


class _Records(logging.Handler):
    """Every log record that reaches the root logger's handlers."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logging.getLogger().addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self, min_level: int = 0) -> str:
        return "\n".join(self.format(r) for r in self.records if r.levelno >= min_level)

    def close(self) -> None:
        logging.getLogger().removeHandler(self)
        super().close()


def _handler_module(project: Project) -> ModuleType:
    if "handlers.api_handler" not in sys.modules:  # as in a fresh Lambda, before the import:
        os.environ.pop("LOG_LEVEL", None)  # no LOG_LEVEL set, root logger at WARNING
        logging.getLogger().setLevel(logging.WARNING)
    module = project.module("handlers.api_handler")
    project.function("handlers.api_handler", "lambda_handler")
    return module


def _call(project: Project, event: dict, what: str) -> dict:
    handler = _handler_module(project).lambda_handler
    try:
        response = handler(event, None)
    except KeyError as exc:
        raise AssertionError(
            f"for {what} lambda_handler raised KeyError: {exc}. Lambda turns an unhandled error "
            "into a 502 for the client; read optional keys with .get() and answer with a proxy "
            "response") from None
    assert isinstance(response, dict), (
        f"for {what} lambda_handler returned a {type(response).__name__}; API Gateway needs a "
        "dict with statusCode, headers and body")
    return response


def _body(response: dict, what: str) -> object:
    body = response.get("body")
    assert isinstance(body, str), (
        f"for {what} the body is a {type(body).__name__}: API Gateway needs a string, "
        "so the data must be encoded as JSON")
    try:
        return json.loads(body)
    except ValueError:
        raise AssertionError(
            f"for {what} the body is a string but not JSON: {body[:80]!r}. Clients parse "
            "every response of a JSON API, errors included") from None


def _content_type(response: dict, what: str) -> None:
    headers = response.get("headers")
    assert isinstance(headers, dict), (
        f"for {what} the response has no headers dict: without Content-Type: application/json "
        "clients treat the JSON body as text")
    value = {str(k).lower(): v for k, v in headers.items()}.get("content-type")
    assert isinstance(value, str) and value.split(";")[0].strip() == "application/json", (
        f"for {what} the Content-Type header is {value!r}; it should be 'application/json'")


@ex12.behaviour("answers a REST API (v1) request: 200, JSON Content-Type, a string body",
                hint=["Exercise 1.2's table gives the exact body; section 3 shows where a v1 "
                      "event keeps the method and the path.",
                      "The path is the request's own path (/orders/42), not the route template "
                      "(resource) nor the stage-prefixed path inside requestContext."])
def _(project: Project) -> None:
    from course import events

    what = "GET /orders/42 (REST API, route /orders/{id})"
    event = events.api_gateway_rest("GET", "/orders/42", resource="/orders/{id}",
                                    path_parameters={"id": "42"})
    response = _call(project, event, what)
    status = response.get("statusCode")
    assert status == 200 and isinstance(status, int), f"for {what} statusCode is {status!r}"
    _content_type(response, what)
    body = _body(response, what)
    expected = {"message": SUCCESS, "data": {"method": "GET", "path": "/orders/42"}}
    assert body == expected, f"for {what} the body is {body}; expected {expected}"


@ex12.behaviour("answers an HTTP API (v2) request too (no KeyError 'httpMethod')",
                hint=["Section 3, 'Two kinds of API Gateway events': a v2 event keeps the "
                      "method and path elsewhere.",
                      "Read the method from requestContext.http and the path from rawPath when "
                      "the v1 keys are absent."])
def _(project: Project) -> None:
    from course import events

    what = "POST /orders (HTTP API, payload v2)"
    response = _call(project, events.api_gateway_http("POST", "/orders", {"item": "book"}), what)
    status = response.get("statusCode")
    assert status != 500, (
        f"for {what} your handler answered 500: it probably looked for httpMethod or path, "
        "which only REST API (v1) events have")
    assert status == 200, f"for {what} statusCode is {status!r}; expected 200"
    _content_type(response, what)
    body = _body(response, what)
    expected = {"message": SUCCESS, "data": {"method": "POST", "path": "/orders"}}
    assert body == expected, f"for {what} the body is {body}; expected {expected}"


NOT_FROM_API_GATEWAY = [
    ("the event {'test': 'data'} (the guideline's test event)", {"test": "data"}),
    ("an event with an httpMethod but no path", {"httpMethod": "GET", "headers": None}),
    ("a v2-like event whose requestContext has no http", {
        "version": "2.0", "rawPath": "/orders", "requestContext": {"requestId": "r-1"}}),
]


@ex12.behaviour("process_event returns the method and path, or raises InvalidEventError",
                hint=["Exercise 1.2's second bullet: process_event's result, and the exception "
                      "it raises for an event without a method or a path.",
                      "Raise InvalidEventError itself, not a ValueError or a KeyError: the "
                      "handler (and your tests) tell a bad request from a bug by that class."])
def _(project: Project) -> None:
    from course import events

    module = _handler_module(project)
    process_event = getattr(module, "process_event", None)
    invalid = getattr(module, "InvalidEventError", None)
    assert callable(process_event), "src/handlers/api_handler.py has no process_event function"
    assert isinstance(invalid, type) and issubclass(invalid, Exception), (
        "src/handlers/api_handler.py has no InvalidEventError class (it is in the exercise "
        "cell: keep it)")
    for what, event, expected in (
            ("a REST API (v1) event for GET /users/42", events.api_gateway_rest(
                "GET", "/users/42"), {"method": "GET", "path": "/users/42"}),
            ("an HTTP API (v2) event for DELETE /users/7", events.api_gateway_http(
                "DELETE", "/users/7"), {"method": "DELETE", "path": "/users/7"})):
        got = process_event(event)
        assert got == expected, f"for {what} process_event returned {got!r}; expected {expected}"
    for what, event in NOT_FROM_API_GATEWAY:
        try:
            got = process_event(event)
        except invalid:
            continue
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            raise AssertionError(
                f"for {what} process_event raised {type(exc).__name__}, not InvalidEventError: "
                "lambda_handler tells a bad request (400) from a bug (500) by that class") from None
        raise AssertionError(f"for {what} process_event returned {got!r} instead of raising "
                             "InvalidEventError")


@ex12.behaviour("answers 400, not 500, to an event that is not from API Gateway",
                hint=["Exercise 1.2's table: an event without a method or a path is the "
                      "caller's mistake, a 400 with a fixed body.",
                      "Catch InvalidEventError before the generic `except Exception`, and "
                      "answer with the exact body from the table (nothing of the event in it)."])
def _(project: Project) -> None:
    cases = NOT_FROM_API_GATEWAY + [(
        "an event with a token and a body but no method or path",
        {"headers": {"Authorization": f"Bearer {TOKEN}"}, "body": json.dumps({"card": CARD})})]
    for what, event in cases:
        response = _call(project, json.loads(json.dumps(event)), what)
        status = response.get("statusCode")
        assert status != 500, (
            f"for {what} your handler answered 500: a bad request is the caller's error "
            "(4xx), and a 500 would page whoever is on call")
        assert status == 400, f"for {what} statusCode is {status!r}; expected 400"
        _content_type(response, what)
        body = _body(response, what)
        assert body == NOT_PROXY, f"for {what} the body is {body}; expected {NOT_PROXY}"


def _failing_call(project: Project, error: BaseException | None = None,
                  event: dict | None = None) -> tuple[dict, _Records]:
    """Call lambda_handler with process_event replaced by one that fails with a secret."""
    from course import events

    module = _handler_module(project)
    assert callable(getattr(module, "process_event", None)), (
        "src/handlers/api_handler.py has no process_event function: lambda_handler should "
        "call process_event(event) for the work")
    failure = error if error is not None else RuntimeError(SECRET)

    def broken_process_event(event: dict) -> dict:
        raise failure

    original = module.process_event
    module.process_event = broken_process_event
    records = _Records()
    try:
        response = module.lambda_handler(
            event if event is not None else events.api_gateway_rest("GET", "/orders/42"), None)
    except Exception as exc:  # noqa: BLE001 - whatever escapes is what the learner must see
        raise AssertionError(
            f"when process_event fails with {type(failure).__name__}, lambda_handler lets "
            f"{type(exc).__name__} escape: Lambda reports an error and API Gateway answers "
            "502. Catch it and answer 500") from None
    finally:
        module.process_event = original
        records.close()
    assert isinstance(response, dict), (
        f"when process_event fails, lambda_handler returned a {type(response).__name__}")
    assert response.get("statusCode") != 200, (
        "the check made process_event fail, but lambda_handler still answered 200: call "
        "process_event(event) from lambda_handler (the check replaces it with a failing one)")
    return response, records


def _assert_generic_500(response: dict, what: str) -> None:
    status = response.get("statusCode")
    assert status == 500, f"for {what} statusCode is {status!r}; expected 500"
    _content_type(response, what)
    dumped = json.dumps(response)
    assert "users-db.internal" not in dumped and "Pr0d-S3cret" not in dumped, (
        f"for {what} your 500 response contains the exception's message — here a database "
        "password and a table ARN. Never send str(e) to the client: log it instead")
    body = _body(response, what)
    assert body == GENERIC_500, f"for {what} the body is {body}; expected {GENERIC_500}"


@ex12.behaviour("answers 500 with a generic body when something fails (no str(e))",
                hint=["Section 3's 'Guideline update — error responses': the client needs to "
                      "know that it failed, not why.",
                      "Answer 500 with the same fixed body from the table every time, whatever "
                      "the exception says: no message, no type, no detail."])
def _(project: Project) -> None:
    response, _ = _failing_call(project)
    _assert_generic_500(response, "a request whose processing fails")


def _other_failures() -> list[tuple[str, BaseException]]:
    from botocore.exceptions import ClientError, EndpointConnectionError

    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": SECRET}},
                         "GetItem")
    return [("a KeyError", KeyError(SECRET)),
            ("a ValueError (InvalidEventError's base class)", ValueError(SECRET)),
            ("a botocore ClientError (AccessDenied)", denied),
            ("a botocore EndpointConnectionError (not a ClientError)",
             EndpointConnectionError(endpoint_url="https://users-db.internal/Pr0d-S3cret"))]


@ex12.behaviour("answers 500 to every other failure, whatever its class",
                hint=["Exercise 1.2: only InvalidEventError means a bad request; any other "
                      "exception is a failure of yours.",
                      "A KeyError or a ValueError raised deep inside the processing is a bug, "
                      "not the caller's mistake: catch InvalidEventError itself for the 400, "
                      "and everything else for the 500."])
def _(project: Project) -> None:
    for what, error in _other_failures():
        response, _ = _failing_call(project, error)
        _assert_generic_500(response, f"a request whose processing fails with {what}")


@ex12.behaviour("logs the failure's detail and traceback, for you and not the client",
                hint=["Section 3's 'Guideline update — error responses': the detail goes to "
                      "the log, with its traceback.",
                      "Inside the except block, logger.exception(...) logs at ERROR with the "
                      "exception's message and traceback."])
def _(project: Project) -> None:
    _, records = _failing_call(project)
    errors = [r for r in records.records if r.levelno >= logging.ERROR]
    assert errors, (
        "nothing was logged at ERROR level when the request failed: without a log line nobody "
        "can find out what went wrong")
    assert "Pr0d-S3cret" in records.text(logging.ERROR), (
        "the error was logged without the exception's detail: the log is where it belongs")
    assert any(r.exc_info for r in errors), (
        "the error was logged without its traceback: you will not know which line failed")


def _leaks(text: str) -> list[str]:
    return [what for what, secret in (("the Authorization header (a token)", TOKEN),
                                      ("the request body (a card number)", CARD),
                                      ("the caller's IP address", SOURCE_IP))
            if secret in text]


def _secret_event(method: str = "POST", path: str = "/payments") -> dict:
    from course import events

    return events.api_gateway_rest(method, path, {"card": CARD},
                                   headers={"Authorization": f"Bearer {TOKEN}"},
                                   source_ip=SOURCE_IP)


@ex12.behaviour("logs the method and path, never the whole event",
                hint=["Section 3's 'Guideline update — error responses and logged events': "
                      "log what you need to follow a request, nothing more.",
                      "One INFO line with the method and path. Your logger needs its level "
                      "set: Lambda leaves the root logger at WARNING (question 1.c)."])
def _(project: Project) -> None:
    module = _handler_module(project)
    records = _Records()
    try:
        module.lambda_handler(_secret_event(), None)
    finally:
        records.close()
    text = records.text()
    leaked = _leaks(text)
    assert not leaked, (
        f"your log contains {' and '.join(leaked)}: logging the whole event copies tokens and "
        "personal data into CloudWatch, where many more people can read it, for months")
    assert "POST" in text and "/payments" in text, (
        "nothing logged the request's method and path at INFO (or your logger's level hides "
        "INFO): one line per request is how you follow it in the logs")


@ex12.behaviour("keeps the event out of the log when a request fails too",
                hint=["Exercise 1.2: nothing of the event goes to the log on any path, the 400 "
                      "and 500 ones included.",
                      "The error log line needs the exception (logger.exception adds it), not "
                      "the event: no headers, no body, no requestContext."])
def _(project: Project) -> None:
    response, records = _failing_call(project, event=_secret_event())
    leaked = _leaks(records.text())
    assert not leaked, (
        f"when a request fails, your log contains {' and '.join(leaked)}: a failing request "
        "is no reason to copy its token or personal data into CloudWatch")
    module = _handler_module(project)
    bad = {"headers": {"Authorization": f"Bearer {TOKEN}"}, "body": json.dumps({"card": CARD}),
           "requestContext": {"identity": {"sourceIp": SOURCE_IP}}}
    records = _Records()
    try:
        module.lambda_handler(bad, None)
    finally:
        records.close()
    leaked = _leaks(records.text())
    assert not leaked, (
        f"when your handler rejects an event (400), your log contains {' and '.join(leaked)}: "
        "log that you rejected it, not what it held")


# --- 1.3 ---------------------------------------------------------------------------------

TEST_FILE = "tests/unit/test_api_handler.py"
HANDLER = "handlers.api_handler"

ex13 = exercise("1.3", "Tests that catch the leak", files=[TEST_FILE], timeout=5.0)

# The broken copies are made at run time from the learner's own handler (exercise 1.2), by
# changing the imported module: no working handler is written down here, so none ships to
# learners.

Mutant = Callable[[ModuleType], None]


def _status(response: object) -> object:
    return response.get("statusCode") if isinstance(response, dict) else None


def _decoded(response: dict) -> object:
    try:
        return json.loads(response.get("body") or "null")
    except (TypeError, ValueError):
        return None


def _wrap_handler(module: ModuleType, after: Callable[[dict, dict], dict]) -> None:
    """Replace module.lambda_handler with one that passes each (event, response) through
    `after`."""
    handler = module.lambda_handler

    def lambda_handler(event: Any, context: Any) -> Any:
        response = handler(event, context)
        return after(event, response) if isinstance(response, dict) else response

    module.lambda_handler = lambda_handler


def _leaking(module: ModuleType) -> None:
    """The guideline's bug: the 500 body carries str(e)."""
    handler = module.lambda_handler
    factory = logging.getLogRecordFactory()

    def lambda_handler(event: Any, context: Any) -> Any:
        seen: list[BaseException] = []
        current = getattr(module, "process_event", None)  # maybe a test's failing stand-in

        def remembering(*args: Any, **kwargs: Any) -> Any:
            try:
                return current(*args, **kwargs)  # type: ignore[misc]
            except Exception as exc:
                seen.append(exc)
                raise

        def noting(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = factory(*args, **kwargs)
            if sys.exc_info()[1] is not None:
                seen.append(sys.exc_info()[1])  # type: ignore[arg-type]
            return record

        if callable(current):
            module.process_event = remembering
        logging.setLogRecordFactory(noting)
        try:
            response = handler(event, context)
        finally:
            logging.setLogRecordFactory(factory)
            if module.process_event is remembering:
                module.process_event = current
        if not (seen and _status(response) == 500):
            return response
        body = _decoded(response)
        if not isinstance(body, dict):
            return response
        return {**response, "body": json.dumps({**body, "error": str(seen[0])})}

    module.lambda_handler = lambda_handler


def _without_detail(module: ModuleType) -> None:
    """Every record logged while an exception is handled loses its message and traceback."""
    factory = logging.getLogRecordFactory()

    def stripped(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        exc = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        if exc is not None:
            message = str(record.msg).split("Traceback (most recent call last)")[0]
            for detail in {str(exc), repr(exc)} - {""}:
                message = message.replace(detail, "")
            record.msg, record.args = message, ()
            record.exc_info = record.exc_text = record.stack_info = None
        return record

    logging.setLogRecordFactory(stripped)


def _rest_only(module: ModuleType) -> None:
    """process_event reads only httpMethod and path: it sees an HTTP API (v2) event as one
    that is not from API Gateway at all."""
    reads = module.process_event

    def process_event(event: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(event, dict) and not (event.get("httpMethod") and event.get("path")):
            context = event.get("requestContext")
            blind = {k: v for k, v in event.items() if k not in ("rawPath", "routeKey")}
            if isinstance(context, dict):
                blind["requestContext"] = {k: v for k, v in context.items()
                                           if k not in ("http", "routeKey")}
            reads(blind, *args, **kwargs)  # the learner's own rejection, normally
            raise KeyError("httpMethod")  # else what the guideline's event["httpMethod"] does
        return reads(event, *args, **kwargs)

    module.process_event = process_event


def _drop_content_type(response: dict) -> dict:
    if isinstance(response.get("headers"), dict):
        headers = {k: v for k, v in response["headers"].items()
                   if str(k).lower() != "content-type"}
        response = {k: v for k, v in response.items() if k != "headers"}
        if headers:
            response["headers"] = headers
    return response


def _content_type_dropped(module: ModuleType, when: Callable[[object], bool]) -> None:
    _wrap_handler(module, lambda event, r: _drop_content_type(r) if when(_status(r)) else r)
    build = getattr(module, "response", None)
    if callable(build):  # a test may call the response helper directly
        def response(status_code: Any, *args: Any, **kwargs: Any) -> Any:
            built = build(status_code, *args, **kwargs)
            return _drop_content_type(built) if isinstance(built, dict) and when(
                status_code) else built

        module.response = response


def _without_content_type(module: ModuleType) -> None:
    """No Content-Type header on any response."""
    _content_type_dropped(module, lambda status: True)


def _without_content_type_on_errors(module: ModuleType) -> None:
    """No Content-Type header on the 400 and 500 responses."""
    _content_type_dropped(module, lambda status: isinstance(status, int) and status >= 400)


def _module_logger(module: ModuleType) -> logging.Logger:
    """The logger the learner's module logs with: `logger`, another Logger it holds, or root."""
    found = [v for k, v in sorted(vars(module).items(), key=lambda kv: kv[0] != "logger")
             if isinstance(v, logging.Logger)]
    return found[0] if found else logging.getLogger()


def _logging_event(module: ModuleType) -> None:
    """The guideline's json.dumps(event) log line, through the module's own logger."""
    handler = module.lambda_handler
    log = _module_logger(module)

    def lambda_handler(event: Any, context: Any) -> Any:
        log.info("Received event: %s", json.dumps(event, default=str))
        return handler(event, context)

    module.lambda_handler = lambda_handler


def _logging_event_on_error(module: ModuleType) -> None:
    """Every WARNING or ERROR line logged while a request is handled (the 400 and 500 paths)
    carries the whole event: the guideline's logger.exception(f"... {event}") kind of line."""
    handler = module.lambda_handler

    def lambda_handler(event: Any, context: Any) -> Any:
        factory = logging.getLogRecordFactory()
        dumped = json.dumps(event, default=str)

        def with_event(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = factory(*args, **kwargs)
            if record.levelno >= logging.WARNING:
                record.msg, record.args = f"{record.getMessage()} (event: {dumped})", ()
            return record

        logging.setLogRecordFactory(with_event)
        try:
            return handler(event, context)
        finally:
            logging.setLogRecordFactory(factory)

    module.lambda_handler = lambda_handler


def _wrong_success_body(module: ModuleType) -> None:
    """Every 200 answers as if the path were "/"."""
    def after(event: Any, response: dict) -> dict:
        body = _decoded(response)
        if _status(response) == 200 and isinstance(body, dict) and isinstance(
                body.get("data"), dict):
            data = {**body["data"], "path": "/"}
            return {**response, "body": json.dumps({**body, "data": data})}
        return response

    _wrap_handler(module, after)


def _no_client_error(module: ModuleType) -> None:
    """An event that is not from API Gateway gets the generic 500, not a 400."""
    def after(event: Any, response: dict) -> dict:
        if _status(response) == 400:
            return {**response, "statusCode": 500, "body": json.dumps(GENERIC_500)}
        return response

    _wrap_handler(module, after)


def _plain_text_errors(module: ModuleType) -> None:
    """The 400 and 500 bodies are plain text, not JSON (the Content-Type still says JSON)."""
    def after(event: Any, response: dict) -> dict:
        status, body = _status(response), _decoded(response)
        if isinstance(status, int) and status >= 400 and isinstance(body, dict):
            return {**response, "body": str(body.get("message", "Error"))}
        return response

    _wrap_handler(module, after)


def _base_error_class(module: ModuleType) -> None:
    """process_event raises a plain ValueError (InvalidEventError's base class) for a bad
    event; lambda_handler still answers 400."""
    reads, handler = module.process_event, module.lambda_handler
    invalid = getattr(module, "InvalidEventError", None)
    if not (isinstance(invalid, type) and issubclass(invalid, BaseException)):
        return

    def process_event(*args: Any, **kwargs: Any) -> Any:
        try:
            return reads(*args, **kwargs)
        except invalid as exc:
            raise ValueError(*exc.args) from None

    def lambda_handler(event: Any, context: Any) -> Any:
        if module.process_event is not process_event:  # a test's own stand-in: keep it
            return handler(event, context)
        module.process_event = reads
        try:
            return handler(event, context)
        finally:
            module.process_event = process_event

    module.process_event, module.lambda_handler = process_event, lambda_handler


MUTANTS: dict[str, Mutant] = {
    "leak": _leaking,
    "no_detail": _without_detail,
    "v1_only": _rest_only,
    "no_content_type": _without_content_type,
    "no_content_type_on_errors": _without_content_type_on_errors,
    "logs_event": _logging_event,
    "logs_event_on_error": _logging_event_on_error,
    "wrong_success_body": _wrong_success_body,
    "no_client_error": _no_client_error,
    "plain_text_errors": _plain_text_errors,
    "base_error_class": _base_error_class,
}


@once
def _why_1_2_fails(project: Project) -> str:
    """Why exercise 1.2's behaviours fail on the learner's handler ('' if they pass)."""
    for behaviour in ex12.behaviours:
        try:
            behaviour.func(project)
        except (AssertionError, LearnerError) as exc:
            return f"{behaviour.name!r} fails: {exc}"
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            return f"{behaviour.name!r} fails: {type(exc).__name__}: {exc}"
    return ""


def _own_handler_works(project: Project) -> None:
    """Exercise 1.2's behaviours on the learner's handler: every mutant starts from it."""
    why = _why_1_2_fails(project)
    assert not why, (
        "finish exercise 1.2 first: your tests are checked against your own handler, and "
        f"check(\"1.2\") does not pass yet ({why})")


def _forget_handler() -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "handlers"]:
        del sys.modules[name]
    os.environ.pop("LOG_LEVEL", None)  # as in a fresh Lambda: no LOG_LEVEL, root at WARNING
    logging.getLogger().setLevel(logging.WARNING)


@once
def _run_tests(project: Project, variant: str, source: str) -> PytestRun:
    """Run the learner's test file in this process against their handler, broken by `variant`
    (or intact for 'own')."""
    factory = logging.getLogRecordFactory()
    _forget_handler()
    try:
        with mutated(HANDLER, MUTANTS.get(variant)):
            project.module(HANDLER)  # imported (and broken) before the tests import it
            return run_pytest({"test_api_handler.py": source})
    finally:
        logging.setLogRecordFactory(factory)
        _forget_handler()


def _tests_against(project: Project, variant: str) -> PytestRun:
    return _run_tests(project, variant, project.require(TEST_FILE).read_text())


def _imports_src(project: Project) -> bool:
    import ast

    try:
        tree = ast.parse(project.require(TEST_FILE).read_text())
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(n == "src" or n.startswith("src.") for n in names):
            return True
    return False


def _passing_on_own_handler(project: Project) -> PytestRun:
    _own_handler_works(project)
    project.require(TEST_FILE)
    assert not _imports_src(project), (
        "your tests import src.handlers.api_handler (the guideline's name). Your code runs as "
        "handlers.api_handler (lesson 01, section 1), and the other name loads a second copy "
        "of the same file: what a test changes or checks in one copy, the other never sees")
    outcome = _tests_against(project, "own")
    if outcome.collect_errors:
        raise AssertionError(f"pytest could not load your test file: {outcome.load_error()}")
    assert not outcome.failed, (
        f"{len(outcome.failed)} of your tests fail against your handler, which passes "
        "check(\"1.2\"): a test must pass on correct code. "
        + "; ".join(f"{name}: {why}" for name, why in list(outcome.failed.items())[:3]))
    return outcome


def _catches(project: Project, variant: str, bug: str) -> None:
    _own_handler_works(project)
    try:
        _passing_on_own_handler(project)
    except (AssertionError, LearnerError):
        raise AssertionError(
            "first make your tests pass against your own handler (the first check above); "
            "a test that fails everywhere catches nothing") from None
    outcome = _tests_against(project, variant)
    assert outcome.failed or outcome.collect_errors, (
        f"every one of your tests passed against a copy of your handler that {bug}")


@ex13.behaviour("your tests pass against your own handler from exercise 1.2 (at least 3 of them)",
                hint=["Exercise 1.3: test the interface exercise 1.2 specifies (lambda_handler, "
                      "process_event, the exact bodies), through handlers.api_handler.",
                      "The guideline's error test expects the leak (body['error']): that "
                      "assertion must go. Build the events inline, as small dicts."])
def _(project: Project) -> None:
    outcome = _passing_on_own_handler(project)
    assert len(outcome.passed) >= 3, (
        f"pytest found {len(outcome.passed)} test(s) in your file; write at least 3 "
        "(functions named test_...)")


@ex13.behaviour("they catch a handler that sends the exception's message to the client",
                hint=["Exercise 1.3's error case: make process_event fail with a secret in the "
                      "message (monkeypatch), then look at what the client receives.",
                      "Assert the whole decoded 500 body, and that the secret is not in it."])
def _(project: Project) -> None:
    _catches(project, "leak", "returns str(e) in its 500 body (the guideline's bug)")


@ex13.behaviour("they catch a handler that logs the failure without its detail",
                hint=["Exercise 1.3's error case: the detail belongs in the log. pytest's caplog "
                      "fixture reads what was logged.",
                      "After the failing call, assert that the secret is in the captured log "
                      "text, and that the record carries the exception (its traceback)."])
def _(project: Project) -> None:
    _catches(project, "no_detail",
             "logs the failure but not the exception's message or traceback")


@ex13.behaviour("they catch a handler that only understands REST API (v1) events",
                hint=["Exercise 1.3's first bullet: process_event reads a v1 and a v2 event.",
                      "pytest.mark.parametrize runs one test for both payload versions; the v2 "
                      "event needs only the keys exercise 1.2 reads."])
def _(project: Project) -> None:
    _catches(project, "v1_only", "reads only httpMethod and path, so every HTTP API (v2) "
                                 "request is rejected")


@ex13.behaviour("they catch a handler that drops the JSON Content-Type header",
                hint=["Exercise 1.3: the success case checks the headers too, not only the "
                      "status code and the body.",
                      "Compare the response's headers with what exercise 1.2 promises."])
def _(project: Project) -> None:
    _catches(project, "no_content_type", "returns no Content-Type header")


@ex13.behaviour("they catch a handler that drops Content-Type on its error responses",
                hint=["Exercise 1.2 promises the header on every response: the 400 and the "
                      "500 too.",
                      "Check the headers in your error tests as well as in the success test."])
def _(project: Project) -> None:
    _catches(project, "no_content_type_on_errors",
             "returns no Content-Type header on its 400 and 500 responses")


@ex13.behaviour("they catch a handler that logs the whole event",
                hint=["Exercise 1.3: call the handler with an event whose headers hold a token "
                      "(or whose body holds personal data).",
                      "With caplog, assert that the token is not in the log text, and that the "
                      "method and path are."])
def _(project: Project) -> None:
    _catches(project, "logs_event", "logs the whole event, Authorization header included "
                                    "(the guideline's json.dumps(event))")


@ex13.behaviour("they catch a handler that logs the whole event when a request fails",
                hint=["Exercise 1.2: nothing of the event goes to the log on the error paths "
                      "either.",
                      "In your error test, send an event that carries a token, and assert with "
                      "caplog that the token is not in the log."])
def _(project: Project) -> None:
    _catches(project, "logs_event_on_error",
             "logs the whole event, token included, whenever a request fails")


@ex13.behaviour("they catch a handler that answers 200 with the wrong body",
                hint=["Exercise 1.3: the success case checks the whole decoded body.",
                      "Compare the decoded body with the exact dict from exercise 1.2's table, "
                      "for a path other than /."])
def _(project: Project) -> None:
    _catches(project, "wrong_success_body", "answers every request as if its path were /")


@ex13.behaviour("they catch a handler that answers 500 to a bad request",
                hint=["Exercise 1.2's table has three rows, and the middle one is a client "
                      "error.",
                      "Test the guideline's {'test': 'data'} event: status and body."])
def _(project: Project) -> None:
    _catches(project, "no_client_error",
             "answers the generic 500 to an event that is not from API Gateway, instead of 400")


@ex13.behaviour("they catch a handler whose error bodies are not JSON",
                hint=["Exercise 1.2: every body is a JSON string, the error ones included.",
                      "Decode the 400 and 500 bodies with json.loads and compare the result "
                      "with the exact dicts, rather than searching the raw text."])
def _(project: Project) -> None:
    _catches(project, "plain_text_errors",
             "sends its 400 and 500 bodies as plain text under a JSON Content-Type")


@ex13.behaviour("they catch a process_event that raises a ValueError, not InvalidEventError",
                hint=["Exercise 1.2: process_event raises InvalidEventError for an event "
                      "without a method or a path.",
                      "pytest.raises passes for the class you give it and every subclass: give "
                      "it the specific class, not its base."])
def _(project: Project) -> None:
    _catches(project, "base_error_class",
             "raises a plain ValueError from process_event (InvalidEventError's base class) "
             "for a bad event, while lambda_handler still answers 400")
