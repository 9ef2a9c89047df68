"""Hidden tests for lesson 09 (observability). Messages are written for the learner.

9.1 sends and receives messages on moto's SQS and reads them back the way Lambda hands them
over. 9.2 and 9.3 import the learner's sign-ups API afresh (a new execution environment: the
variables it needs, no Logger keys, the next call a cold start), call lambda_handler with
API Gateway events holding what must never be logged (a name, an email, a bearer token, a
cookie, the client's IP), and read every line the function wrote: Logger lines and EMF
documents. A Logger binds its stream when it is created, so `_captured` points every logging
StreamHandler at a buffer and redirects stdout (where Metrics prints) into the same one.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from course.checks import Project, exercise, question
from course.checks.kit import json_lines, lambda_context, users_tables

CORRELATION = "src/utils/correlation.py"
CORRELATION_MODULE = "utils.correlation"
API = "src/handlers/signups_api.py"
API_MODULE = "handlers.signups_api"
QUEUE = "signups-check"
REQUEST_ID = "req-9c1d7e55"
NAME, EMAIL = "Ada Lovelace", "ada.lovelace@example.com"
TOKEN = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig"
TOKEN_PART = "c2VjcmV0LXRva2Vu"
COOKIE = "session=s3ss10n-c00k1e-9d2f"
SOURCE_IP = "198.51.100.77"
REQUIRED = ("level", "message", "timestamp", "service", "correlation_id",
            "function_request_id", "cold_start")


def _sqs_record(message: dict[str, Any]) -> dict[str, Any]:
    """A message from ReceiveMessage as Lambda puts it in an SQS event: camelCase keys."""
    attributes = {name: {"stringValue": value.get("StringValue"),
                         "binaryValue": value.get("BinaryValue"), "stringListValues": [],
                         "binaryListValues": [], "dataType": value["DataType"]}
                  for name, value in (message.get("MessageAttributes") or {}).items()}
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"], "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": attributes, "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}",
            "awsRegion": "us-east-1"}


@contextlib.contextmanager
def _queue() -> Iterator[tuple[Any, str]]:
    """(sqs client, queue url) inside a fresh moto mock."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        yield sqs, sqs.create_queue(QueueName=QUEUE)["QueueUrl"]


def _received(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


# --- 9.1 ---------------------------------------------------------------------------------

ex91 = exercise("9.1", "A correlation id that crosses the queue", files=[CORRELATION])


def _correlation(project: Project) -> Any:
    sys.modules.pop(CORRELATION_MODULE, None)
    module = project.module(CORRELATION_MODULE)
    for name in ("message_attributes", "correlation_id_of"):
        assert callable(getattr(module, name, None)), f"{CORRELATION} has no function {name}"
    return module


def _read(module: Any, record: Any, what: str) -> Any:
    try:
        return module.correlation_id_of(record)
    except Exception as exc:  # noqa: BLE001 - the learner reads what escaped
        raise AssertionError(f"for {what} correlation_id_of raised {type(exc).__name__}: "
                             f"{exc}") from None


@ex91.behaviour("message_attributes gives SendMessage a String attribute named correlation_id",
                hint=["Lesson 09, 'A correlation id across the queue': SendMessage's "
                      "MessageAttributes maps a name to a DataType and a value.",
                      "One attribute, correlation_id, whose DataType is String and whose "
                      "StringValue is the id (those capitals are the SendMessage API's)."])
def _(project: Project) -> None:
    module = _correlation(project)
    with _queue() as (sqs, url):
        try:
            sqs.send_message(QueueUrl=url, MessageBody="{}",
                             MessageAttributes=module.message_attributes(REQUEST_ID))
        except Exception as exc:  # noqa: BLE001 - botocore refuses a wrong shape
            raise AssertionError(
                f"SendMessage refused message_attributes({REQUEST_ID!r}): "
                f"{type(exc).__name__}: {str(exc)[:200]}") from None
        attributes = _received(sqs, url)[0].get("MessageAttributes") or {}
    assert "correlation_id" in attributes, (
        f"the message arrived with the attributes {sorted(attributes)}; expected one named "
        "correlation_id, the name the worker reads")
    attribute = attributes["correlation_id"]
    assert attribute.get("DataType") == "String" and attribute.get("StringValue") == REQUEST_ID, (
        f"the correlation_id attribute arrived as {attribute}; expected DataType String and "
        f"StringValue {REQUEST_ID!r}")
    others = sorted(set(attributes) - {"correlation_id"})
    assert not others, (
        f"the message also carries the attribute(s) {others}: the exercise asks for one "
        "attribute, and a message holds at most 10, which the senders share")


@ex91.behaviour("correlation_id_of reads the id from a record of Lambda's SQS event",
                hint=["Lesson 09: Lambda hands the worker each message as a record whose "
                      "messageAttributes use camelCase keys, unlike SendMessage.",
                      "Read messageAttributes -> correlation_id -> stringValue (lower-case s), "
                      "and check its dataType is String."])
def _(project: Project) -> None:
    module = _correlation(project)
    with _queue() as (sqs, url):
        sqs.send_message(QueueUrl=url, MessageBody="{}",
                         MessageAttributes=module.message_attributes(REQUEST_ID))
        record = _sqs_record(_received(sqs, url)[0])
    got = _read(module, record, "a record sent with message_attributes")
    assert got == REQUEST_ID, (
        f"for a record whose correlation_id attribute is {REQUEST_ID!r}, correlation_id_of "
        f"returned {got!r}: in Lambda's event the value is under 'stringValue'")
    other = {**record, "messageAttributes": {
        "tenant": {"stringValue": "acme", "dataType": "String"},
        **record["messageAttributes"]}}
    got = _read(module, other, "a record with another attribute before it")
    assert got == REQUEST_ID, (f"with another attribute next to it, correlation_id_of returned "
                               f"{got!r}; expected {REQUEST_ID!r}")


@ex91.behaviour("takes Powertools' SQSRecord as well as the record as a dict",
                hint=["Lesson 09: the worker's record handler receives Powertools' SQSRecord, "
                      "a wrapper around the dict.",
                      "SQSRecord keeps the dict in raw_event, and reads like a mapping too: "
                      "make your function work with both."])
def _(project: Project) -> None:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    module = _correlation(project)
    record = {"messageId": "m-1", "body": "{}", "attributes": {},
              "messageAttributes": {"correlation_id": {"stringValue": REQUEST_ID,
                                                       "dataType": "String"}}}
    got = _read(module, SQSRecord(record), "an SQSRecord")
    assert got == REQUEST_ID, (f"for an SQSRecord carrying {REQUEST_ID!r}, correlation_id_of "
                               f"returned {got!r}")
    bare = SQSRecord({"messageId": "m-2", "body": "{}", "attributes": {},
                      "messageAttributes": {}})
    got = _read(module, bare, "an SQSRecord without the attribute")
    assert got == "m-2", (f"for an SQSRecord without the attribute, correlation_id_of returned "
                          f"{got!r}; expected its message id 'm-2'")


@ex91.behaviour("falls back to the message id: no attribute, an empty one, or not a String",
                hint=["Lesson 09: messages sent by someone else carry no correlation id, and "
                      "every line still needs one.",
                      "When the attribute is missing, empty, or not of dataType String, return "
                      "the record's messageId instead of failing or returning None."])
def _(project: Project) -> None:
    module = _correlation(project)
    base = {"messageId": "m-7", "body": "{}", "attributes": {}}
    cases = [
        ({**base, "messageAttributes": {}}, "no message attributes"),
        ({**base}, "a record without a messageAttributes key"),
        ({**base, "messageAttributes": {"correlation_id": {"stringValue": "",
                                                          "dataType": "String"}}},
         "an empty correlation_id"),
        ({**base, "messageAttributes": {"correlation_id": {"binaryValue": "AAEC",
                                                          "dataType": "Binary"}}},
         "a Binary correlation_id"),
        ({**base, "messageAttributes": {"correlation_id": {"stringValue": "42",
                                                          "dataType": "Number"}}},
         "a correlation_id of dataType Number"),
    ]
    for record, what in cases:
        got = _read(module, record, what)
        assert got == "m-7", (f"for {what}, correlation_id_of returned {got!r}; expected the "
                              "message id 'm-7', so the worker's lines still share an id")


# --- 9.2 and 9.3: the sign-ups API ----------------------------------------------------

@dataclass
class Output:
    """What invocations wrote: log records and EMF documents."""

    text: str = ""
    logs: list[dict[str, Any]] = field(default_factory=list)
    emf: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def _captured() -> Iterator[Output]:
    buffer = io.StringIO()
    # the function's loggers (a test runner's capture handlers on the root logger stay)
    loggers = [logger for logger in logging.Logger.manager.loggerDict.values()
               if isinstance(logger, logging.Logger)]
    swapped = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                    handler, logging.FileHandler):
                swapped.append((handler, handler.stream))
                handler.stream = buffer
    # Lines of the standard library's loggers reach the root logger: in Lambda its handler
    # writes them to the function's log, as plain text.
    # (Powertools' Logger filters its own records out of the root's handlers, as here.)
    written = {logger.name for logger in loggers
               if any(handler in dict(swapped) for handler in logger.handlers)}
    root = logging.StreamHandler(buffer)
    root.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root.addFilter(lambda record: not any(
        record.name == name or record.name.startswith(name + ".") for name in written))
    logging.getLogger().addHandler(root)
    output = Output()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield output
    finally:
        logging.getLogger().removeHandler(root)
        for handler, stream in swapped:
            handler.stream = stream
        output.text = buffer.getvalue()
        for record in json_lines(output.text):
            (output.emf if isinstance(record.get("_aws"), dict) else output.logs).append(record)


def _api(project: Project, url: str, **env: str | None) -> Any:
    """The learner's API imported afresh, as a new execution environment would."""
    settings = {"SIGNUPS_QUEUE_URL": url, "POWERTOOLS_SERVICE_NAME": "signups-api",
                "POWERTOOLS_METRICS_NAMESPACE": "UsersApp", "ENVIRONMENT": None,
                "POWERTOOLS_LOGGER_LOG_EVENT": None, "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": None, "POWERTOOLS_DEV": None,
                "POWERTOOLS_METRICS_DISABLED": None, **env}
    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    for name in (API_MODULE, CORRELATION_MODULE, "models.user"):
        sys.modules.pop(name, None)
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.logging import logger as logger_module
    from aws_lambda_powertools.metrics.provider import cold_start

    module = project.module(API_MODULE)
    cold_start.is_cold_start = True
    logger_module.is_cold_start = True
    for value in vars(module).values():
        if isinstance(value, Metrics):
            value.clear_metrics()
        elif isinstance(value, Logger):
            value.clear_state()
    handler = getattr(module, "lambda_handler", None)
    assert callable(handler), f"{API} has no function lambda_handler"
    return module


def _event(body: Any, request_id: str = REQUEST_ID) -> dict[str, Any]:
    from course import events

    return events.api_gateway_rest("POST", "/signups", body, request_id=request_id,
                                   headers={"Authorization": TOKEN, "Cookie": COOKIE},
                                   source_ip=SOURCE_IP)


GOOD = {"name": f"  {NAME} ", "email": EMAIL.upper(), "age": 36}


def _call(module: Any, event: dict[str, Any]) -> tuple[int, Any]:
    try:
        response = module.lambda_handler(event, lambda_context("signups-api"))
    except Exception as exc:  # noqa: BLE001 - the learner reads what escaped
        raise AssertionError(
            f"POST /signups: your lambda_handler raised {type(exc).__name__}: {exc}. An "
            "exception that escapes is API Gateway's 502 for the client") from None
    assert isinstance(response, dict) and "statusCode" in response, (
        f"lambda_handler returned {response!r:.80}; expected an API Gateway response")
    try:
        body = json.loads(response.get("body") or "null")
    except ValueError:
        body = response.get("body")
    return int(response["statusCode"]), body


# What the two failures' texts hold: the queue's URL and name, SQS's error, the endpoint.
ERROR_TEXT = ("amazonaws.com", QUEUE, "does not exist", "NonExistentQueue", "QueueDoesNotExist",
              "Could not connect", "An error occurred", "endpoint")


def _failing_sqs() -> Any:
    """Every SQS call fails as when the endpoint cannot be reached."""
    from botocore.exceptions import EndpointConnectionError

    original = __import__("botocore.client", fromlist=["BaseClient"]).BaseClient._make_api_call

    def fail(self: Any, operation: str, params: Any) -> Any:
        if self.meta.service_model.service_name == "sqs":
            raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")
        return original(self, operation, params)

    return mock.patch("botocore.client.BaseClient._make_api_call", fail)


INVALID = [("{not json", "a body that is not JSON"),
           ({"name": NAME}, "a sign-up without an email"),
           ({"name": NAME, "email": "ada-at-example", "age": 36}, "an invalid email"),
           ({"name": NAME, "email": EMAIL, "role": "admin"}, "an unknown field"),
           ([{"name": NAME, "email": EMAIL}], "a JSON array instead of an object"),
           ({"name": " ", "email": "ada-at-example"}, "an empty name and an invalid email")]


def _every_path(project: Project, **env: str | None
                ) -> tuple[Output, list[tuple[str, int, Any]]]:
    """One warm environment serving: a good sign-up, each invalid one, then a queue that
    fails (a missing queue, then no connection). (output, [(what, status, body)])."""
    statuses = []
    with _queue() as (_, url), _captured() as out:
        module = _api(project, url, **env)
        statuses.append(("a valid sign-up", *_call(module, _event(GOOD))))
        for body, what in INVALID:
            statuses.append((what, *_call(module, _event(body, f"req-{uuid.uuid4().hex[:8]}"))))
        os.environ["SIGNUPS_QUEUE_URL"] = url + "-missing"
        statuses.append(("a queue that does not exist", *_call(module, _event(GOOD, "req-q2"))))
        os.environ["SIGNUPS_QUEUE_URL"] = url
        with _failing_sqs():
            statuses.append(("an SQS endpoint that cannot be reached",
                             *_call(module, _event(GOOD, "req-q3"))))
    return out, statuses


ex92 = exercise("9.2", "Logs an on-call engineer can use", files=[API])


@ex92.behaviour("POST /signups queues the sign-up and answers 202 with the correlation id",
                hint=["Lesson 09, exercise 9.2: validate the body with UserCreate, send the "
                      "validated sign-up to the queue, answer 202.",
                      "Send the model's JSON (model_dump_json), and answer {'status': 'queued', "
                      "'correlation_id': ...}."])
def _(project: Project) -> None:
    with _queue() as (sqs, url), _captured():
        module = _api(project, url)
        status, body = _call(module, _event(GOOD))
        messages = _received(sqs, url)
    assert status == 202, f"a valid sign-up got {status} {body!r:.120}; expected 202"
    assert body == {"status": "queued", "correlation_id": REQUEST_ID}, (
        f"a valid sign-up got the body {body!r:.160}; expected {{'status': 'queued', "
        f"'correlation_id': '{REQUEST_ID}'}}: the id a caller quotes to support")
    assert len(messages) == 1, f"one sign-up put {len(messages)} messages on the queue"
    queued = json.loads(messages[0]["Body"])
    assert queued == {"name": NAME, "email": EMAIL, "age": 36}, (
        f"the message body is {queued}; expected the validated sign-up (name stripped, email "
        "in lower case): the worker validates it again, and gets what the model made of it")


@ex92.behaviour("the message carries API Gateway's request id in its correlation_id attribute",
                hint=["Lesson 09, 'A correlation id across the queue': the id on your log lines "
                      "(API Gateway's request id) goes into the message, with exercise 9.1's "
                      "message_attributes.",
                      "The Logger holds it once its decorator has a correlation path: "
                      "logger.get_correlation_id(). Lambda's own request id is another id."])
def _(project: Project) -> None:
    with _queue() as (sqs, url), _captured():
        module = _api(project, url)
        _call(module, _event(GOOD))
        messages = _received(sqs, url)
    assert messages, "a valid sign-up put no message on the queue"
    attribute = (messages[0].get("MessageAttributes") or {}).get("correlation_id") or {}
    assert attribute.get("StringValue") == REQUEST_ID, (
        f"the message's correlation_id attribute is {attribute or 'missing'}; expected the "
        f"request's id {REQUEST_ID!r} (requestContext.requestId), so that one search finds "
        "the API's lines and the worker's")


@ex92.behaviour("an invalid sign-up is a 400 naming the fields, and nothing is queued",
                hint=["Lesson 09, exercise 9.2: a body that is not JSON, or not a valid "
                      "UserCreate, is the client's mistake.",
                      "Catch pydantic's ValidationError and the ValueError of a body that is not "
                      "JSON; answer 400 with the names of the invalid fields, never their "
                      "values."])
def _(project: Project) -> None:
    with _queue() as (sqs, url), _captured():
        module = _api(project, url)
        for body, what in INVALID:
            status, answer = _call(module, _event(body))
            assert status == 400, f"{what} got {status} {answer!r:.120}; expected 400"
            assert isinstance(answer, dict) and isinstance(answer.get("fields"), list) \
                and answer["fields"], (f"{what} got the body {answer!r:.160}; expected a "
                                       "JSON object whose 'fields' lists the invalid fields")
            text = json.dumps(answer)
            assert EMAIL not in text and "ada-at-example" not in text and NAME not in text, (
                f"the 400 for {what} repeats what the client sent: name the fields only")
        _, answer = _call(module, _event({"name": NAME}))
        assert "email" in answer["fields"], (
            f"for a sign-up without an email the fields are {answer['fields']}; expected "
            "'email' among them")
        assert not _received(sqs, url), "an invalid sign-up was put on the queue"


@ex92.behaviour("a queue that fails is a 503, with an ERROR line holding the traceback",
                hint=["Lesson 09, exercise 9.2: SQS can refuse (a ClientError) or be out of "
                      "reach (botocore's EndpointConnectionError, a BotoCoreError).",
                      "Catch both around send_message, log with logger.exception, answer 503 "
                      "with a message that says to try again."])
def _(project: Project) -> None:
    out, statuses = _every_path(project)
    for what, status, body in statuses[-2:]:
        assert status == 503, f"for {what} your API answered {status}; expected 503"
        assert isinstance(body, dict) and isinstance(body.get("message"), str), (
            f"for {what} your API answered the body {body!r:.120}; expected a JSON object "
            "whose 'message' asks the client to try again")
        told = [marker for marker in ERROR_TEXT if marker.lower() in json.dumps(body).lower()]
        assert not told, (
            f"for {what} your 503 tells the client {told[0]!r}, from the error's text: the "
            "client learns your queue's name and endpoint and can do nothing with them. Log "
            "the error; answer a fixed message")
    errors = [line for line in out.logs if line.get("level") == "ERROR"]
    assert len(errors) >= 2, (
        f"the two failed sends logged {len(errors)} ERROR line(s); expected one each: the "
        "on-call engineer searches for level ERROR")
    assert all(line.get("exception") for line in errors[-2:]), (
        "your ERROR lines have no traceback (an 'exception' key): log with "
        "logger.exception inside the except block")


@ex92.behaviour("every line carries level, message, timestamp, service, correlation_id, "
                "function_request_id and cold_start, on every path",
                hint=["Lesson 09, 'Structured logs': Logger's decorator adds the Lambda "
                      "context to every line, and the correlation id with a correlation path.",
                      "Decorate lambda_handler with inject_lambda_context and "
                      "correlation_paths.API_GATEWAY_REST; log with the Logger, never print."])
def _(project: Project) -> None:
    out, _ = _every_path(project)
    assert out.logs, "your API wrote no JSON log line on any path"
    for line in out.logs:
        missing = [key for key in REQUIRED if line.get(key) in (None, "")]
        assert not missing, (
            f"the line {line.get('message')!r:.60} has no {', '.join(missing)}: an on-call "
            "engineer filters on these keys, and a line without them is invisible")
    plain = [line for line in out.text.splitlines()
             if line.strip() and not line.startswith("{")]
    assert not plain, (f"your API wrote a line that is not JSON: {plain[0]!r:.100}. CloudWatch "
                       "cannot filter its fields")
    ids = {line["correlation_id"] for line in out.logs}
    assert REQUEST_ID in ids, (f"the lines' correlation ids are {sorted(ids)[:4]}; expected API "
                               f"Gateway's request id {REQUEST_ID!r} on the first request's")


@ex92.behaviour("the lines on-call searches for: 'Sign-up queued' with message_id, "
                "'Sign-up rejected' with fields, 'Sign-up not queued' at ERROR",
                hint=["Lesson 09, exercise 9.2 lists three lines, their levels and their keys.",
                      "INFO for the queued sign-up (with the message id SQS returned), WARNING "
                      "for a rejected one (with the field names), ERROR for a failed send."])
def _(project: Project) -> None:
    out, statuses = _every_path(project)
    by_message: dict[str, list[dict]] = {}
    for line in out.logs:
        by_message.setdefault(line.get("message"), []).append(line)
    queued = by_message.get("Sign-up queued") or []
    assert queued and queued[0].get("level") == "INFO" and queued[0].get("message_id"), (
        "expected one INFO line 'Sign-up queued' with a message_id key for the queued sign-up; "
        f"found {queued[:1] or 'none'}")
    rejected = by_message.get("Sign-up rejected") or []
    assert len(rejected) == len(INVALID) and all(
        line.get("level") == "WARNING" and isinstance(line.get("fields"), list)
        for line in rejected), (
        f"expected {len(INVALID)} WARNING lines 'Sign-up rejected' with a fields list, one per "
        f"invalid sign-up; found {len(rejected)}: {[r.get('level') for r in rejected]}")
    answered = [body.get("fields") if isinstance(body, dict) else None
                for _, status, body in statuses if status == 400]
    for line, fields, (_, what) in zip(rejected, answered, INVALID, strict=False):
        assert isinstance(fields, list) and sorted(map(str, line["fields"])) == sorted(
            map(str, fields)), (
            f"for {what} the 400 names the fields {fields} and the 'Sign-up rejected' line "
            f"{line['fields']}: the line names the same fields, so on-call can tell which "
            "request it was")
    failed = by_message.get("Sign-up not queued") or []
    assert len(failed) == 2 and all(line.get("level") == "ERROR" for line in failed), (
        f"expected 2 ERROR lines 'Sign-up not queued'; found {len(failed)}")


def _leaks(text: str) -> list[str]:
    found = [("the name", NAME), ("the email", EMAIL), ("the email", EMAIL.upper()),
             ("the Authorization header (a bearer token)", TOKEN_PART),
             ("the Cookie header", COOKIE), ("the client's IP address", SOURCE_IP),
             ("the invalid email", "ada-at-example")]
    return sorted({what for what, value in found if value in text})


@ex92.behaviour("nothing personal in any line: no name, email, header, IP or body, on every "
                "path",
                hint=["Lesson 09, 'Nothing personal in the logs': ids and field names, never "
                      "what the person sent; pydantic's error text holds the input values.",
                      "Pin log_event=False (POWERTOOLS_LOGGER_LOG_EVENT may be set), log the "
                      "field names from exc.errors(include_input=False), never str(exc) or the "
                      "sign-up."])
def _(project: Project) -> None:
    out, _ = _every_path(project, POWERTOOLS_LOGGER_LOG_EVENT="true")
    leaks = _leaks(out.text + json.dumps(out.logs))
    assert not leaks, (f"your log lines hold {', '.join(leaks)}: logs are kept for months and "
                       "read by many; they carry ids and field names, never the person's data "
                       "(POWERTOOLS_LOGGER_LOG_EVENT was set to true, as someone debugging "
                       "might)")


@ex92.behaviour("nothing of one request on the next request's lines",
                hint=["Lesson 09, 'Keys that outlive their request': a warm environment keeps "
                      "the Logger, and appended keys stay on it.",
                      "Pass per-line keys with each call, or use clear_state=True on the "
                      "decorator."])
def _(project: Project) -> None:
    # Two environments: a valid sign-up then an invalid one, and the other way round. The
    # first request of each is the reference: what a line holds in a fresh environment.
    lines: dict[str, list[dict]] = {}
    for order in ((GOOD, "req-first-0001"), ({"name": NAME}, "req-second-0002")), \
            (({"name": NAME}, "req-first-0003"), (GOOD, "req-second-0004")):
        with _queue() as (_, url), _captured() as out:
            module = _api(project, url)
            for body, request_id in order:
                _call(module, _event(body, request_id))
        for line in out.logs:
            lines.setdefault(str(line.get("correlation_id")), []).append(line)
    fresh = {"req-second-0002": lines.get("req-first-0003"),
             "req-second-0004": lines.get("req-first-0001")}
    for first, second in (("req-first-0001", "req-second-0002"),
                          ("req-first-0003", "req-second-0004")):
        assert lines.get(first) and lines.get(second), (
            "expected lines from every request, each with its correlation id")
        earlier = {line["message_id"] for line in lines[first] if line.get("message_id")}
        earlier.add(first)
        for line in lines[second]:
            text = json.dumps(line)
            stale = sorted(value for value in earlier if value in text)
            assert not stale and ("message_id" not in line
                                  or line.get("message") == "Sign-up queued"), (
                f"a line of the second request ({line.get('message')!r:.40}) still carries "
                f"{stale or 'a message_id'} from the first request: an engineer reading it "
                "would blame the wrong sign-up")
            reference = [other for other in fresh[second] or []
                         if other.get("message") == line.get("message")] or fresh[second] or []
            known = {key for other in reference for key in other}
            extra = sorted(set(line) - known)
            assert not extra, (
                f"after another request, the line {line.get('message')!r:.40} carries "
                f"{', '.join(extra)}, which the same line has not in a fresh environment: a "
                "key of the earlier request stayed on the Logger")


# --- 9.3 ---------------------------------------------------------------------------------

ex93 = exercise("9.3", "Metrics as EMF, with dimensions that stay few", files=[API])

ALLOWED_DIMENSIONS = {"service", "environment", "reason", "function_name"}


def _metrics(out: Output) -> list[tuple[str, float, str, dict[str, str], str]]:
    """[(name, value, unit, {dimension: value}, namespace)] of every valid document; an
    AssertionError for an invalid one."""
    found = []
    for doc in out.emf:
        meta = doc["_aws"]
        assert isinstance(meta.get("Timestamp"), int), (
            f"an EMF document has no integer Timestamp: {json.dumps(doc)[:160]}")
        directives = meta.get("CloudWatchMetrics")
        assert isinstance(directives, list) and directives, (
            f"an EMF document has no CloudWatchMetrics: {json.dumps(doc)[:160]}")
        for directive in directives:
            dimensions = {name: doc.get(name) for group in directive.get("Dimensions") or []
                          for name in group}
            assert all(isinstance(v, str) for v in dimensions.values()), (
                f"a dimension has no string value in its document: {dimensions}")
            for metric in directive.get("Metrics") or []:
                values = doc.get(metric.get("Name"))
                values = values if isinstance(values, list) else [values]
                assert all(isinstance(v, (int, float)) for v in values), (
                    f"the metric {metric.get('Name')} has no numeric value in its document")
                found += [(metric["Name"], float(v), metric.get("Unit"), dimensions,
                           directive.get("Namespace")) for v in values]
    return found


def _traffic(project: Project, **env: str | None) -> tuple[list, list[tuple[str, int]]]:
    out, statuses = _every_path(project, **env)
    return _metrics(out), statuses


@ex93.behaviour("valid EMF in the namespace POWERTOOLS_METRICS_NAMESPACE, else UsersApp",
                hint=["Lesson 09, 'Metrics as EMF': Metrics prints one JSON document per flush; "
                      "without a namespace it refuses to flush.",
                      "Create Metrics with the variable's value and UsersApp as the default, "
                      "and decorate lambda_handler with log_metrics."])
def _(project: Project) -> None:
    metrics, _ = _traffic(project, POWERTOOLS_METRICS_NAMESPACE="SignupsCheck")
    assert metrics, "your API printed no EMF document"
    spaces = {namespace for *_, namespace in metrics}
    assert spaces == {"SignupsCheck"}, (
        f"with POWERTOOLS_METRICS_NAMESPACE=SignupsCheck your metrics went to {sorted(spaces)}")
    metrics, _ = _traffic(project, POWERTOOLS_METRICS_NAMESPACE=None)
    spaces = {namespace for *_, namespace in metrics}
    assert spaces == {"UsersApp"}, (
        f"without POWERTOOLS_METRICS_NAMESPACE your metrics went to {sorted(spaces) or 'nowhere'}"
        "; expected the default UsersApp (a unit test or a local run sets no variable)")


@ex93.behaviour("SignupsQueued: Count 1 per queued sign-up, none when rejected or not sent",
                hint=["Lesson 09, exercise 9.3: count a sign-up once SQS has accepted it.",
                      "Add SignupsQueued (MetricUnit.Count, value 1) after send_message "
                      "returned, not before."])
def _(project: Project) -> None:
    metrics, _ = _traffic(project)
    queued = [m for m in metrics if m[0] == "SignupsQueued"]
    assert len(queued) == 1 and queued[0][1] == 1.0 and queued[0][2] == "Count", (
        f"one queued sign-up, {len(INVALID)} rejected ones and two failed sends gave "
        f"{[(m[1], m[2]) for m in queued]} for SignupsQueued; expected one Count of 1")


@ex93.behaviour("SignupsRejected: Count 1 per 400, with a reason dimension (invalid_json or "
                "invalid_fields) in a document of its own",
                hint=["Lesson 09, 'Dimensions': a dimension with a few known values lets a "
                      "dashboard split rejections by reason; single_metric gives one metric "
                      "its own dimensions.",
                      "Use single_metric for SignupsRejected, add the reason dimension there; "
                      "SignupsQueued never gets it."])
def _(project: Project) -> None:
    metrics, _ = _traffic(project)
    rejected = [m for m in metrics if m[0] == "SignupsRejected"]
    reasons = sorted(m[3].get("reason", "<none>") for m in rejected)
    expected = sorted(["invalid_json"] + ["invalid_fields"] * (len(INVALID) - 1))
    assert reasons == expected and all(m[1] == 1.0 and m[2] == "Count" for m in rejected), (
        f"{len(INVALID)} rejected sign-ups (one not JSON) gave SignupsRejected with the reasons "
        f"{reasons}; expected {expected}, each a Count of 1")
    split = [m for m in metrics if m[0] != "SignupsRejected" and "reason" in m[3]]
    assert not split, (f"{split[0][0]} carries the reason dimension: it belongs to "
                       "SignupsRejected only, in a document of its own")


@ex93.behaviour("an environment dimension (ENVIRONMENT, default dev) next to service, on both "
                "metrics",
                hint=["Lesson 09, 'Default dimensions': a dimension every metric of the "
                      "function carries is set once, with set_default_dimensions.",
                      "Set environment from ENVIRONMENT (default dev) at module level, and pass "
                      "the default dimensions to single_metric too."])
def _(project: Project) -> None:
    for env, expected in (("staging", "staging"), (None, "dev")):
        metrics, _ = _traffic(project, ENVIRONMENT=env)
        for name in ("SignupsQueued", "SignupsRejected"):
            found = [m for m in metrics if m[0] == name]
            assert found, f"your API published no {name}"
            for _, _, _, dimensions, _ in found:
                assert dimensions.get("environment") == expected and \
                    dimensions.get("service") == "signups-api", (
                        f"with ENVIRONMENT={env or '(unset)'} {name} has the dimensions "
                        f"{dimensions}; expected environment={expected!r} and "
                        "service='signups-api'")


@ex93.behaviour("a ColdStart metric for the first invocation of an environment only",
                hint=["Lesson 09 and lesson 02: log_metrics can count cold starts for you.",
                      "Pass capture_cold_start_metric=True to log_metrics."])
def _(project: Project) -> None:
    metrics, statuses = _traffic(project)
    cold = [m for m in metrics if m[0] == "ColdStart"]
    assert len(cold) == 1, (f"{len(statuses)} invocations of one environment published "
                            f"{len(cold)} ColdStart metric(s); expected exactly 1")


@ex93.behaviour("no dimension whose values grow with requests, users or sign-ups",
                hint=["Lesson 09, 'What a dimension costs': every distinct combination of "
                      "dimension values is a custom metric, billed each month.",
                      "Dimensions: service, environment, reason (and ColdStart's "
                      "function_name). Ids and emails go in log lines, never dimensions."])
def _(project: Project) -> None:
    metrics, _ = _traffic(project)
    keys = {key for m in metrics for key in m[3]}
    extra = sorted(keys - ALLOWED_DIMENSIONS)
    assert not extra, (
        f"your metrics have the dimension(s) {extra}: a value per request, user or sign-up "
        "makes a new custom metric each time, billed every month")
    combos = {(m[0], tuple(sorted(m[3].items()))) for m in metrics}
    assert len(combos) <= 5, (f"your metrics make {len(combos)} dimension combinations for one "
                              "environment's traffic; expected a handful")


@ex93.behaviour("nothing personal in the EMF documents, metadata included",
                hint=["Lesson 09, 'Metrics as EMF': an EMF document is a log line, kept as long "
                      "as the others; its metadata is searchable, so it is for ids.",
                      "Keep names, emails, headers and bodies out of dimensions and metadata; "
                      "a message id is fine."])
def _(project: Project) -> None:
    out, _ = _every_path(project)
    leaks = _leaks(json.dumps(out.emf))
    assert not leaks, (f"your EMF documents hold {', '.join(leaks)}: they are log lines like the "
                       "others, kept for months and read by many")


# --- questions ---------------------------------------------------------------------------

question(
    "9.a",
    "The guideline logs `logger.info(json.dumps({...}))`. The function's log format is set to "
    "JSON (Lambda's advanced logging controls). What does CloudWatch receive?",
    ["One JSON object whose fields are the dict's keys",
     "A JSON object whose `message` is a string holding your JSON, quotes escaped: a filter "
     "on `$.request_id` finds nothing",
     "Plain text: the JSON log format only applies to print()"],
    answer=1,
    why=["Lambda's formatter wraps each record: your dict is already a string by then.",
         "Right: the JSON is encoded twice. Log the fields as keys (Powertools' Logger, or "
         "`extra=` with the standard library) and let one formatter write one object.",
         "It is the other way round: print() output stays plain text, logging records become "
         "JSON."],
)

question(
    "9.b",
    "A worker reads messages that the sign-ups API sent with a `correlation_id` attribute. "
    "Where is the value in the record Lambda hands the worker?",
    ["`record['MessageAttributes']['correlation_id']['StringValue']`, as in SendMessage",
     "`record['messageAttributes']['correlation_id']['stringValue']`",
     "`record['attributes']['correlation_id']`"],
    answer=1,
    why=["That is the shape of the SendMessage and ReceiveMessage APIs; Lambda's event uses "
         "camelCase keys.",
         "Right: Lambda's SQS event spells the keys in camelCase: messageAttributes, "
         "stringValue, dataType.",
         "`attributes` holds SQS's system attributes (ApproximateReceiveCount, SentTimestamp...), "
         "not yours."],
)

question(
    "9.c",
    "Which is the cheapest way to debug one slow request in production without logging every "
    "request at DEBUG?",
    ["Set POWERTOOLS_LOG_LEVEL=DEBUG for a day",
     "Log buffering: DEBUG lines are kept in memory and written only when the request logs an "
     "error, or sampling DEBUG for a small share of requests",
     "Set POWERTOOLS_LOGGER_LOG_EVENT=true"],
    answer=1,
    why=["Every request's DEBUG lines are ingested and stored: CloudWatch bills per GB.",
         "Right: buffering writes the DEBUG context of the requests that failed; sampling "
         "(sampling_rate) writes it for a fraction of all requests.",
         "That logs every event whole: headers, tokens, personal data."],
)

question(
    "9.d",
    "You add a `user_id` dimension to the SignupsQueued metric. The service signs up 50,000 "
    "people a month. What happens?",
    ["Nothing special: dimensions are free labels",
     "50,000 custom metrics a month, each billed, and no dashboard can show them",
     "CloudWatch drops dimensions it considers high-cardinality"],
    answer=1,
    why=["Each distinct combination of dimension values is a separate custom metric.",
         "Right: ids belong in log lines (searchable with Logs Insights) or in EMF metadata, "
         "never in dimensions.",
         "CloudWatch accepts them all, and bills them."],
)

question(
    "9.e",
    "`@tracer.capture_method` wraps a function that returns a user record with an email. What "
    "ends up in the trace?",
    ["Nothing: traces only hold timings",
     "The return value, as metadata of the subsegment, unless capture_response=False",
     "Only the function's annotations"],
    answer=1,
    why=["Tracer records the response (and exceptions) as metadata by default.",
         "Right: traces are readable by whoever can read X-Ray; use capture_response=False (or "
         "POWERTOOLS_TRACER_CAPTURE_RESPONSE=false) for functions that return personal data.",
         "Annotations are what you add with put_annotation; the response is metadata, added "
         "unless you turn it off."],
)

question(
    "9.f",
    "You want to find every trace of sign-ups rejected for a missing email. Which goes in an "
    "annotation, which in metadata?",
    ["Both in metadata: annotations are for internal use",
     "`reason` as an annotation (indexed: filter expressions can search it); the list of field "
     "names as metadata (kept, not searchable)",
     "Both as annotations, with the person's email so support can find them"],
    answer=1,
    why=["Metadata is not indexed: a filter expression cannot find traces by it.",
         "Right: annotations are few, indexed key-value pairs; metadata can be any JSON and is "
         "only read once you have the trace.",
         "Never personal data in a trace; and annotations should have few distinct values."],
)

question(
    "9.g",
    "Which alarm tells you that messages are being lost to the dead-letter queue?",
    ["The worker's Errors metric above 0",
     "ApproximateNumberOfMessagesVisible of the DLQ above 0",
     "The main queue's NumberOfMessagesSent"],
    answer=1,
    why=["With partial batch responses a failing message does not fail the invocation; Errors "
         "stays at 0 while messages move to the DLQ.",
         "Right: any message in the DLQ needs a human. The main queue's "
         "ApproximateAgeOfOldestMessage tells you the worker is falling behind.",
         "That counts messages sent, not messages lost."],
)


# --- 9.4 ---------------------------------------------------------------------------------
# The learner's lesson-05 worker, imported afresh on moto's tables, handed an SQS batch whose
# records carry different correlation ids (or none); every line it writes is read back.

WORKER = "src/handlers/sqs_handler.py"
WORKER_MODULE = "handlers.sqs_handler"
WORKER_TABLES = ("users-check-9-4", "idempotency-check-9-4")

ex94 = exercise("9.4", "The worker logs under the API's id", files=[WORKER, CORRELATION])


def _batch(*records: tuple[str, str | None]) -> dict[str, Any]:
    """An SQS event: one record per (email, correlation id or None)."""
    from course.learner import events

    event = events.sqs(*[json.dumps({"name": f"User {n}", "email": email})
                         for n, (email, _) in enumerate(records)], queue="signups")
    for record, (_, correlation) in zip(event["Records"], records, strict=True):
        record["messageAttributes"] = {} if correlation is None else {
            "correlation_id": {"stringValue": correlation, "stringListValues": [],
                               "binaryListValues": [], "dataType": "String"}}
    return event


def _worker_run(project: Project, event: dict[str, Any]) -> tuple[Any, Output, dict[str, str]]:
    """(the handler's response, its lines, {email: user_id of the stored users})."""
    import boto3
    from moto import mock_aws

    users_name, idempotency_name = WORKER_TABLES
    os.environ.update(USERS_TABLE=users_name, IDEMPOTENCY_TABLE=idempotency_name,
                      POWERTOOLS_SERVICE_NAME="signups-worker")
    for name in ("POWERTOOLS_IDEMPOTENCY_DISABLED", "POWERTOOLS_LOGGER_LOG_EVENT"):
        os.environ.pop(name, None)
    with mock_aws():
        users = users_tables(boto3.resource("dynamodb"), users_name, idempotency_name)
        for name in [n for n in sys.modules if n == WORKER_MODULE or n == CORRELATION_MODULE]:
            del sys.modules[name]
        handler = project.function(WORKER_MODULE, "lambda_handler")
        with _captured() as out:
            try:
                response = handler(event, lambda_context("signups-worker"))
            except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
                first = (str(exc).strip().splitlines() or [""])[0]
                raise AssertionError(
                    f"lambda_handler raised {type(exc).__name__} ({first[:160]}): a batch "
                    "whose records carry correlation ids (or none) must be processed as "
                    "lesson 05's worker processes any batch") from None
        stored = {item["email"]: item["user_id"] for item in users.scan()["Items"]}
    return response, out, stored


def _lines_of(out: Output, key: str, value: str) -> list[dict[str, Any]]:
    return [line for line in out.logs if line.get(key) == value]


@ex94.behaviour("each record's lines carry the correlation id its message brought",
                hint=["Lesson 05's record_handler runs once per record: that is where the "
                      "id of this record belongs, before anything is logged for it.",
                      "Your correlation_id_of (exercise 9.1) reads it from the record; "
                      "Logger's set_correlation_id puts it on every following line. Set once "
                      "per batch, every record would carry the first one's id."])
def _(project: Project) -> None:
    ids = {"ada@example.com": "req-aaa-111", "grace@example.com": "req-bbb-222",
           "alan@example.com": "req-ccc-333"}
    _, out, stored = _worker_run(project, _batch(*ids.items()))
    assert set(stored) == set(ids), (
        f"the worker stored {len(stored)} of the 3 users of a good batch: it must still create "
        "every user it is sent")
    for email, correlation in ids.items():
        lines = _lines_of(out, "user_id", stored[email])
        assert lines, ("no line names the user the worker created (lesson 05 logs 'User "
                       "created' with user_id): keep that line")
        wrong = {line.get("correlation_id") for line in lines} - {correlation}
        assert not wrong, (
            f"the line about the user of the message with correlation id {correlation!r} "
            f"carries correlation_id {sorted(map(str, wrong))[0]!r}: each record's lines must "
            "carry the id its own message brought")


@ex94.behaviour("a record without the id is processed, and logs under its own message id",
                hint=["Not every message comes from the API: one sent by a script has no "
                      "correlation_id attribute. It must still be processed.",
                      "correlation_id_of falls back to the record's message id; reading the "
                      "attribute yourself without a fallback raises KeyError for such a "
                      "record, which then fails and retries forever."])
def _(project: Project) -> None:
    event = _batch(("ada@example.com", "req-aaa-111"), ("grace@example.com", None))
    message_id = event["Records"][1]["messageId"]
    response, out, stored = _worker_run(project, event)
    failed = [item.get("itemIdentifier") for item in
              (response or {}).get("batchItemFailures", [])]
    assert "grace@example.com" in stored and message_id not in failed, (
        "a message without a correlation_id attribute was reported as failed and its user not "
        "created: such a message is valid, it just has no id from the API")
    wrong = {line.get("correlation_id") for line in
             _lines_of(out, "user_id", stored["grace@example.com"])} - {message_id}
    assert not wrong, (
        f"the line about the message without an id carries correlation_id "
        f"{sorted(map(str, wrong))[0]!r}, not its own message id: an id must never carry over "
        "from the record before")


@ex94.behaviour("a failing record's warning carries its own correlation id",
                hint=["The line on-call needs most is the failure's: Powertools' batch "
                      "processor logs it after your record handler raised.",
                      "So the id must be set at the very start of the record handler, before "
                      "anything that can fail, not after the user is created."])
def _(project: Project) -> None:
    event = _batch(("ada@example.com", "req-aaa-111"), ("not-an-email", "req-poison-9"))
    poison_id = event["Records"][1]["messageId"]
    response, out, _ = _worker_run(project, event)
    failed = [item.get("itemIdentifier") for item in
              (response or {}).get("batchItemFailures", [])]
    assert failed == [poison_id], (
        f"a batch with one invalid sign-up reported {failed} as failed: exactly that message "
        "must be reported, as in lesson 05")
    warnings_ = [line for line in out.logs if line.get("level") in ("WARNING", "ERROR")
                 and line.get("message_id", poison_id) == poison_id]
    assert warnings_, "no WARNING or ERROR line about the failing message (lesson 05 logs one)"
    wrong = {line.get("correlation_id") for line in warnings_} - {"req-poison-9"}
    assert not wrong, (
        f"the failure's line carries correlation_id {sorted(map(str, wrong))[0]!r}, not the "
        "id its message brought ('req-poison-9'): the failing request could not be found")


@ex94.behaviour("every line still names its message, and no message body is logged",
                hint=["The message id stays on every line next to the correlation id: two "
                      "different keys for two different searches.",
                      "Log ids only: a message body holds the person's name and email."])
def _(project: Project) -> None:
    event = _batch(("ada@example.com", "req-aaa-111"), ("grace@example.com", "req-bbb-222"))
    _, out, _ = _worker_run(project, event)
    record_lines = [line for line in out.logs if line.get("correlation_id") in
                    ("req-aaa-111", "req-bbb-222")]
    assert record_lines, "no line carries a record's correlation id"
    missing = [line.get("message") for line in record_lines if not line.get("message_id")]
    assert not missing, (
        f"the line {missing[0]!r} has no message_id: keep lesson 05's message id on every line "
        "of a record, next to its correlation id")
    for secret in ("ada@example.com", "grace@example.com", "User 0", "User 1"):
        assert secret not in out.text, (
            "a line holds what a message's body holds (a name or an email): log the ids, "
            "never the body")


question(
    "9.h",
    "A batch of ten sign-ups reaches the worker, each message carrying the id of the API "
    "request that queued it. Where does the worker set the correlation id?",
    ["Once, in lambda_handler, from the first record: a batch is one invocation",
     "At the start of the record handler, for each record, before anything that can fail",
     "After the user is created, so only successful work is tagged"],
    answer=1,
    why=["Ten records can come from ten requests: every record would be filed under the first "
         "one's request.",
         "Right: each record's lines, its failure's included (the batch processor logs it "
         "after the handler raised), carry the id of the request that caused it.",
         "Then the line on-call needs most, the failure's, carries no id (or the previous "
         "record's)."],
)
