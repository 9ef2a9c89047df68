"""Lesson 11: the users service's runbook, and the two operations it needs.

    python scripts/runbook.py redrive DEAD_LETTER_QUEUE_URL QUEUE_URL [--limit N]
    python scripts/runbook.py rollback FUNCTION_NAME [--alias live] [--to VERSION]

Messages in a dead-letter queue (alarm: the DLQ's ApproximateNumberOfMessagesVisible > 0)
1. Look before you move anything: read a few messages and the worker's logs for their message
   ids (lesson 09's correlation id rides along). Why did they fail?
2. Poison (a message no retry can fix, or a bug for this input): fix the code or the sender
   first. Redriven poison only comes back to the DLQ after maxReceiveCount more failures.
3. The cause is gone (throttling, an outage, a bad deploy rolled back): redrive one message
   (--limit 1), watch it succeed, then the rest. The worker is idempotent: a message that was
   processed before it failed creates no second user.
   (On AWS, SQS can redrive a queue's DLQ itself: the console's "Start DLQ redrive",
   StartMessageMoveTask. This script does the same with the basic calls, also on moto.)

A bad deploy (alarms: the function's Errors, the API's 5xx, messages in the DLQ)
1. Roll back first, investigate after: move the alias back. API Gateway and the event source
   mappings call the alias, so the next request runs the previous version; nothing is rebuilt.
2. During a canary (the alias sends a share of its traffic to a new version), rolling back
   sends all of it to the alias's own version again.
3. Then fix forward: a new version through the pipeline (lesson 08), never a change by hand.
"""

from __future__ import annotations

import argparse
from typing import Any

BATCH = 10  # SQS: at most 10 messages per receive and per batch send


class RunbookError(Exception):
    """The operation would do the wrong thing, so it did nothing."""


def redrive(sqs: Any, dead_letter_url: str, queue_url: str, *,
            limit: int | None = None) -> int:
    """Move the dead-letter queue's messages back to the queue; returns how many moved."""
    moved = 0
    while limit is None or moved < limit:
        wanted = BATCH if limit is None else min(BATCH, limit - moved)
        received = sqs.receive_message(
            QueueUrl=dead_letter_url, MaxNumberOfMessages=wanted,
            MessageAttributeNames=["All"],  # else the attributes stay behind
        ).get("Messages", [])
        if not received:
            return moved
        entries = []
        for number, message in enumerate(received):
            entry = {"Id": str(number), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        # A batch can half succeed: only what the queue accepted leaves the dead-letter queue.
        accepted = [received[int(entry["Id"])] for entry in sent.get("Successful", [])]
        if accepted:
            sqs.delete_message_batch(QueueUrl=dead_letter_url, Entries=[
                {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                for number, message in enumerate(accepted)])
        moved += len(accepted)
    return moved


def rollback(lambda_client: Any, function_name: str, *, alias: str = "live",
             to_version: str | None = None) -> str:
    """Point the alias at the version to go back to; returns that version."""
    current = lambda_client.get_alias(FunctionName=function_name, Name=alias)
    weights = (current.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    published = set()
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(
            FunctionName=function_name):
        published |= {v["Version"] for v in page["Versions"] if v["Version"] != "$LATEST"}
    if to_version is not None:
        if str(to_version) not in published:
            raise RunbookError(f"{function_name} has no published version {to_version!r}")
        target = str(to_version)
    elif weights:  # a canary: all traffic back to the alias's own version
        target = current["FunctionVersion"]
    else:
        if not current["FunctionVersion"].isdigit():
            raise RunbookError(f"{function_name}:{alias} points at "
                               f"{current['FunctionVersion']}, not a published version")
        older = [int(v) for v in published if int(v) < int(current["FunctionVersion"])]
        if not older:
            raise RunbookError(f"{function_name} has no version older than "
                               f"{current['FunctionVersion']} to roll back to")
        target = str(max(older))  # versions are numbers: "10" comes after "9"
    lambda_client.update_alias(FunctionName=function_name, Name=alias, FunctionVersion=target,
                               RoutingConfig={"AdditionalVersionWeights": {}})
    return target


def main(argv: list[str] | None = None) -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    command = parser.add_subparsers(dest="command", required=True)
    back = command.add_parser("redrive", help="move a DLQ's messages back to their queue")
    back.add_argument("dead_letter_url")
    back.add_argument("queue_url")
    back.add_argument("--limit", type=int, default=None)
    undo = command.add_parser("rollback", help="point a function's alias at an older version")
    undo.add_argument("function_name")
    undo.add_argument("--alias", default="live")
    undo.add_argument("--to", dest="to_version", default=None)
    args = parser.parse_args(argv)
    if args.command == "redrive":
        moved = redrive(boto3.client("sqs"), args.dead_letter_url, args.queue_url,
                        limit=args.limit)
        print(f"moved {moved} message(s) back to {args.queue_url}")
    else:
        version = rollback(boto3.client("lambda"), args.function_name, alias=args.alias,
                           to_version=args.to_version)
        print(f"{args.function_name}:{args.alias} now runs version {version}")


if __name__ == "__main__":
    main()
