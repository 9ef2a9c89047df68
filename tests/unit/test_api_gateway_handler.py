"""Lesson 03: routing, validation and error responses of the users API.

Unit tests: DynamoDB is replaced by an in-memory fake with the same interface (the real table
is exercised in tests/integration).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import api_gateway_handler
from handlers.api_gateway_handler import lambda_handler
from services.dynamodb_service import DynamoDBError, ItemAlreadyExists

ADA = {"name": "Ada", "email": "ada@example.com"}


class FakeUsersService:
    """DynamoDBService's interface, backed by a dict."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get(key["user_id"])

    def save_item(self, item: dict[str, Any], *, overwrite: bool = False) -> None:
        if not overwrite and item["user_id"] in self.items:
            raise ItemAlreadyExists("save_item")
        self.items[item["user_id"]] = item

    def query_items(self, key_name: str, key_value: Any, *, index_name: str | None = None):
        return [item for item in self.items.values() if item.get(key_name) == key_value]

    def scan_items(self, *, limit: int, start_key: dict[str, Any] | None = None):
        after = start_key["user_id"] if start_key else ""
        return sorted((u for u in self.items.values() if u["user_id"] > after),
                      key=lambda u: u["user_id"])[:limit]


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> FakeUsersService:
    fake = FakeUsersService()
    monkeypatch.setattr(api_gateway_handler, "users_service", lambda: fake)
    return fake


def call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    response = lambda_handler(event, context)
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    return response["statusCode"], json.loads(response["body"])


def test_create_then_get_and_list(service, rest_event, lambda_context) -> None:
    status, user = call(rest_event("POST", "/users", body={**ADA, "age": 36}), lambda_context)
    assert status == 201
    assert {k: user[k] for k in ("name", "email", "age")} == {**ADA, "age": 36}
    assert service.items[user["user_id"]]["email"] == "ada@example.com"

    assert call(rest_event("GET", f"/users/{user['user_id']}"), lambda_context) == (200, user)
    assert call(rest_event("GET", "/users"), lambda_context) == (
        200,
        {"users": [user], "count": 1, "next": None},
    )


def test_list_applies_the_limit(service, rest_event, lambda_context) -> None:
    for n in range(3):
        call(
            rest_event("POST", "/users", body={"name": f"U{n}", "email": f"u{n}@x.io"}),
            lambda_context,
        )

    status, body = call(rest_event("GET", "/users", query={"limit": "2"}), lambda_context)

    assert (status, body["count"], len(body["users"])) == (200, 2, 2)
    assert body["next"] == body["users"][-1]["user_id"]  # a full page: there may be more

    status, rest = call(
        rest_event("GET", "/users", query={"limit": "2", "next": body["next"]}), lambda_context
    )
    assert (status, rest["count"], rest["next"]) == (200, 1, None)
    assert {u["user_id"] for u in body["users"] + rest["users"]} == set(service.items)


@pytest.mark.parametrize("cursor", ["abc", "", "00000000-0000-4000-8000-00000000000Z", "1 OR 1"])
def test_invalid_cursor_is_a_400_naming_next(service, rest_event, lambda_context, cursor):
    status, body = call(rest_event("GET", "/users", query={"next": cursor}), lambda_context)

    assert status == 400
    assert [error["field"] for error in body["errors"]] == ["next"]


@pytest.mark.parametrize("limit", ["abc", "-1", "0", "100000", "1.5", ""])
def test_invalid_limit_is_a_400_naming_the_field(service, rest_event, lambda_context, limit):
    status, body = call(rest_event("GET", "/users", query={"limit": limit}), lambda_context)

    assert status == 400
    assert body["message"] == "Invalid request"
    assert [error["field"] for error in body["errors"]] == ["limit"]


@pytest.mark.parametrize(
    ("body", "base64_body", "message"),
    [
        ("{not json", False, "Request body is not valid JSON"),
        ("%%%", True, "Request body is not valid JSON"),
        ("[1, 2]", False, "Request body must be a JSON object"),
        ('"Ada"', False, "Request body must be a JSON object"),
        (None, False, "Request body must be a JSON object"),
    ],
    ids=["invalid-json", "invalid-base64", "json-array", "json-string", "no-body"],
)
def test_unusable_body_is_a_400(service, rest_event, lambda_context, body, base64_body, message):
    event = rest_event("POST", "/users", body=body, base64_body=base64_body)

    assert call(event, lambda_context) == (400, {"message": message})


def test_invalid_fields_are_listed_without_echoing_input(service, rest_event, lambda_context):
    body = {"name": "", "email": "<script>alert(1)</script>", "role": "admin"}

    status, response = call(rest_event("POST", "/users", body=body), lambda_context)

    assert status == 400
    assert {e["field"] for e in response["errors"]} == {"name", "email", "role"}
    assert "<script>" not in json.dumps(response)
    assert "UserCreate" not in json.dumps(response)  # no class names either


def test_base64_body_is_accepted(service, rest_event, lambda_context) -> None:
    event = rest_event("POST", "/users", body=ADA, base64_body=True)

    assert call(event, lambda_context)[0] == 201


def test_duplicate_email_is_a_409(service, rest_event, lambda_context) -> None:
    assert call(rest_event("POST", "/users", body=ADA), lambda_context)[0] == 201
    same_email = {"name": "Other", "email": "ADA@example.com"}  # emails are case-insensitive

    status, body = call(rest_event("POST", "/users", body=same_email), lambda_context)

    assert (status, body) == (409, {"message": "A user with this email already exists"})


def test_conditional_write_failure_is_a_409(service, rest_event, lambda_context, monkeypatch):
    def taken(item: dict[str, Any], *, overwrite: bool = False) -> None:
        raise ItemAlreadyExists("save_item")

    monkeypatch.setattr(service, "save_item", taken)

    status, body = call(rest_event("POST", "/users", body=ADA), lambda_context)

    assert (status, body) == (409, {"message": "User already exists"})


@pytest.mark.parametrize(
    "path",
    ["/users/00000000-0000-4000-8000-000000000000", "/users/not-a-uuid", "/users/" + "x" * 5000],
    ids=["absent", "not-a-uuid", "longer-than-a-dynamodb-key"],
)
def test_unknown_user_is_a_404(service, rest_event, lambda_context, path: str) -> None:
    assert call(rest_event("GET", path), lambda_context) == (404, {"message": "User not found"})


@pytest.mark.parametrize("path", ["/", "/nowhere", "/users/a/b", "/userss"])
def test_unknown_route_is_a_404(service, rest_event, lambda_context, path: str) -> None:
    assert call(rest_event("GET", path), lambda_context)[0] == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/users", "GET, POST"),
        ("PATCH", "/users/", "GET, POST"),  # the resolver ignores trailing slashes
        ("PUT", "/users", "GET, POST"),
        ("POST", "/users/00000000-0000-4000-8000-000000000000", "GET"),
        ("DELETE", "/users/abc", "GET"),
    ],
)
def test_wrong_method_on_a_known_path_is_a_405(
    service, rest_event, lambda_context, method: str, path: str, allow: str
) -> None:
    response = lambda_handler(rest_event(method, path), lambda_context)

    assert response["statusCode"] == 405
    assert json.loads(response["body"]) == {"message": "Method not allowed"}
    assert response["multiValueHeaders"]["Allow"] == [allow]


def test_storage_failure_is_a_generic_500_logged_in_detail(
    service, rest_event, lambda_context, monkeypatch, capture_logs
) -> None:
    def failing_scan(*, limit: int, start_key: dict[str, Any] | None = None) -> list:
        raise DynamoDBError("DynamoDB scan failed on table/users-prod")

    monkeypatch.setattr(service, "scan_items", failing_scan)
    log_records = capture_logs(api_gateway_handler.logger)

    status, body = call(rest_event("GET", "/users", request_id="req-500"), lambda_context)

    assert (status, body) == (500, {"message": "Internal server error"})
    [record] = [r for r in log_records() if r["level"] == "ERROR"]
    assert record["message"] == "Unhandled error"
    assert record["correlation_id"] == "req-500"
    assert "table/users-prod" in record["exception"]


def test_service_is_created_lazily_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("USERS_TABLE", "users-from-env")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    api_gateway_handler.users_service.cache_clear()
    try:
        first = api_gateway_handler.users_service()
        assert first is api_gateway_handler.users_service()  # one client per environment
        assert first._table.name == "users-from-env"
    finally:
        api_gateway_handler.users_service.cache_clear()
