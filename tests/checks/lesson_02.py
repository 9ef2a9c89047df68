"""Hidden tests for lesson 02 (Powertools). Messages are written for the learner.

Every behaviour imports the learner's module afresh (with the environment it needs), calls
`lambda_handler` with a small fake Lambda context, and reads what the function wrote: Logger
lines and EMF documents. The check's child process writes stdout to /dev/null, and a
Powertools Logger binds its stream when it is created, so `_run` points every logging
StreamHandler at a buffer and redirects stdout (where Metrics prints) into the same one.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

from course.checks import Project, exercise
from course.checks.kit import lambda_context

FILE = "src/handlers/powertools_handler.py"
MODULE = "handlers.powertools_handler"
REQUEST_ID = "req-7f3c9a1e"
SECRET = "password=hunter2"


@dataclass
class Output:
    """What one or more invocations wrote: log records and EMF documents."""

    text: str = ""
    logs: list[dict[str, Any]] = field(default_factory=list)
    emf: list[dict[str, Any]] = field(default_factory=list)

    def metrics(self) -> dict[str, dict[str, Any]]:
        """{metric name: {"values": [...], "unit": ..., "namespace": ..., "dimensions": ...}}"""
        found: dict[str, dict[str, Any]] = {}
        for doc in self.emf:
            for directive in doc["_aws"].get("CloudWatchMetrics", []):
                for metric in directive.get("Metrics", []):
                    name = metric.get("Name")
                    value = doc.get(name)
                    values = value if isinstance(value, list) else [value]
                    entry = found.setdefault(name, {"values": [], "unit": metric.get("Unit"),
                                                    "namespace": directive.get("Namespace"),
                                                    "dimensions": directive.get("Dimensions")})
                    entry["values"] += values
        return found


def _load(project: Project, **env: str | None) -> Any:
    """Import the learner's module afresh, with these environment variables (None unsets)."""
    settings = {"POWERTOOLS_SERVICE_NAME": "users-api", "POWERTOOLS_METRICS_NAMESPACE": "UsersApp",
                "POWERTOOLS_LOGGER_LOG_EVENT": None, "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": None, **env}
    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    sys.modules.pop(MODULE, None)
    from aws_lambda_powertools.metrics.provider import cold_start

    module = project.module(MODULE)
    cold_start.is_cold_start = True  # the next call is the first one of a new environment
    from aws_lambda_powertools import Metrics

    for value in vars(module).values():  # Metrics instances share one metric set
        if isinstance(value, Metrics):
            value.clear_metrics()
    return module


def _handler(module: Any) -> Any:
    handler = getattr(module, "lambda_handler", None)
    assert callable(handler), (
        f"{FILE} has no function lambda_handler: Lambda calls lambda_handler(event, context)")
    return handler


@contextlib.contextmanager
def _captured():
    """Everything logged (by any StreamHandler) or printed inside the block, in one Output."""
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
    output = Output()
    try:
        with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield output
    finally:
        for handler, stream in swapped:
            handler.stream = stream
        output.text = buffer.getvalue()
        for line in output.text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("_aws"), dict):
                output.emf.append(record)
            elif isinstance(record, dict):
                output.logs.append(record)


def _event(method: str, path: str, body: Any = None, **kwargs: Any) -> dict:
    from course import events

    kwargs.setdefault("request_id", REQUEST_ID)
    return events.api_gateway_rest(method, path, body, **kwargs)


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


# --- 2.1 ---------------------------------------------------------------------------------

ex21 = exercise("2.1", "Routes with the event handler", files=[FILE])


@ex21.behaviour("POST /users creates a user: 201 with a new user_id and the name",
                hint="A route can return (body, status) to answer something other than 200. "
                     "uuid.uuid4() makes ids that never repeat.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    ada = _create(handler, "Ada")
    assert ada.get("name") == "Ada", f"POST /users with name 'Ada' answered {ada}"
    grace = _create(handler, "Grace")
    assert grace["user_id"] != ada["user_id"], (
        "two different users got the same user_id: generate a new id for every user")


@ex21.behaviour("GET /users/<user_id> returns that user; GET /users lists them all",
                hint="Keep users in the module-level USERS dict, keyed by user_id. A route "
                     "'/users/<user_id>' receives user_id as an argument.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    ada, grace = _create(handler, "Ada"), _create(handler, "Grace")
    status, body, _ = _call(handler, _event("GET", f"/users/{grace['user_id']}"))
    assert (status, body) == (200, grace), (
        f"GET /users/<Grace's id> gave {status} {body!r:.100}; expected 200 and {grace}")
    status, body, _ = _call(handler, _event("GET", "/users"))
    assert status == 200 and isinstance(body, dict) and isinstance(body.get("users"), list), (
        f"GET /users gave {status} {body!r:.100}; expected 200 and {{'users': [...]}}")
    ids = sorted(user.get("user_id") for user in body["users"] if isinstance(user, dict))
    assert ids == sorted([ada["user_id"], grace["user_id"]]), (
        f"after creating Ada and Grace, GET /users listed {body['users']!r:.160}")


@ex21.behaviour("an unknown user is a 404, and so is an unknown route",
                hint="Raise one of Powertools' HTTP exceptions (event_handler.exceptions) for a "
                     "user that does not exist; the resolver turns it into the status code.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    status, body, _ = _call(handler, _event("GET", "/users/nobody"))
    assert status == 404, (
        f"GET /users/nobody gave {status} {body!r:.80}; a user that does not exist is a 404")
    status, _, _ = _call(handler, _event("GET", "/nowhere"))
    assert status == 404, f"GET /nowhere gave {status}; an unknown route is a 404"


@ex21.behaviour("reads a base64-encoded body (as API Gateway sends binary media types)",
                hint="event['body'] is the raw text, base64 when isBase64Encoded is true. "
                     "app.current_event has a property that decodes and parses the body for you.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    event = _event("POST", "/users", {"name": "Grace"}, base64=True)
    status, body, _ = _call(handler, event)
    assert status == 201 and isinstance(body, dict) and body.get("name") == "Grace", (
        f"POST /users with the body base64-encoded (isBase64Encoded: true) gave {status} "
        f"{body!r:.100}; expected 201 and the user Grace")


@ex21.behaviour("a body that is not JSON or has no usable name is a 400, not a 500",
                hint="Reading the JSON body raises ValueError when it is not JSON; turn that "
                     "into a BadRequestError. Then check that the body is an object whose "
                     "'name' is a non-empty string.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    cases = [("{not json", "a body that is not JSON"), ('["Ada"]', "a JSON list"),
             ('{"name": 42}', "a name that is not a string"), ('{"name": "  "}', "a blank name"),
             ("{}", "no name"), (None, "no body at all")]
    for raw, what in cases:
        event = _event("POST", "/users", raw, headers={"Content-Type": "application/json"})
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


@ex22.behaviour("log lines are JSON with the Lambda context (function_request_id, cold_start)",
                hint="One decorator of Logger, on lambda_handler, adds the context's fields to "
                     "every line the invocation logs.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    context = lambda_context()
    with _captured() as out:
        _call(handler, _event("POST", "/users", {"name": "Ada"}), context=context)
    records = _records_for(out, "POST /users")
    assert any(r.get("function_request_id") == context.aws_request_id for r in records), (
        "your log lines have no function_request_id: the Lambda context is not injected "
        f"into the logger. A line you wrote: {records[-1]!r:.160}")


@ex22.behaviour("every line carries the API Gateway request id as correlation_id",
                hint="inject_lambda_context takes the path of the correlation id in the event; "
                     "correlation_paths has a constant for API Gateway REST APIs.")
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
                hint="Pass extra keys as keyword arguments of logger.info (or extra={...}); "
                     "do not format the id into the message text.")
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


@ex22.behaviour("never logs the event, even with POWERTOOLS_LOGGER_LOG_EVENT=true",
                hint="With log_event on, Powertools logs the whole event: headers, tokens, body. "
                     "The POWERTOOLS_LOGGER_LOG_EVENT variable turns it on unless your code "
                     "says otherwise explicitly. Log only the fields you need.")
def _(project: Project) -> None:
    handler = _handler(_load(project, POWERTOOLS_LOGGER_LOG_EVENT="true"))
    token = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig"
    event = _event("POST", "/users", {"name": "Ada", "password": "hunter2"},
                   headers={"Authorization": token})
    with _captured() as out:
        status, body, _ = _call(handler, event)
    assert status == 201, f"POST /users with an extra password field gave {status} {body!r:.80}"
    _records_for(out, "POST /users")
    assert "hunter2" not in out.text, (
        "the password from the request body is in your logs: with "
        "POWERTOOLS_LOGGER_LOG_EVENT=true the whole event (or the body you logged) was written")
    assert "c2VjcmV0LXRva2Vu" not in out.text, (
        "the Authorization header (a bearer token) is in your logs: with "
        "POWERTOOLS_LOGGER_LOG_EVENT=true the whole event was written")


@ex22.behaviour("the service name comes from POWERTOOLS_SERVICE_NAME",
                hint="Terraform sets POWERTOOLS_SERVICE_NAME on the function; Logger reads it "
                     "when you do not hard-code a service name.")
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
    assert entry["unit"] == "Count", f"{name} has unit {entry['unit']!r}; use MetricUnit.Count"
    assert entry["values"] == [1.0], (
        f"{name} was published with values {entry['values']}; expected one data point of 1")


@ex23.behaviour("POST /users prints an EMF document with UsersCreated = 1 (Count)",
                hint="metrics.add_metric(...) in the route records it; the Metrics decorator "
                     "on lambda_handler prints it as one JSON line when the invocation ends.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    with _captured() as out:
        _create(handler, "Ada")
    _count(_metrics_of(out, "POST /users"), "UsersCreated", "POST /users")


@ex23.behaviour("GET /users/<user_id> counts UserRetrieved, GET /users counts UsersListed",
                hint="One add_metric call in each route, after the work succeeded.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    with _captured():
        user = _create(handler, "Ada")
    with _captured() as out:
        status, _, _ = _call(handler, _event("GET", f"/users/{user['user_id']}"))
    assert status == 200, f"GET /users/<id> of a user just created gave {status}"
    _count(_metrics_of(out, "GET /users/<user_id>"), "UserRetrieved", "GET /users/<user_id>")
    with _captured() as out:
        _call(handler, _event("GET", "/users"))
    _count(_metrics_of(out, "GET /users"), "UsersListed", "GET /users")


@ex23.behaviour("publishes a ColdStart metric on the first invocation only",
                hint="The Metrics decorator can add a ColdStart metric for you; counting it "
                     "yourself on every call would count warm calls too.")
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


@ex23.behaviour("a rejected POST (400) counts no UsersCreated",
                hint="Record the metric once the user really exists, not when the request "
                     "arrives.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    with _captured() as out:
        _create(handler, "Ada")
    _count(_metrics_of(out, "POST /users"), "UsersCreated", "POST /users")
    with _captured() as out:
        status, _, _ = _call(handler, _event("POST", "/users", {"name": ""}))
    assert status == 400, f"POST /users with a blank name gave {status}; expected 400"
    assert "UsersCreated" not in out.metrics(), (
        "a POST /users rejected with 400 still published UsersCreated: the dashboard would "
        "count users that were never created")


@ex23.behaviour("the namespace is POWERTOOLS_METRICS_NAMESPACE when it is set",
                hint="Terraform sets POWERTOOLS_METRICS_NAMESPACE on the function: use it rather "
                     "than a name written in the code.")
def _(project: Project) -> None:
    handler = _handler(_load(project, POWERTOOLS_METRICS_NAMESPACE="CourseCheckNS"))
    with _captured() as out:
        _create(handler, "Ada")
    metrics = _metrics_of(out, "POST /users")
    namespaces = {entry["namespace"] for entry in metrics.values()}
    assert namespaces == {"CourseCheckNS"}, (
        f"with POWERTOOLS_METRICS_NAMESPACE=CourseCheckNS your metrics went to {namespaces}")


@ex23.behaviour("still works without POWERTOOLS_METRICS_NAMESPACE (a default namespace)",
                hint="Without a namespace, flushing raises SchemaValidationError and every "
                     "invocation fails. Tests and local runs have no Terraform variables: read "
                     "the variable yourself and fall back to a default name.")
def _(project: Project) -> None:
    handler = _handler(_load(project, POWERTOOLS_METRICS_NAMESPACE=None))
    with _captured() as out:
        _create(handler, "Ada")
    metrics = _metrics_of(out, "POST /users without POWERTOOLS_METRICS_NAMESPACE")
    namespaces = {entry["namespace"] for entry in metrics.values()}
    assert all(isinstance(ns, str) and ns for ns in namespaces), (
        f"without POWERTOOLS_METRICS_NAMESPACE your metrics have the namespace {namespaces}")


# --- 2.4 ---------------------------------------------------------------------------------

ex24 = exercise("2.4", "A generic 500 that keeps 4xx intact", files=[FILE])


class BrokenStore(dict):
    """A users store whose every read or write fails, like a database that is down."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"connection to users-db failed ({SECRET})")

    get = __getitem__ = __setitem__ = __contains__ = __iter__ = __len__ = _fail
    values = items = keys = setdefault = pop = _fail


def _broken(project: Project) -> Any:
    module = _load(project)
    assert isinstance(getattr(module, "USERS", None), dict), (
        f"{FILE} has no module-level USERS dict: keep the users in it (as in exercise 2.1)")
    module.USERS = BrokenStore()
    return _handler(module)


@ex24.behaviour("an unexpected error is a 500 with a generic message, not the error's text",
                hint="Register an exception handler on the resolver for any Exception; answer "
                     "500 with a fixed message. The client cannot act on the details, and they "
                     "may hold secrets.")
def _(project: Project) -> None:
    handler = _broken(project)
    with _captured():
        status, body, _ = _call(handler, _event("GET", "/users/u1"))
    assert status == 500, f"when the users store fails, GET /users/u1 gave {status}; expected 500"
    assert "hunter2" not in json.dumps(body), (
        f"your 500 response shows the error's text to the client: {body!r:.120}")


@ex24.behaviour("the detail goes to the log: an ERROR line with the exception and traceback",
                hint="logger.exception(...) inside the exception handler logs at ERROR level "
                     "and adds the exception with its traceback.")
def _(project: Project) -> None:
    handler = _broken(project)
    with _captured() as out:
        _call(handler, _event("GET", "/users/u1"))
    errors = [r for r in out.logs if r.get("level") in ("ERROR", "CRITICAL")]
    assert errors, ("when the users store fails you log no ERROR line: the 500 hides the "
                    "detail from the client, so the log is the only place left to find it")
    assert any("hunter2" in str(r.get("exception", "")) for r in errors), (
        "your ERROR line has no exception (with its traceback) in it: "
        f"{errors[-1]!r:.200}")
    assert all(r.get("correlation_id") == REQUEST_ID for r in errors), (
        "your ERROR line has no correlation_id: log it with the Logger whose decorator is on "
        "lambda_handler")


@ex24.behaviour("client errors stay 4xx: a bad body is 400, an unknown user 404",
                hint="Exception handlers are chosen along the exception's class hierarchy, and "
                     "Powertools' HTTP errors are Exceptions too. Give their common base class a "
                     "handler of its own that keeps its status code.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    status, body, _ = _call(handler, _event("POST", "/users", "{not json"))
    assert status == 400, (
        f"POST /users with a body that is not JSON gave {status} {body!r:.80}; expected 400. "
        "Your catch-all handler also catches BadRequestError")
    status, body, _ = _call(handler, _event("GET", "/users/nobody"))
    assert status == 404, (
        f"GET /users/nobody gave {status} {body!r:.80}; expected 404. Your catch-all handler "
        "also catches NotFoundError")


@ex24.behaviour("an unknown route is still a 404",
                hint="The resolver answers an unknown route by raising its own NotFoundError, "
                     "which your handlers see like any other exception.")
def _(project: Project) -> None:
    handler = _handler(_load(project))
    status, body, _ = _call(handler, _event("DELETE", "/nowhere"))
    assert status == 404, (
        f"DELETE /nowhere gave {status} {body!r:.80}; expected 404. The resolver's own 'no such "
        "route' error goes through your exception handlers too")


@ex24.behaviour('every error is JSON {"message": ...} with Content-Type: application/json',
                hint="One small helper that builds a Response for a status and a message keeps "
                     "400, 404 and 500 in the same shape.")
def _(project: Project) -> None:
    module = _load(project)
    handler = _handler(module)
    answers = [("POST /users (bad body)", _call(handler, _event("POST", "/users", "{oops"))),
               ("GET /users/nobody", _call(handler, _event("GET", "/users/nobody")))]
    handler = _broken(project)
    with _captured():
        answers.append(("a failing users store", _call(handler, _event("GET", "/users/u1"))))
    for what, (status, body, headers) in answers:
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body[
            "message"], f"for {what} ({status}) the body is {body!r:.100}, not {{'message': ...}}"
        content_type = headers.get("Content-Type", "")
        assert content_type.startswith("application/json"), (
            f"for {what} ({status}) the Content-Type is {content_type!r}")
