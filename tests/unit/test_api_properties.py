"""Property-based test: whatever a client sends, the users API answers with a clean 2xx-4xx.

Hypothesis generates API Gateway REST events (methods, paths, query strings, JSON and
non-JSON bodies, base64 or not) and checks that no input causes a 5xx or leaks internals.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handlers.api_gateway_handler import lambda_handler

# What must never reach a client: tracebacks, file paths, class names, library or table names.
LEAKS = re.compile(
    r'Traceback|File "|\.py\b|\b\w*(Error|Exception)\b|pydantic|boto|UserCreate|ListQuery'
    r"|users-test"
)

METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get"])
SEGMENTS = st.text(max_size=40)
USER_PATHS = st.one_of(
    SEGMENTS.map(lambda s: f"/users/{s}"),
    st.uuids().map(lambda u: f"/users/{u}"),
)
ANY_PATH = st.one_of(
    st.sampled_from(["/users", "/users/", "/", "", "/users//"]),
    USER_PATHS,
    SEGMENTS.map(lambda s: f"/{s}"),
)
LIMITS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["abc", "-1", "0", "100000", "1e3", "", " 5 ", "0x10", "9" * 5000]),
    st.text(max_size=20),
)
QUERIES = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["limit", "next", "q"]) | st.text(max_size=10), LIMITS, max_size=3
    ),
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
# Valid users from a few emails, so duplicates (409) happen too.
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
# (method, path, body). Most requests target a real route, so validation and storage are
# exercised too, and half the POSTs carry a valid user.
REQUESTS = st.one_of(
    st.tuples(st.just("POST"), st.just("/users"), VALID_USER.map(json.dumps) | BODIES),
    st.tuples(st.just("GET"), st.just("/users"), BODIES),
    st.tuples(st.just("GET"), USER_PATHS, BODIES),
    st.tuples(METHODS, ANY_PATH, BODIES),
)
# "encoded": a real base64 body; "flag-only": isBase64Encoded true on a body that is not.
ENCODINGS = st.sampled_from(["plain", "encoded", "plain", "encoded", "flag-only"])


@settings(
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the repository
    # One moto table for all examples of the test, on purpose: state (e.g. a user created by
    # an earlier example, then a duplicate) is part of what gets exercised.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(request=REQUESTS, query=QUERIES, encoding=ENCODINGS)
def test_client_input_never_causes_a_5xx_or_a_leak(
    users_table: Any,
    rest_event: Any,
    lambda_context: Any,
    request: tuple[str, str, str | None],
    query: dict[str, str] | None,
    encoding: str,
) -> None:
    method, path, body = request
    api_event = rest_event(method, path, body=body, query=query, base64_body=encoding == "encoded")
    api_event["isBase64Encoded"] = encoding != "plain"

    response = lambda_handler(api_event, lambda_context)

    status = response["statusCode"]
    event(f"status {status}")  # see the mix with --hypothesis-show-statistics
    assert isinstance(status, int)
    assert 200 <= status < 500, response
    payload = json.loads(response["body"])
    if status >= 400:
        assert isinstance(payload, dict)
        assert isinstance(payload["message"], str)
        assert not LEAKS.search(response["body"]), response["body"]
