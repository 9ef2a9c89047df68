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


def post(service, rest_event, lambda_context, **user):
    return service.api(rest_event("POST", "/users", body=user), lambda_context)


def count(table):
    return table.scan(Select="COUNT")["Count"]


def test_api_round_trip(service, rest_event, lambda_context):
    created = post(service, rest_event, lambda_context, name="Grace", email="grace@example.com")
    assert created["statusCode"] == 201
    user_id = json.loads(created["body"])["user_id"]
    listed = service.api(rest_event("GET", "/users"), lambda_context)
    assert [user["user_id"] for user in json.loads(listed["body"])["users"]] == [user_id]


@pytest.mark.parametrize("deliveries", [1, 2])
def test_import_through_the_queue(service, lambda_context, deliveries):
    key = "imports/new staff (march).csv"
    service.s3.put_object(Bucket=BUCKET, Key=key, Body=(
        b"name,email,age\nAda,ada@example.com,36\nLin,lin@example.com,29\n"))
    for _ in range(deliveries - 1):
        service.sqs.send_message(QueueUrl=service.uploads,
                                 MessageBody=notification(service.s3, key))
    drain(service.sqs, service.uploads, service.importer, lambda_context)
    assert count(service.users) == 2
    assert emails(service.users) == ["ada@example.com", "lin@example.com"]


def test_poison_signups_are_dead_lettered(service, lambda_context):
    for body in ('{"name": "Ok", "email": "ok@example.com"}', "not json at all"):
        service.sqs.send_message(QueueUrl=service.signups, MessageBody=body)
    drain(service.sqs, service.signups, service.worker, lambda_context)
    dead = service.sqs.get_queue_attributes(QueueUrl=service.signups_dlq,
                                            AttributeNames=["ApproximateNumberOfMessages"])
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "1"
    assert emails(service.users) == ["ok@example.com"]
