"""Hidden tests for lesson 03 (API Gateway patterns). Messages are written for the learner.

The handler checks (3.2, 3.3) run against lesson 03's in-memory users API and against the
DynamoDB-backed version of lesson 04 alike: every behaviour replaces the module's
`users_service` with an in-memory store, so no AWS is involved. Exercise 3.4 imports the
learner's property-based test and calls it (Hypothesis runs it without pytest) against the
learner's own handler, where it must pass, and against broken variants of that same handler
(each wraps it and breaks one promise), where it must fail. No working handler is written
down here, so none ships to learners.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple
from urllib.parse import urlencode

from course.checks import BehaviourTimeout, Project, exercise, question
from course.checks.kit import json_lines, lambda_context

MODELS = "src/models/user.py"
HANDLER = "src/handlers/api_gateway_handler.py"
MODULE = "handlers.api_gateway_handler"
PROPERTY_TEST = "tests/unit/test_api_properties.py"
PROPERTY = "test_client_input_never_causes_a_5xx_or_a_leak"
ABSENT_ID = "00000000-0000-4000-8000-000000000000"
REQUEST_ID = "req-3c1d2e9f"
TOKEN = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.s3cr3t"
INTERNALS = re.compile(r"pydantic|UserCreate|ListQuery|Traceback|\.py\b|errors\.pydantic\.dev"
                       r"|input_value|\b\w*(Error|Exception)\b")


class MemoryUsers:
    """The users service's four methods, backed by a dict (lesson 04's DynamoDBService has
    the same interface). scan_items pages in user_id order, after start_key's user."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get(key["user_id"])

    def save_item(self, item: dict[str, Any], *, overwrite: bool = False) -> None:
        self.items[item["user_id"]] = dict(item)

    def query_items(self, key_name: str, key_value: Any, *, index_name: str | None = None):
        return [item for item in self.items.values() if item.get(key_name) == key_value]

    def scan_items(self, *, limit: int, start_key: dict[str, Any] | None = None):
        after = start_key["user_id"] if start_key else ""
        return sorted((u for u in self.items.values() if u["user_id"] > after),
                      key=lambda u: u["user_id"])[:limit]


# --- formative questions (asked in the notebook with ask("3.a") ...) -----------------------

question(
    "3.a", "The guideline's handler receives `POST /users` with no body at all. API Gateway "
    'sends `"body": null`. What does the client get?',
    ["400 `Invalid JSON in request body`", "201 and a user without a name",
     "502: the handler crashes", "404: the route needs a body"],
    answer=2,
    why=["That branch only catches `json.JSONDecodeError`. `event.get('body', '{}')` returns "
         "`None` (the key exists), and `json.loads(None)` raises `TypeError` instead.",
         "It never gets that far: `json.loads(None)` raises first.",
         "`json.loads(None)` raises `TypeError`, nothing catches it, Lambda reports an error and "
         "API Gateway answers 502. A client's omission looks like an outage.",
         "The guideline routes on method and path only; the body plays no part in routing."])

question(
    "3.b", "An `APIGatewayRestResolver` has the routes `GET /users` and `GET /users/<user_id>`. "
    "What does it answer to `GET /users/42/orders`?",
    ["200, with user_id `orders`", "200, with user_id `42/orders`", "404", "405"],
    answer=2,
    why=["That is the guideline's `path.split('/')[-1]`. The resolver matches the whole path.",
         "A path parameter matches one segment: `<user_id>` never spans a `/`.",
         "No route matches the whole path, so the resolver answers 404 itself.",
         "The resolver knows nothing of 405: it matches method and path together (section 5)."])

question(
    "3.c", "Your team puts the function behind an **HTTP API** (payload format 2.0). Which "
    "resolver reads its events?",
    ["`APIGatewayRestResolver`", "`APIGatewayHttpResolver`", "either: they read the same event",
     "`ALBResolver`"],
    answer=1,
    why=["It reads payload 1.0 (`httpMethod`, `path`). A 2.0 event keeps the method in "
         "`requestContext.http.method` and the path in `rawPath` (lesson 01).",
         "Right: the HTTP API resolver reads payload 2.0. The routes and exception handlers "
         "are written the same way.",
         "The two payload versions put the method and the path in different places (lesson 01).",
         "That one reads Application Load Balancer events, a third shape."])

question(
    "3.d", "`UserCreate` is strict. What does "
    '`UserCreate.model_validate({"name": "Ada", "email": "ada@example.com", "age": "36"})` do?',
    ["returns a user with age 36", "returns a user with age '36'",
     "raises ValidationError naming age", "raises ValidationError naming name, email and age"],
    answer=2,
    why=["That is lax mode, pydantic's default: it converts what it can.",
         "A field declared `int` never holds a string: pydantic converts or refuses.",
         "Strict mode refuses the string '36' for an int, and reports only that field.",
         "Only age is wrong; pydantic lists exactly the fields that fail."])

question(
    "3.e", "A route's body parameter is a pydantic model and the resolver has "
    "`enable_validation=True`. A client sends an invalid body. What status does it get, unless "
    "you add an exception handler?",
    ["400", "422", "500", "200, with the errors in the body"],
    answer=1,
    why=["That is what this lesson's API answers; with Powertools' validation you get it from a "
         "handler for `RequestValidationError`.",
         "Powertools answers 422 Unprocessable Entity, with a `detail` list of the errors.",
         "Validation errors are client errors: Powertools never turns them into a 500.",
         "An invalid body never reaches your route."])

question(
    "3.f", "`/users/<id>` accepts only GET. A client sends `PUT /users/42`. Which answer helps "
    "them most?",
    ["404 Not Found", "405 Method Not Allowed, with `Allow: GET`", "400 Bad Request",
     "500: the API has no PUT"],
    answer=1,
    why=["A 404 says the URL is wrong, and sends them checking a URL that is right.",
         "The path exists, the method does not: 405, and `Allow` lists what would work.",
         "400 is for a request the route cannot use (a bad body, a bad query string).",
         "Nothing is broken on the server: never a 5xx for a client's choice."])

question(
    "3.g", "Your property asserts `response['statusCode'] != 500`. A broken API answers 502 "
    "for some inputs. Does your test catch it?",
    ["yes: 502 is an error", "no: 502 is not 500", "only if Hypothesis shrinks it",
     "only with more examples"],
    answer=1,
    why=["The assertion compares with 500 exactly: 502 passes it.",
         "Right: every 5xx says 'the server is broken'. Assert `status < 500`.",
         "Shrinking only simplifies a failure it has already found; here there is none.",
         "More examples find more 502s, and each one passes the assertion."])

question(
    "3.h", "A user is created in one execution environment of the in-memory API. A request "
    "for it lands in a *new* execution environment. What does it get?",
    ["200: Lambda copies memory between environments", "404: the new environment's store is "
     "empty", "500: the store is gone", "it waits for the first environment"],
    answer=1,
    why=["Environments share nothing: each is its own process, often on another machine.",
         "Each environment starts with an empty dict; only a store outside the function (lesson "
         "04) is shared.",
         "The store exists, it is just another, empty one: the user is simply not found.",
         "Lambda routes a request to any free environment, or starts one."])


# --- 3.1 ---------------------------------------------------------------------------------

ex31 = exercise("3.1", "User models with pydantic 2", files=[MODELS])


def _models(project: Project) -> Any:
    from pydantic import BaseModel

    module = project.module("models.user")
    for name in ("UserCreate", "User", "ListQuery"):
        cls = getattr(module, name, None)
        assert isinstance(cls, type), f"{MODELS} has no class {name}"
        assert issubclass(cls, BaseModel), (
            f"{name} is not a pydantic model (class {name}(BaseModel))")
    return module


def _rejected(model: Any, data: dict) -> set[str] | None:
    """The fields pydantic reports for `data`, or None when the model accepts it."""
    from pydantic import ValidationError

    try:
        model.model_validate(data)
    except ValidationError as exc:
        return {".".join(map(str, error["loc"])) for error in exc.errors()}
    return None


def _accepts(model: Any, data: dict) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
        raise AssertionError(f"{model.__name__} rejects {data!r:.100} (fields: "
                             f"{', '.join(fields)}), which is valid") from None


def _must_reject(model: Any, data: dict, field: str, why: str) -> None:
    fields = _rejected(model, data)
    assert fields is not None, f"{model.__name__} accepts {data!r:.100}: {why}"
    assert field in fields, (
        f"{model.__name__} rejects {data!r:.100}, but names the fields {sorted(fields)}, "
        f"not {field!r}: {why}")


VALID = {"name": "Ada", "email": "ada@example.com"}
MODELS_SECTION = "Lesson 03, section 3 ('Models with pydantic 2')"


@ex31.behaviour("UserCreate accepts a valid user, strips spaces and lower-cases the email",
                hint=[f"{MODELS_SECTION}: model_config has an option that strips the whitespace "
                      "of every string field.",
                      "A field validator returns the value to keep: it can return the email in "
                      "lower case."])
def _(project: Project) -> None:
    user_create = _models(project).UserCreate
    data = _accepts(user_create, {"name": "  Ada Lovelace ", "email": " Ada@Example.COM ",
                                  "age": 36})
    assert data.name == "Ada Lovelace", f"the name '  Ada Lovelace ' became {data.name!r}"
    assert data.email == "ada@example.com", (
        f"the email ' Ada@Example.COM ' became {data.email!r}; expected 'ada@example.com' "
        "(emails are compared case-insensitively, so store them in lower case)")
    assert data.age == 36, f"age 36 became {data.age!r}"
    assert _accepts(user_create, VALID).age is None, "without an age, age should be None"


@ex31.behaviour("UserCreate rejects a missing, blank, too long or non-string name",
                hint=[f"{MODELS_SECTION}: Field() takes length bounds for strings.",
                      "Whitespace is stripped before the length is checked, so a name of spaces "
                      "fails a minimum length of 1; strict mode refuses a number."])
def _(project: Project) -> None:
    user_create = _models(project).UserCreate
    email = {"email": "ada@example.com"}
    _must_reject(user_create, email, "name", "the name is required")
    _must_reject(user_create, {**email, "name": "   "}, "name", "a blank name is no name")
    _must_reject(user_create, {**email, "name": "x" * 101}, "name",
                 "names are at most 100 characters")
    _must_reject(user_create, {**email, "name": 42}, "name",
                 "42 is not a string (strict mode: no silent conversion)")
    _accepts(user_create, {**email, "name": "x" * 100})


@ex31.behaviour("UserCreate rejects an invalid email, also a valid one with more around it",
                hint=[f"{MODELS_SECTION}: a field validator can raise ValueError, which pydantic "
                      "reports as an error of that field.",
                      "The pattern must match the whole value, not just a part of it: Python's "
                      "re module has three ways to match, and only one anchors both ends.",
                      "Mind the maximum length of an email (254 characters) as well."])
def _(project: Project) -> None:
    user_create = _models(project).UserCreate
    for email in ("not-an-email", "ada@", "@example.com", "ada@example", "a b@example.com",
                  "x" * 250 + "@example.com"):
        _must_reject(user_create, {"name": "Ada", "email": email}, "email",
                     f"{email[:40]!r} is not a valid email address")
    for email in ("ada@example.com <script>", "see: ada@example.com"):
        _must_reject(user_create, {"name": "Ada", "email": email}, "email",
                     f"{email!r} only contains an email: the pattern must match the whole value")
    _accepts(user_create, {"name": "Ada", "email": "ada+news@mail.example.co.uk"})


@ex31.behaviour("age is optional, from 0 to 150, and a real number ('36' is not)",
                hint=[f"{MODELS_SECTION}: an optional field has a default; Field() takes bounds "
                      "for numbers.",
                      "Lax mode turns '36' and True into numbers; strict mode refuses both."])
def _(project: Project) -> None:
    user_create = _models(project).UserCreate
    for age, why in ((-1, "an age is at least 0"), (151, "an age is at most 150"),
                     ("36", "'36' is a string: a client sending it has a bug to find"),
                     (True, "True is not an age")):
        _must_reject(user_create, {**VALID, "age": age}, "age", why)
    for age in (0, 150):
        _accepts(user_create, {**VALID, "age": age})


@ex31.behaviour("UserCreate forbids unknown fields: a client cannot choose its user_id",
                hint=[f"{MODELS_SECTION}: by default pydantic drops fields a model does not "
                      "declare, silently.",
                      "model_config has an `extra` setting: one of its values makes an unknown "
                      "field an error."])
def _(project: Project) -> None:
    user_create = _models(project).UserCreate
    _must_reject(user_create, {**VALID, "user_id": "mine"}, "user_id",
                 "the server chooses ids; a client-chosen id could take over another user's")
    _must_reject(user_create, {**VALID, "role": "admin"}, "role",
                 "an unknown field is a client bug (or an attack) to report, not to ignore")


@ex31.behaviour("ListQuery parses ?limit= (default 10, 1 to 100) and ignores other parameters",
                hint=[f"{MODELS_SECTION}: query string values always arrive as strings, so "
                      "ListQuery stays lax: '25' must become 25.",
                      "Bound the limit, give it its default, and set `extra` so that unknown "
                      "parameters (cache busters, tracking ids) are ignored, not errors."])
def _(project: Project) -> None:
    list_query = _models(project).ListQuery
    for query, limit in (({}, 10), ({"limit": "25"}, 25), ({"limit": "100"}, 100),
                         ({"limit": "7", "utm_source": "mail"}, 7)):
        got = _accepts(list_query, query).limit
        assert got == limit and isinstance(got, int), (
            f"ListQuery.model_validate({query}).limit is {got!r}; expected the int {limit}")
    for value in ("abc", "-1", "0", "101", "100000", "1.5", ""):
        fields = _rejected(list_query, {"limit": value})
        assert fields == {"limit"}, (
            f"ListQuery accepts limit={value!r}" if fields is None else
            f"for limit={value!r} ListQuery names the fields {sorted(fields)}, not just 'limit'")


@ex31.behaviour("ListQuery's optional next is a user id, and nothing else",
                hint=[f"{MODELS_SECTION} and the table of models: `next` is the cursor of a "
                      "page, the last user id of the page before.",
                      "USER_ID in models/user.py is the pattern of a user id. As for the email, "
                      "it must match the whole value; keep the field a str (or None)."])
def _(project: Project) -> None:
    list_query = _models(project).ListQuery
    user_id = "3f2b8c1e-5d4a-4b6c-9e8f-7a6b5c4d3e2f"
    got = _accepts(list_query, {}).__dict__.get("next", "missing")
    assert got is None, f"ListQuery.model_validate({{}}).next is {got!r}; expected None"
    got = _accepts(list_query, {"next": user_id, "limit": "5"}).__dict__.get("next")
    assert got == user_id and isinstance(got, str), (
        f"ListQuery gives next={got!r} for the user id {user_id!r}; expected that same string")
    for cursor in ("abc", "", user_id + "x", "x" + user_id, user_id[:-1],
                   "' OR '1'='1", user_id + "/../admin"):
        fields = _rejected(list_query, {"next": cursor})
        assert fields == {"next"}, (
            f"ListQuery accepts next={cursor!r}: only a user id is a valid cursor (anything "
            "else reaches the database as a key)" if fields is None else
            f"for next={cursor!r} ListQuery names the fields {sorted(fields)}, not just 'next'")


@ex31.behaviour("User.new makes a UUID and a UTC timestamp; to_item drops empty attributes",
                hint=[f"{MODELS_SECTION}, the table of models: User.new adds what the server "
                      "chooses; to_item is what DynamoDB stores.",
                      "A random UUID (version 4) as a string, an aware UTC datetime in ISO "
                      "format; model_dump has an option that leaves out None values."])
def _(project: Project) -> None:
    import uuid
    from datetime import datetime
    from decimal import Decimal

    module = _models(project)
    data = module.UserCreate.model_validate(VALID)
    user, other = module.User.new(data), module.User.new(data)
    try:
        parsed = uuid.UUID(user.user_id)
    except (TypeError, ValueError, AttributeError):
        raise AssertionError(f"User.new gave user_id {user.user_id!r}, not a UUID") from None
    assert parsed.version == 4 and user.user_id == str(parsed), (
        f"user_id {user.user_id!r} should be a random UUID (version 4) in its usual form")
    assert user.user_id != other.user_id, "two calls of User.new gave the same user_id"
    try:
        created = datetime.fromisoformat(user.created_at)
    except (TypeError, ValueError):
        raise AssertionError(f"created_at {user.created_at!r} is not an ISO 8601 time") from None
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0, (
        f"created_at {user.created_at!r} has no UTC offset: a time without a zone is "
        "ambiguous the moment two servers disagree")
    item = user.to_item()
    expected = {"user_id": user.user_id, "created_at": user.created_at, **VALID}
    assert item == expected, (
        f"to_item() gave {item}; expected {expected} (DynamoDB items carry no None attributes)")
    with_age = module.User.new(module.UserCreate.model_validate({**VALID, "age": 36})).to_item()
    assert with_age.get("age") == 36, f"with an age of 36 to_item() gave {with_age}"
    stored = module.User.model_validate({**expected, "age": Decimal("36")})
    assert stored.model_dump()["age"] == 36, (
        "User does not read the Decimal('36') that DynamoDB returns for a number as age 36")


# --- the users API (3.2, 3.3) --------------------------------------------------------------


class Answer(NamedTuple):
    status: Any
    body: Any
    headers: dict[str, str]  # names in lower case: HTTP header names are case-insensitive
    what: str


def _api(project: Project, *, fresh: bool = False) -> tuple[Any, MemoryUsers]:
    """The learner's handler module, its users service replaced by an in-memory store."""
    if fresh:
        sys.modules.pop(MODULE, None)
    module = project.module(MODULE)
    project.function(MODULE, "lambda_handler")
    assert callable(getattr(module, "users_service", None)), (
        f"{HANDLER} has no users_service() function: keep the scaffold's, the routes reach the "
        "users through it (and the check gives it an empty store)")
    store = MemoryUsers()
    module.users_service = lambda: store
    return module, store


def _describe(method: str, path: str, body: Any, query: dict | None) -> str:
    what = f"{method} {path}" + (f"?{urlencode(query)}" if query else "")
    if body is not None:
        what += f" with the body {json.dumps(body) if isinstance(body, dict) else repr(body):.60}"
    return what


def _headers(response: dict) -> dict[str, str]:
    headers = {str(k).lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()
               if isinstance(v, list) and v}
    headers.update({str(k).lower(): v for k, v in (response.get("headers") or {}).items()})
    return headers


def _call(module: Any, method: str, path: str, body: Any = None, *, query: dict | None = None,
          base64: bool = False, event_changes: dict | None = None, what: str = "",
          headers: dict | None = None) -> Answer:
    from course import events

    event = events.api_gateway_rest(method, path, body, query=query, base64=base64,
                                    headers=headers, request_id=REQUEST_ID)
    event.update(event_changes or {})
    what = what or _describe(method, path, body, query)
    try:
        response = module.lambda_handler(event, lambda_context(request_id=REQUEST_ID))
    except BehaviourTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
        raise AssertionError(
            f"for {what} your handler raised {type(exc).__name__}: {str(exc)[:120]}. Lambda "
            "reports an unhandled error and API Gateway answers 502: a client mistake must be "
            "a 4xx response instead") from None
    assert isinstance(response, dict) and "statusCode" in response, (
        f"for {what} lambda_handler returned {response!r:.80}, not a proxy response")
    raw = response.get("body")
    try:
        body_json = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        body_json = raw
    return Answer(response["statusCode"], body_json, _headers(response), what)


def _expect(answer: Answer, status: int, body: Any = None) -> None:
    got = answer.status
    if got >= 500 and status < 500:
        raise AssertionError(
            f"for {answer.what} your handler answered {got} {answer.body!r:.100}: a client "
            f"mistake must be a {status}, never a 5xx (a 5xx says the server is broken, and "
            "pages whoever is on call)")
    assert got == status, f"for {answer.what} your handler answered {got} {answer.body!r:.100}; "\
                          f"expected {status}"
    if body is not None:
        assert answer.body == body, (
            f"for {answer.what} the body is {answer.body!r:.120}; expected {body!r}")
    content_type = answer.headers.get("content-type", "")
    assert content_type.startswith("application/json"), (
        f"for {answer.what} the Content-Type is {content_type!r}: every answer of this API is "
        "JSON, errors included")


class Logs:
    """What the handler logged inside a `_captured_logs()` block (filled when it ends)."""

    def __init__(self) -> None:
        self.text = ""
        self.records: list[dict[str, Any]] = []


@contextlib.contextmanager
def _captured_logs() -> Iterator[Logs]:
    """What every logging StreamHandler (Powertools' Logger has one) writes inside the block.
    A Logger binds its stream when it is created, so the check points the handlers at a
    buffer for the duration of the block (logging's public setStream)."""
    buffer = io.StringIO()
    loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict
                                       .values() if isinstance(logger, logging.Logger)]
    swapped = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                    handler, logging.FileHandler):
                swapped.append((handler, handler.stream))
                handler.setStream(buffer)
    logs = Logs()
    try:
        with contextlib.redirect_stdout(buffer):
            yield logs
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)
        logs.text = buffer.getvalue()
        logs.records.extend(json_lines(logs.text))


# --- 3.2 ---------------------------------------------------------------------------------

ex32 = exercise("3.2", "Bad input is a 400 that says what is wrong", files=[HANDLER])
NOT_JSON = {"message": "Request body is not valid JSON"}
NOT_OBJECT = {"message": "Request body must be a JSON object"}
CLIENT_SECTION = "Lesson 03, section 4 ('Every client mistake is a 4xx')"


@ex32.behaviour('a body that is not JSON (or not base64, or not UTF-8) is a 400 "Request body '
                'is not valid JSON"',
                hint=[f"{CLIENT_SECTION} lists what app.current_event.json_body raises for each "
                      "of these bodies.",
                      "All three exceptions share one base class: catch that one and raise "
                      "Powertools' 400 error with the exercise's message."])
def _(project: Project) -> None:
    module, _ = _api(project)
    _expect(_call(module, "POST", "/users", "{not json"), 400, NOT_JSON)
    _expect(_call(module, "POST", "/users", '{"name": "Ada",}'), 400, NOT_JSON)
    _expect(_call(module, "POST", "/users", "abc", event_changes={"isBase64Encoded": True},
                  what="POST /users with isBase64Encoded true and the body 'abc' (not base64)"),
            400, NOT_JSON)
    _expect(_call(module, "POST", "/users", b"\xff\xfe{}", base64=True,
                  what="POST /users with a base64 body that is not UTF-8"), 400, NOT_JSON)


@ex32.behaviour('valid JSON that is not an object ([1, 2], "Ada", 42, null, no body) is a 400 '
                '"Request body must be a JSON object"',
                hint=[f"{CLIENT_SECTION}: json_body gives whatever the JSON holds, or None when "
                      "there is no body.",
                      "Only a dict can be a user: test the type of what you got, not whether it "
                      "is truthy."])
def _(project: Project) -> None:
    module, _ = _api(project)
    for body in ("[1, 2]", '"Ada"', "42", "null", None, "[]"):
        _expect(_call(module, "POST", "/users", body), 400, NOT_OBJECT)


@ex32.behaviour("invalid fields are a 400 that lists each field, without echoing the input",
                hint=[f"{CLIENT_SECTION}: the demo before the exercise shows str(exc) next to "
                      "exc.errors(...).",
                      "exc.errors() takes options to leave out the input values and the "
                      "documentation links; a loc is a tuple, joined with dots for the field.",
                      "client_error must answer a dict message as the body itself, not inside "
                      "another message."])
def _(project: Project) -> None:
    module, _ = _api(project)
    body = {"name": "", "email": "<script>alert(1)</script>", "role": "admin"}
    answer = _call(module, "POST", "/users", body)
    _expect(answer, 400)
    payload = answer.body
    assert isinstance(payload, dict) and payload.get("message") == "Invalid request", (
        f"for {answer.what} the body is {payload!r:.120}; expected "
        '{"message": "Invalid request", "errors": [...]}')
    errors = payload.get("errors")
    assert isinstance(errors, list) and all(
        isinstance(e, dict) and isinstance(e.get("field"), str) and isinstance(e.get("message"),
                                                                                str)
        for e in errors), (
        f'"errors" should be a list of {{"field": ..., "message": ...}}; it is {errors!r:.120}')
    fields = {e["field"] for e in errors}
    assert fields == {"name", "email", "role"}, (
        f"for {answer.what} the errors name the fields {sorted(fields)}; expected email, name "
        "and role (every invalid field at once, so the client fixes them in one go)")
    text = json.dumps(payload)
    assert "<script>" not in text, (
        "your error response repeats what the client sent (<script>...): a page that shows "
        "the message runs it. Leave the input out")
    leak = INTERNALS.search(text)
    assert not leak, (
        f"your error response shows internals ({leak.group(0)!r}): class, library and file "
        "names help an attacker, not the client. Keep only the field and the message")
    answer = _call(module, "POST", "/users", {**VALID, "age": "36"})
    _expect(answer, 400)
    assert [e.get("field") for e in answer.body.get("errors", [])] == ["age"], (
        f"for {answer.what} the errors are {answer.body.get('errors')!r:.120}; expected one, "
        "for the field age")


@ex32.behaviour("bad ?limit= and ?next= values are a 400 naming the field",
                hint=[f"{CLIENT_SECTION}: list_users validates the query string with ListQuery "
                      "through your validate().",
                      "The same 400 as for a bad body: its errors name the field, 'limit' or "
                      "'next'."])
def _(project: Project) -> None:
    module, _ = _api(project)
    for query, field in [({"limit": v}, "limit") for v in ("abc", "-1", "0", "101", "1.5")] + [
            ({"next": "abc"}, "next"), ({"next": "1' OR '1'='1"}, "next")]:
        answer = _call(module, "GET", "/users", query=query)
        _expect(answer, 400)
        errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
        fields = [e.get("field") for e in errors or [] if isinstance(e, dict)]
        assert fields == [field], (
            f"for {answer.what} the body is {answer.body!r:.120}; its errors should name the "
            f"field {field!r}")


@ex32.behaviour("valid requests still work: POST 201 (base64 too), GET by id, GET a page",
                hint=[f"{CLIENT_SECTION}: validate() returns the model instance when the data is "
                      "valid, and json_object_body() returns the dict.",
                      "If a valid request fails, read the message: the exception handlers "
                      "decide every status the client sees."])
def _(project: Project) -> None:
    module, store = _api(project)
    answer = _call(module, "POST", "/users", {**VALID, "age": 36})
    _expect(answer, 201)
    user = answer.body
    assert isinstance(user, dict) and user.get("name") == "Ada" and user.get("age") == 36, (
        f"for {answer.what} the created user is {user!r:.120}")
    assert user.get("user_id") in store.items, "the created user was not saved in the store"
    _expect(_call(module, "POST", "/users", {"name": "Grace", "email": "grace@example.com"},
                  base64=True, what="POST /users with a valid base64-encoded body"), 201)
    _expect(_call(module, "GET", f"/users/{user['user_id']}"), 200, user)
    answer = _call(module, "GET", "/users", query={"limit": "1"})
    _expect(answer, 200)
    assert answer.body.get("count") == 1 and len(answer.body.get("users", [])) == 1, (
        f"for {answer.what} the body is {answer.body!r:.120}; expected one user")


@ex32.behaviour("errors raised in routes keep their status and message (409, 404)",
                hint=["Lesson 02, exercise 2.4: exception handlers are picked along the "
                      "exception's class hierarchy, and Powertools' HTTP errors are Exceptions "
                      "too.",
                      "Give Powertools' ServiceError a handler of its own that answers its "
                      "status code, its message as {\"message\": ...}, or its dict as it is."])
def _(project: Project) -> None:
    module, _ = _api(project)
    _expect(_call(module, "POST", "/users", VALID), 201)
    _expect(_call(module, "POST", "/users", {"name": "Ada 2", "email": "ADA@example.com"},
                  what="a second POST /users with the same email"),
            409, {"message": "A user with this email already exists"})
    _expect(_call(module, "GET", f"/users/{ABSENT_ID}"), 404, {"message": "User not found"})


@ex32.behaviour("anything unexpected is a generic 500; the detail goes to the log, traceback "
                "included",
                hint=["Lesson 02, exercise 2.4: a catch-all exception handler answers a fixed "
                      "message; the exception's text is for the log, never for the client.",
                      "Log with your Logger at ERROR level in a way that adds the traceback "
                      "(the exception's type and where it happened)."])
def _(project: Project) -> None:
    module, store = _api(project)
    secret = "db.internal:5432 password=hunter2"

    def broken(key: dict) -> None:
        raise RuntimeError(f"connection to {secret} refused")

    store.get_item = broken  # type: ignore[method-assign]
    with _captured_logs() as logs:
        answer = _call(module, "GET", f"/users/{ABSENT_ID}",
                       what="GET /users/<id> while the users store is down")
    _expect(answer, 500, {"message": "Internal server error"})
    errors = [r for r in logs.records if r.get("level") == "ERROR"]
    assert errors, ("nothing was logged at ERROR for the failure: whoever is on call learns of "
                    "it from the client, not from the logs")
    assert any("RuntimeError" in json.dumps(r) and secret in json.dumps(r) for r in errors), (
        "the ERROR line does not hold the exception (its type, message and traceback): "
        f"{json.dumps(errors[0])[:200]}")


@ex32.behaviour("every log line carries the request id as correlation_id; the event is never "
                "logged, even with POWERTOOLS_LOGGER_LOG_EVENT=true",
                hint=["Lesson 02, exercise 2.2: a decorator on lambda_handler adds the Lambda "
                      "context and a correlation id to every line.",
                      "The correlation id comes from the request id of a REST API event; say "
                      "explicitly that the event is not logged, so that an environment variable "
                      "cannot turn it on."])
def _(project: Project) -> None:
    os.environ["POWERTOOLS_LOGGER_LOG_EVENT"] = "true"  # someone turned it on to debug
    try:
        module, _ = _api(project, fresh=True)
        with _captured_logs() as logs:
            answer = _call(module, "POST", "/users", {**VALID, "name": "Ada Lovelace"},
                           headers={"Authorization": TOKEN})
    finally:
        os.environ.pop("POWERTOOLS_LOGGER_LOG_EVENT", None)
    _expect(answer, 201)
    assert TOKEN.split(".")[-1] not in logs.text and "Ada Lovelace" not in logs.text, (
        "the log holds the request (its Authorization header and body): the event was logged. "
        "Tokens and personal data in logs outlive the request and reach everyone who reads them")
    created = [r for r in logs.records if r.get("message") == "User created"]
    assert created, ('no "User created" line was logged as JSON: keep the route as given and '
                     "the module's Logger")
    assert created[0].get("correlation_id") == REQUEST_ID, (
        f"the \"User created\" line has correlation_id {created[0].get('correlation_id')!r}; "
        f"expected the request's id {REQUEST_ID!r}, so one search finds every line of a request")


# --- 3.3 ---------------------------------------------------------------------------------

ex33 = exercise("3.3", "Unknown routes and wrong methods: 404 and 405", files=[HANDLER])
NOT_ALLOWED = {"message": "Method not allowed"}
ROUTES_SECTION = "Lesson 03, section 5 ('404 or 405?')"


def _message_body(answer: Answer) -> None:
    body = answer.body
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (
        f'for {answer.what} the body is {body!r:.100}; expected JSON {{"message": ...}}')
    assert "statusCode" not in body, (
        f"for {answer.what} the body is {body!r:.100}: that is Powertools' default shape. "
        'Every error of this API is {"message": ...}')


def _expect_405(answer: Answer, allow: set[str]) -> None:
    if answer.status == 404:
        raise AssertionError(
            f"for {answer.what} your handler answered 404 {answer.body!r:.60}: the path exists, "
            "only the method is wrong, which is a 405 (the resolver knows no 405: a not_found "
            "handler has to tell the two apart)")
    _expect(answer, 405, NOT_ALLOWED)
    got = answer.headers.get("allow")
    methods = {m.strip() for m in got.split(",")} if isinstance(got, str) else None
    assert methods == allow, (
        f"for {answer.what} the Allow header is {got!r}; expected the path's methods, "
        f"{', '.join(sorted(allow))} (a 405 must say which methods the path accepts)")


@ex33.behaviour('an unknown path is a 404 JSON {"message": ...}, whatever the method',
                hint=[f"{ROUTES_SECTION}: a function decorated with @app.not_found receives the "
                      "NotFoundError of every unknown route.",
                      "A path counts as known only if a pattern matches all of it, not just its "
                      "beginning: /userss and /users/a/b are not the API's paths."])
def _(project: Project) -> None:
    module, _ = _api(project)
    for method, path in (("GET", "/nowhere"), ("GET", "/userss"), ("PUT", "/userss"),
                         ("GET", "/users/a/b"), ("DELETE", "/users/a/b"), ("DELETE", "/"),
                         ("POST", "/admin/users")):
        answer = _call(module, method, path)
        _expect(answer, 404)
        _message_body(answer)


@ex33.behaviour("a wrong method on /users is a 405 with Allow: GET, POST",
                hint=[f"{ROUTES_SECTION}: ALLOWED_METHODS maps a pattern of each path to its "
                      "methods.",
                      "In the not_found handler: when the request's path is known and its "
                      "method is not among the path's methods, answer 405 with an Allow header."])
def _(project: Project) -> None:
    module, _ = _api(project)
    for method, path in (("DELETE", "/users"), ("PUT", "/users"), ("PATCH", "/users/")):
        _expect_405(_call(module, method, path), {"GET", "POST"})


@ex33.behaviour("a wrong method on /users/<id> is a 405 with Allow: GET",
                hint=[f"{ROUTES_SECTION}: the second pattern of ALLOWED_METHODS matches "
                      "/users/ followed by one segment.",
                      "Take the methods of the first pattern that matches the whole path."])
def _(project: Project) -> None:
    module, _ = _api(project)
    for method, path in (("POST", f"/users/{ABSENT_ID}"), ("DELETE", "/users/abc"),
                         ("PUT", f"/users/{ABSENT_ID}/")):
        _expect_405(_call(module, method, path), {"GET"})


@ex33.behaviour('an unknown user is still a 404 "User not found"',
                hint=[f"{ROUTES_SECTION}: @app.not_found also receives the NotFoundError that "
                      "get_user raises.",
                      "That path is known and GET is allowed there: answer 404 with the "
                      "exception's own message, not a fixed one."])
def _(project: Project) -> None:
    module, _ = _api(project)
    for user_id in (ABSENT_ID, "not-a-uuid"):
        _expect(_call(module, "GET", f"/users/{user_id}"), 404, {"message": "User not found"})


@ex33.behaviour("known routes keep working (GET and POST /users, GET /users/<id>)",
                hint=[f"{ROUTES_SECTION}: the not_found handler only runs when no route "
                      "matches.",
                      "The routes themselves need no change: if one breaks, look at what else "
                      "changed in the file."])
def _(project: Project) -> None:
    module, _ = _api(project)
    answer = _call(module, "POST", "/users", VALID)
    _expect(answer, 201)
    _expect(_call(module, "GET", f"/users/{answer.body['user_id']}"), 200, answer.body)
    _expect(_call(module, "GET", "/users/"), 200)


# --- 3.4 ---------------------------------------------------------------------------------

ex34 = exercise("3.4", "A property-based test of the API", files=[PROPERTY_TEST], timeout=12.0)
_loaded: dict[str, Any] = {}
PROPERTY_SECTION = "Lesson 03, section 6 ('Property-based testing with Hypothesis')"


def _property_module(project: Project) -> Any:
    """The learner's test module, imported once per check with the course's Hypothesis
    profile (derandomized: the same examples every run; no shrinking: fast failures)."""
    if "module" in _loaded:
        return _loaded["module"]
    project.require(PROPERTY_TEST)  # a missing file is reported before anything else
    from hypothesis import Phase, settings

    settings.register_profile("course-check", derandomize=True, database=None, deadline=None,
                              phases=[Phase.explicit, Phase.generate], print_blob=False)
    settings.load_profile("course-check")  # before the import: @settings reads it then
    handler_module, _ = _api(project)
    module = project.load_file(PROPERTY_TEST, "course_check_test_api_properties")
    test = getattr(module, PROPERTY, None)
    assert callable(test) and hasattr(test, "hypothesis"), (
        f"{PROPERTY_TEST} has no @given test named {PROPERTY}: keep the scaffold's decorators "
        "and def line")
    assert callable(getattr(module, "lambda_handler", None)), (
        f"{PROPERTY_TEST} should import lambda_handler from handlers.api_gateway_handler")
    _loaded.update(module=module, handler=handler_module.lambda_handler)
    return module


def _flatten(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _flatten(inner)]
    return [exc]


def _summary(exc: BaseException) -> str:
    leaves = _flatten(exc)
    first = leaves[0]
    lines = str(first).strip().splitlines()
    text = f"{type(first).__name__}: {lines[0][:160] if lines else ''}"
    notes = [n for n in getattr(first, "__notes__", []) if n.startswith("Falsifying")]
    notes += [n for n in getattr(exc, "__notes__", []) if n.startswith("Falsifying")]
    return text + (f" ({notes[0][:200]})" if notes else "")


def _run_property(project: Project, handler: Any = None) -> BaseException | None:
    """Run the learner's property against `handler` (default: their own); the exception it
    ends with, or None when it passes."""
    module = _property_module(project)
    handler_module = sys.modules.get(MODULE)
    module.lambda_handler = handler or _loaded["handler"]
    if handler_module is not None:  # a test may also call it through the handler's module
        handler_module.lambda_handler = module.lambda_handler
    try:
        getattr(module, PROPERTY)()
    except BehaviourTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - pytest.fail and exception groups included
        for leaf in _flatten(exc):
            if isinstance(leaf, BehaviourTimeout):
                raise leaf from None
            if isinstance(leaf, NotImplementedError):
                raise AssertionError(
                    f"your test still raises NotImplementedError: write the property in "
                    f"{PROPERTY_TEST} and run its cell again") from None
        from hypothesis.errors import InvalidArgument

        if any(isinstance(leaf, InvalidArgument) for leaf in _flatten(exc)):
            raise AssertionError(f"Hypothesis refused your test: {_summary(exc)}") from None
        return exc
    finally:
        module.lambda_handler = _loaded["handler"]
        if handler_module is not None:
            handler_module.lambda_handler = _loaded["handler"]
    return None


def _json_answer(status: int, body: Any, content_type: str = "application/json") -> dict:
    return {"statusCode": status, "headers": {"Content-Type": content_type},
            "body": body if isinstance(body, str) else json.dumps(body)}


def _limit(event: dict) -> str | None:
    return (event.get("queryStringParameters") or {}).get("limit")


def _bad_base64(event: dict) -> bool:
    import base64
    import binascii

    if not event.get("isBase64Encoded") or event.get("body") is None:
        return False
    try:
        base64.b64decode(event["body"], validate=True)
    except (binascii.Error, ValueError):
        return True
    return False


def _is_json(text: Any) -> bool:
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def _broken(kind: str) -> Callable[[dict, Any], dict]:
    """The learner's own handler from 3.3 with one bug, by wrapping it: the bug acts on the
    event before the handler sees it, or on the answer after."""
    real = _loaded["handler"]

    def handler(event: dict, context: Any) -> dict:
        limit = _limit(event)
        path, method = str(event.get("path") or ""), str(event.get("httpMethod") or "")
        if kind == "int_limit" and limit is not None and not re.fullmatch(r"\s*[+-]?\d+\s*",
                                                                          limit):
            return _json_answer(500, {"message": "Internal server error"})  # int(limit) failed
        if kind == "low_limit" and limit is not None and re.fullmatch(r"\s*-?\d{1,9}\s*", limit) \
                and int(limit) < 1:
            return _json_answer(500, {"message": "Internal server error"})  # DynamoDB: Limit >= 1
        if kind == "crash_base64" and _bad_base64(event):
            import base64

            base64.b64decode(event["body"], validate=True)  # raises binascii.Error
        if kind == "crash_id" and method.upper() == "GET" and re.fullmatch(r"/users/[^/]+/?",
                                                                           path):
            import uuid

            uuid.UUID(path.rstrip("/").rsplit("/", 1)[-1])  # raises ValueError for a non-UUID
        if kind == "bad_gateway" and method.upper() == "POST" and event.get("body") is not None \
                and not event.get("isBase64Encoded") and not _is_json(event["body"]):
            return _json_answer(502, {"message": "Bad gateway"})
        response = real(event, context)
        status = int(response["statusCode"])
        try:
            body = json.loads(response.get("body") or "null")
        except ValueError:
            body = None
        if kind == "leak" and 400 <= status < 500:
            return _json_answer(status, {
                "message": "Invalid request",
                "detail": "ValidationError: 1 validation error for UserCreate\nname\n  Field "
                          "required [type=missing, input_value={}, input_type=dict]"})
        if kind == "links" and status == 400 and isinstance(body, dict) and "errors" in body:
            errors = [{**e, "url": "https://errors.pydantic.dev/2.14/v/missing"}
                      for e in body["errors"] if isinstance(e, dict)]
            return _json_answer(status, {**body, "errors": errors})
        if kind == "shape" and status in (404, 405):
            return _json_answer(status, {"error": "Not Found"})
        if kind == "plain_text" and status in (404, 405):
            return _json_answer(status, "Not Found", "text/plain")
        if kind == "nested_message" and status == 400 and isinstance(body, dict) \
                and "errors" in body:
            return _json_answer(status, {"message": body})
        return response

    return handler


def _passes(project: Project) -> BaseException | None:
    """The learner's property against their own handler (run once per check)."""
    if "pass" not in _loaded:
        _loaded["pass"] = _run_property(project)
    return _loaded["pass"]


def _catches(project: Project, broken: dict[str, str]) -> None:
    """The learner's property must fail against each broken API (kind -> what it does)."""
    if _passes(project) is not None:
        raise AssertionError("first make your test pass against your own handler (the check "
                             "above): a test that always fails catches nothing")
    for kind, bug in broken.items():
        exc = _run_property(project, _broken(kind))
        assert exc is not None, f"your test passed against a users API that {bug}"


@ex34.behaviour("LIMITS generates the ?limit= values the API must reject, and valid ones",
                hint=[f"{PROPERTY_SECTION}: strategies combine; one_of draws from several.",
                      "Numbers of every size and sign, turned into strings; any text; and a few "
                      "values you know matter, listed by hand."])
def _(project: Project) -> None:
    from hypothesis import Phase, find, given, settings
    from hypothesis.errors import NoSuchExample
    from hypothesis.strategies import SearchStrategy

    limits = getattr(_property_module(project), "LIMITS", None)
    assert isinstance(limits, SearchStrategy), (
        f"LIMITS in {PROPERTY_TEST} is {type(limits).__name__}, not a Hypothesis strategy")

    def number(value: Any) -> int | None:
        return int(value) if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*",
                                                                     value) else None

    kinds = {
        "text that is not a number (like 'abc')": lambda v: isinstance(v, str) and not re.fullmatch(
            r"\s*[+-]?\d+\s*", v),
        "negative numbers": lambda v: (number(v) or 0) < 0,
        "zero": lambda v: number(v) == 0,
        "numbers above 100": lambda v: (number(v) or 0) > 100,
        "valid limits (1 to 100)": lambda v: 1 <= (number(v) or 0) <= 100,
    }
    sample: list[Any] = []

    @settings(max_examples=200, database=None, derandomize=True, phases=[Phase.generate])
    @given(limits)
    def draw(value: Any) -> None:
        sample.append(value)

    draw()
    wrong = next((value for value in sample if not isinstance(value, str)), None)
    assert wrong is None, (
        f"LIMITS generates {wrong!r}, which is not a string: query string values always arrive "
        "as strings")
    missing = []
    for name, wanted in kinds.items():
        if any(wanted(value) for value in sample):
            continue
        try:  # rarer values: search a little longer before giving up
            find(limits, wanted, settings=settings(max_examples=300, database=None,
                                                   derandomize=True))
        except NoSuchExample:
            missing.append(name)
    assert not missing, f"LIMITS never generates {', '.join(missing)}"


@ex34.behaviour("the test passes against a correct API (your handler from 3.3)",
                hint=[f"{PROPERTY_SECTION}: the property is what every answer must satisfy, "
                      "success or error.",
                      "A status from 200 to 499; for an error, a JSON object body with a string "
                      "message in which LEAKS finds nothing. If check('3.3') fails too, fix the "
                      "handler first."])
def _(project: Project) -> None:
    exc = _passes(project)
    assert exc is None, (
        f"your test fails against your own handler: {_summary(exc)}. If check('3.3') passes, "
        "the property is too strict")


@ex34.behaviour("it fails for a 500 on a bad ?limit= (int() that fails, a limit below 1)",
                hint=[f"{PROPERTY_SECTION}: the property must reject every status of 500 or "
                      "more.",
                      "LIMITS must produce what int() cannot read, and zero and negative "
                      "numbers: DynamoDB refuses a Limit below 1."])
def _(project: Project) -> None:
    _catches(project, {"int_limit": "answers 500 when int(limit) fails",
                       "low_limit": "answers 500 for a limit of 0 or less (DynamoDB refuses "
                                    "such a Limit)"})


@ex34.behaviour("it fails when an exception escapes the handler",
                hint=[f"{PROPERTY_SECTION}: a property test fails on any exception the code "
                      "under test raises.",
                      "Call the handler as the scaffold does, outside any try/except: an "
                      "escaping exception is exactly what the test must report."])
def _(project: Project) -> None:
    _catches(project, {"crash_base64": "crashes on a body flagged as base64 that is not "
                                       "base64 (Lambda reports an error, the client gets 502)",
                       "crash_id": "crashes on a user id that is not a UUID"})


@ex34.behaviour("it fails for any 5xx, not only 500",
                hint=[f"{PROPERTY_SECTION}: every 5xx says 'the server is broken'.",
                      "Compare the status with a bound, not with one value."])
def _(project: Project) -> None:
    _catches(project, {"bad_gateway": "answers 502 to a POST whose body is not JSON"})


@ex34.behaviour("it fails when an error body leaks internals (exception names, pydantic links)",
                hint=[f"{PROPERTY_SECTION}: LEAKS is the list of what must never reach a "
                      "client.",
                      "Search every error body (status 400 or more) with it, and assert it "
                      "finds nothing."])
def _(project: Project) -> None:
    _catches(project, {"leak": "puts 'ValidationError: 1 validation error for UserCreate ...' "
                               "into its 4xx bodies",
                       "links": "adds pydantic's documentation links to its 400 errors"})


@ex34.behaviour('it fails when an error body is not a JSON object with a string "message"',
                hint=[f"{PROPERTY_SECTION}: every error of this API has one shape, "
                      '{"message": ...}.',
                      "Parse the body of each error as JSON, then assert it is a dict and that "
                      "its message is a string."])
def _(project: Project) -> None:
    _catches(project, {"shape": 'answers 404 and 405 with the guideline\'s {"error": ...}',
                       "plain_text": "answers 404 and 405 with the plain text 'Not Found'",
                       "nested_message": 'answers 400 with {"message": {"message": ..., '
                                         '"errors": [...]}} (a dict, not a string)'})
