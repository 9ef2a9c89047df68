"""Hidden tests for lesson 02 (Powertools). Messages are written for the learner.

Every behaviour imports the learner's module afresh (a new execution environment: the
environment variables it needs, no Logger keys, the next call a cold start), calls
`lambda_handler` with a Lambda context, and reads what the function wrote: Logger lines and
EMF documents. The check's child process writes stdout to /dev/null, and a Powertools Logger
binds its stream when it is created, so `_captured` points every logging StreamHandler at a
buffer and redirects stdout (where Metrics prints) into the same one.

Some behaviours add a small route of their own to the learner's resolver (`_probe`): a line
logged by a later request shows whether an earlier request's keys stayed on the Logger, and a
route that raises one of Powertools' HTTP errors shows what the learner's error handlers do
with it. No working handler is written in this file: it ships to learners.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from course.checks import Project, exercise, question
from course.checks.kit import json_lines, lambda_context

FILE = "src/handlers/powertools_handler.py"
MODULE = "handlers.powertools_handler"
REQUEST_ID = "req-7f3c9a1e"
SECRET = "password=hunter2"
TOKEN = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig"
TOKEN_PART = "c2VjcmV0LXRva2Vu"
COOKIE = "session=s3ss10n-c00k1e-9d2f"
SOURCE_IP = "198.51.100.77"
PROBE = "/course-check-probe"


@dataclass
class Output:
    """What one or more invocations wrote: log records and EMF documents."""

    text: str = ""
    logs: list[dict[str, Any]] = field(default_factory=list)
    emf: list[dict[str, Any]] = field(default_factory=list)

    def metrics(self) -> dict[str, dict[str, Any]]:
        """{metric name: {"values", "unit", "namespace", "dimensions" (names), "document"}}"""
        found: dict[str, dict[str, Any]] = {}
        for doc in self.emf:
            for directive in doc["_aws"].get("CloudWatchMetrics", []):
                names = {name for group in directive.get("Dimensions") or [] for name in group}
                for metric in directive.get("Metrics", []):
                    name = metric.get("Name")
                    value = doc.get(name)
                    values = value if isinstance(value, list) else [value]
                    entry = found.setdefault(name, {"values": [], "unit": metric.get("Unit"),
                                                    "namespace": directive.get("Namespace"),
                                                    "dimensions": names, "document": doc})
                    entry["values"] += values
        return found


def _load(project: Project, **env: str | None) -> Any:
    """Import the learner's module afresh, as a new execution environment would, with these
    environment variables (None unsets them)."""
    settings = {"POWERTOOLS_SERVICE_NAME": "users-api", "POWERTOOLS_METRICS_NAMESPACE": "UsersApp",
                "POWERTOOLS_LOGGER_LOG_EVENT": None, "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": None, "POWERTOOLS_DEV": None,
                "POWERTOOLS_METRICS_DISABLED": None, **env}
    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    sys.modules.pop(MODULE, None)
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.logging import logger as logger_module
    from aws_lambda_powertools.metrics.provider import cold_start

    module = project.module(MODULE)
    cold_start.is_cold_start = True  # the next call is the first one of a new environment
    logger_module.is_cold_start = True
    for value in vars(module).values():
        if isinstance(value, Metrics):  # Metrics instances share one metric set
            value.clear_metrics()
        elif isinstance(value, Logger):  # loggers of one service share keys across imports
            value.clear_state()
    return module


def _handler(module: Any) -> Any:
    handler = getattr(module, "lambda_handler", None)
    assert callable(handler), (
        f"{FILE} has no function lambda_handler: Lambda calls lambda_handler(event, context)")
    return handler


@contextlib.contextmanager
def _captured() -> Iterator[Output]:
    """Everything logged (by any StreamHandler, and by the root logger as in Lambda) or
    printed inside the block, in one Output."""
    buffer = io.StringIO()
    loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict
                                       .values() if isinstance(logger, logging.Logger)]
    swapped = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                    handler, logging.FileHandler):
                swapped.append((handler, handler.stream))
                handler.stream = buffer
    root = logging.getLogger()
    plain = logging.StreamHandler(buffer)  # as Lambda's runtime has: plain lines on the root
    plain.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    root.addHandler(plain)
    output = Output()
    try:
        with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield output
    finally:
        root.removeHandler(plain)
        for handler, stream in swapped:
            handler.stream = stream
        output.text = buffer.getvalue()
        for record in json_lines(output.text):
            (output.emf if isinstance(record.get("_aws"), dict) else output.logs).append(record)


def _event(method: str, path: str, body: Any = None, **kwargs: Any) -> dict:
    from course import events

    kwargs.setdefault("request_id", REQUEST_ID)
    return events.api_gateway_rest(method, path, body, **kwargs)


def _header(headers: Mapping[str, Any], name: str) -> str:
    """A response header's value, whatever the case of its name ('' when absent)."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def _call(handler: Any, event: dict, *, context: Any = None) -> tuple[int, Any, dict]:
    """(status, decoded body, headers) of one invocation, with messages for odd responses."""
    what = f"{event['httpMethod']} {event['path']}"
    try:
        response = handler(event, context or lambda_context())
    except Exception as exc:  # noqa: BLE001 - the learner reads what escaped
        raise AssertionError(
            f"for {what} your lambda_handler raised {type(exc).__name__}: {exc}. An exception "
            "that escapes the handler is a failed invocation: API Gateway answers 502 with no "
            "useful body.") from None
    assert isinstance(response, dict) and "statusCode" in response, (
        f"for {what} lambda_handler returned {type(response).__name__} {response!r:.80}: "
        "return what app.resolve(event, context) gives you")
    headers = {**{k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v},
               **(response.get("headers") or {})}
    raw = response.get("body")
    if response.get("isBase64Encoded") and raw:
        raw = base64.b64decode(raw).decode()
    try:
        body = json.loads(raw) if raw else None
    except (TypeError, ValueError):
        body = raw
    return int(response["statusCode"]), body, headers


def _create(handler: Any, name: str = "Ada", **kwargs: Any) -> dict:
    status, body, _ = _call(handler, _event("POST", "/users", {"name": name}, **kwargs))
    assert status == 201, f"POST /users with {{'name': '{name}'}} gave {status}; expected 201"
    assert isinstance(body, dict) and isinstance(body.get("user_id"), str) and body["user_id"], (
        f"POST /users answered {body!r:.100}; expected a JSON object with a user_id")
    return body


def _probe(module: Any, route: Callable[[], Any]) -> None:
    """Add a GET route of the check's own to the learner's resolver."""
    app = getattr(module, "app", None)
    assert app is not None and callable(getattr(app, "get", None)), (
        f"{FILE} has no module-level app (the resolver of exercise 2.1)")
    app.get(PROBE)(route)


class BrokenStore(dict):
    """A users store whose every read or write fails, like a database that is down."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"connection to users-db failed ({SECRET})")

    get = __getitem__ = __setitem__ = __contains__ = __iter__ = __len__ = _fail
    values = items = keys = setdefault = pop = update = _fail


def _break_store(module: Any) -> None:
    assert isinstance(getattr(module, "USERS", None), dict), (
        f"{FILE} has no module-level USERS dict: keep the users in it (as in exercise 2.1)")
    module.USERS = BrokenStore()


def _sensitive_event(method: str, path: str, body: Any = None, **kwargs: Any) -> dict:
    """A request carrying what must never reach a log or an error response."""
    headers = {"Authorization": TOKEN, "Cookie": COOKIE, **kwargs.pop("headers", {})}
    return _event(method, path, body, headers=headers, source_ip=SOURCE_IP, **kwargs)


def _leaks(text: str) -> list[str]:
    found = [("the Authorization header (a bearer token)", TOKEN_PART), ("the Cookie header",
             COOKIE), ("the client's IP address (sourceIp, X-Forwarded-For)", SOURCE_IP)]
    return [what for what, value in found if value in text]


# --- 2.1 ---------------------------------------------------------------------------------

ex21 = exercise("2.1", "Routes with the event handler", files=[FILE])


def _is_uuid4(value: Any) -> bool:
    try:
        return uuid.UUID(str(value)).version == 4
    except ValueError:
        return False


@ex21.behaviour("POST /users creates a user: 201, a new uuid4 user_id and the name",
                hint=["Lesson 02, 'Routes with the event handler': a route can answer another "
                      "status than 200, and the exercise's table says which one a creation gets.",
                      "Every user needs an id nobody can guess or repeat: the standard library's "
                      "uuid module makes version-4 (random) ids."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    ada = _create(handler, "Ada")
    assert ada.get("name") == "Ada", f"POST /users with name 'Ada' answered {ada}"
    assert _is_uuid4(ada["user_id"]), (
        f"the new user's id is {ada['user_id']!r}, not a uuid4: ids that count up or follow a "
        "pattern can be guessed, and collide when two environments create users")
    grace = _create(handler, "Grace")
    assert grace["user_id"] != ada["user_id"], (
        "two different users got the same user_id: generate a new id for every user")


@ex21.behaviour("the name is kept without surrounding spaces",
                hint=["Lesson 02, exercise 2.1's table: the name is stored and answered without "
                      "the spaces around it.",
                      "Strip the name once, before you check it is not blank, and use that "
                      "value in the user."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    user = _create(handler, "  Ada Lovelace  ")
    assert user.get("name") == "Ada Lovelace", (
        f"POST /users with name '  Ada Lovelace  ' answered the name {user.get('name')!r}; "
        "expected 'Ada Lovelace'")
    status, body, _ = _call(handler, _event("GET", f"/users/{user['user_id']}"))
    assert isinstance(body, dict) and body.get("name") == "Ada Lovelace", (
        f"GET /users/<id> of that user gave {status} {body!r:.100}: the stored name still has "
        "its spaces")


@ex21.behaviour("other fields of the body are ignored: never stored, never answered",
                hint=["Lesson 02, exercise 2.1: the user is built from the name alone. A client "
                      "can send anything in a body.",
                      "Build the user yourself, key by key. Copying the body into it lets a "
                      "client choose its own user_id or add a role."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    body = {"name": "Ada", "user_id": "chosen-by-client", "role": "admin"}
    status, user, _ = _call(handler, _event("POST", "/users", body))
    assert status == 201 and isinstance(user, dict), (
        f"POST /users with extra fields gave {status} {user!r:.100}; expected 201: extra "
        "fields are ignored, not an error")
    assert user.get("user_id") != "chosen-by-client", (
        "the client chose the new user's id (it sent user_id 'chosen-by-client'): it could "
        "overwrite another user")
    assert set(user) == {"user_id", "name"}, (
        f"the new user is {user}: fields the client sent ({sorted(set(user) - {'user_id', 'name'})}"
        ") were kept. Only user_id and name belong in it")
    status, stored, _ = _call(handler, _event("GET", "/users/chosen-by-client"))
    assert not (isinstance(stored, dict) and stored.get("user_id") == "chosen-by-client"), (
        "a user was stored under the user_id the client sent: it could overwrite another user")
    status, stored, _ = _call(handler, _event("GET", f"/users/{user['user_id']}"))
    assert isinstance(stored, dict) and set(stored) == {"user_id", "name"}, (
        f"the stored user is {stored!r:.120}: it holds fields the client sent")


@ex21.behaviour("GET /users lists every user ([] when there are none); GET /users/<id> one",
                hint=["Lesson 02, exercise 2.1's table: every user in a list, under 'users'. No "
                      "users yet is a normal answer, not an error.",
                      "Keep users in the module-level USERS dict, keyed by user_id. A route "
                      "'/users/<user_id>' receives user_id as an argument."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    status, body, _ = _call(handler, _event("GET", "/users"))
    assert (status, body) == (200, {"users": []}), (
        f"GET /users with no users yet gave {status} {body!r:.100}; expected 200 and "
        "{'users': []}: an empty list is an answer, not an error")
    ada, grace = _create(handler, "Ada"), _create(handler, "Grace")
    status, body, _ = _call(handler, _event("GET", f"/users/{grace['user_id']}"))
    assert (status, body) == (200, grace), (
        f"GET /users/<Grace's id> gave {status} {body!r:.100}; expected 200 and {grace}")
    status, body, _ = _call(handler, _event("GET", "/users"))
    assert status == 200 and isinstance(body, dict) and isinstance(body.get("users"), list), (
        f"GET /users gave {status} {body!r:.100}; expected 200 and {{'users': [...]}}")
    assert sorted(body["users"], key=str) == sorted([ada, grace], key=str), (
        f"after creating Ada and Grace, GET /users listed {body['users']!r:.160}")


@ex21.behaviour("an unknown user is a 404, and so is an unknown route",
                hint=["Lesson 02, 'Routes with the event handler': the resolver turns Powertools' "
                      "HTTP errors into status codes.",
                      "Raise the HTTP error for 'not found' when the user id is not in USERS; "
                      "returning an empty user would be a 200."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    status, body, _ = _call(handler, _event("GET", "/users/nobody"))
    assert status == 404, (
        f"GET /users/nobody gave {status} {body!r:.80}; a user that does not exist is a 404")
    status, _, _ = _call(handler, _event("GET", "/nowhere"))
    assert status == 404, f"GET /nowhere gave {status}; an unknown route is a 404"


@ex21.behaviour("reads a base64-encoded body (as API Gateway sends binary media types)",
                hint=["Lesson 02, section 2: with isBase64Encoded true, event['body'] is base64 "
                      "text, and json.loads of it fails.",
                      "app.current_event has a property that decodes the body first, then "
                      "parses it."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    event = _event("POST", "/users", {"name": "Grace"}, base64=True)
    status, body, _ = _call(handler, event)
    assert status == 201 and isinstance(body, dict) and body.get("name") == "Grace", (
        f"POST /users with the body base64-encoded (isBase64Encoded: true) gave {status} "
        f"{body!r:.100}; expected 201 and the user Grace")


@ex21.behaviour("a body that is not JSON or has no usable name is a 400, not a 500",
                hint=["Lesson 02, section 2: reading a body that is not JSON (or not valid "
                      "base64) raises ValueError; a client's mistake is a 400.",
                      "After parsing, check three things before using the name: the body is an "
                      "object, 'name' is a string, and it is not blank."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    cases = [("{not json", "a body that is not JSON"), ('["Ada"]', "a JSON list"),
             ('{"name": 42}', "a name that is not a string"), ('{"name": "  "}', "a blank name"),
             ("{}", "no name"), ("null", "the JSON null"), (None, "no body at all"),
             ("not base64!", "a base64 body that is not base64")]
    for raw, what in cases:
        event = _event("POST", "/users", raw, headers={"Content-Type": "application/json"})
        event["isBase64Encoded"] = "base64" in what
        try:
            status, body, _ = _call(handler, event)
        except AssertionError as exc:
            raise AssertionError(f"with {what} ({raw!r}): {exc}") from None
        assert status == 400, (
            f"POST /users with {what} ({raw!r}) gave {status} {body!r:.80}; a client's mistake "
            "is a 400")


# --- 2.2 ---------------------------------------------------------------------------------

ex22 = exercise("2.2", "Structured logs with a correlation id", files=[FILE])


def _records_for(output: Output, what: str) -> list[dict]:
    assert output.logs, (
        f"{what} wrote no JSON log line. Log it with a Powertools Logger (its lines are JSON); "
        "print() and the logging module's default format are not")
    return output.logs


def _logger_of(module: Any) -> Any:
    from aws_lambda_powertools import Logger

    logger = getattr(module, "logger", None)
    assert isinstance(logger, Logger), (
        f"{FILE} has no module-level logger that is a Powertools Logger")
    return logger


@ex22.behaviour("log lines are JSON with the Lambda context (function_request_id, cold_start)",
                hint=["Lesson 02, 'Structured logs with a correlation id': one decorator of "
                      "Logger, on lambda_handler, adds the context to every line.",
                      "That decorator is a method of your logger; the guideline's handler shows "
                      "it above lambda_handler."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    context = lambda_context()
    with _captured() as out:
        _call(handler, _event("POST", "/users", {"name": "Ada"}), context=context)
    records = _records_for(out, "POST /users")
    assert any(r.get("function_request_id") == context.aws_request_id
               and "cold_start" in r for r in records), (
        "your log lines have no function_request_id and cold_start: the Lambda context is not "
        f"injected into the logger. A line you wrote: {records[-1]!r:.160}")


@ex22.behaviour("every line carries the API Gateway request id as correlation_id",
                hint=["Lesson 02, section 3: API Gateway's request id sits at "
                      "requestContext.requestId in the event.",
                      "Logger's decorator takes the path of the correlation id in the event; "
                      "correlation_paths has a constant for API Gateway."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    for request_id in ("req-first-0001", "req-second-0002"):
        with _captured() as out:
            _call(handler, _event("POST", "/users", {"name": "Ada"}, request_id=request_id))
        records = _records_for(out, "POST /users")
        wrong = [r for r in records if r.get("correlation_id") != request_id]
        assert not wrong, (
            f"for a request whose requestContext.requestId is {request_id!r}, this line has "
            f"correlation_id {wrong[0].get('correlation_id')!r}: {wrong[0]!r:.160}")


@ex22.behaviour("'User created' and 'User retrieved' carry the id in a user_id key",
                hint=["Lesson 02, section 3: keys passed to one logger call are fields of that "
                      "line, which CloudWatch Logs Insights can filter on.",
                      "Pass the id as a keyword argument of the logging call (or in extra=); "
                      "do not format it into the message text."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    with _captured() as out:
        user = _create(handler, "Ada")
    records = _records_for(out, "POST /users")
    user_id = user["user_id"]
    if not any(r.get("user_id") == user_id for r in records):
        texty = [r for r in records if user_id in json.dumps(r.get("message"))]
        assert not texty, (
            f"the new user's id is inside the message text ({texty[0].get('message')!r}); put "
            "it in its own user_id key, so CloudWatch Logs Insights can filter on it")
        raise AssertionError(f"after POST /users no log line has user_id {user_id!r}; "
                             f"you logged: {[r.get('message') for r in records]}")
    with _captured() as out:
        _call(handler, _event("GET", f"/users/{user_id}"))
    records = _records_for(out, "GET /users/<user_id>")
    assert any(r.get("user_id") == user_id for r in records), (
        f"GET /users/{user_id} logged no line with user_id {user_id!r}; "
        f"you logged: {[r.get('message') for r in records]}")


@ex22.behaviour("keeps the request's headers, body and source IP out of the logs, even with "
                "POWERTOOLS_LOGGER_LOG_EVENT=true",
                hint=["Lesson 02, 'Guideline update — never log whole events': that variable "
                      "turns event logging on unless your code says otherwise explicitly.",
                      "Log the user id only: no headers, no body or name, no client IP. Then "
                      "make Logger's decorator refuse to log the event, whatever the "
                      "environment says."])
def _(project: Project) -> None:
    handler = _handler(_load(project, POWERTOOLS_LOGGER_LOG_EVENT="true"))
    event = _sensitive_event("POST", "/users", {"name": "Grace Hopper", "password": "hunter2"})
    with _captured() as out:
        status, body, _ = _call(handler, event)
        if status == 201 and isinstance(body, dict):
            _call(handler, _sensitive_event("GET", f"/users/{body.get('user_id')}"))
    assert status == 201, f"POST /users with an extra password field gave {status} {body!r:.80}"
    _records_for(out, "POST /users")
    leaks = _leaks(out.text)
    assert not leaks, (
        f"{leaks[0]} is in your logs: with POWERTOOLS_LOGGER_LOG_EVENT=true the whole event "
        "was written, or you logged part of the request")
    assert "hunter2" not in out.text, (
        "the password from the request body is in your logs: with "
        "POWERTOOLS_LOGGER_LOG_EVENT=true the whole event (or the body you logged) was written")
    assert "Hopper" not in out.text, (
        "the user's name (personal data from the request body) is in your logs: log the "
        "user_id, which identifies the user without exposing them")


@ex22.behaviour("keys added for one request never appear on a later request's lines",
                hint=["Lesson 02, section 3: a warm environment keeps your logger, and keys "
                      "added with append_keys stay on it for every later line.",
                      "Either pass the user id with each logging call, or have Logger's "
                      "decorator clear its state at the start of every invocation."])
def _(project: Project) -> None:
    module = _load(project)
    handler = _handler(module)
    logger = _logger_of(module)
    _probe(module, lambda: logger.info("course check probe") or {"probe": True})
    with _captured():
        user = _create(handler, "Ada", request_id="req-create-0001")
        _call(handler, _event("GET", f"/users/{user['user_id']}", request_id="req-get-0002"))
    with _captured() as out:
        status, _, _ = _call(handler, _event("GET", PROBE, request_id="req-later-0003"))
    assert status == 200, f"a later request on a route of the check's own gave {status}"
    records = [r for r in _records_for(out, "a later request") if "probe" in str(r.get("message"))]
    assert records, "a line logged with your logger by a later request did not appear"
    stale = {key: value for key, value in records[0].items() if value == user["user_id"]}
    assert not stale, (
        f"a line logged by a later request (for another user, or none) still carries {stale}: "
        "a key appended for an earlier request stayed on the logger of this warm environment")


@ex22.behaviour("the service name comes from POWERTOOLS_SERVICE_NAME",
                hint=["Lesson 02, exercise 2.2: Terraform sets POWERTOOLS_SERVICE_NAME on the "
                      "function.",
                      "Logger reads that variable when you do not write a service name in "
                      "the code."])
def _(project: Project) -> None:
    handler = _handler(_load(project, POWERTOOLS_SERVICE_NAME="users-api-check"))
    with _captured() as out:
        _call(handler, _event("POST", "/users", {"name": "Ada"}))
    records = _records_for(out, "POST /users")
    services = {r.get("service") for r in records}
    assert services == {"users-api-check"}, (
        f"with POWERTOOLS_SERVICE_NAME=users-api-check your lines say service {services}")


# --- 2.3 ---------------------------------------------------------------------------------

ex23 = exercise("2.3", "Metrics as EMF, cold start included", files=[FILE])


def _metrics_of(output: Output, what: str) -> dict[str, dict[str, Any]]:
    assert output.emf, (
        f"{what} printed no EMF document: metrics are only published when flushed, and "
        "Metrics' decorator on lambda_handler flushes them at the end of every invocation")
    return output.metrics()


def _count(metrics: dict, name: str, what: str) -> None:
    assert name in metrics, (
        f"{what} published no {name} metric; it published {sorted(metrics) or 'none'}")
    entry = metrics[name]
    assert entry["unit"] == "Count", f"{name} has unit {entry['unit']!r}; use the Count unit"
    assert entry["values"] == [1.0], (
        f"{name} was published with values {entry['values']}; expected one data point of 1")


@ex23.behaviour("POST /users prints an EMF document with UsersCreated = 1 (Count)",
                hint=["Lesson 02, 'Metrics as EMF': add_metric records a value; Metrics' "
                      "decorator on lambda_handler prints it when the invocation ends.",
                      "Both are needed: the metric in the route, and the decorator that "
                      "flushes."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    with _captured() as out:
        _create(handler, "Ada")
    _count(_metrics_of(out, "POST /users"), "UsersCreated", "POST /users")


@ex23.behaviour("GET /users/<user_id> counts UserRetrieved, GET /users counts UsersListed",
                hint=["Lesson 02, exercise 2.3: one Count metric of value 1 per successful "
                      "request, whatever it returned.",
                      "A metric that counts requests is 1 per request, not the number of users "
                      "listed."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    with _captured():
        user = _create(handler, "Ada")
        _create(handler, "Grace")
    with _captured() as out:
        status, _, _ = _call(handler, _event("GET", f"/users/{user['user_id']}"))
    assert status == 200, f"GET /users/<id> of a user just created gave {status}"
    _count(_metrics_of(out, "GET /users/<user_id>"), "UserRetrieved", "GET /users/<user_id>")
    with _captured() as out:
        _call(handler, _event("GET", "/users"))
    _count(_metrics_of(out, "GET /users"), "UsersListed", "GET /users (of two users)")


@ex23.behaviour("publishes a ColdStart metric on the first invocation only",
                hint=["Lesson 02, section 4: Metrics' decorator can add a ColdStart metric for "
                      "the first invocation of each environment.",
                      "Counting it yourself on every call would count warm calls too: let the "
                      "decorator do it."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    with _captured() as first:
        _create(handler, "Ada")
    metrics = _metrics_of(first, "the first invocation")
    assert "ColdStart" in metrics, (
        f"the first invocation of a new environment published {sorted(metrics)}, no ColdStart")
    assert metrics["ColdStart"]["values"] == [1.0], (
        f"ColdStart was published with values {metrics['ColdStart']['values']}; expected [1]")
    with _captured() as second:
        _create(handler, "Grace")
    assert "ColdStart" not in _metrics_of(second, "the second invocation"), (
        "the second (warm) invocation published ColdStart again: it must count cold starts only")


@ex23.behaviour("counts only what succeeded: nothing for a 400, a 404 or a failing store",
                hint=["Lesson 02, exercise 2.3: a success metric is recorded once the work has "
                      "succeeded. Metrics' decorator flushes even when the handler fails.",
                      "Move each add_metric after the line that can fail: the validation, the "
                      "lookup, the write to USERS."])
def _(project: Project) -> None:
    module = _load(project)
    handler = _handler(module)
    with _captured() as out:
        _create(handler, "Ada")
    _count(_metrics_of(out, "POST /users"), "UsersCreated", "POST /users")
    with _captured() as out:
        status, _, _ = _call(handler, _event("POST", "/users", {"name": ""}))
    assert status == 400, f"POST /users with a blank name gave {status}; expected 400"
    assert "UsersCreated" not in out.metrics(), (
        "a POST /users rejected with 400 still published UsersCreated: the dashboard would "
        "count users that were never created")
    with _captured() as out:
        status, _, _ = _call(handler, _event("GET", "/users/nobody"))
    assert "UserRetrieved" not in out.metrics(), (
        f"GET /users/nobody ({status}) still published UserRetrieved: no user was retrieved")
    _break_store(module)
    with _captured() as out:
        with contextlib.suppress(Exception):  # before 2.4 the error escapes: that is expected
            handler(_event("POST", "/users", {"name": "Grace"}), lambda_context())
    assert "UsersCreated" not in out.metrics(), (
        "when the users store failed, POST /users still published UsersCreated: the user was "
        "never stored")


@ex23.behaviour("metrics carry the service dimension, and no dimension per user",
                hint=["Lesson 02, section 4: Powertools adds a service dimension from "
                      "POWERTOOLS_SERVICE_NAME; every distinct dimension value is a metric of "
                      "its own, billed separately.",
                      "Do not write a service name in the code, and keep user ids out of "
                      "dimensions (a log line, or metric metadata, is the place for them)."])
def _(project: Project) -> None:
    handler = _handler(_load(project, POWERTOOLS_SERVICE_NAME="users-api-dims"))
    with _captured() as out:
        user = _create(handler, "Ada Lovelace")
    entry = _metrics_of(out, "POST /users").get("UsersCreated")
    assert entry, "POST /users published no UsersCreated metric"
    document, dimensions = entry["document"], entry["dimensions"]
    assert "service" in dimensions and document.get("service") == "users-api-dims", (
        f"with POWERTOOLS_SERVICE_NAME=users-api-dims, UsersCreated has the dimensions "
        f"{ {name: document.get(name) for name in dimensions} }; expected service=users-api-dims")
    per_user = {name: document.get(name) for name in dimensions
                if document.get(name) in (user["user_id"], "Ada Lovelace")}
    assert not per_user, (
        f"UsersCreated has the dimension {per_user}: one metric per user, each billed as a "
        "custom metric, and none of them useful on a dashboard")


@ex23.behaviour("the namespace is POWERTOOLS_METRICS_NAMESPACE when it is set",
                hint=["Lesson 02, exercise 2.3: Terraform sets POWERTOOLS_METRICS_NAMESPACE on "
                      "the function.",
                      "Read the variable rather than writing a namespace in the code; the "
                      "fallback is only for when it is missing."])
def _(project: Project) -> None:
    handler = _handler(_load(project, POWERTOOLS_METRICS_NAMESPACE="CourseCheckNS"))
    with _captured() as out:
        _create(handler, "Ada")
    metrics = _metrics_of(out, "POST /users")
    namespaces = {entry["namespace"] for entry in metrics.values()}
    assert namespaces == {"CourseCheckNS"}, (
        f"with POWERTOOLS_METRICS_NAMESPACE=CourseCheckNS your metrics went to {namespaces}")


@ex23.behaviour("without POWERTOOLS_METRICS_NAMESPACE the namespace is UsersApp",
                hint=["Lesson 02, 'Guideline update — give Metrics a namespace it can always "
                      "find': without one, every invocation fails when the metrics are flushed.",
                      "Read the variable yourself and fall back to UsersApp when it is not set."])
def _(project: Project) -> None:
    handler = _handler(_load(project, POWERTOOLS_METRICS_NAMESPACE=None))
    with _captured() as out:
        try:
            _create(handler, "Ada")
        except AssertionError as exc:
            if "SchemaValidationError" not in str(exc):
                raise
            raise AssertionError(
                "without POWERTOOLS_METRICS_NAMESPACE, flushing your metrics raised "
                "SchemaValidationError (a metric needs a namespace): every invocation of a "
                "function without that variable fails, in every unit test and local run "
                "too") from None
    metrics = _metrics_of(out, "POST /users without POWERTOOLS_METRICS_NAMESPACE")
    namespaces = {entry["namespace"] for entry in metrics.values()}
    assert namespaces == {"UsersApp"}, (
        f"without POWERTOOLS_METRICS_NAMESPACE your metrics have the namespace {namespaces}; "
        "expected UsersApp")


# --- 2.4 ---------------------------------------------------------------------------------

ex24 = exercise("2.4", "A generic 500 that keeps 4xx intact", files=[FILE])


def _error_lines(out: Output) -> list[dict]:
    errors = [r for r in out.logs if r.get("level") in ("ERROR", "CRITICAL")]
    if not errors and "Traceback" in out.text:
        raise AssertionError(
            "your error reached the log as plain text, not as a JSON line of your Powertools "
            "logger: no correlation_id ties it to the request, and Logs Insights cannot "
            "filter on its fields")
    assert errors, ("when the users store fails you log no ERROR line: the 500 hides the "
                    "detail from the client, so the log is the only place left to find it")
    return errors


def _broken(project: Project) -> tuple[Any, Any]:
    module = _load(project)
    handler = _handler(module)
    _break_store(module)
    return module, handler


@ex24.behaviour("an unexpected error is a 500 with a generic message: no exception type or "
                "text, nothing from the request",
                hint=["Lesson 02, 'Errors: a generic 500': an exception handler on the resolver "
                      "for any Exception answers 500.",
                      "The answer is a fixed message. The exception's type and text, and "
                      "anything the request carried, stay out of it: they may hold secrets."])
def _(project: Project) -> None:
    _, handler = _broken(project)
    with _captured():
        status, body, headers = _call(handler, _sensitive_event("GET", "/users/u1"))
    assert status == 500, f"when the users store fails, GET /users/u1 gave {status}; expected 500"
    shown = json.dumps(body) + json.dumps(headers)
    for secret, what in [("hunter2", "the error's text"), ("users-db", "the error's text"),
                         ("RuntimeError", "the exception's type"), ("Traceback", "a traceback")]:
        assert secret not in shown, f"your 500 response shows {what} to the client: {body!r:.120}"
    leaks = _leaks(shown)
    assert not leaks, f"your 500 response holds {leaks[0]}: {body!r:.120}"


@ex24.behaviour("the detail goes to the log: an ERROR line with the exception, its traceback "
                "and this request's correlation_id",
                hint=["Lesson 02, section 5: the 500 hides the detail from the client, so the "
                      "log is the only place left to find it.",
                      "Log from the exception handler with your logger, at ERROR level, in a way "
                      "that adds the exception with its traceback."])
def _(project: Project) -> None:
    _, handler = _broken(project)
    with _captured() as out:
        _call(handler, _event("GET", "/users/u1", request_id="req-db-down-0099"))
    errors = _error_lines(out)
    assert any("hunter2" in str(r.get("exception", "")) for r in errors), (
        "your ERROR line has no exception (with its traceback) in it: "
        f"{errors[-1]!r:.200}")
    assert all(r.get("correlation_id") == "req-db-down-0099" for r in errors), (
        "your ERROR line does not carry this request's correlation_id: log it with the Logger "
        "whose decorator is on lambda_handler")


@ex24.behaviour("the ERROR line holds nothing else from the request: no headers, token, "
                "body or source IP, nothing of an earlier request",
                hint=["Lesson 02, section 5: the correlation id already ties the line to the "
                      "request; the request's contents stay out of logs, on error paths too.",
                      "Log the exception with a fixed message. Leave out the event, its "
                      "headers and body, and keys of earlier requests."])
def _(project: Project) -> None:
    module = _load(project)
    handler = _handler(module)
    with _captured():
        earlier = _create(handler, "Ada")
    _break_store(module)
    event = _sensitive_event("POST", "/users", {"name": "Grace Hopper", "password": "hunter2x"})
    with _captured() as out:
        status, _, _ = _call(handler, event)
    assert status == 500, f"when the users store fails, POST /users gave {status}; expected 500"
    errors = _error_lines(out)
    text = json.dumps(errors)
    leaks = _leaks(text)
    assert not leaks, f"your ERROR line holds {leaks[0]}: {errors[-1]!r:.200}"
    for secret, what in [("hunter2x", "the password from the request body"),
                         ("Hopper", "the name from the request body (personal data)"),
                         (earlier["user_id"], "the user id of an earlier request")]:
        assert secret not in text, f"your ERROR line holds {what}: {errors[-1]!r:.200}"


@ex24.behaviour("client errors stay 4xx with their message: a bad body is 400, an unknown "
                "user 404, any HTTP error keeps its status",
                hint=["Lesson 02, section 5: exception handlers are chosen along the "
                      "exception's class hierarchy, and Powertools' HTTP errors are Exceptions "
                      "too.",
                      "Give their common base class a handler of its own that answers the "
                      "error's own status code and message."])
def _(project: Project) -> None:
    from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError

    module = _load(project)
    handler = _handler(module)

    def refuse() -> None:
        raise UnauthorizedError("Sign in first (course check)")

    _probe(module, refuse)
    status, body, _ = _call(handler, _event("POST", "/users", "{not json"))
    assert status == 400, (
        f"POST /users with a body that is not JSON gave {status} {body!r:.80}; expected 400: "
        "an HTTP error keeps its status code, also through your exception handlers")
    status, body, _ = _call(handler, _event("GET", "/users/nobody"))
    assert status == 404, (
        f"GET /users/nobody gave {status} {body!r:.80}; expected 404: an HTTP error keeps "
        "its status code, also through your exception handlers")
    status, body, _ = _call(handler, _event("GET", PROBE))
    message = body.get("message") if isinstance(body, dict) else None
    assert (status, message) == (401, "Sign in first (course check)"), (
        f"a route raising UnauthorizedError('Sign in first (course check)') gave {status} "
        f"{body!r:.100}; expected 401 and {{'message': 'Sign in first (course check)'}}: every "
        "HTTP error keeps its status code and its message")


@ex24.behaviour("an unknown route is still a 404",
                hint=["Lesson 02, section 5: the resolver answers an unknown route by raising "
                      "its own NotFoundError.",
                      "That error goes through your exception handlers like any other: the "
                      "handler for HTTP errors must keep its 404."])
def _(project: Project) -> None:
    handler = _handler(_load(project))
    status, body, _ = _call(handler, _event("DELETE", "/nowhere"))
    assert status == 404, (
        f"DELETE /nowhere gave {status} {body!r:.80}; expected 404. The resolver's own 'no such "
        "route' error goes through your exception handlers too")


@ex24.behaviour('every error is JSON {"message": ...} with Content-Type: application/json',
                hint=["Lesson 02, exercise 2.4: build every error answer as a Response with a "
                      "JSON content type.",
                      "One small helper that builds that Response for a status and a message "
                      "keeps 400, 404 and 500 in the same shape."])
def _(project: Project) -> None:
    module = _load(project)
    handler = _handler(module)
    answers = [("POST /users (bad body)", _call(handler, _event("POST", "/users", "{oops"))),
               ("GET /users/nobody", _call(handler, _event("GET", "/users/nobody")))]
    _, handler = _broken(project)
    with _captured():
        answers.append(("a failing users store", _call(handler, _event("GET", "/users/u1"))))
    for what, (status, body, headers) in answers:
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body[
            "message"], f"for {what} ({status}) the body is {body!r:.100}, not {{'message': ...}}"
        content_type = _header(headers, "Content-Type")
        assert content_type.startswith("application/json"), (
            f"for {what} ({status}) the Content-Type is {content_type!r}")


# --- formative questions ------------------------------------------------------------------

question(
    "2.a",
    "A colleague runs `pip install aws-lambda-powertools` (no extras) and deploys the "
    "guideline's handler. What happens when Lambda imports it?",
    ["It works: Tracer simply records nothing until X-Ray is switched on",
     "The import fails: `Tracer()` needs the X-Ray SDK, which comes with the `tracer` extra",
     "It works, but Metrics prints nothing without the `tracer` extra"],
    answer=1,
    why=["Tracer is quiet outside Lambda or when disabled, but it still needs the X-Ray SDK "
         "to be importable: section 4's demo shows the error.",
         "The core package does not depend on the X-Ray SDK; `aws-lambda-powertools[tracer]` "
         "brings it. Without it the module fails at import, so every invocation fails.",
         "Metrics has no extra of its own: it prints EMF with the standard library. It is "
         "Tracer that needs the extra."])

question(
    "2.b",
    "Your function sits behind an **HTTP API** whose Lambda integration sends payload format "
    "2.0, and the module uses `APIGatewayRestResolver`. What does a client get for "
    "`GET /users`?",
    ["200: the resolvers read both payload formats",
     "A 404 from the resolver: the route is not found in a 2.0 event",
     "API Gateway's 500: the resolver raises `KeyError: 'httpMethod'`, so the invocation fails"],
    answer=2,
    why=["Each resolver reads one shape of event: the REST one looks for `httpMethod` and "
         "`path`, which payload 2.0 does not have.",
         "It never gets as far as matching a route: reading the method fails first.",
         "Right: the REST resolver reads `event['httpMethod']`, absent from 2.0 events. Use "
         "`APIGatewayHttpResolver` for an HTTP API with payload 2.0."])

question(
    "2.c",
    "POST /users calls `logger.append_keys(user_id=new_id)`; Logger's decorator has no "
    "`clear_state=True`. In the same warm environment, the next request is "
    "`GET /users/nobody`, which logs `\"User not found\"`. What does that line carry?",
    ["No user_id: keys are dropped at the end of each invocation",
     "The user_id of the user created by the earlier request",
     "user_id: null, because the new request has no user"],
    answer=1,
    why=["Keys appended to a Logger stay on it: a warm environment keeps the module, and the "
         "Logger with it.",
         "Right: the 404 line is now attributed to a user it has nothing to do with. Pass "
         "per-request keys with each call, or use `clear_state=True`.",
         "The Logger does not know a request has no user: it writes the keys it holds."])

question(
    "2.d",
    "You add `metrics.add_dimension(name=\"user_id\", value=user_id)` next to UsersCreated. "
    "After 10,000 sign-ups, how many custom metrics does CloudWatch bill for UsersCreated?",
    ["1: a dimension is only a label on the same metric",
     "About 10,000: each distinct dimension value makes a metric of its own",
     "None: EMF metrics are free because they go through the logs"],
    answer=1,
    why=["CloudWatch identifies a metric by namespace, name and dimension values: a new value "
         "is a new metric.",
         "Right: one metric per user, each billed, and none of them useful on a dashboard. Put "
         "the id in a log line or in metric metadata (`add_metadata`).",
         "EMF saves the API calls, not the metrics: CloudWatch still bills each custom metric "
         "it creates from the logs."])

question(
    "2.e",
    "Which of these may you set on a **deployed** function?",
    ["POWERTOOLS_DEV=true, to get readable logs",
     "POWERTOOLS_METRICS_DISABLED=true, to save money",
     "POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE"],
    answer=2,
    why=["POWERTOOLS_DEV also switches on the event handler's debug mode, which prints every "
         "event (headers, tokens, bodies) to the logs and puts tracebacks in 500 responses "
         "that no exception handler catches. And it stops the application metrics.",
         "Then your dashboards go blank (only ColdStart is still printed): a test switch, not "
         "a saving.",
         "Right: those two configure the service name and the metric namespace; Terraform sets "
         "them in lesson 08. The other two are switches for tests and your machine."])

question(
    "2.f",
    "The handler registers only `@app.exception_handler(Exception)`, answering 500. What "
    "does a request for a route that does not exist get?",
    ["404: unknown routes are answered before any exception handler runs",
     "500: the resolver raises its own NotFoundError, and the Exception handler catches it",
     "405 Method Not Allowed"],
    answer=1,
    why=["The resolver signals 'no such route' by raising NotFoundError, which goes through "
         "the registered handlers like any exception.",
         "Right: handlers are chosen along the exception's class hierarchy; NotFoundError is a "
         "ServiceError is an Exception. A ServiceError handler keeps the 4xx.",
         "Powertools answers an unknown route or method with 404, not 405."])
