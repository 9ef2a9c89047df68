"""Lesson 06: which objects an S3 notification names, and the CSV import, without AWS.

S3 and the users table are in-memory fakes here; tests/integration runs them on moto.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError

from handlers import s3_handler
from handlers.s3_handler import S3ObjectRef, import_users, objects_in
from services.dynamodb_service import ItemAlreadyExists

HEADER = "name,email,age\n"


def notification(*keys: str, bucket: str = "uploads", event_name: str = "ObjectCreated:Put",
                 version_id: str | None = None) -> dict[str, Any]:
    """An S3 event notification; keys encoded as S3 encodes them (a space becomes +)."""
    records = []
    for key in keys:
        s3_object = {"key": quote_plus(key, safe="/"), "size": 10, "eTag": "e-1"}
        if version_id:
            s3_object["versionId"] = version_id
        records.append({"eventVersion": "2.1", "eventSource": "aws:s3",
                        "eventName": event_name, "awsRegion": "us-east-1",
                        "s3": {"bucket": {"name": bucket}, "object": s3_object}})
    return {"Records": records}


@pytest.mark.parametrize("key", ["imports/my file.csv", "imports/a+b.csv",
                                 "imports/100% [final].csv", "imports/Zoë/café.csv",
                                 "imports/rate%20card.csv"])
def test_keys_are_decoded(key: str) -> None:
    (ref,) = objects_in(notification(key, version_id="v1"))

    assert ref == S3ObjectRef("uploads", key, "v1", "e-1")


def test_moto_encodes_the_slash_too() -> None:
    event = notification("x")
    event["Records"][0]["s3"]["object"]["key"] = quote_plus("imports/a b.csv", safe="")

    assert [ref.key for ref in objects_in(event)] == ["imports/a b.csv"]


def test_the_test_event_names_nothing() -> None:
    assert objects_in({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}) == []


def test_only_created_import_files() -> None:
    keys = ["imports/a.csv", "imports/a.txt", "reports/a.csv.json", "other/imports/a.csv"]

    assert [ref.key for ref in objects_in(notification(*keys))] == ["imports/a.csv"]
    assert objects_in(notification("imports/a.csv", event_name="ObjectRemoved:Delete")) == []


class FakeS3:
    """get_object of boto3's S3 client, on a dict of key -> bytes."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str, **options: Any) -> dict[str, Any]:
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}


class FakeUsers:
    """save_item of DynamoDBService, into a dict."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def save_item(self, item: dict[str, Any], *, overwrite: bool = False) -> None:
        if item["user_id"] in self.items and not overwrite:
            raise ItemAlreadyExists("save_item")
        self.items[item["user_id"]] = item


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeS3, FakeUsers]:
    s3, users = FakeS3({}), FakeUsers()
    monkeypatch.setattr(s3_handler, "s3_client", lambda: s3)
    monkeypatch.setattr(s3_handler, "users_service", lambda: users)
    return s3, users


def test_valid_rows_become_users_and_bad_rows_are_reported(fakes) -> None:
    s3, users = fakes
    s3.objects["imports/a.csv"] = (
        "\ufeff" + HEADER + "Ada,Ada@Example.com,36\nEve,eve.private@,3\nGrace,grace@example.com,\n"
    ).encode() + "Zoë,zoe@example.com,1\n".encode("latin-1")

    report = import_users(S3ObjectRef("uploads", "imports/a.csv", None, "e-1"))

    assert sorted((u["name"], u["email"], u.get("age")) for u in users.items.values()) == [
        ("Ada", "ada@example.com", 36), ("Grace", "grace@example.com", None)]
    assert report.created == 2
    assert report.rejected == ["row 3: email (value_error)", "row 5: not UTF-8 text"]
    assert "eve.private" not in str(report)


def test_an_import_runs_once_per_object_version(fakes) -> None:
    s3, users = fakes
    s3.objects["imports/a.csv"] = (HEADER + "Ada,ada@example.com,36\n").encode()
    ref = S3ObjectRef("uploads", "imports/a.csv", None, "e-1")

    import_users(ref)
    again = import_users(ref)
    import_users(S3ObjectRef("uploads", "imports/a.csv", None, "e-2"))  # new content

    assert (again.created, again.already_imported) == (0, 1)
    assert len(users.items) == 2


def test_a_missing_object_is_reported_not_raised(fakes) -> None:
    report = import_users(S3ObjectRef("uploads", "imports/gone.csv", None, "e-1"))

    assert report.missing and report.created == 0
