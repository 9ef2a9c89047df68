"""Fixtures for unit tests: no AWS except moto, fake credentials, events built inline."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools import Logger

RestEvent = Callable[..., dict[str, Any]]
LogRecords = Callable[[], list[dict[str, Any]]]


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from the real LambdaContext."""

    function_name: str = "users-api"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:users-api"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def capture_logs(request: pytest.FixtureRequest) -> Callable[[Logger], LogRecords]:
    """capture_logs(logger) -> a function returning the JSON records that logger wrote since.

    A Powertools Logger's handler binds sys.stdout when the Logger is created (at import), so
    capsys cannot see it: the handler is pointed at a buffer instead (the standard library's
    StreamHandler.setStream), and back at its stream when the test ends.
    """

    def capture(logger: Logger) -> LogRecords:
        buffer = io.StringIO()
        handler = logger.registered_handler
        previous = handler.setStream(buffer)
        request.addfinalizer(lambda: handler.setStream(previous))
        return lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]

    return capture


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real account."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECURITY_TOKEN",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def make_rest_event(
    method: str,
    path: str,
    *,
    body: str | dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
    request_id: str = "req-0001",
) -> dict[str, Any]:
    """An API Gateway REST API (payload v1) proxy event."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if base64_body and body is not None:
        body = base64.b64encode(body.encode()).decode()
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": request_id,
            "stage": "prod",
            "httpMethod": method,
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "identity": {"sourceIp": "203.0.113.10"},
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }


@pytest.fixture
def rest_event() -> RestEvent:
    return make_rest_event
