"""Hidden tests for lesson 03 (API Gateway patterns). Messages are written for the learner.

The handler checks (3.2, 3.3) run against lesson 03's in-memory users API and against the
DynamoDB-backed version of lesson 04 alike: every behaviour replaces the module's
`users_service` with an in-memory store, so no AWS is involved. Exercise 3.4 imports the
learner's property-based test and calls it (Hypothesis runs it without pytest) against the
learner's handler, where it must pass, and against broken variants, where it must fail.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple
from urllib.parse import urlencode

from course.checks import BehaviourTimeout, Project, exercise
from course.checks.kit import lambda_context

MODELS = "src/models/user.py"
HANDLER = "src/handlers/api_gateway_handler.py"
MODULE = "handlers.api_gateway_handler"
PROPERTY_TEST = "tests/unit/test_api_properties.py"
PROPERTY = "test_client_input_never_causes_a_5xx_or_a_leak"
ABSENT_ID = "00000000-0000-4000-8000-000000000000"
INTERNALS = re.compile(r"pydantic|UserCreate|ListQuery|Traceback|\.py\b|errors\.pydantic\.dev"
                       r"|input_value|\b\w*(Error|Exception)\b")


class MemoryUsers:
    """The users service's four methods, backed by a dict (lesson 04's DynamoDBService has
    the same interface)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get(key["user_id"])

    def save_item(self, item: dict[str, Any], *, overwrite: bool = False) -> None:
        self.items[item["user_id"]] = dict(item)

    def query_items(self, key_name: str, key_value: Any, *, index_name: str | None = None):
        return [item for item in self.items.values() if item.get(key_name) == key_value]

    def scan_items(self, *, limit: int) -> list[dict[str, Any]]:
        return list(self.items.values())[:limit]


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


@ex31.behaviour("UserCreate accepts a valid user, strips spaces and lower-cases the email",
                hint="One model_config option strips the whitespace of every string; a field "
                     "validator on email can return the value in lower case.")
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
                hint="Field() takes length bounds for strings. Whitespace is stripped first, so "
                     "'   ' becomes '' and fails the minimum length; strict mode refuses 42.")
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


@ex31.behaviour("UserCreate rejects an invalid email",
                hint="A field validator for email (a classmethod) that raises ValueError when "
                     "EMAIL_PATTERN does not match the whole value: pydantic reports it as an "
                     "error of that field.")
def _(project: Project) -> None:
    user_create = _models(project).UserCreate
    for email in ("not-an-email", "ada@", "@example.com", "ada@example", "a b@example.com",
                  "x" * 250 + "@example.com"):
        _must_reject(user_create, {"name": "Ada", "email": email}, "email",
                     f"{email[:40]!r} is not a valid email address")
    _accepts(user_create, {"name": "Ada", "email": "ada+news@mail.example.co.uk"})


@ex31.behaviour("age is optional, from 0 to 150, and a real number ('36' is not)",
                hint="An optional int that defaults to None, with Field bounds for 'greater or "
                     "equal' and 'less or equal'. Lax mode turns '36' into 36; strict mode "
                     "refuses it.")
def _(project: Project) -> None:
    user_create = _models(project).UserCreate
    for age, why in ((-1, "an age is at least 0"), (151, "an age is at most 150"),
                     ("36", "'36' is a string: a client sending it has a bug to find"),
                     (True, "True is not an age")):
        _must_reject(user_create, {**VALID, "age": age}, "age", why)
    for age in (0, 150):
        _accepts(user_create, {**VALID, "age": age})


@ex31.behaviour("UserCreate forbids unknown fields: a client cannot choose its user_id",
                hint="ConfigDict(extra='forbid') makes any field the model does not declare an "
                     "error; by default pydantic drops it silently.")
def _(project: Project) -> None:
    user_create = _models(project).UserCreate
    _must_reject(user_create, {**VALID, "user_id": "mine"}, "user_id",
                 "the server chooses ids; a client-chosen id could take over another user's")
    _must_reject(user_create, {**VALID, "role": "admin"}, "role",
                 "an unknown field is a client bug (or an attack) to report, not to ignore")


@ex31.behaviour("ListQuery parses ?limit= (default 10, 1 to 100) and ignores other parameters",
                hint="Query string values are always strings: ListQuery stays lax, so '25' "
                     "becomes 25. Bound the limit, default it to 10, and let model_config ignore "
                     "unknown parameters (cache busters and tracking ids are not errors).")
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


@ex31.behaviour("User.new makes a UUID and a UTC timestamp; to_item drops empty attributes",
                hint="uuid4 for the id, an aware UTC datetime in ISO format for created_at; "
                     "model_dump has an option that leaves out None values.")
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
        f"user_id {user.user_id!r} should be str(uuid.uuid4())")
    assert user.user_id != other.user_id, "two calls of User.new gave the same user_id"
    try:
        created = datetime.fromisoformat(user.created_at)
    except (TypeError, ValueError):
        raise AssertionError(f"created_at {user.created_at!r} is not an ISO 8601 time") from None
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0, (
        f"created_at {user.created_at!r} has no UTC offset: use datetime.now(UTC)")
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
    headers: dict[str, str]
    what: str


def _api(project: Project) -> tuple[Any, MemoryUsers]:
    """The learner's handler module, its users service replaced by an in-memory store."""
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


def _call(module: Any, method: str, path: str, body: Any = None, *, query: dict | None = None,
          base64: bool = False, event_changes: dict | None = None, what: str = "") -> Answer:
    from course import events

    event = events.api_gateway_rest(method, path, body, query=query, base64=base64)
    event.update(event_changes or {})
    what = what or _describe(method, path, body, query)
    try:
        response = module.lambda_handler(event, lambda_context())
    except BehaviourTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
        raise AssertionError(
            f"for {what} your handler raised {type(exc).__name__}: {str(exc)[:120]}. Lambda "
            "reports an unhandled error and API Gateway answers 502: a client mistake must be "
            "a 4xx response instead") from None
    assert isinstance(response, dict) and "statusCode" in response, (
        f"for {what} lambda_handler returned {response!r:.80}, not a proxy response")
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v}
    headers.update(response.get("headers") or {})
    raw = response.get("body")
    try:
        body_json = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        body_json = raw
    return Answer(response["statusCode"], body_json, headers, what)


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


# --- 3.2 ---------------------------------------------------------------------------------

ex32 = exercise("3.2", "Bad input is a 400 that says what is wrong", files=[HANDLER])
NOT_JSON = {"message": "Request body is not valid JSON"}
NOT_OBJECT = {"message": "Request body must be a JSON object"}


@ex32.behaviour('a body that is not JSON (or not base64) is a 400 "Request body is not valid '
                'JSON"',
                hint="app.current_event.json_body raises ValueError for bad JSON, bad base64 and "
                     "bad UTF-8 alike (JSONDecodeError, binascii.Error and UnicodeDecodeError "
                     "are all ValueErrors): catch it and raise BadRequestError(...) from it.")
def _(project: Project) -> None:
    module, _ = _api(project)
    _expect(_call(module, "POST", "/users", "{not json"), 400, NOT_JSON)
    _expect(_call(module, "POST", "/users", '{"name": "Ada",}'), 400, NOT_JSON)
    _expect(_call(module, "POST", "/users", "abc", event_changes={"isBase64Encoded": True},
                  what="POST /users with isBase64Encoded true and the body 'abc' (not base64)"),
            400, NOT_JSON)
    _expect(_call(module, "POST", "/users", b"\xff\xfe{}", base64=True,
                  what="POST /users with a base64 body that is not UTF-8"), 400, NOT_JSON)


@ex32.behaviour('valid JSON that is not an object ([1, 2], "Ada", 42, no body) is a 400 '
                '"Request body must be a JSON object"',
                hint="json_body gives whatever the JSON holds: a list, a string, a number, or "
                     "None for no body. Only a dict can be a user: check isinstance(body, dict).")
def _(project: Project) -> None:
    module, _ = _api(project)
    for body in ("[1, 2]", '"Ada"', "42", "null", None):
        _expect(_call(module, "POST", "/users", body), 400, NOT_OBJECT)


@ex32.behaviour("invalid fields are a 400 that lists each field, without echoing the input",
                hint="Catch pydantic's ValidationError and build the list from exc.errors(), "
                     "asking it to leave out URLs and input values. An error's loc is a tuple: "
                     "join it with dots for the field.")
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
        "the message runs it. Leave the input out (include_input=False)")
    leak = INTERNALS.search(text)
    assert not leak, (
        f"your error response shows internals ({leak.group(0)!r}): class, library and file "
        "names help an attacker, not the client. Keep only the field and the message")
    answer = _call(module, "POST", "/users", {**VALID, "age": "36"})
    _expect(answer, 400)
    assert [e.get("field") for e in answer.body.get("errors", [])] == ["age"], (
        f"for {answer.what} the errors are {answer.body.get('errors')!r:.120}; expected one, "
        "for the field age")


@ex32.behaviour("bad ?limit= values (abc, -1, 0, 101, 100000, 1.5) are a 400 naming limit",
                hint="list_users validates the query string with ListQuery through your "
                     "validate(): the same 400 as for a bad body, with the field 'limit'.")
def _(project: Project) -> None:
    module, _ = _api(project)
    for value in ("abc", "-1", "0", "101", "100000", "1.5"):
        answer = _call(module, "GET", "/users", query={"limit": value})
        _expect(answer, 400)
        errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
        fields = [e.get("field") for e in errors or [] if isinstance(e, dict)]
        assert fields == ["limit"], (
            f"for {answer.what} the body is {answer.body!r:.120}; its errors should name the "
            "field 'limit'")


@ex32.behaviour("valid requests still work: POST 201 (base64 too), GET by id, GET ?limit=",
                hint="validate() returns the model instance when the data is valid, and "
                     "json_object_body() returns the dict.")
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


# --- 3.3 ---------------------------------------------------------------------------------

ex33 = exercise("3.3", "Unknown routes and wrong methods: 404 and 405", files=[HANDLER])
NOT_ALLOWED = {"message": "Method not allowed"}


def _message_body(answer: Answer) -> None:
    body = answer.body
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (
        f'for {answer.what} the body is {body!r:.100}; expected JSON {{"message": ...}}')
    assert "statusCode" not in body, (
        f"for {answer.what} the body is {body!r:.100}: that is Powertools' default shape. "
        'Every error of this API is {"message": ...}')
    content_type = answer.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), (
        f"for {answer.what} the Content-Type is {content_type!r}")


def _expect_405(answer: Answer, allow: str) -> None:
    if answer.status == 404:
        raise AssertionError(
            f"for {answer.what} your handler answered 404 {answer.body!r:.60}: the path exists, "
            "only the method is wrong, which is a 405 (the resolver knows no 405: a not_found "
            "handler has to tell the two apart)")
    _expect(answer, 405, NOT_ALLOWED)
    got = answer.headers.get("Allow")
    assert got == allow, (
        f"for {answer.what} the Allow header is {got!r}; expected {allow!r} (a 405 must say "
        "which methods the path accepts)")


@ex33.behaviour('an unknown path is a 404 JSON {"message": ...}',
                hint="Decorate a function with @app.not_found: it receives the NotFoundError; "
                     "answer 404 with json_response when the path is none of the API's.")
def _(project: Project) -> None:
    module, _ = _api(project)
    for method, path in (("GET", "/nowhere"), ("GET", "/userss"), ("GET", "/users/a/b"),
                         ("DELETE", "/"), ("POST", "/admin/users")):
        answer = _call(module, method, path)
        _expect(answer, 404)
        _message_body(answer)


@ex33.behaviour("a wrong method on /users is a 405 with Allow: GET, POST",
                hint="In the not_found handler, look up app.current_event.path in "
                     "ALLOWED_METHODS (allowed_methods()); if the path is known and the method "
                     "is not among its methods, answer 405 with an Allow header.")
def _(project: Project) -> None:
    module, _ = _api(project)
    for method, path in (("DELETE", "/users"), ("PUT", "/users"), ("PATCH", "/users/")):
        _expect_405(_call(module, method, path), "GET, POST")


@ex33.behaviour("a wrong method on /users/<id> is a 405 with Allow: GET",
                hint="The second pattern of ALLOWED_METHODS matches /users/<anything without "
                     "a slash>; compare the method in upper case.")
def _(project: Project) -> None:
    module, _ = _api(project)
    for method, path in (("POST", f"/users/{ABSENT_ID}"), ("DELETE", "/users/abc"),
                         ("PUT", f"/users/{ABSENT_ID}/")):
        _expect_405(_call(module, method, path), "GET")


@ex33.behaviour('an unknown user is still a 404 "User not found"',
                hint="@app.not_found also receives the NotFoundError that get_user raises. Its "
                     "path is known and GET is allowed, so answer 404 with the exception's own "
                     "message (exc.msg), not a fixed one.")
def _(project: Project) -> None:
    module, _ = _api(project)
    for user_id in (ABSENT_ID, "not-a-uuid"):
        _expect(_call(module, "GET", f"/users/{user_id}"), 404, {"message": "User not found"})


@ex33.behaviour("known routes keep working (GET and POST /users, GET /users/<id>)",
                hint="The not_found handler only runs when no route matches: the routes "
                     "themselves need no change.")
def _(project: Project) -> None:
    module, _ = _api(project)
    answer = _call(module, "POST", "/users", VALID)
    _expect(answer, 201)
    _expect(_call(module, "GET", f"/users/{answer.body['user_id']}"), 200, answer.body)
    _expect(_call(module, "GET", "/users/"), 200)


# --- 3.4 ---------------------------------------------------------------------------------

ex34 = exercise("3.4", "A property-based test of the API", files=[PROPERTY_TEST], timeout=10.0)
_loaded: dict[str, Any] = {}


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
    module.lambda_handler = handler or _loaded["handler"]
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
    return None


def _variant(kind: str) -> Any:
    """A users API with one bug, built around the learner's correct handler."""
    real = _loaded["handler"]

    def handler(event: dict, context: Any) -> dict:
        if kind == "int_limit":  # the guideline's int(limit), behind a catch-all 500
            limit = (event.get("queryStringParameters") or {}).get("limit")
            if limit is not None:
                try:
                    int(limit)
                except ValueError:
                    return {"statusCode": 500, "headers": {"Content-Type": "application/json"},
                            "body": json.dumps({"message": "Internal server error"})}
        response = real(event, context)
        status = int(response["statusCode"])
        if kind == "leak" and 400 <= status < 500:
            response = {**response, "body": json.dumps({
                "message": "Invalid request",
                "error": "ValidationError: 1 validation error for UserCreate\nname\n  Field "
                         "required [type=missing, input_value={}, input_type=dict]"})}
        if kind == "shape" and status in (404, 405):
            response = {**response, "body": json.dumps({"error": "Not Found"})}
        return response

    return handler


def _passes(project: Project) -> BaseException | None:
    """The learner's property against their own handler (run once per check)."""
    if "pass" not in _loaded:
        _loaded["pass"] = _run_property(project)
    return _loaded["pass"]


def _catches(project: Project, kind: str, bug: str) -> None:
    if _passes(project) is not None:
        raise AssertionError("first make your test pass against your own handler (the check "
                             "above): a test that always fails catches nothing")
    exc = _run_property(project, _variant(kind))
    assert exc is not None, f"your test passed against a users API that {bug}"


@ex34.behaviour("LIMITS generates the ?limit= values the API must reject, and valid ones",
                hint="Combine strategies with st.one_of: st.integers(...).map(str) for numbers "
                     "of every size and sign, st.text() for anything else, and "
                     "st.sampled_from([...]) for the cases you know matter.")
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
        "as strings (use .map(str))")
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
                hint="Assert what every answer must satisfy: a status from 200 to 499; and for "
                     "an error (>= 400), a JSON object body with a string message and nothing "
                     "LEAKS matches. If check('3.3') fails too, fix the handler first.")
def _(project: Project) -> None:
    exc = _passes(project)
    assert exc is None, (
        f"your test fails against your own handler: {_summary(exc)}. If check('3.3') passes, "
        "the property is too strict")


@ex34.behaviour("it fails for a 500 on a bad ?limit= (the guideline's int(limit))",
                hint="The property must reject any status of 500 or more, and LIMITS must "
                     "generate values int() cannot read, such as 'abc' or ''.")
def _(project: Project) -> None:
    _catches(project, "int_limit", "answers 500 when int(limit) fails")


@ex34.behaviour("it fails when an error body leaks internals (an exception or class name)",
                hint="For every error response, assert that LEAKS.search(response['body']) "
                     "finds nothing.")
def _(project: Project) -> None:
    _catches(project, "leak", "puts 'ValidationError: 1 validation error for UserCreate ...' "
                              "into its 400 bodies")


@ex34.behaviour('it fails when an error body is not {"message": ...}',
                hint="json.loads the body of an error response; assert it is a dict whose "
                     "'message' is a string.")
def _(project: Project) -> None:
    _catches(project, "shape", "answers 404 and 405 with the guideline's "
                               '{"error": "Not Found"} instead of {"message": ...}')
