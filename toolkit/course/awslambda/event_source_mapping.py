"""Lambda's SQS event source mapping, simulated: poll a queue, invoke a function with each
batch, delete what succeeded, and let the rest come back until the queue gives up on it.

moto stores event source mappings but never runs them (without Docker it never runs a function
at all), so the course plays Lambda's part itself, against a real (moto) SQS queue:

    >>> mapping = EventSourceMapping(queue_url, lambda_handler, sqs=boto3.client("sqs"),
    ...                              function_response_types=["ReportBatchItemFailures"])
    >>> mapping.drain()      # poll until nothing is left to receive (shows a timeline)
    >>> mapping.summary()    # {"processed": 2, "retried": 2, "dead_lettered": 1, ...}

What it does, step by step as Lambda does (docs: "Using Lambda with Amazon SQS"):

1. **Poll**: ReceiveMessage, up to `batch_size` messages (at most 10: one call), with all their
   attributes. Received messages stay in the queue, hidden for the queue's visibility timeout.
2. **Invoke** the function once with the batch as an SQS event (`{"Records": [...]}`, in
   Lambda's shape). `function` is either a plain callable `handler(event, context)`, run in this
   process (fast: checks and quick demos), or a handler name such as
   "handlers.sqs_handler.lambda_handler", run with `course.invoke` in a function process of its
   own, as Lambda runs it (`invoke_options` go to invoke(): project, env, memory_mb...; a
   function process reaches moto only through a moto server: env={"AWS_ENDPOINT_URL": url}).
3. **Delete or keep.** The function failed (raised, returned an error, timed out): nothing is
   deleted, the whole batch comes back. It returned: the whole batch is deleted
   (DeleteMessageBatch), unless the mapping has `function_response_types=
   ["ReportBatchItemFailures"]`: then the messages listed in the response's `batchItemFailures`
   stay in the queue, and a malformed list (an empty, null or unknown itemIdentifier, a wrong key,
   not a JSON object) fails the whole batch. Without that setting the response is never read.
4. **Come back.** A message that stays becomes visible again when its visibility timeout ends.
   With `fast_forward=True` (the default) the simulation does not wait: it ends the timeout at
   once (ChangeMessageVisibility to 0), as if the time had passed. With False it really waits.
5. **Dead-letter.** The queue's redrive policy (set on the queue, not on the mapping) moves a
   message that was received `maxReceiveCount` times to the dead-letter queue, on the next
   receive. Without a redrive policy a failing message comes back until its retention period
   (4 days by default) ends: `drain()` stops after `max_batches` and says so.

Like Lambda's CreateEventSourceMapping, the constructor refuses a function timeout longer than
the queue's visibility timeout, and it notes when the visibility timeout is shorter than the
recommended six times the function timeout.

Differences from Lambda: one batch at a time (Lambda runs several pollers and up to 1,000
batches at once), no batching window, at most 10 messages per batch, no back-off between
retries, and a callable function runs without a time limit (a handler name runs with invoke()'s
timeout, `function_timeout`).
"""

from __future__ import annotations

import html
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from course.awslambda.context import LambdaContext
from course.sandbox import ACCOUNT_ID, REGION

__all__ = ["Batch", "EventSourceMapping"]

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
RECOMMENDED_FACTOR = 6  # visibility timeout >= 6 x function timeout (Lambda's documentation)
_POLL_S = 0.05  # how often a waiting drain() looks at the queue again (fast_forward=False)


@dataclass
class Batch:
    """One poll: the messages received, what the function did, what happened to each message."""

    number: int
    message_ids: list[str]
    receive_counts: dict[str, int]
    outcome: str  # "succeeded", "partially failed" or "failed"
    detail: str  # why, in words: the function's error, a response Lambda rejects or ignores
    deleted: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    response: Any = None
    invocation: Any = None  # the course.invoke Invocation, for a function run by name


def _lambda_attributes(message: dict[str, Any]) -> dict[str, Any]:
    """A message attribute as Lambda's SQS event spells it (camelCase, list fields present)."""
    out: dict[str, Any] = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {"stringListValues": [], "binaryListValues": [],
                                 "dataType": value.get("DataType", "String")}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            import base64

            raw = value["BinaryValue"]
            entry["binaryValue"] = base64.b64encode(raw).decode() if isinstance(
                raw, bytes | bytearray) else raw
        out[name] = entry
    return out


class EventSourceMapping:
    """An SQS event source mapping: `poll()` one batch, or `drain()` the queue.

    queue_url: the source queue. function: a callable handler(event, context), or a handler
    name for course.invoke. sqs: a boto3 SQS client for the queue (default: a new one).
    batch_size: 1-10. function_response_types: ["ReportBatchItemFailures"] to let the function
    report partial failures (off by default, as in Lambda). function_timeout: the function's
    timeout in seconds (invoke() enforces it for a handler name). fast_forward: end visibility
    timeouts at once instead of waiting for them. invoke_options: more arguments for invoke().
    """

    def __init__(self, queue_url: str, function: Callable[[dict, Any], Any] | str, *,
                 sqs: Any = None, batch_size: int = 10,
                 function_response_types: Sequence[str] = (), function_timeout: float = 3.0,
                 fast_forward: bool = True, invoke_options: dict[str, Any] | None = None,
                 function_name: str = "course-function") -> None:
        if not (isinstance(batch_size, int) and 1 <= batch_size <= 10):
            raise ValueError("batch_size: 1 to 10 (the simulation reads one ReceiveMessage call "
                             f"per batch), not {batch_size!r}")
        unknown = set(function_response_types) - {REPORT_BATCH_ITEM_FAILURES}
        if unknown:
            raise ValueError(f"function_response_types: only {REPORT_BATCH_ITEM_FAILURES!r} "
                             f"exists, not {sorted(unknown)}")
        options = dict(invoke_options or {})
        if "timeout" in options:
            raise ValueError("give the function's timeout as function_timeout=..., not in "
                             "invoke_options")
        if not isinstance(function, str) and not callable(function):
            raise TypeError("function: a callable handler(event, context) or a handler name "
                            "such as 'handlers.sqs_handler.lambda_handler'")
        if sqs is None:
            import boto3

            sqs = boto3.client("sqs")
        self.sqs = sqs
        self.queue_url = queue_url
        self.function = function
        self.batch_size = batch_size
        self.function_response_types = tuple(function_response_types)
        self.function_timeout = float(function_timeout)
        self.fast_forward = fast_forward
        self.invoke_options = options
        self.function_name = function_name
        self.batches: list[Batch] = []
        self.notes: list[str] = []
        self.receives: Counter[str] = Counter()  # message id -> times received
        self.deleted: list[str] = []  # message ids deleted after a successful invocation
        self.returned: Counter[str] = Counter()  # message id -> times it went back to the queue
        self._labels: dict[str, str] = {}
        self._peeks: Counter[str] = Counter()  # dead_letters() receives each message once

        attributes = sqs.get_queue_attributes(QueueUrl=queue_url,
                                              AttributeNames=["All"])["Attributes"]
        self.queue_arn: str = attributes["QueueArn"]
        self.visibility_timeout = int(attributes.get("VisibilityTimeout", 30))
        redrive = json.loads(attributes.get("RedrivePolicy") or "null") or {}
        self.dead_letter_queue_arn: str | None = redrive.get("deadLetterTargetArn")
        self.max_receive_count: int | None = (int(redrive["maxReceiveCount"])
                                              if "maxReceiveCount" in redrive else None)
        if self.function_timeout > self.visibility_timeout:
            raise ValueError(
                f"Lambda refuses this mapping: the queue's visibility timeout "
                f"({self.visibility_timeout} s) is less than the function timeout "
                f"({self.function_timeout:g} s). A batch would reappear in the queue while the "
                "function is still working on it.")
        if self.visibility_timeout < RECOMMENDED_FACTOR * self.function_timeout:
            self.notes.append(
                f"The visibility timeout ({self.visibility_timeout} s) is under "
                f"{RECOMMENDED_FACTOR} x the function timeout ({self.function_timeout:g} s), "
                "Lambda's recommendation: a throttled batch may reappear and be processed twice.")

    # --- the mapping's work ------------------------------------------------------------------

    def poll(self) -> Batch | None:
        """Receive one batch and invoke the function with it; None when nothing was received."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"], MessageAttributeNames=["All"],
            WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return None
        ids = [m["MessageId"] for m in messages]
        for message in messages:
            self.receives[message["MessageId"]] += 1
            self._labels.setdefault(message["MessageId"], _preview(message.get("Body", "")))
        counts = {m["MessageId"]: int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1))
                  for m in messages}
        ok, response, detail, invocation = self._invoke(self.event(messages))
        keep: set[str] | None = set()
        if ok and REPORT_BATCH_ITEM_FAILURES in self.function_response_types:
            keep, detail = _batch_item_failures(response, ids)
        elif ok and isinstance(response, dict) and response.get("batchItemFailures"):
            detail = ("the function reported batchItemFailures, but ReportBatchItemFailures is "
                      "off: Lambda never reads the response and deletes the whole batch")
        if not ok or keep is None:
            keep = set(ids)
        to_delete = [m for m in messages if m["MessageId"] not in keep]
        to_return = [m for m in messages if m["MessageId"] in keep]
        self._delete(to_delete)
        self._come_back(to_return)
        outcome = ("succeeded" if not to_return else "failed" if not to_delete
                   else "partially failed")
        batch = Batch(len(self.batches) + 1, ids, counts, outcome, detail,
                      [m["MessageId"] for m in to_delete], [m["MessageId"] for m in to_return],
                      response, invocation)
        self.batches.append(batch)
        self.deleted.extend(batch.deleted)
        self.returned.update(batch.returned)
        return batch

    def drain(self, *, max_batches: int = 100, max_wait_s: float = 60.0) -> EventSourceMapping:
        """Poll until the queue holds nothing to receive (every message deleted or moved to
        the dead-letter queue), at most `max_batches` batches. Waits for visibility timeouts
        (up to max_wait_s each) only when fast_forward is off. Returns the mapping."""
        for _ in range(max_batches):
            if self.poll() is not None:
                continue
            visible, in_flight = self._counts()
            if visible == 0 and in_flight == 0:
                return self
            if visible == 0 and not self._wait_until_visible(max_wait_s):
                self.notes.append(f"Stopped: messages stayed in flight for {max_wait_s:g} s.")
                return self
        if sum(self._counts()):
            self.notes.append(
                f"Stopped after {max_batches} batches with messages still in the queue"
                + ("" if self.dead_letter_queue_arn else ": the queue has no redrive policy, "
                   "so a message that always fails comes back until its retention period "
                   "ends (4 days by default)") + ".")
        return self

    def event(self, messages: Iterable[dict[str, Any]]) -> dict[str, Any]:
        """The SQS event Lambda builds from ReceiveMessage's messages."""
        records = []
        for message in messages:
            record: dict[str, Any] = {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message.get("Body", ""),
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": _lambda_attributes(message),
                "md5OfBody": message.get("MD5OfBody", ""),
            }
            if message.get("MD5OfMessageAttributes"):
                record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
            record.update({"eventSource": "aws:sqs", "eventSourceARN": self.queue_arn,
                           "awsRegion": self.queue_arn.split(":")[3] or REGION})
            records.append(record)
        return {"Records": records}

    def _invoke(self, event: dict[str, Any]) -> tuple[bool, Any, str, Any]:
        """(succeeded?, response, detail, Invocation or None)."""
        if isinstance(self.function, str):
            from course.awslambda.invoke import invoke

            result = invoke(self.function, event, timeout=self.function_timeout,
                            function_name=self.function_name, **self.invoke_options)
            if result.ok:
                return True, result.response, "", result
            error = result.error or {}
            return (False, None, f"function error: {error.get('errorType')}: "
                    f"{_first_line(error.get('errorMessage', ''))}", result)
        context = LambdaContext(
            aws_request_id=str(uuid.uuid4()),
            deadline_ms=int(time.time() * 1000 + self.function_timeout * 1000),
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:"
                                 f"{self.function_name}")
        context.function_name = self.function_name
        context.memory_limit_in_mb = "128"
        context.function_version = "$LATEST"
        try:
            response = self.function(event, context)
        except NotImplementedError as exc:
            if str(exc).startswith("Exercise "):
                raise  # an unfinished exercise: say so, do not pretend it is a failed batch
            return False, None, f"function error: NotImplementedError: {_first_line(exc)}", None
        except Exception as exc:  # noqa: BLE001 - any error fails the batch, as in Lambda
            return False, None, f"function error: {type(exc).__name__}: {_first_line(exc)}", None
        try:
            return True, json.loads(json.dumps(response)), "", None
        except (TypeError, ValueError) as exc:
            return False, None, f"function error: Runtime.MarshalError: {exc}", None

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start:start + 10]
            answer = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)])
            for failed in answer.get("Failed", []):
                self.notes.append(f"DeleteMessageBatch failed for a message: {failed}")

    def _come_back(self, messages: list[dict[str, Any]]) -> None:
        if not messages or not self.fast_forward:
            return
        self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for n, m in enumerate(messages)])

    def _counts(self, queue_url: str | None = None) -> tuple[int, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages",
                            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return (int(attributes.get("ApproximateNumberOfMessages", 0)),
                int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)))

    def _wait_until_visible(self, max_wait_s: float) -> bool:
        deadline = time.monotonic() + max_wait_s
        while time.monotonic() < deadline:
            visible, in_flight = self._counts()
            if visible or not in_flight:
                return True
            time.sleep(_POLL_S)
        return False

    # --- what happened -----------------------------------------------------------------------

    def dead_letters(self) -> list[dict[str, Any]]:
        """The messages in the dead-letter queue: MessageId, Body and ApproximateReceiveCount
        (the receives before this look: peeking receives them, then makes them visible again
        at once)."""
        if not self.dead_letter_queue_arn:
            return []
        url = self.sqs.get_queue_url(QueueName=self.dead_letter_queue_arn.split(":")[-1])
        url = url["QueueUrl"]
        found: dict[str, dict[str, Any]] = {}
        handles = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                AttributeNames=["All"], VisibilityTimeout=60,
                                                WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self._peeks[message["MessageId"]] += 1
                count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
                found[message["MessageId"]] = {
                    "MessageId": message["MessageId"], "Body": message.get("Body", ""),
                    "ApproximateReceiveCount": count - self._peeks[message["MessageId"]]}
                handles.append(message["ReceiptHandle"])
        for start in range(0, len(handles), 10):
            self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for n, h in enumerate(handles[start:start + 10])])
        return list(found.values())

    def summary(self) -> dict[str, int]:
        """Counts: batches and invocations, messages processed (deleted after success),
        retries (times a message went back to the queue), messages dead-lettered, and
        messages still in the source queue."""
        dead = {m["MessageId"] for m in self.dead_letters()}
        return {"invocations": len(self.batches),
                "processed": len(set(self.deleted)),
                "retried": sum(self.returned.values()),
                "dead_lettered": len(dead & set(self.receives)) if self.receives else len(dead),
                "in_queue": sum(self._counts())}

    def _label(self, message_id: str) -> str:
        number = list(self._labels).index(message_id) + 1 if message_id in self._labels else 0
        return f"#{number} {self._labels.get(message_id, '')}".strip()

    def __str__(self) -> str:
        lines = [f"Event source mapping: {self.queue_arn.split(':')[-1]} -> "
                 f"{self.function if isinstance(self.function, str) else _name(self.function)} "
                 f"(batch size {self.batch_size}, ReportBatchItemFailures "
                 f"{'on' if REPORT_BATCH_ITEM_FAILURES in self.function_response_types else 'off'}"
                 f", visibility timeout {self.visibility_timeout} s"
                 + (f", maxReceiveCount {self.max_receive_count}" if self.max_receive_count
                    else ", no dead-letter queue") + ")"]
        for batch in self.batches:
            lines.append(f"batch {batch.number}: {len(batch.message_ids)} message(s), "
                         f"{batch.outcome}" + (f" ({batch.detail})" if batch.detail else ""))
            for message_id in batch.message_ids:
                fate = ("deleted" if message_id in batch.deleted
                        else "back to the queue after the visibility timeout")
                lines.append(f"    {self._label(message_id)} (receive "
                             f"{batch.receive_counts.get(message_id, 1)}): {fate}")
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = []
        for batch in self.batches:
            colour = {"succeeded": "#1a7f37", "failed": "#cf222e"}.get(batch.outcome, "#9a6700")
            cells = []
            for message_id in batch.message_ids:
                deleted = message_id in batch.deleted
                cells.append(f'<span style="white-space:nowrap;margin-right:1em">'
                             f'{"✔ deleted" if deleted else "↺ back"}: '
                             f"<code>{esc(self._label(message_id))}</code> (receive "
                             f"{batch.receive_counts.get(message_id, 1)})</span>")
            detail = f"<br><small>{esc(batch.detail)}</small>" if batch.detail else ""
            rows.append(f'<tr><td style="text-align:left">{batch.number}</td>'
                        f'<td style="text-align:left;color:{colour}">{esc(batch.outcome)}'
                        f'{detail}</td><td style="text-align:left">{"<br>".join(cells)}</td></tr>')
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        head = esc(str(self).splitlines()[0])
        return (f'<div class="course-esm"><b>{head}</b><table><tr><th>batch</th><th>outcome'
                f'</th><th>messages</th></tr>{"".join(rows)}</table>'
                + (f"<ul>{notes}</ul>" if notes else "") + "</div>")


def _batch_item_failures(response: Any, ids: list[str]) -> tuple[set[str] | None, str]:
    """Lambda's reading of a partial batch response: (ids to keep, detail); None fails the
    whole batch."""
    if response is None or (isinstance(response, dict) and not response):
        return set(), ""
    if not isinstance(response, dict):
        return None, ("invalid response (not a JSON object with batchItemFailures): Lambda "
                      "fails the whole batch")
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return set(), ""
    if not isinstance(failures, list):
        return None, "batchItemFailures is not a list: Lambda fails the whole batch"
    keep = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return None, (f"invalid batchItemFailures entry {json.dumps(failure)[:80]}: "
                          "Lambda fails the whole batch")
        keep.add(identifier)
    return keep, f"{len(keep)} reported failed"


def _preview(body: str, limit: int = 40) -> str:
    text = " ".join(str(body).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _first_line(text: object, limit: int = 160) -> str:
    lines = str(text).strip().splitlines()
    return (lines[0] if lines else "")[:limit]


def _name(function: Any) -> str:
    return getattr(function, "__qualname__", None) or type(function).__name__
