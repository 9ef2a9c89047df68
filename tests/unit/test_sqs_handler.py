"""Lesson 05: the sign-ups worker's partial batch responses, without AWS.

The users table is an in-memory fake, and idempotency is switched off
(POWERTOOLS_IDEMPOTENCY_DISABLED): tests/integration runs both on moto.
"""

from __future__ import annotations

import importlib
import io
import json
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

pytestmark = pytest.mark.filterwarnings("ignore:Disabling idempotency")


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name: str = "signups-worker"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:signups-worker"
    aws_request_id: str = "0f6e3b1a-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Throttled(Exception):
    """What a throttled table gives the handler (DynamoDBService raises its own error)."""


class FakeUsersService:
    """save_item of DynamoDBService, into a dict; refuses the emails in `failing`."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.failing = failing

    def save_item(self, item: dict[str, Any], *, overwrite: bool = False) -> None:
        if item["email"] in self.failing:
            raise Throttled("DynamoDB save_item failed")
        self.items[item["user_id"]] = item


@pytest.fixture
def sqs_handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The handler module, imported once a region is set: it creates Powertools' DynamoDB
    client at import, as it does in Lambda (creating a client needs a region, no credentials;
    with idempotency off, no test calls AWS)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return importlib.import_module("handlers.sqs_handler")


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def logs(sqs_handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the handler's Logger writes from now on. (Its handler bound sys.stdout when the
    module was imported, so capsys cannot see it.)"""
    buffer = io.StringIO()
    monkeypatch.setattr(sqs_handler.logger.registered_handler, "stream", buffer)
    return buffer


@pytest.fixture
def users(sqs_handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakeUsersService:
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "true")
    fake = FakeUsersService(failing=("down@example.com",))
    monkeypatch.setattr(sqs_handler, "users_service", lambda: fake)
    return fake


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch as Lambda delivers it, one record per body."""
    return {"Records": [{
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "AQEB-test",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                       "SenderId": "AIDATEST", "ApproximateFirstReceiveTimestamp": "1700000000001"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:signups",
        "awsRegion": "us-east-1",
    } for body in bodies]}


def signup(name: str, email: str, **more: Any) -> str:
    return json.dumps({"name": name, "email": email, **more})


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_only_the_failed_messages_are_reported(sqs_handler, users, lambda_context) -> None:
    event = sqs_event(signup("Ada", "ada@example.com"), "not JSON",
                      signup("Eve", "not-an-email"), signup("Dan", "down@example.com"),
                      signup("Grace", "grace@example.com", age=40))
    ids = [record["messageId"] for record in event["Records"]]

    response = sqs_handler.lambda_handler(event, lambda_context)

    assert sorted(failed_ids(response)) == sorted(ids[1:4])
    assert sorted(item["email"] for item in users.items.values()) == [
        "ada@example.com", "grace@example.com"]


def test_a_batch_without_failures_reports_none(sqs_handler, users, lambda_context) -> None:
    event = sqs_event(signup("Ada", "ada@example.com"), signup("Bob", "bob@example.com"))

    assert sqs_handler.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    assert len(users.items) == 2


def test_a_batch_where_everything_fails_fails_the_invocation(
    sqs_handler, users, lambda_context
) -> None:
    event = sqs_event("not JSON", signup("Eve", "not-an-email"))

    with pytest.raises(BatchProcessingError):  # Lambda then returns the whole batch
        sqs_handler.lambda_handler(event, lambda_context)


@pytest.mark.parametrize("body", ["", "[]", '"text"', '{"name": "Ada"}',
                                  signup("Ada", "ada@example.com", user_id="mine"),
                                  signup("Ada", "ada@example.com", age="36")])
def test_poison_bodies_raise_poison_message(sqs_handler, body: str) -> None:
    with pytest.raises(sqs_handler.PoisonMessage):
        sqs_handler.parse_signup(body)


def test_a_poison_message_names_fields_never_values(sqs_handler) -> None:
    with pytest.raises(sqs_handler.PoisonMessage) as caught:
        sqs_handler.parse_signup(signup("Mallory Private", "mallory.private@", age=999))

    text = str(caught.value)
    assert "email" in text and "age" in text
    assert "mallory" not in text.lower() and "999" not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_failures_are_logged_with_the_message_id_and_no_body(
    sqs_handler, users, lambda_context, logs
) -> None:
    event = sqs_event(signup("Ada", "ada@example.com"), signup("Mallory", "mallory.private@"))
    failed = event["Records"][1]["messageId"]

    sqs_handler.lambda_handler(event, lambda_context)

    logged = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert any(r["level"] == "WARNING" and r.get("message_id") == failed for r in logged)
    assert "mallory.private" not in json.dumps(logged)
