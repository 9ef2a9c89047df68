"""Lesson 04: the users API end to end, from API Gateway event to moto's DynamoDB."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.api_gateway_handler import lambda_handler

pytestmark = pytest.mark.usefixtures("users_api")


def call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    response = lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_post_then_get(rest_event, lambda_context, users_table) -> None:
    status, created = call(
        rest_event("POST", "/users", body={"name": "Ada", "email": "ada@example.com", "age": 36}),
        lambda_context,
    )
    assert status == 201

    stored = users_table.get_item(Key={"user_id": created["user_id"]})["Item"]
    assert stored["email"] == "ada@example.com"
    assert "age" in stored

    status, fetched = call(rest_event("GET", f"/users/{created['user_id']}"), lambda_context)
    assert (status, fetched) == (200, created)  # DynamoDB's Decimal age comes back as 36


def test_duplicate_email_is_a_409(rest_event, lambda_context, users_table) -> None:
    body = {"name": "Ada", "email": "ada@example.com"}
    assert call(rest_event("POST", "/users", body=body), lambda_context)[0] == 201

    status, response = call(rest_event("POST", "/users", body=body), lambda_context)

    assert (status, response) == (409, {"message": "A user with this email already exists"})
    assert users_table.scan()["Count"] == 1


def test_list_with_limit(rest_event, lambda_context) -> None:
    for n in range(5):
        body = {"name": f"User {n}", "email": f"user{n}@example.com"}
        assert call(rest_event("POST", "/users", body=body), lambda_context)[0] == 201

    status, page = call(rest_event("GET", "/users", query={"limit": "3"}), lambda_context)
    assert (status, page["count"], len(page["users"])) == (200, 3, 3)

    status, everything = call(rest_event("GET", "/users"), lambda_context)
    assert (status, everything["count"], everything["next"]) == (200, 5, None)
    assert {u["email"] for u in everything["users"]} == {f"user{n}@example.com" for n in range(5)}


def test_next_pages_through_every_user_once(rest_event, lambda_context) -> None:
    for n in range(5):
        body = {"name": f"User {n}", "email": f"user{n}@example.com"}
        assert call(rest_event("POST", "/users", body=body), lambda_context)[0] == 201

    seen: list[str] = []
    query = {"limit": "2"}
    for _ in range(5):  # 2 + 2 + 1 users: three pages, the last one without a next
        status, page = call(rest_event("GET", "/users", query=query), lambda_context)
        assert status == 200
        seen += [user["email"] for user in page["users"]]
        if page["next"] is None:
            break
        query = {"limit": "2", "next": page["next"]}
    assert sorted(seen) == [f"user{n}@example.com" for n in range(5)]


def test_unknown_user_is_a_404(rest_event, lambda_context) -> None:
    event = rest_event("GET", "/users/00000000-0000-4000-8000-000000000000")

    assert call(event, lambda_context) == (404, {"message": "User not found"})


def test_missing_table_is_a_generic_500(rest_event, lambda_context, monkeypatch) -> None:
    from handlers.api_gateway_handler import users_service

    monkeypatch.setenv("USERS_TABLE", "table-that-does-not-exist")
    users_service.cache_clear()

    status, body = call(rest_event("GET", "/users"), lambda_context)

    assert (status, body) == (500, {"message": "Internal server error"})
