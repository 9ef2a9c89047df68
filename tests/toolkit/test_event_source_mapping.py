"""The simulated SQS event source mapping behaves as Lambda's does, on moto's SQS."""

from __future__ import annotations

import json
import shutil
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.parser.models import SqsModel
from moto import mock_aws

from course.awslambda import invoke as lambda_invoke
from course.awslambda.event_source_mapping import EventSourceMapping
from course.learner.moto_server import moto_server

FIXTURE = Path(__file__).parent / "fixtures" / "project"
RBIF = ["ReportBatchItemFailures"]


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs")


def make_queue(sqs: Any, *, max_receive_count: int | None = 3, visibility: int = 30,
               name: str = "work") -> str:
    attributes = {"VisibilityTimeout": str(visibility)}
    if max_receive_count:
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        attributes["RedrivePolicy"] = json.dumps({
            "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
            "maxReceiveCount": str(max_receive_count)})
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def send(sqs: Any, queue: str, *bodies: str) -> list[str]:
    return [sqs.send_message(QueueUrl=queue, MessageBody=b)["MessageId"] for b in bodies]


def failing_on(bad: str, calls: list[str]) -> Callable[[dict, Any], Any]:
    """A partial-batch handler that fails the messages whose body is `bad`."""
    def handler(event: dict, context: Any) -> dict:
        failures = []
        for record in event["Records"]:
            calls.append(record["body"])
            if record["body"] == bad:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return handler


def test_a_successful_batch_is_deleted(sqs: Any) -> None:
    queue = make_queue(sqs)
    send(sqs, queue, "a", "b", "c")
    seen: list[dict] = []
    mapping = EventSourceMapping(queue, lambda event, context: seen.append(event), sqs=sqs)
    mapping.drain()
    assert len(seen) == 1 and [r["body"] for r in seen[0]["Records"]] == ["a", "b", "c"]
    assert mapping.summary() == {"invocations": 1, "processed": 3, "retried": 0,
                                 "dead_lettered": 0, "in_queue": 0}
    assert mapping.batches[0].outcome == "succeeded"


def test_the_event_has_lambda_s_shape(sqs: Any) -> None:
    queue = make_queue(sqs, name="shape")
    sqs.send_message(QueueUrl=queue, MessageBody='{"a": 1}', MessageAttributes={
        "source": {"DataType": "String", "StringValue": "web"}})
    seen: list[dict] = []
    EventSourceMapping(queue, lambda event, context: seen.append(event), sqs=sqs).drain()
    record = seen[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(":shape")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["source"]["stringValue"] == "web"
    SqsModel.model_validate(seen[0])
    assert next(iter(SQSEvent(seen[0]).records)).json_body == {"a": 1}


def test_a_failed_invocation_returns_the_batch_until_the_dead_letter_queue(sqs: Any) -> None:
    queue = make_queue(sqs, max_receive_count=2)
    ids = send(sqs, queue, "a", "b")

    def boom(event: dict, context: Any) -> None:
        raise RuntimeError("database down")

    mapping = EventSourceMapping(queue, boom, sqs=sqs).drain()
    assert [b.outcome for b in mapping.batches] == ["failed", "failed"]
    assert "RuntimeError: database down" in mapping.batches[0].detail
    assert {m["MessageId"] for m in mapping.dead_letters()} == set(ids)
    assert mapping.summary() == {"invocations": 2, "processed": 0, "retried": 4,
                                 "dead_lettered": 2, "in_queue": 0}
    assert [m["ApproximateReceiveCount"] for m in mapping.dead_letters()] == [2, 2]


def test_without_report_batch_item_failures_the_response_is_ignored(sqs: Any) -> None:
    queue = make_queue(sqs)
    send(sqs, queue, "ok", "bad")
    calls: list[str] = []
    mapping = EventSourceMapping(queue, failing_on("bad", calls), sqs=sqs).drain()
    assert calls == ["ok", "bad"] and mapping.dead_letters() == []
    assert mapping.summary()["processed"] == 2  # "bad" deleted too: lost
    assert "ReportBatchItemFailures is off" in mapping.batches[0].detail


def test_with_report_batch_item_failures_only_the_failures_come_back(sqs: Any) -> None:
    queue = make_queue(sqs, max_receive_count=3)
    ok, bad = send(sqs, queue, "ok", "bad")
    calls: list[str] = []
    mapping = EventSourceMapping(queue, failing_on("bad", calls), sqs=sqs,
                                 function_response_types=RBIF).drain()
    assert calls == ["ok", "bad", "bad", "bad"]
    assert mapping.batches[0].deleted == [ok] and mapping.batches[0].returned == [bad]
    assert [m["MessageId"] for m in mapping.dead_letters()] == [bad]
    assert mapping.summary() == {"invocations": 3, "processed": 1, "retried": 3,
                                 "dead_lettered": 1, "in_queue": 0}


@pytest.mark.parametrize("response", [
    {"batchItemFailures": [{"itemIdentifier": ""}]},
    {"batchItemFailures": [{"itemIdentifier": None}]},
    {"batchItemFailures": [{"messageId": "x"}]},
    {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
    {"batchItemFailures": "all"},
    ["a list"],
])
def test_a_malformed_partial_response_fails_the_whole_batch(sqs: Any, response: Any) -> None:
    queue = make_queue(sqs, max_receive_count=1)
    send(sqs, queue, "a", "b")
    mapping = EventSourceMapping(queue, lambda event, context: response, sqs=sqs,
                                 function_response_types=RBIF).drain()
    assert mapping.batches[0].outcome == "failed" and not mapping.batches[0].deleted
    assert "whole batch" in mapping.batches[0].detail


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []},
                                      {"batchItemFailures": None}, {"processed": 2}])
def test_an_empty_partial_response_is_a_success(sqs: Any, response: Any) -> None:
    queue = make_queue(sqs)
    send(sqs, queue, "a", "b")
    mapping = EventSourceMapping(queue, lambda event, context: response, sqs=sqs,
                                 function_response_types=RBIF).drain()
    assert mapping.summary()["processed"] == 2 and mapping.batches[0].outcome == "succeeded"


def test_a_response_that_is_not_json_fails_the_batch(sqs: Any) -> None:
    queue = make_queue(sqs, max_receive_count=1)
    send(sqs, queue, "a")
    mapping = EventSourceMapping(queue, lambda event, context: {"at": object()}, sqs=sqs)
    mapping.drain()
    assert "MarshalError" in mapping.batches[0].detail and mapping.summary()["processed"] == 0


def test_batch_size_splits_the_queue(sqs: Any) -> None:
    queue = make_queue(sqs)
    send(sqs, queue, *"abcde")
    sizes: list[int] = []
    EventSourceMapping(queue, lambda event, context: sizes.append(len(event["Records"])),
                       sqs=sqs, batch_size=2).drain()
    assert sizes == [2, 2, 1]


def test_the_function_timeout_must_fit_the_visibility_timeout(sqs: Any) -> None:
    queue = make_queue(sqs, visibility=30)
    with pytest.raises(ValueError, match="visibility timeout"):
        EventSourceMapping(queue, print, sqs=sqs, function_timeout=60)
    assert "6 x" in EventSourceMapping(queue, print, sqs=sqs, function_timeout=10).notes[0]
    assert EventSourceMapping(queue, print, sqs=sqs, function_timeout=5).notes == []


@pytest.mark.parametrize("options", [{"batch_size": 0}, {"batch_size": 11},
                                     {"function_response_types": ["Other"]},
                                     {"invoke_options": {"timeout": 3}}])
def test_bad_settings_are_refused(sqs: Any, options: dict) -> None:
    queue = make_queue(sqs)
    with pytest.raises(ValueError):
        EventSourceMapping(queue, print, sqs=sqs, **options)


def test_without_a_redrive_policy_drain_stops_and_says_why(sqs: Any) -> None:
    queue = make_queue(sqs, max_receive_count=None)
    send(sqs, queue, "poison")

    def boom(event: dict, context: Any) -> None:
        raise ValueError("never works")

    mapping = EventSourceMapping(queue, boom, sqs=sqs).drain(max_batches=4)
    assert len(mapping.batches) == 4 and mapping.summary()["in_queue"] == 1
    assert "no redrive policy" in mapping.notes[-1]


def test_an_unfinished_exercise_is_not_a_failed_batch(sqs: Any) -> None:
    queue = make_queue(sqs)
    send(sqs, queue, "a")

    def unfinished(event: dict, context: Any) -> None:
        raise NotImplementedError("Exercise 5.1: write your code here")

    with pytest.raises(NotImplementedError, match="Exercise 5.1"):
        EventSourceMapping(queue, unfinished, sqs=sqs).drain()


def test_the_context_is_lambda_s(sqs: Any) -> None:
    queue = make_queue(sqs)
    send(sqs, queue, "a")
    seen: list[Any] = []
    EventSourceMapping(queue, lambda event, context: seen.append(context), sqs=sqs,
                       function_timeout=4, function_name="signups").drain()
    context = seen[0]
    assert context.function_name == "signups" and context.invoked_function_arn.endswith(
        ":function:signups")
    assert 0 < context.get_remaining_time_in_millis() <= 4000


def test_without_fast_forward_it_waits_for_the_visibility_timeout(sqs: Any) -> None:
    queue = make_queue(sqs, max_receive_count=2, visibility=1)
    send(sqs, queue, "bad")
    calls: list[str] = []
    started = time.monotonic()
    mapping = EventSourceMapping(queue, failing_on("bad", calls), sqs=sqs, function_timeout=1,
                                 function_response_types=RBIF, fast_forward=False).drain()
    assert calls == ["bad", "bad"] and time.monotonic() - started >= 0.9
    assert len(mapping.dead_letters()) == 1


def test_the_timeline_reads(sqs: Any) -> None:
    queue = make_queue(sqs)
    send(sqs, queue, "ok", "bad")
    mapping = EventSourceMapping(queue, failing_on("bad", []), sqs=sqs,
                                 function_response_types=RBIF).drain()
    text = str(mapping)
    assert "ReportBatchItemFailures on" in text and "maxReceiveCount 3" in text
    assert "#1 ok (receive 1): deleted" in text
    assert "#2 bad (receive 3): back to the queue" in text
    assert "<table>" in mapping._repr_html_()


def test_a_function_process_reaches_moto_through_a_server(tmp_path: Path) -> None:
    """A handler name runs with invoke() in its own process, as in Lambda."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    (project / "src" / "handlers" / "queue_worker.py").write_text(textwrap.dedent("""
        import boto3

        def lambda_handler(event, context):
            table = boto3.resource("dynamodb").Table("seen")
            failures = []
            for record in event["Records"]:
                if record["body"] == "bad":
                    failures.append({"itemIdentifier": record["messageId"]})
                else:
                    table.put_item(Item={"id": record["messageId"], "body": record["body"]})
            return {"batchItemFailures": failures}
    """))
    try:
        with moto_server() as endpoint:
            assert endpoint.startswith("http://127.0.0.1:")
            sqs = boto3.client("sqs", endpoint_url=endpoint)
            dynamodb = boto3.resource("dynamodb", endpoint_url=endpoint)
            dynamodb.create_table(
                TableName="seen", BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
            queue = make_queue(sqs, max_receive_count=2)
            send(sqs, queue, "one", "bad", "two")
            mapping = EventSourceMapping(
                queue, "handlers.queue_worker.lambda_handler", sqs=sqs,
                function_response_types=RBIF,
                invoke_options={"project": project, "env": {"AWS_ENDPOINT_URL": endpoint}})
            mapping.drain()
            assert mapping.batches[0].invocation.ok
            assert sorted(i["body"] for i in dynamodb.Table("seen").scan()["Items"]) == [
                "one", "two"]
            assert mapping.summary()["dead_lettered"] == 1
        with moto_server() as endpoint:  # a new block starts empty
            assert "QueueUrls" not in boto3.client("sqs", endpoint_url=endpoint).list_queues()
    finally:
        lambda_invoke.shutdown()
