"""Fixtures for integration tests: DynamoDB is moto's, started before any client exists."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.api_gateway_handler import users_service
from services.dynamodb_service import DynamoDBService, create_users_table

TABLE_NAME = "users-test"


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


@pytest.fixture
def dynamodb(aws_credentials: None) -> Iterator[Any]:
    """A boto3 DynamoDB resource, with moto's mock on for the whole test."""
    with mock_aws():
        yield boto3.resource("dynamodb")


@pytest.fixture
def users_table(dynamodb: Any) -> Any:
    """The users table, new and empty for each test."""
    return create_users_table(dynamodb, TABLE_NAME)


@pytest.fixture
def service(dynamodb: Any, users_table: Any) -> DynamoDBService:
    """The service under test, on users_table."""
    return DynamoDBService(TABLE_NAME, resource=dynamodb)


@pytest.fixture
def users_api(users_table: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the API at the moto table; its cached service is rebuilt inside the mock."""
    monkeypatch.setenv("USERS_TABLE", TABLE_NAME)
    users_service.cache_clear()
    yield
    users_service.cache_clear()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def rest_event() -> Callable[..., dict[str, Any]]:
    def make(
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A minimal API Gateway REST API (payload v1) proxy event."""
        return {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": {"Content-Type": "application/json"},
            "queryStringParameters": query,
            "requestContext": {"requestId": "req-it-1", "stage": "prod"},
            "body": None if body is None else json.dumps(body),
            "isBase64Encoded": False,
        }

    return make
