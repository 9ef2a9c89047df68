"""Property-based test: whatever a client sends, the users API answers with a clean 2xx-4xx.

Hypothesis generates API Gateway REST events (methods, paths, query strings, JSON and non-JSON
bodies, base64 or not) and checks one property for each: no unhandled exception, no 5xx, and
every error is a JSON {"message": ...} without internal details. The users service is an
in-memory fake, so the test needs no AWS (tests/integration covers DynamoDB).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handlers import api_gateway_handler
from handlers.api_gateway_handler import lambda_handler

# What must never reach a client: tracebacks, file paths, exception and class names, libraries.
LEAKS = re.compile(
    r'Traceback|File "|\.py\b|\b\w*(Error|Exception)\b|pydantic|boto|UserCreate|ListQuery'
)


class MemoryUsers:
    """The four methods the handler calls on its users service, backed by a dict."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get(key["user_id"])

    def save_item(self, item: dict[str, Any], *, overwrite: bool = False) -> None:
        self.items[item["user_id"]] = item

    def query_items(self, key_name: str, key_value: Any, *, index_name: str | None = None):
        return [item for item in self.items.values() if item.get(key_name) == key_value]

    def scan_items(self, *, limit: int, start_key: dict[str, Any] | None = None):
        after = start_key["user_id"] if start_key else ""
        return sorted((u for u in self.items.values() if u["user_id"] > after),
                      key=lambda u: u["user_id"])[:limit]


@pytest.fixture(autouse=True)
def memory_users(monkeypatch: pytest.MonkeyPatch) -> MemoryUsers:
    """One store for all the examples of a test: state (a user, then a duplicate) is exercised."""
    store = MemoryUsers()
    monkeypatch.setattr(api_gateway_handler, "users_service", lambda: store)
    return store


class FakeContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name = "users-api"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:users-api"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def rest_event(method: str, path: str, body: str | None, query: dict | None, encoding: str):
    """A REST API (payload 1.0) proxy event. encoding: "plain", "base64" (a real base64 body)
    or "flag-only" (isBase64Encoded is true, but the body is not base64)."""
    if encoding == "base64" and body is not None:
        body = base64.b64encode(body.encode()).decode()
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "req-property", "stage": "prod", "httpMethod": method},
        "body": body,
        "isBase64Encoded": encoding != "plain",
    }


# Values for ?limit=. The API accepts "1" to "100"; generate what it must reject as well:
# text that is no number at all, negative numbers, zero, numbers far too big.
LIMITS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["abc", "-1", "0", "101", "100000", "1e3", "", " 5 ", "0x10", "9" * 5000]),
    st.text(max_size=20),
)
QUERIES = st.one_of(
    st.none(),
    st.fixed_dictionaries({"limit": LIMITS}, optional={"next": st.text(max_size=10)}),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=2),
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get"])
SEGMENTS = st.text(max_size=40)
USER_PATHS = st.one_of(st.uuids().map(lambda u: f"/users/{u}"), SEGMENTS.map("/users/{}".format))
ANY_PATH = st.one_of(
    st.sampled_from(["/users", "/users/", "/", "", "/users//"]),
    USER_PATHS,
    SEGMENTS.map("/{}".format),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
USER_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=120) | JSON_VALUES,
        "email": st.emails() | st.text(max_size=30),
        "age": st.integers(-5, 200) | JSON_VALUES,
        "user_id": st.text(max_size=10),
    },
)
# Valid users with a few emails, so duplicates (409) happen too.
VALID_USER = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=100), "email": st.sampled_from(["a@x.io", "b@x.io"])},
    optional={"age": st.integers(0, 150)},
)
BODIES = st.one_of(
    st.none(),
    st.text(),
    JSON_VALUES.map(json.dumps),
    USER_LIKE.map(json.dumps),
    VALID_USER.map(json.dumps),
)
# (method, path, body, query): most requests target a real route, so validation and storage
# are exercised too, and many POSTs carry a valid user.
REQUESTS = st.one_of(
    st.tuples(st.just("POST"), st.just("/users"), VALID_USER.map(json.dumps) | BODIES, st.none()),
    st.tuples(st.just("GET"), st.just("/users"), st.none(), QUERIES),
    st.tuples(st.just("GET"), USER_PATHS, st.none(), st.none()),
    st.tuples(METHODS, ANY_PATH, BODIES, QUERIES),
)
ENCODINGS = st.sampled_from(["plain", "base64", "plain", "base64", "flag-only"])


@settings(
    max_examples=100,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the project
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one store per test, on purpose
)
@given(request=REQUESTS, encoding=ENCODINGS)
def test_client_input_never_causes_a_5xx_or_a_leak(
    request: tuple[str, str, str | None, dict | None], encoding: str
) -> None:
    method, path, body, query = request
    response = lambda_handler(rest_event(method, path, body, query, encoding), FakeContext())

    status = response["statusCode"]
    event(f"status {status}")  # see the mix with pytest --hypothesis-show-statistics
    assert 200 <= status < 500, response
    if status >= 400:
        payload = json.loads(response["body"])
        assert isinstance(payload, dict), response["body"]
        assert isinstance(payload.get("message"), str), response["body"]
        assert not LEAKS.search(response["body"]), response["body"]
