"""Lesson 11: the whole service on moto, end to end, from this project's own modules.

The users API, the sign-ups worker and the users import share one users table. moto plays
DynamoDB, SQS and S3 (the users_table fixture of conftest.py starts it); drain() plays
Lambda's event source mapping, ReportBatchItemFailures on.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest

from services.idempotency import create_idempotency_table

BUCKET = "users-imports"
MAX_RECEIVES = 2  # redrive policy: a message received twice, never deleted, goes to the DLQ


@dataclass
class Service:
    """The service's pieces on moto: clients, queue URLs, the users table, the handlers."""

    sqs: Any
    s3: Any
    users: Any
    signups: str
    signups_dlq: str
    uploads: str
    uploads_dlq: str
    api: Callable[[dict[str, Any], Any], dict[str, Any]]
    worker: Callable[[dict[str, Any], Any], dict[str, Any]]
    importer: Callable[[dict[str, Any], Any], dict[str, Any]]


def queue_with_dead_letters(sqs: Any, name: str) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"],
               "maxReceiveCount": str(MAX_RECEIVES)}
    queue = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "60", "RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
    return queue, dlq


@pytest.fixture
def service(users_table: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Service]:
    """The three functions on one moto users table; the bucket notifies the uploads queue of
    every CSV file created under imports/."""
    monkeypatch.setenv("USERS_TABLE", users_table.name)
    modules = [importlib.import_module(f"handlers.{name}")
               for name in ("api_gateway_handler", "sqs_handler", "s3_handler")]
    api, worker, importer = modules
    create_idempotency_table(dynamodb, worker.persistence.table_name)
    for module in modules:
        module.users_service.cache_clear()
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    signups, signups_dlq = queue_with_dead_letters(sqs, "signups")
    uploads, uploads_dlq = queue_with_dead_letters(sqs, "uploads")
    uploads_arn = sqs.get_queue_attributes(QueueUrl=uploads, AttributeNames=["QueueArn"])
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{
            "QueueArn": uploads_arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "imports/"},
                                               {"Name": "suffix", "Value": ".csv"}]}}}]})
    yield Service(sqs, s3, users_table, signups, signups_dlq, uploads, uploads_dlq,
                  api.lambda_handler, worker.lambda_handler, importer.queue_handler)
    for module in modules:
        module.users_service.cache_clear()


def drain(sqs: Any, queue_url: str, handler: Callable[..., Any], context: Any) -> None:
    """Poll the queue as Lambda does until nothing is left to receive: invoke the handler with
    each batch, delete what succeeded; a failure comes back (at once here, not after the
    visibility timeout) until the redrive policy moves it to the dead-letter queue."""
    for _ in range(50):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs", "awsRegion": "us-east-1",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue_url.rsplit('/', 1)[1]}",
        } for m in messages]}
        try:
            failed = {f["itemIdentifier"] for f in handler(event, context)["batchItemFailures"]}
        except Exception:  # noqa: BLE001 - a failed invocation returns the whole batch
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    raise AssertionError(f"{queue_url} still holds messages after 50 batches")


def bodies(sqs: Any, queue_url: str) -> list[str]:
    """The bodies of the messages in a queue (a dead-letter queue, say)."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return sorted(m["Body"] for m in messages.get("Messages", []))


def emails(table: Any) -> list[str]:
    return sorted(item["email"] for item in table.scan()["Items"])


def notification(s3: Any, key: str) -> str:
    """The message body S3 sends to the queue when `key` is created (the key encoded as S3
    encodes it): to deliver a notification once more, as S3 sometimes does."""
    etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
               "object": {"key": quote_plus(key, safe="/"), "size": 1, "eTag": etag}}}]})


def test_a_user_posted_to_the_api_is_stored(service, rest_event, lambda_context) -> None:
    response = service.api(rest_event("POST", "/users", body={
        "name": "Ada", "email": "ada@example.com", "age": 36}), lambda_context)

    assert response["statusCode"] == 201
    created = json.loads(response["body"])
    fetched = service.api(rest_event("GET", f"/users/{created['user_id']}"), lambda_context)
    assert fetched["statusCode"] == 200
    assert json.loads(fetched["body"]) == created
    assert emails(service.users) == ["ada@example.com"]


def test_an_upload_with_spaces_in_its_key_becomes_users(service, lambda_context) -> None:
    csv = "name,email,age\nAda,ada@example.com,36\nEve,not-an-email,30\nGrace,grace@example.com,\n"
    service.s3.put_object(Bucket=BUCKET, Key="imports/team list 2026.csv", Body=csv.encode())

    drain(service.sqs, service.uploads, service.importer, lambda_context)

    assert emails(service.users) == ["ada@example.com", "grace@example.com"]
    assert bodies(service.sqs, service.uploads_dlq) == []
    report = service.s3.get_object(Bucket=BUCKET, Key="reports/team list 2026.csv.json")
    assert json.loads(report["Body"].read())["rejected"] == ["row 3: email (value_error)"]


def test_a_notification_delivered_twice_creates_no_one_twice(service, lambda_context) -> None:
    csv = "name,email,age\nAda,ada@example.com,36\nGrace,grace@example.com,\n"
    service.s3.put_object(Bucket=BUCKET, Key="imports/again and again.csv", Body=csv.encode())
    drain(service.sqs, service.uploads, service.importer, lambda_context)
    again = notification(service.s3, "imports/again and again.csv")
    service.sqs.send_message(QueueUrl=service.uploads, MessageBody=again)  # S3 sent it twice

    drain(service.sqs, service.uploads, service.importer, lambda_context)

    assert emails(service.users) == ["ada@example.com", "grace@example.com"]


def test_a_poison_signup_ends_in_the_dead_letter_queue(service, lambda_context) -> None:
    good = [json.dumps({"name": f"User {n}", "email": f"user{n}@example.com"}) for n in range(3)]
    poison = json.dumps({"name": "Eve", "email": "not-an-email"})
    for body in [good[0], poison, good[1], good[2]]:
        service.sqs.send_message(QueueUrl=service.signups, MessageBody=body)

    drain(service.sqs, service.signups, service.worker, lambda_context)

    assert emails(service.users) == ["user0@example.com", "user1@example.com",
                                     "user2@example.com"]
    assert bodies(service.sqs, service.signups_dlq) == [poison]
