"""Lesson 06: the users import on moto: S3 -> Lambda, and S3 -> SQS -> Lambda."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest

from handlers.s3_handler import lambda_handler, queue_handler, users_service

BUCKET = "course-uploads"
CSV = "name,email,age\nAda,ada@example.com,36\nEve,eve.private@,30\nGrace,grace@example.com,\n"


@pytest.fixture
def s3(users_table: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A bucket in moto (the users_table fixture started the mock); the handler on its table."""
    monkeypatch.setenv("USERS_TABLE", users_table.name)
    users_service.cache_clear()
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    users_service.cache_clear()


def s3_event(s3: Any, key: str) -> dict[str, Any]:
    """The notification S3 sends for an object that was just created (key encoded)."""
    etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
               "object": {"key": quote_plus(key, safe="/"), "size": 1, "eTag": etag}}}]}


def emails(table: Any) -> list[str]:
    return sorted(item["email"] for item in table.scan()["Items"])


def test_an_upload_becomes_users_and_a_report(s3, users_table, lambda_context) -> None:
    s3.put_object(Bucket=BUCKET, Key="imports/team 1.csv", Body=CSV.encode())
    event = s3_event(s3, "imports/team 1.csv")

    lambda_handler(event, lambda_context)
    lambda_handler(event, lambda_context)  # delivered twice: imported once

    assert emails(users_table) == ["ada@example.com", "grace@example.com"]
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="reports/team 1.csv.json")["Body"].read())
    assert (report["created"], report["already_imported"]) == (0, 2)
    assert report["rejected"] == ["row 3: email (value_error)"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(keys) == ["imports/team 1.csv", "reports/team 1.csv.json"]


def test_a_deleted_object_is_skipped(s3, users_table, lambda_context) -> None:
    s3.put_object(Bucket=BUCKET, Key="imports/gone.csv", Body=CSV.encode())
    event = s3_event(s3, "imports/gone.csv")
    s3.delete_object(Bucket=BUCKET, Key="imports/gone.csv")

    assert lambda_handler(event, lambda_context)["imports"][0]["missing"] is True
    assert emails(users_table) == []


def test_s3_to_sqs_to_lambda(s3, users_table, lambda_context) -> None:
    """moto delivers the bucket's notifications to the queue (a test event first); polling
    the queue the way Lambda does imports each upload once."""
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{
            "QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "imports/"},
                                               {"Name": "suffix", "Value": ".csv"}]}}}]})
    s3.put_object(Bucket=BUCKET, Key="imports/a+b team.csv", Body=CSV.encode())
    s3.put_object(Bucket=BUCKET, Key="notes/readme.txt", Body=b"not an import")

    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                          "body": m["Body"], "attributes": {}, "messageAttributes": {},
                          "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
                          "eventSourceARN": arn["Attributes"]["QueueArn"],
                          "awsRegion": "us-east-1"} for m in messages]}

    assert len(messages) == 2  # the test event and the upload; the readme is filtered out
    assert queue_handler(event, lambda_context) == {"batchItemFailures": []}
    assert emails(users_table) == ["ada@example.com", "grace@example.com"]
