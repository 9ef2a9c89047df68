"""Lesson 05: the sign-ups worker on moto's SQS and DynamoDB, polled the way Lambda polls."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from services.dynamodb_service import DynamoDBService
from services.idempotency import create_idempotency_table

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def worker(users_table: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The handler module on moto's users table and idempotency table (the one IDEMPOTENCY_TABLE
    named at import). Imported here, after the fake credentials: it creates Powertools' DynamoDB
    client at import, as it does in Lambda."""
    module = importlib.import_module("handlers.sqs_handler")
    monkeypatch.setenv("USERS_TABLE", users_table.name)
    create_idempotency_table(dynamodb, module.persistence.table_name)
    module.users_service.cache_clear()
    yield module
    module.users_service.cache_clear()


@pytest.fixture
def sqs(dynamodb: Any) -> Any:  # dynamodb: moto's mock is on
    return boto3.client("sqs")


@pytest.fixture
def queue(sqs: Any) -> str:
    """The sign-ups queue; its redrive policy moves a message to the DLQ after 3 receives."""
    dlq = sqs.create_queue(QueueName="signups-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": "3"}
    return sqs.create_queue(QueueName="signups", Attributes={
        "VisibilityTimeout": "30", "RedrivePolicy": json.dumps(redrive)})["QueueUrl"]


def poll_like_lambda(sqs: Any, queue_url: str, handler: Handler, context: Any,
                     max_batches: int = 20) -> None:
    """What Lambda's event source mapping does (ReportBatchItemFailures on), until the queue is
    empty: delete what succeeded; a failure comes back (at once here, not after 30 s)."""
    for _ in range(max_batches):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:signups"} for m in messages]}
        try:
            response = handler(event, context)
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        except Exception:  # noqa: BLE001 - a failed invocation returns the whole batch
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def dead_letters(sqs: Any) -> list[str]:
    url = sqs.get_queue_url(QueueName="signups-dlq")["QueueUrl"]
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            .get("Messages", [])]


def signup(name: str, email: str) -> str:
    return json.dumps({"name": name, "email": email})


def test_each_message_is_processed_once_or_dead_lettered(
    worker, sqs, queue, users_table, lambda_context
) -> None:
    good = [signup(f"User {n}", f"user{n}@example.com") for n in range(3)]
    poison = ["not JSON", signup("Eve", "not-an-email")]
    for body in [good[0], poison[0], good[1], poison[1], good[2]]:
        sqs.send_message(QueueUrl=queue, MessageBody=body)

    poll_like_lambda(sqs, queue, worker.lambda_handler, lambda_context)

    emails = sorted(item["email"] for item in users_table.scan()["Items"])
    assert emails == [f"user{n}@example.com" for n in range(3)]
    assert sorted(dead_letters(sqs)) == sorted(poison)


def test_a_failure_is_retried_until_it_succeeds(
    worker, sqs, queue, users_table, lambda_context, monkeypatch
) -> None:
    real_save = DynamoDBService.save_item
    refusals = {"flaky@example.com": 1}

    def flaky_save(self: DynamoDBService, item: dict, **options: Any) -> None:
        if refusals.get(item["email"], 0):
            refusals[item["email"]] -= 1
            raise RuntimeError("DynamoDB save_item failed (throttled)")
        real_save(self, item, **options)

    monkeypatch.setattr(DynamoDBService, "save_item", flaky_save)
    for body in (signup("Flaky", "flaky@example.com"), signup("Ada", "ada@example.com")):
        sqs.send_message(QueueUrl=queue, MessageBody=body)

    poll_like_lambda(sqs, queue, worker.lambda_handler, lambda_context)

    assert sorted(i["email"] for i in users_table.scan()["Items"]) == [
        "ada@example.com", "flaky@example.com"]
    assert dead_letters(sqs) == []


def test_a_message_delivered_twice_writes_once(
    worker, dynamodb, users_table, lambda_context
) -> None:
    record = {"messageId": "5f4a1c2e-0000-4000-8000-000000000001", "receiptHandle": "first",
              "body": signup("Ada", "ada@example.com"),
              "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
              "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
              "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:signups"}
    again = {**record, "receiptHandle": "second",
             "attributes": {"ApproximateReceiveCount": "2"}}

    handler = worker.lambda_handler
    assert handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    assert handler({"Records": [again]}, lambda_context) == {"batchItemFailures": []}

    assert users_table.scan()["Count"] == 1
    (saved,) = dynamodb.Table(worker.persistence.table_name).scan()["Items"]
    assert saved["status"] == "COMPLETED" and "expiration" in saved
