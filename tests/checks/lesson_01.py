"""Hidden tests for lesson 01 (Project structure and the basic handler).

Messages are written for the learner. Exercise 1.3 is mutation testing: the learner's unit tests
run in-process (pytest.main in the check's child) against the learner's own handler from
exercise 1.2 (once it passes 1.2's checks), where they must pass, and against broken copies of
it made by patching the imported module, where at least one of them must fail. No working
handler is written in this file: it ships to learners.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import PurePosixPath
from types import ModuleType

from course.checks import LearnerError, Project, exercise
from course.checks.kit import PytestRun, once, run_pytest

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


@ex11.behaviour("has the guideline's folders, with src/handlers, models, services, utils "
                "as packages",
                hint="Run the cell that calls workspace.create_layout(): it creates the folders "
                     "and an empty __init__.py in each package under src/.")
def _(project: Project) -> None:
    missing = [f"src/{name}/__init__.py" for name in PACKAGES
               if not project.path(f"src/{name}/__init__.py").is_file()]
    missing += [folder for folder in ("tests/unit", "tests/integration")
                if not project.path(folder).is_dir()]
    assert not missing, f"your workspace has no {', '.join(missing)}"


@ex11.behaviour("pyproject.toml is valid TOML and replaces setup.py",
                hint="Run the exercise cell to save the file. TOML strings need double quotes, "
                     "lists use [...], and each [table] header appears only once.")
def _(project: Project) -> None:
    _pyproject(project)
    assert not project.path("setup.py").exists(), (
        "there is still a setup.py next to pyproject.toml: its metadata belongs in [project], "
        "so remove it (two sources of truth drift apart)")


@ex11.behaviour("[project] has a name and a requires-python for Python 3.11+",
                hint="requires-python takes a version specifier such as \">=3.X\": the oldest "
                     "Python you support. The guideline's 3.9 reached its end of life in 2025.")
def _(project: Project) -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    config = _pyproject(project)
    assert "project" in config, "pyproject.toml has no [project] table"
    meta = _table(config, "project")
    name = meta.get("name")
    assert isinstance(name, str) and name.strip(), "[project] has no name"
    spec = meta.get("requires-python")
    assert isinstance(spec, str), "[project] has no requires-python string"
    try:
        allowed = SpecifierSet(spec)
    except InvalidSpecifier:
        raise AssertionError(f"requires-python = {spec!r} is not a version specifier") from None
    refused = [v for v in ("3.11", "3.12", "3.13") if not allowed.contains(v)]
    assert not refused, (
        f"requires-python = {spec!r} refuses Python {', '.join(refused)}: the course runs on "
        "3.11+ locally, and Lambda runs 3.12 and newer")
    old = [v for v in ("3.8", "3.9", "3.10") if allowed.contains(v)]
    assert not old, (
        f"requires-python = {spec!r} still allows Python {', '.join(old)}: versions before 3.11 "
        "have reached their end of life (3.9 in October 2025, 3.10 in October 2026) and nothing "
        "here is tested on them")


def _paths(value: object) -> list[str]:
    items = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    return [PurePosixPath(str(item)).as_posix().strip("/") for item in items]


@ex11.behaviour("pytest imports your code from src, as Lambda does (pythonpath)",
                hint="[tool.pytest.ini_options] takes a pythonpath list: the folders pytest puts "
                     "on sys.path. Lambda's import root is the content of src/.")
def _(project: Project) -> None:
    config = _pyproject(project)
    options = _table(config, "tool.pytest.ini_options")
    assert "tool" in config and "pytest" in _table(config, "tool") and options, (
        "pyproject.toml has no [tool.pytest.ini_options] table")
    assert "src" in _paths(options.get("pythonpath")), (
        "[tool.pytest.ini_options] has no pythonpath with \"src\": without it your tests can "
        "only import src.handlers.api_handler, a module name that does not exist in Lambda, "
        "where the zip's root is the content of src/")


@ex11.behaviour("configures ruff in the same file (no black or isort)",
                hint="Add a [tool.ruff] table (line-length, and a [tool.ruff.lint] select list). "
                     "ruff's formatter and import sorting replace black and isort.")
def _(project: Project) -> None:
    config = _pyproject(project)
    tools = _table(config, "tool")
    assert "ruff" in tools, "pyproject.toml has no [tool.ruff] table"
    stale = [name for name in ("black", "isort", "flake8") if name in tools]
    assert not stale, (
        f"pyproject.toml still configures {', '.join(stale)}: ruff replaces them, and two "
        "formatters fight over the same lines")
    target = _table(config, "tool.ruff").get("target-version")
    if target is not None:
        match = re.fullmatch(r"py3(\d+)", str(target))
        assert match and int(match.group(1)) >= 11, (
            f"[tool.ruff] target-version = {target!r}: use py311 or newer (or leave it out, and "
            "ruff reads requires-python)")


# --- 1.2 ---------------------------------------------------------------------------------

ex12 = exercise("1.2", "A handler that fails safely", files=["src/handlers/api_handler.py"])

SUCCESS = "Success"
NOT_PROXY = {"message": "Not an API Gateway proxy event"}
GENERIC_500 = {"message": "Internal server error"}
SECRET = ("could not connect to postgresql://users_api:Pr0d-S3cret@users-db.internal:5432/users "
          "(arn:aws:dynamodb:us-east-1:123456789012:table/users-prod)")


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


def _handler_module(project: Project):
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
        "so json.dumps the data")
    try:
        return json.loads(body)
    except ValueError:
        raise AssertionError(
            f"for {what} the body is a string but not JSON: {body[:80]!r}") from None


def _content_type(response: dict, what: str) -> None:
    headers = response.get("headers")
    assert isinstance(headers, dict), (
        f"for {what} the response has no headers dict: without Content-Type: application/json "
        "clients treat the JSON body as text")
    value = {str(k).lower(): v for k, v in headers.items()}.get("content-type")
    assert value == "application/json", (
        f"for {what} the Content-Type header is {value!r}; it should be 'application/json'")


@ex12.behaviour("answers a REST API (v1) request: 200, JSON Content-Type, a string body",
                hint="Return {'statusCode': ..., 'headers': {'Content-Type': 'application/json'}, "
                     "'body': json.dumps(...)}; a REST API event has httpMethod and path.")
def _(project: Project) -> None:
    from course import events

    what = "GET /orders/42 (REST API)"
    response = _call(project, events.api_gateway_rest("GET", "/orders/42"), what)
    status = response.get("statusCode")
    assert status == 200 and isinstance(status, int), f"for {what} statusCode is {status!r}"
    _content_type(response, what)
    body = _body(response, what)
    expected = {"message": SUCCESS, "data": {"method": "GET", "path": "/orders/42"}}
    assert body == expected, f"for {what} the body is {body}; expected {expected}"


@ex12.behaviour("answers an HTTP API (v2) request too (no KeyError 'httpMethod')",
                hint="A v2 event has no httpMethod or path: the method is in "
                     "event['requestContext']['http']['method'] and the path in event['rawPath'].")
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


@ex12.behaviour("answers 400, not 500, to an event that is not from API Gateway",
                hint="When process_event finds no method or path it raises InvalidEventError; "
                     "catch that before the generic `except Exception` and answer 400.")
def _(project: Project) -> None:
    what = "the event {'test': 'data'} (the guideline's test event)"
    response = _call(project, {"test": "data"}, what)
    status = response.get("statusCode")
    assert status != 500, (
        f"for {what} your handler answered 500: a bad request is the caller's error (4xx), "
        "and a 500 would page whoever is on call")
    assert status == 400, f"for {what} statusCode is {status!r}; expected 400"
    _content_type(response, what)
    body = _body(response, what)
    assert body == NOT_PROXY, f"for {what} the body is {body}; expected {NOT_PROXY}"


def _failing_call(project: Project) -> tuple[dict, _Records]:
    """Call lambda_handler with process_event replaced by one that fails with a secret."""
    from course import events

    module = _handler_module(project)
    assert callable(getattr(module, "process_event", None)), (
        "src/handlers/api_handler.py has no process_event function: lambda_handler should "
        "call process_event(event) for the work")

    def broken_process_event(event: dict) -> dict:
        raise RuntimeError(SECRET)

    original = module.process_event
    module.process_event = broken_process_event
    records = _Records()
    try:
        response = module.lambda_handler(events.api_gateway_rest("GET", "/orders/42"), None)
    except RuntimeError:
        raise AssertionError(
            "when process_event fails, lambda_handler lets the exception escape: Lambda reports "
            "an error and API Gateway answers 502. Catch it and answer 500") from None
    finally:
        module.process_event = original
        records.close()
    assert isinstance(response, dict), (
        f"when process_event fails, lambda_handler returned a {type(response).__name__}")
    assert response.get("statusCode") != 200, (
        "the check made process_event fail, but lambda_handler still answered 200: call "
        "process_event(event) from lambda_handler (the check replaces it with a failing one)")
    return response, records


@ex12.behaviour("answers 500 with a generic body when something fails (no str(e))",
                hint="The client needs to know that it failed, not why: answer 500 with the same "
                     "fixed message every time, whatever the exception says.")
def _(project: Project) -> None:
    response, _ = _failing_call(project)
    what = "a request whose processing fails"
    status = response.get("statusCode")
    assert status == 500, f"for {what} statusCode is {status!r}; expected 500"
    _content_type(response, what)
    assert "users-db.internal" not in json.dumps(response) and "Pr0d-S3cret" not in json.dumps(
        response), (
        "your 500 response contains the exception's message — here a database password and a "
        "table ARN. Never send str(e) to the client: log it instead")
    body = _body(response, what)
    assert body == GENERIC_500, f"for {what} the body is {body}; expected {GENERIC_500}"


@ex12.behaviour("logs the failure's detail and traceback, for you and not the client",
                hint="Inside the except block, logger.exception('...') logs at ERROR with the "
                     "exception's message and traceback.")
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


@ex12.behaviour("logs the method and path, never the whole event",
                hint="Log only what you need to follow a request (method, path), at INFO. Your "
                     "logger needs its level set: Lambda leaves the root logger at WARNING.")
def _(project: Project) -> None:
    from course import events

    module = _handler_module(project)
    event = events.api_gateway_rest(
        "POST", "/payments", {"card": "4111111111111111"},
        headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.session-token-7f3a"})
    records = _Records()
    try:
        module.lambda_handler(event, None)
    finally:
        records.close()
    text = records.text()
    leaked = [what for what, secret in (("the Authorization header", "session-token-7f3a"),
                                        ("the request body (a card number)", "4111111111111111"))
              if secret in text]
    assert not leaked, (
        f"your log contains {' and '.join(leaked)}: logging the whole event copies tokens and "
        "personal data into CloudWatch, where many more people can read it, for months")
    assert "POST" in text and "/payments" in text, (
        "nothing logged the request's method and path at INFO (or your logger's level hides "
        "INFO): one line per request is how you follow it in the logs")


# --- 1.3 ---------------------------------------------------------------------------------

TEST_FILE = "tests/unit/test_api_handler.py"
HANDLER = "handlers.api_handler"

ex13 = exercise("1.3", "Tests that catch the leak", files=[TEST_FILE], timeout=5.0)

# The mutants are made at run time from the learner's own handler (exercise 1.2), by patching
# the imported module: no working handler is written down here, so none ships to learners.


def _wrap_handler(module: ModuleType, after: Callable[[dict], dict]) -> None:
    """Replace module.lambda_handler with one that passes each response through `after`."""
    handler = module.lambda_handler

    def lambda_handler(event, context):
        return after(handler(event, context))

    module.lambda_handler = lambda_handler


def _leaking(module: ModuleType) -> None:
    """The guideline's bug: the 500 body carries str(e)."""
    handler = module.lambda_handler
    factory = logging.getLogRecordFactory()

    def lambda_handler(event, context):
        seen: list[BaseException] = []
        current = getattr(module, "process_event", None)  # maybe a test's failing stand-in

        def remembering(*args, **kwargs):
            try:
                return current(*args, **kwargs)
            except Exception as exc:
                seen.append(exc)
                raise

        def noting(*args, **kwargs):
            record = factory(*args, **kwargs)
            if sys.exc_info()[1] is not None:
                seen.append(sys.exc_info()[1])
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
        if not (seen and isinstance(response, dict) and response.get("statusCode") == 500):
            return response
        try:
            body = json.loads(response.get("body") or "{}")
        except (TypeError, ValueError):
            return response
        if not isinstance(body, dict):
            return response
        return {**response, "body": json.dumps({**body, "error": str(seen[0])})}

    module.lambda_handler = lambda_handler


def _without_detail(module: ModuleType) -> None:
    """Every record logged while an exception is handled loses its message and traceback."""
    factory = logging.getLogRecordFactory()

    def stripped(*args, **kwargs):
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

    def process_event(event, *args, **kwargs):
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


def _drop_content_type(response: object) -> object:
    if isinstance(response, dict) and isinstance(response.get("headers"), dict):
        headers = {k: v for k, v in response["headers"].items()
                   if str(k).lower() != "content-type"}
        response = {k: v for k, v in response.items() if k != "headers"}
        if headers:
            response["headers"] = headers
    return response


def _without_content_type(module: ModuleType) -> None:
    """No Content-Type header on any response."""
    _wrap_handler(module, _drop_content_type)
    build = getattr(module, "response", None)
    if callable(build):  # a test may call the response helper directly
        module.response = lambda *args, **kwargs: _drop_content_type(build(*args, **kwargs))


def _module_logger(module: ModuleType) -> logging.Logger:
    """The logger the learner's module logs with: `logger`, another Logger it holds, or root."""
    found = [v for k, v in sorted(vars(module).items(), key=lambda kv: kv[0] != "logger")
             if isinstance(v, logging.Logger)]
    return found[0] if found else logging.getLogger()


def _logging_event(module: ModuleType) -> None:
    """The guideline's json.dumps(event) log line, through the module's own logger."""
    handler = module.lambda_handler
    log = _module_logger(module)

    def lambda_handler(event, context):
        log.info("Received event: %s", json.dumps(event, default=str))
        return handler(event, context)

    module.lambda_handler = lambda_handler


MUTANTS: dict[str, Callable[[ModuleType], None]] = {
    "leak": _leaking,
    "no_detail": _without_detail,
    "v1_only": _rest_only,
    "no_content_type": _without_content_type,
    "logs_event": _logging_event,
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


def _fresh_handler(project: Project) -> ModuleType:
    """The learner's handler module, imported anew (so no earlier run's patches survive)."""
    for name in [n for n in sys.modules if n.split(".")[0] == "handlers"]:
        del sys.modules[name]
    os.environ.pop("LOG_LEVEL", None)  # as in a fresh Lambda: no LOG_LEVEL, root at WARNING
    logging.getLogger().setLevel(logging.WARNING)
    return project.module(HANDLER)


@once
def _run_tests(project: Project, variant: str, source: str) -> PytestRun:
    """Run the learner's test file in this process against their handler, broken by `variant`
    (or intact for 'own')."""
    module = _fresh_handler(project)
    factory = logging.getLogRecordFactory()
    if variant in MUTANTS:  # patch the module before the tests import names from it
        MUTANTS[variant](module)
    try:
        return run_pytest({"test_api_handler.py": source})
    finally:
        logging.setLogRecordFactory(factory)


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
        "your tests import from src.handlers (the guideline's way). In Lambda the module is "
        "handlers.api_handler, and pyproject's pythonpath = [\"src\"] lets pytest import it "
        "by that same name")
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
                hint="Test the interface exercise 1.2 specifies: lambda_handler and "
                     "process_event, with the exact bodies it lists. The guideline's error test "
                     "expects the leak (body['error']): that assertion must go.")
def _(project: Project) -> None:
    outcome = _passing_on_own_handler(project)
    assert len(outcome.passed) >= 3, (
        f"pytest found {len(outcome.passed)} test(s) in your file; write at least 3 "
        "(functions named test_...)")


@ex13.behaviour("they catch a handler that sends the exception's message to the client",
                hint="In your error test, make process_event raise an exception whose message "
                     "holds a secret (monkeypatch.setattr), then assert the secret is not in the "
                     "response body and the body is exactly the generic one.")
def _(project: Project) -> None:
    _catches(project, "leak", "returns str(e) in its 500 body (the guideline's bug)")


@ex13.behaviour("they catch a handler that logs the failure without its detail",
                hint="Use the caplog fixture: after the failing call, assert the exception's "
                     "message is in caplog.text (logger.exception puts it there, with the "
                     "traceback).")
def _(project: Project) -> None:
    _catches(project, "no_detail",
             "logs the failure but not the exception's message or traceback")


@ex13.behaviour("they catch a handler that only understands REST API (v1) events",
                hint="Test process_event (or lambda_handler) with an HTTP API (payload 2.0) event "
                     "too: pytest.mark.parametrize runs one test for both payload versions.")
def _(project: Project) -> None:
    _catches(project, "v1_only", "reads only httpMethod and path, so every HTTP API (v2) "
                                 "request is rejected")


@ex13.behaviour("they catch a handler that drops the JSON Content-Type header",
                hint="In your success test, assert the headers, not only the status code and "
                     "body.")
def _(project: Project) -> None:
    _catches(project, "no_content_type", "returns no Content-Type header")


@ex13.behaviour("they catch a handler that logs the whole event",
                hint="Call the handler with an event whose headers hold a token (or whose body "
                     "holds personal data) and assert, with caplog, that it is not in the log.")
def _(project: Project) -> None:
    _catches(project, "logs_event", "logs the whole event, Authorization header included "
                                    "(the guideline's json.dumps(event))")
