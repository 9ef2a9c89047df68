"""Lesson 04: DynamoDBService against moto's DynamoDB."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Key

from services.dynamodb_service import (
    DynamoDBError,
    DynamoDBService,
    ItemAlreadyExists,
    ItemNotFound,
)

ADA = {"user_id": "u-1", "name": "Ada", "email": "ada@example.com"}
BLOB = "x" * 40_000  # 30 items of ~40 KB: more than one 1 MB page


def test_save_and_get_item(service: DynamoDBService) -> None:
    service.save_item({**ADA, "age": 36})

    assert service.get_item({"user_id": "u-1"}) == {**ADA, "age": Decimal("36")}  # numbers
    assert service.get_item({"user_id": "missing"}) is None


def test_save_never_overwrites_unless_asked(service: DynamoDBService) -> None:
    """A taken user_id raises ItemAlreadyExists and keeps the original; overwrite=True
    replaces it."""
    service.save_item(ADA)

    with pytest.raises(ItemAlreadyExists):
        service.save_item({**ADA, "name": "Impostor"})
    assert service.get_item({"user_id": "u-1"}) == ADA

    service.save_item({**ADA, "name": "Ada L."}, overwrite=True)
    assert service.get_item({"user_id": "u-1"}) == {**ADA, "name": "Ada L."}


def test_query_by_email_uses_the_gsi(service: DynamoDBService) -> None:
    service.save_item(ADA)
    service.save_item({"user_id": "u-2", "name": "Grace", "email": "grace@example.com"})

    found = service.query_items("email", "grace@example.com", index_name="email-index")

    assert [item["user_id"] for item in found] == ["u-2"]


def test_query_reads_every_page(service: DynamoDBService, users_table) -> None:
    """30 items of ~40 KB under one GSI key: more than the 1 MB a single Query returns."""
    for n in range(30):
        service.save_item({"user_id": f"u-{n:02}", "email": "team@example.com", "blob": BLOB})

    first_page = users_table.query(
        IndexName="email-index", KeyConditionExpression=Key("email").eq("team@example.com")
    )
    assert "LastEvaluatedKey" in first_page  # moto really paginates...
    assert len(first_page["Items"]) < 30

    items = service.query_items("email", "team@example.com", index_name="email-index")

    assert sorted(item["user_id"] for item in items) == [f"u-{n:02}" for n in range(30)]


def test_scan_pages_through_the_table(service: DynamoDBService) -> None:
    for n in range(30):
        service.save_item({"user_id": f"u-{n:02}", "email": f"{n}@example.com", "blob": BLOB})

    assert len(service.scan_items(limit=28)) == 28  # more than one 1 MB page
    seen: list[str] = []
    start = None
    while True:
        page = service.scan_items(limit=7, start_key=start)
        seen += [item["user_id"] for item in page]
        if len(page) < 7:
            break
        start = {"user_id": page[-1]["user_id"]}  # the next page starts after the last item
    assert sorted(seen) == [f"u-{n:02}" for n in range(30)]  # every item, once


def test_delete_item(service: DynamoDBService) -> None:
    service.save_item(ADA)

    service.delete_item({"user_id": "u-1"})

    assert service.get_item({"user_id": "u-1"}) is None
    with pytest.raises(ItemNotFound):
        service.delete_item({"user_id": "u-1"})


def test_other_errors_become_a_logged_dynamodb_error(
    dynamodb, caplog: pytest.LogCaptureFixture
) -> None:
    missing = DynamoDBService("no-such-table", resource=dynamodb)

    with pytest.raises(DynamoDBError) as exc, caplog.at_level(logging.ERROR):
        missing.get_item({"user_id": "u-1"})

    assert type(exc.value) is DynamoDBError  # not ItemAlreadyExists or ItemNotFound
    assert "ResourceNotFoundException" in caplog.text
