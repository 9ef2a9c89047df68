"""Lesson 03: the pydantic models that validate what clients send."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from models.user import ListQuery, User, UserCreate


def error_fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(map(str, error["loc"])) for error in exc.value.errors()}


def test_user_create_strips_and_normalises() -> None:
    data = UserCreate.model_validate({"name": "  Ada  ", "email": " Ada@Example.COM ", "age": 36})

    assert data == UserCreate(name="Ada", email="ada@example.com", age=36)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"email": "a@example.com"}, {"name"}),
        ({"name": "   ", "email": "a@example.com"}, {"name"}),
        ({"name": "x" * 101, "email": "a@example.com"}, {"name"}),
        ({"name": "Ada", "email": "not-an-email"}, {"email"}),
        ({"name": "Ada", "email": "ada@example.com <script>"}, {"email"}),  # a whole match
        ({"name": "Ada", "email": "a@example.com", "age": -1}, {"age"}),
        ({"name": "Ada", "email": "a@example.com", "age": 151}, {"age"}),
        ({"name": "Ada", "email": "a@example.com", "age": "36"}, {"age"}),  # strict: no coercion
        ({"name": 42, "email": "a@example.com"}, {"name"}),
        ({"name": "Ada", "email": "a@example.com", "user_id": "mine"}, {"user_id"}),
    ],
    ids=[
        "missing-name",
        "blank-name",
        "long-name",
        "bad-email",
        "email-with-more",
        "negative-age",
        "old-age",
        "age-as-string",
        "name-not-str",
        "extra-field",
    ],
)
def test_user_create_rejects_invalid_input(payload: dict, fields: set[str]) -> None:
    with pytest.raises(ValidationError) as exc:
        UserCreate.model_validate(payload)

    assert error_fields(exc) == fields


def test_new_user_gets_a_uuid_and_a_utc_timestamp() -> None:
    user = User.new(UserCreate(name="Ada", email="ada@example.com"))

    assert len(user.user_id) == 36
    assert datetime.fromisoformat(user.created_at).utcoffset().total_seconds() == 0
    assert user.to_item() == {
        "user_id": user.user_id,
        "name": "Ada",
        "email": "ada@example.com",
        "created_at": user.created_at,
    }  # no "age": None attribute in DynamoDB


def test_user_reads_dynamodb_numbers() -> None:
    item = {
        "user_id": "u1",
        "name": "Ada",
        "email": "a@b.io",
        "age": Decimal("36"),
        "created_at": "2025-01-01T00:00:00+00:00",
    }

    assert User.model_validate(item).model_dump()["age"] == 36


@pytest.mark.parametrize(
    ("query", "limit"), [({}, 10), ({"limit": "25"}, 25), ({"limit": "7", "utm_source": "x"}, 7)]
)
def test_list_query_parses_strings(query: dict, limit: int) -> None:
    assert ListQuery.model_validate(query).limit == limit


@pytest.mark.parametrize("value", ["abc", "-1", "0", "101", "100000", "1.5", "", "9" * 5000])
def test_list_query_rejects_bad_limits(value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        ListQuery.model_validate({"limit": value})

    assert error_fields(exc) == {"limit"}


def test_list_query_next_is_a_user_id() -> None:
    user_id = "3f2b8c1e-5d4a-4b6c-9e8f-7a6b5c4d3e2f"

    assert ListQuery.model_validate({}).next is None
    assert ListQuery.model_validate({"next": user_id}).next == user_id
    for cursor in ("abc", "", user_id + "x", "x" + user_id):
        with pytest.raises(ValidationError) as exc:
            ListQuery.model_validate({"next": cursor})
        assert error_fields(exc) == {"next"}
