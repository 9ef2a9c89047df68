"""Hidden tests for lesson 05 (SQS batch processing without losing messages).

Messages are written for the learner. Every behaviour starts its own moto mock, creates the
users table and the idempotency table itself (not with the learner's code, except in 5.3),
points USERS_TABLE and IDEMPOTENCY_TABLE at them and imports the handler afresh. Failures are
injected below boto3: a PutItem for a chosen email answers ProvisionedThroughputExceeded, as a
throttled table does. The event source mapping is the toolkit's simulation, on moto's SQS.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from course.checks import BehaviourTimeout, Project, exercise, question
from course.checks.kit import (
    captured_logs,
    dynamodb_put_faults,
    json_lines,
    lambda_context,
    users_tables,
)

HANDLER = "src/handlers/sqs_handler.py"
MODULE = "handlers.sqs_handler"
IDEMPOTENCY = "src/services/idempotency.py"
IDEMPOTENCY_MODULE = "services.idempotency"
USERS_TABLE = "users-check"
IDEMPOTENCY_TABLE = "idempotency-check"
RBIF = ["ReportBatchItemFailures"]


# --- shared ----------------------------------------------------------------------------------

def _signup(name: str, email: str, age: int | None = None) -> str:
    body: dict[str, Any] = {"name": name, "email": email}
    if age is not None:
        body["age"] = age
    return json.dumps(body)


@contextmanager
def _worker(project: Project) -> Iterator[tuple[Any, Any, Any]]:
    """(handler module, users table, DynamoDB resource) in a fresh mock, the module imported
    afresh with USERS_TABLE and IDEMPOTENCY_TABLE pointing at the check's tables."""
    import boto3
    from moto import mock_aws

    os.environ.update(USERS_TABLE=USERS_TABLE, IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE)
    for name in ("POWERTOOLS_IDEMPOTENCY_DISABLED", "POWERTOOLS_LOGGER_LOG_EVENT"):
        os.environ.pop(name, None)
    with mock_aws():
        resource = boto3.resource("dynamodb")
        users = users_tables(resource, USERS_TABLE, IDEMPOTENCY_TABLE)
        sys.modules.pop(MODULE, None)
        module = project.module(MODULE)
        project.function(MODULE, "lambda_handler")
        yield module, users, resource




def _call(handler: Any, event: dict) -> Any:
    """handler(event, context), a crash explained to the learner."""
    try:
        return handler(event, lambda_context("signups-worker"))
    except BehaviourTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
        first = (str(exc).strip().splitlines() or [""])[0]
        raise AssertionError(
            f"lambda_handler raised {type(exc).__name__} ({first[:160]}) for a batch where only "
            "some messages fail: report those in the response instead of failing the whole "
            "batch") from None


def _call_with(handler: Any, event: dict, context: Any) -> Any:
    try:
        return handler(event, context)
    except BehaviourTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
        raise AssertionError(f"lambda_handler raised {type(exc).__name__} for a batch of one "
                             "good sign-up") from None


def _reported(response: Any) -> list[str]:
    """The ids a partial batch response reports, or an AssertionError explaining its shape."""
    assert isinstance(response, dict) and isinstance(response.get("batchItemFailures"), list), (
        f"lambda_handler returned {response!r:.120}; Lambda expects "
        '{"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}')
    ids = []
    for failure in response["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        assert isinstance(identifier, str) and identifier, (
            f"a batchItemFailures entry is {failure!r:.80}: each is {{'itemIdentifier': "
            "<the message's messageId>}; Lambda fails the whole batch on anything else")
        ids.append(identifier)
    return ids


def _event(*bodies: str) -> tuple[dict, list[str]]:
    from course.learner import events

    event = events.sqs(*bodies, queue="signups")
    return event, [record["messageId"] for record in event["Records"]]


def _redelivered(record: dict) -> dict:
    """The same message received again: new receipt handle, receive count + 1."""
    again = json.loads(json.dumps(record))
    again["receiptHandle"] = "AQEB" + uuid.uuid4().hex * 4
    count = int(again["attributes"]["ApproximateReceiveCount"]) + 1
    again["attributes"]["ApproximateReceiveCount"] = str(count)
    return again


def _emails(table: Any) -> list[str]:
    return sorted(str(item.get("email")) for item in table.scan()["Items"])


# --- 5.1 -------------------------------------------------------------------------------------

ex51 = exercise("5.1", "Partial batch responses", files=[HANDLER])

GOOD = [("Ada", "ada@example.com", 36), ("Grace", "grace@example.com", None),
        ("Linus", "linus@example.com", 54)]
THROTTLED = "throttled@example.com"


def _mixed_batch() -> tuple[dict, list[str], dict[str, str]]:
    """Three good sign-ups, one body that is not JSON, one invalid email, one that DynamoDB
    refuses: (event, ids, failed id -> why)."""
    bodies = [_signup(*GOOD[0]), "not JSON at all", _signup(*GOOD[1]),
              _signup("Mallory", "not-an-email"), _signup("Tim", THROTTLED), _signup(*GOOD[2])]
    event, ids = _event(*bodies)
    why = {ids[1]: "the body that is not JSON", ids[3]: "the sign-up with an invalid email",
           ids[4]: "the sign-up DynamoDB refused (throttled)"}
    return event, ids, why


@ex51.behaviour("reports exactly the messages that failed, in any order",
                hint=["Section 4 shows the partial batch response: Lambda retries only the "
                      "messages whose ids it lists.",
                      "BatchProcessor collects the records whose record handler raised; "
                      "process_partial_response builds the response from them.",
                      "Let every failure raise out of the record handler: a caught exception "
                      "is a success to the processor."])
def _(project: Project) -> None:
    with _worker(project) as (module, _, _resource), dynamodb_put_faults({THROTTLED: -1}):
        event, _ids, why = _mixed_batch()
        reported = _reported(_call(module.lambda_handler, event))
    missing = [text for failed_id, text in why.items() if failed_id not in reported]
    extra = len(set(reported) - set(why))
    assert not missing, (
        f"a batch of six where three fail: your response does not list {', '.join(missing)}. "
        "A message left out of batchItemFailures is deleted by Lambda: it is lost")
    assert not extra, (
        f"your response also lists {extra} message(s) that succeeded: Lambda will deliver them "
        "again and they will be processed twice")
    assert len(reported) == len(set(reported)), "your response lists a message more than once"


@ex51.behaviour('answers {"batchItemFailures": []} when every message succeeds',
                hint=["Section 4: a batch without failures still answers with the response "
                      "shape, its list empty.",
                      "process_partial_response returns that for you."])
def _(project: Project) -> None:
    with _worker(project) as (module, _, _resource), dynamodb_put_faults():
        event, _ids = _event(*(_signup(*user) for user in GOOD))
        response = _call(module.lambda_handler, event)
    assert _reported(response) == [], (
        f"three good sign-ups: your handler answered {response!r:.120}; expected an empty "
        "batchItemFailures list")


@ex51.behaviour("each message that succeeds creates its user in the USERS_TABLE table",
                hint=["The record handler turns one message into one user, as POST /users does "
                      "in lesson 04: a User from the sign-up, saved through users_service().",
                      "users_service() reads the table name from USERS_TABLE: the check sets it "
                      "to its own table."])
def _(project: Project) -> None:
    with _worker(project) as (module, users, _resource), dynamodb_put_faults({THROTTLED: -1}):
        event, _ids, _why = _mixed_batch()
        try:
            module.lambda_handler(event, lambda_context("signups-worker"))
        except BehaviourTimeout:
            raise
        except Exception:  # noqa: BLE001 - another behaviour explains a crash
            pass
        items = users.scan()["Items"]
    stored = {item.get("email"): item for item in items}
    expected = {email: (name, age) for name, email, age in GOOD}
    assert set(stored) == set(expected), (
        f"after a batch with three good sign-ups the table {USERS_TABLE!r} (USERS_TABLE) holds "
        f"{sorted(map(str, stored))}; expected {sorted(expected)}")
    for email, (name, age) in expected.items():
        item = stored[email]
        assert item.get("name") == name and (item.get("age") == age or (
            age is None and "age" not in item)) and item.get("user_id"), (
            f"the user stored for {email} is {item!r:.140}; expected name {name!r}, age {age!r} "
            "and a user_id (User.new)")


@ex51.behaviour("a batch whose every message fails comes back whole",
                hint=["Section 4, 'every record fails': Powertools raises BatchProcessingError "
                      "then, and Lambda returns the whole batch to the queue.",
                      "Either let that exception out of lambda_handler, or answer with every "
                      "message's id: both bring every message back."])
def _(project: Project) -> None:
    with _worker(project) as (module, users, _resource), dynamodb_put_faults():
        event, ids = _event("{broken", _signup("Eve", "eve-at-example.com"), "[]")
        try:
            response = module.lambda_handler(event, lambda_context("signups-worker"))
        except BehaviourTimeout:
            raise
        except Exception:  # noqa: BLE001 - failing the invocation is one right answer
            return
        reported = _reported(response)
        assert set(reported) == set(ids), (
            f"three messages that all fail: your handler answered normally and reported "
            f"{len(set(reported) & set(ids))} of them. Lambda deletes every message that is not "
            "reported")
        assert not users.scan()["Items"], "a batch of bad messages created users"


@ex51.behaviour("through the event source mapping no message is lost or processed twice",
                hint=["Section 6 runs the mapping: successes are deleted, failures come back "
                      "after the visibility timeout until the redrive policy moves them to the "
                      "dead-letter queue.",
                      "A message is lost when a failure is not reported; it is processed twice "
                      "when a success is reported, or when the whole batch fails for one "
                      "message."])
def _(project: Project) -> None:
    import boto3

    from course.awslambda.event_source_mapping import EventSourceMapping

    good = [(f"User {n}", f"user{n}@example.com", 20 + n) for n in range(5)]
    with _worker(project) as (module, users, _resource), dynamodb_put_faults(
            {"flaky@example.com": 1, "down@example.com": -1}):
        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName="signups-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        queue = sqs.create_queue(QueueName="signups", Attributes={
            "VisibilityTimeout": "30", "RedrivePolicy": json.dumps({
                "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
                "maxReceiveCount": "3"})})["QueueUrl"]
        bodies = [_signup(*good[0]), "poison: not JSON", _signup(*good[1]),
                  _signup("Flaky", "flaky@example.com"), _signup(*good[2]),
                  _signup("Bad", "bad-email"), _signup("Down", "down@example.com"),
                  _signup(*good[3]), _signup(*good[4])]
        sent = [sqs.send_message(QueueUrl=queue, MessageBody=b)["MessageId"] for b in bodies]
        mapping = EventSourceMapping(queue, module.lambda_handler, sqs=sqs, batch_size=5,
                                     function_response_types=RBIF, function_timeout=5)
        try:
            mapping.drain(max_batches=40)
        except BehaviourTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
            raise AssertionError(f"running the mapping raised {type(exc).__name__}: "
                                 f"{str(exc)[:160]}") from None
        emails = _emails(users)
        dead = {m["MessageId"] for m in mapping.dead_letters()}
    expected = sorted([email for _, email, _ in good] + ["flaky@example.com"])
    twice = sorted({e for e in emails if emails.count(e) > 1})
    assert not twice, (f"through the mapping, {twice} got more than one user: a message that "
                       "had succeeded was processed again")
    lost = [e for e in expected if e not in emails]
    assert not lost, (
        f"through the mapping, {lost} never got a user: their messages were deleted without "
        "being processed, or the one DynamoDB refused once was not retried")
    should_be_dead = {sent[1], sent[5], sent[6]}
    assert dead == should_be_dead, (
        f"three messages always fail (not JSON, an invalid email, a table that keeps refusing): "
        f"{len(dead & should_be_dead)} of them reached the dead-letter queue, and "
        f"{len(dead - should_be_dead)} other message(s). A failure must be reported so it comes "
        "back, until SQS moves it to the dead-letter queue")


@ex51.behaviour("never deletes a message itself: Lambda deletes what is not reported",
                hint=["Section 4: with a partial batch response, deleting is the event source "
                      "mapping's job.",
                      "Remove any SQS client and delete_message call from the handler."])
def _(project: Project) -> None:
    calls: list[tuple[str, str]] = []
    with _worker(project) as (module, _, _resource), dynamodb_put_faults({THROTTLED: -1}, calls):
        event, _ids, _why = _mixed_batch()
        try:
            module.lambda_handler(event, lambda_context("signups-worker"))
        except BehaviourTimeout:
            raise
        except Exception:  # noqa: BLE001 - another behaviour explains a crash
            pass
    sqs_calls = sorted({operation for service, operation in calls if service == "sqs"})
    assert not sqs_calls, (
        f"your handler called SQS ({', '.join(sqs_calls)}): Lambda deletes the messages you do "
        "not report; deleting them yourself needs the queue's URL and a permission, and a "
        "delete done before a later failure loses the message")


@ex51.behaviour('users_service(): the USERS_TABLE table ("users" when unset), created on the '
                "first call, then reused",
                hint=["Exercise 5.1 asks for lesson 04's users_service(): the table's name from "
                      "USERS_TABLE, with a default, read when the service is created.",
                      "Read the variable inside users_service() (not in a constant at import), "
                      "keep its cache, and let the record handler go through it."])
def _(project: Project) -> None:
    later = "users-later"
    with _worker(project) as (module, _users, resource), dynamodb_put_faults():
        services = project.module("services.dynamodb_service")
        service_class = services.DynamoDBService
        created: list[str] = []

        class Counted(service_class):  # type: ignore[misc, valid-type]
            def __init__(self, table_name: str, *args: Any, **kwargs: Any) -> None:
                created.append(table_name)
                super().__init__(table_name, *args, **kwargs)

        services.DynamoDBService = Counted  # however the handler reaches the class
        if getattr(module, "DynamoDBService", None) is service_class:
            module.DynamoDBService = Counted
        # The variable changes after the import, before the first message (as in a test).
        os.environ["USERS_TABLE"] = later
        table = users_tables(resource, later, "idempotency-later")
        event, _ids = _event(*(_signup(*user) for user in GOOD))
        _call(module.lambda_handler, event)
        emails = _emails(table)
        assert emails == sorted(email for _, email, _ in GOOD), (
            "USERS_TABLE was changed after the handler was imported, before its first "
            f"message: the table it names holds {emails} after three good sign-ups. Read "
            "USERS_TABLE when the service is created, on the first call")
        assert len(created) == 1, (
            f"a batch of three messages created {len(created)} DynamoDBService objects: create "
            "one on the first call of users_service() and reuse it for every message")
        assert module.users_service() is module.users_service(), (
            "users_service() returns a new service on each call")
        os.environ.pop("USERS_TABLE")
        clear = getattr(module.users_service, "cache_clear", None)
        assert callable(clear), "users_service() lost its cache (@functools.cache)"
        clear()
        try:
            service = module.users_service()
        except BehaviourTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
            raise AssertionError(f"with USERS_TABLE unset, users_service() raised "
                                 f"{type(exc).__name__}: the default is 'users'") from None
        finally:
            os.environ["USERS_TABLE"] = USERS_TABLE
        name = getattr(getattr(service, "_table", None), "name", None)
        assert name == "users", (
            f"with USERS_TABLE unset, users_service() uses the table {name!r}; expected 'users', "
            "the default")


@ex51.behaviour('record_handler returns the new user\'s id and logs "User created" with it, '
                "nothing from the body",
                hint=["Exercise 5.1's text: one log line per user created, with its user_id; "
                      "the body's name and email are personal data.",
                      "Log the user_id alone, and return it (a string: 5.4 stores it as the "
                      "result)."])
def _(project: Project) -> None:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    with _worker(project) as (module, users, _resource), dynamodb_put_faults(), \
            captured_logs() as logs:
        event, _ids = _event(_signup("Quintessa Secretname", "quintessa@example.com", 41))
        try:
            result = module.record_handler(record=SQSRecord(event["Records"][0]))
        except BehaviourTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
            raise AssertionError(f"record_handler(record=...) raised {type(exc).__name__} for a "
                                 "valid sign-up") from None
        items = users.scan()["Items"]
    assert len(items) == 1, f"one valid sign-up stored {len(items)} user(s)"
    user_id = items[0].get("user_id")
    assert result == user_id, (
        f"record_handler returned {result!r:.80}; expected the new user's id, {user_id!r}")
    lines = [line for line in logs.getvalue().splitlines() if "User created" in line]
    assert any(str(user_id) in line for line in lines), (
        'no log line says "User created" with the new user\'s user_id')
    text = logs.getvalue()
    for secret in ("Quintessa", "quintessa@example.com"):
        assert secret not in text, (
            f"the logs hold {secret!r}, from the message's body: log the user_id only")


question("5.a", "Lambda invokes your function with a batch of 10 messages from a queue. The "
         "function raises an exception while working on the 7th. What happens to the 10 "
         "messages?",
         ["The first 6 are deleted, the last 4 come back after the visibility timeout.",
          "All 10 come back after the visibility timeout, the 6 processed ones too.",
          "All 10 are deleted: the function was invoked, so the batch was delivered.",
          "All 10 go to the dead-letter queue at once."],
         answer=1,
         why=["Lambda knows nothing of your loop: without a partial batch response, a failed "
              "invocation means the whole batch failed.",
              "A failed invocation deletes nothing: every message reappears once its visibility "
              "timeout ends, including the 6 that were already processed (they will be processed "
              "again).",
              "Only a successful invocation deletes the batch.",
              "The dead-letter queue only receives a message after maxReceiveCount receives, and "
              "it is the queue's redrive policy that moves it, not Lambda."])

question("5.b", "The guideline's handler catches every exception, logs it and returns "
         '{"processed_records": 2, "failed_records": 1}. Where is the failed message afterwards?',
         ["Back in the queue: the handler counted it as failed.",
          "In the dead-letter queue.",
          "Nowhere: Lambda deleted it with the rest of the batch.",
          "Still in flight until the visibility timeout ends, then deleted."],
         answer=2,
         why=["Lambda never reads failed_records: to Lambda the function returned normally.",
              "The redrive policy only moves messages that keep coming back; this one never comes "
              "back.",
              "A normal return deletes the whole batch. The log line is the only trace left, and "
              "the message is gone.",
              "Lambda deletes the batch as soon as the function returns."])

question("5.c", "A handler raises whenever any message of the batch fails (the naive fix). A "
         "batch holds 9 good messages and 1 that can never succeed; maxReceiveCount is 3. What "
         "happens?",
         ["The bad one goes to the dead-letter queue, the 9 good ones are processed once.",
          "The 9 good ones are processed up to 3 times each, then all 10 end in the dead-letter "
          "queue.",
          "The bad one is retried forever, the good ones are processed once."],
         answer=1,
         why=["That is what a partial batch response gives, not the naive fix.",
              "Each receive fails the whole batch: the good messages run again every time "
              "(duplicate side effects) and reach maxReceiveCount together with the bad one.",
              "With a redrive policy nothing is retried forever, and the good messages share "
              "the bad one's fate."])

question("5.d", "Your handler returns a correct batchItemFailures list, but the event source "
         "mapping was created without FunctionResponseTypes=[\"ReportBatchItemFailures\"]. "
         "What does Lambda do with the failed messages?",
         ["Retries them: the response is enough.",
          "Deletes them with the rest of the batch: the response is not read.",
          "Fails the whole batch, because the response has an unknown shape."],
         answer=1,
         why=["The response only counts when the mapping asks for it.",
              "Without the setting Lambda never reads the response: a normal return deletes "
              "every message, so the failures are lost. Turn it on in the mapping (Terraform's "
              "function_response_types).",
              "Lambda ignores the response entirely; it does not validate it."])


# --- 5.2 -------------------------------------------------------------------------------------

ex52 = exercise("5.2", "Poison messages: reported, never logged", files=[HANDLER])

SECRET_NAME = "Quintessa Secretname"
SECRET_EMAIL = "quintessa.private@"
SECRET_TEXT = "PRIVATE-BODY-7731"


def _parse(project: Project) -> tuple[Any, Any]:
    module = project.module(MODULE)
    parse = project.function(MODULE, "parse_signup")
    poison = getattr(module, "PoisonMessage", None)
    assert isinstance(poison, type) and issubclass(poison, Exception), (
        f"{HANDLER} has no exception class PoisonMessage: keep the scaffold's class")
    return parse, poison


def _poison_text(parse: Any, poison: type, body: str) -> str:
    """str() and traceback of the PoisonMessage parse_signup raises for body."""
    return "\n".join(_poison(parse, poison, body))


def _poison(parse: Any, poison: type, body: str) -> tuple[str, str]:
    """(str(), traceback) of the PoisonMessage parse_signup raises for body."""
    try:
        result = parse(body)
    except poison as exc:
        return str(exc), "".join(traceback.format_exception(exc))
    except BehaviourTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's exception, explained
        raise AssertionError(f"parse_signup({body[:40]!r}) raised {type(exc).__name__}; expected "
                             "PoisonMessage: the record handler reports it, and the message's "
                             "retries end in the dead-letter queue") from None
    raise AssertionError(f"parse_signup({body[:40]!r}) returned {result!r:.80} for a body that "
                         "is not a sign-up; raise PoisonMessage")


@ex52.behaviour("parse_signup returns a UserCreate for a valid sign-up",
                hint=["Section 5: the body is validated with lesson 03's UserCreate model.",
                      "pydantic models read JSON text directly: look for the model method that "
                      "validates a JSON string."])
def _(project: Project) -> None:
    parse, _poison = _parse(project)
    user_model = project.module("models.user").UserCreate
    for body, expected in ((_signup("Ada", "Ada@Example.com", 36), ("Ada", "ada@example.com", 36)),
                           (_signup("Grace", "grace@example.com"), ("Grace", "grace@example.com",
                                                                     None))):
        got = parse(body)
        assert isinstance(got, user_model), (
            f"parse_signup({body}) returned a {type(got).__name__}; expected a UserCreate")
        assert (got.name, got.email, got.age) == expected, (
            f"parse_signup({body}) gave name={got.name!r}, email={got.email!r}, age={got.age!r}")


@ex52.behaviour("parse_signup raises PoisonMessage for a body that is not a sign-up",
                hint=["Section 5 lists the poison: not JSON, JSON that is not an object, an "
                      "object that is not a valid sign-up.",
                      "Catch what pydantic raises when the body does not validate and raise "
                      "PoisonMessage instead."])
def _(project: Project) -> None:
    parse, poison = _parse(project)
    for body in ("not JSON", "", "[1, 2]", '"a string"', '{"name": "Ada"}',
                 _signup("Ada", "not-an-email"), _signup("Ada", "ada@example.com", -4),
                 json.dumps({"name": "Ada", "email": "ada@example.com", "user_id": "mine"})):
        _poison_text(parse, poison, body)


@ex52.behaviour("PoisonMessage names the bad fields, never their values",
                hint=["Section 5: pydantic's error text quotes the input (input_value=...), and "
                      "a traceback prints the exceptions chained to yours.",
                      "Build the message from each error's location and type, and raise "
                      "PoisonMessage so that the ValidationError is not chained to it."])
def _(project: Project) -> None:
    parse, poison = _parse(project)
    message, traceback_text = _poison(parse, poison, json.dumps(
        {"name": SECRET_NAME, "email": SECRET_EMAIL, "age": 999}))
    text = message + "\n" + traceback_text
    for secret in (SECRET_EMAIL, "999", SECRET_NAME):
        assert secret not in text, (
            f"the PoisonMessage for a bad sign-up shows the value {secret!r} (in its text or "
            "in the traceback of a chained exception): a value is personal data, and what an "
            "exception says ends up in the logs")
    assert "email" in message and "age" in message, (
        f"the PoisonMessage does not say which fields are wrong (email and age): "
        f"{message[:120]!r}")
    assert "value_error" in message and "less_than_equal" in message, (
        f"the PoisonMessage names the fields but not what is wrong with each (its error type, "
        f"e.g. value_error): {message[:120]!r}")
    text = _poison_text(parse, poison, SECRET_TEXT + " {")
    assert SECRET_TEXT not in text, (
        "for a body that is not JSON, the PoisonMessage (or a chained exception) quotes the "
        "body: never put the body in an exception")


def _logged_batch(project: Project, *bodies: str, level: str = "INFO") -> tuple[str, list[str]]:
    """(everything logged, ids) for one batch, the raised error's traceback included (Lambda
    logs it). level: POWERTOOLS_LOG_LEVEL while the handler is imported and runs."""
    os.environ["POWERTOOLS_LOG_LEVEL"] = level
    with _worker(project) as (module, _, _resource), dynamodb_put_faults(), captured_logs() as logs:
        event, ids = _event(*bodies)
        try:
            module.lambda_handler(event, lambda_context("signups-worker"))
        except BehaviourTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - Lambda logs the error: so do we
            logs.write("".join(traceback.format_exception(exc)))
    return logs.getvalue(), ids


@ex52.behaviour("the logs name each failed message's id",
                hint=["Section 5: a failure must leave a trace you can find: the message id is "
                      "how you find it in the queue or the dead-letter queue.",
                      "Add the message id to the logger's keys in the record handler, and give "
                      "the BatchProcessor your logger so it logs each failure."])
def _(project: Project) -> None:
    text, ids = _logged_batch(project, _signup("Ada", "ada@example.com"), "not JSON",
                              _signup("Eve", "eve-at-example.com"))
    keyed = {str(entry.get("message_id")) for entry in json_lines(text)}
    for failed, what in ((ids[1], "not JSON"), (ids[2], "an invalid email")):
        assert failed in text, (
            f"a message that failed ({what}) left no trace of its id in the logs: when it "
            "reaches the dead-letter queue, nobody will know why")
        assert failed in keyed, (
            f"the id of a message that failed ({what}) is in the logs, but no log line carries "
            "it under the key message_id: that key is how you search the logs for a message")


@ex52.behaviour("the logs never hold a message's body",
                hint=["Section 5: a body holds personal data; log the message id instead.",
                      "Look at every place that writes to the log: the event (log_event), "
                      "your own log lines (debug ones too: the check runs at DEBUG), and "
                      "exception texts, which Powertools logs with failures and Lambda logs "
                      "when the invocation fails."])
def _(project: Project) -> None:
    good = _signup(SECRET_NAME, "quintessa@example.com", 41)
    bad = json.dumps({"name": SECRET_NAME, "email": SECRET_EMAIL})
    for bodies in ((good, bad, SECRET_TEXT + " not JSON"), (bad, SECRET_TEXT + " {")):
        # POWERTOOLS_LOG_LEVEL=DEBUG, as when someone investigates: debug lines count too
        text, _ids = _logged_batch(project, *bodies, level="DEBUG")
        for secret in (SECRET_NAME, SECRET_EMAIL, SECRET_TEXT, "quintessa@example.com"):
            assert secret not in text, (
                f"the logs (at POWERTOOLS_LOG_LEVEL=DEBUG) hold {secret!r}, from a message body"
                + (" (in a batch where every message failed: the error Lambda logs)"
                   if len(bodies) == 2 else "")
                + ". Bodies hold personal data: log the message id, never the body or the "
                "text of an error that quotes it")


question("5.e", 'pydantic rejects {"email": "mallory@"} with a ValidationError. What does '
         "str(error) contain?",
         ["Only the field name and the error type.",
          "The field name, a description, and the value that was rejected "
          "(input_value='mallory@').",
          "Nothing: ValidationError has no message."],
         answer=1,
         why=["That is what errors(include_input=False) gives you: build your message from it.",
              "pydantic quotes the input, so logging or re-raising the error's text copies the "
              "message's data into the logs.",
              "Its text is a multi-line report, one block per invalid field."])


# --- 5.3 -------------------------------------------------------------------------------------

ex53 = exercise("5.3", "The idempotency table", files=[IDEMPOTENCY])


@contextmanager
def _idempotency_table(project: Project, name: str | None = "idem-check"
                       ) -> Iterator[tuple[Any, Any]]:
    """(resource, what create_idempotency_table returned) inside a fresh mock."""
    import boto3
    from moto import mock_aws

    create = project.function(IDEMPOTENCY_MODULE, "create_idempotency_table")
    with mock_aws():
        resource = boto3.resource("dynamodb")
        try:
            table = create(resource) if name is None else create(resource, name)
        except BehaviourTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
            raise AssertionError(f"create_idempotency_table(resource, {name!r}) raised "
                                 f"{type(exc).__name__}: {str(exc)[:160]}") from None
        yield resource, table


@ex53.behaviour('creates the table with the partition key "id", a string',
                hint=["Section 7 gives the table DynamoDBPersistenceLayer expects by default.",
                      "One key attribute, the partition (HASH) key, named id, of type S; no sort "
                      "key."])
def _(project: Project) -> None:
    with _idempotency_table(project) as (resource, _table):
        names = resource.meta.client.list_tables()["TableNames"]
        assert "idem-check" in names, (
            f"create_idempotency_table(resource, 'idem-check') created {names}: use the name "
            "it is given")
        description = resource.meta.client.describe_table(TableName="idem-check")["Table"]
    keys = [(k["AttributeName"], k["KeyType"]) for k in description["KeySchema"]]
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    assert keys == [("id", "HASH")], (
        f"the table's key schema is {keys}; Powertools writes one key attribute, id, as the "
        "partition key")
    assert types.get("id") == "S", (
        f"the id attribute is of type {types.get('id')!r}; Powertools writes a string (S)")


@ex53.behaviour('turns on time to live on the "expiration" attribute',
                hint=["Section 7: Powertools writes each record's expiry time in an attribute; "
                      "DynamoDB deletes expired items only if time to live names that attribute.",
                      "update_time_to_live is a call of the DynamoDB client, "
                      "resource.meta.client."])
def _(project: Project) -> None:
    with _idempotency_table(project) as (resource, _table):
        ttl = resource.meta.client.describe_time_to_live(TableName="idem-check")
    description = ttl.get("TimeToLiveDescription", {})
    assert description.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"), (
        f"time to live is {description.get('TimeToLiveStatus', 'off')}: without it the records "
        "stay forever (storage you pay for, and old keys never expire)")
    assert description.get("AttributeName") == "expiration", (
        f"time to live is on {description.get('AttributeName')!r}; Powertools writes the "
        "expiry time in 'expiration', so nothing would ever expire")


@ex53.behaviour("billed on demand (PAY_PER_REQUEST)",
                hint=["Section 7's exercise text: on-demand billing, as lesson 04's users table.",
                      "create_table's BillingMode; no ProvisionedThroughput."])
def _(project: Project) -> None:
    with _idempotency_table(project) as (resource, _table):
        description = resource.meta.client.describe_table(TableName="idem-check")["Table"]
    mode = (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    assert mode == "PAY_PER_REQUEST", (
        f"the table is billed {mode}: provisioned capacity throttles a burst of messages (each "
        "one writes here twice) and is paid for when idle; ask for on-demand billing")


@ex53.behaviour("waits until the table exists before turning on time to live",
                hint=["Section 7's exercise text: DynamoDB creates a table in the background; "
                      "until it is ACTIVE, it refuses update_time_to_live.",
                      "boto3's Table has a method that waits until the table exists; the "
                      "client has a waiter for the same."])
def _(project: Project) -> None:
    calls: list[tuple[str, str]] = []
    with dynamodb_put_faults(calls=calls), _idempotency_table(project):
        pass
    operations = [operation for service, operation in calls if service == "dynamodb"]
    ttl = operations.index("UpdateTimeToLive") if "UpdateTimeToLive" in operations else None
    created = operations.index("CreateTable") if "CreateTable" in operations else None
    if ttl is None or created is None:
        return  # the behaviours above explain a missing table or time to live
    assert "DescribeTable" in operations[created:ttl], (
        "update_time_to_live is called right after create_table, without waiting: in AWS the "
        "table is still CREATING then, and the call is refused")


@ex53.behaviour('returns the table, and is named "idempotency" unless told otherwise',
                hint=["Section 7: like create_users_table in lesson 04.",
                      "Keep the scaffold's default argument and return what create_table "
                      "gives you."])
def _(project: Project) -> None:
    with _idempotency_table(project, None) as (resource, table):
        names = resource.meta.client.list_tables()["TableNames"]
        assert names == ["idempotency"], (
            f"create_idempotency_table(resource) created {names}; expected one table named "
            "'idempotency', the default")
        assert getattr(table, "name", None) == "idempotency", (
            f"create_idempotency_table returned {table!r:.80}; expected the boto3 Table")


@ex53.behaviour("Powertools' idempotency works on it: a repeated call runs once",
                hint=["Section 7: DynamoDBPersistenceLayer(table_name=...) reads and writes "
                      "this table with its default attribute names.",
                      "If the call fails, compare the key schema with what Powertools writes: "
                      "one string key named id, nothing else."])
def _(project: Project) -> None:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    runs: list[str] = []
    with _idempotency_table(project):
        persistence = DynamoDBPersistenceLayer(table_name="idem-check")
        config = IdempotencyConfig(event_key_jmespath="id")

        @idempotent_function(data_keyword_argument="order", config=config,
                             persistence_store=persistence)
        def handle(order: dict) -> str:
            runs.append(order["id"])
            return order["id"]

        config.register_lambda_context(lambda_context())
        try:
            handle(order={"id": "o-1"})
            handle(order={"id": "o-1"})
            handle(order={"id": "o-2"})
        except BehaviourTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - Powertools' error, explained
            cause = exc.__cause__ or exc.__context__
            raise AssertionError(
                f"Powertools could not use the table: {type(exc).__name__}"
                + (f" ({type(cause).__name__}: {str(cause)[:120]})" if cause else "")) from None
    assert runs == ["o-1", "o-2"], (
        f"three calls (o-1, o-1 again, o-2) ran the function for {runs}: the table does not "
        "keep Powertools' records")


# --- 5.4 -------------------------------------------------------------------------------------

ex54 = exercise("5.4", "A message delivered twice writes once", files=[HANDLER])


def _deliver(module: Any, *records: dict) -> list[str]:
    return _reported(_call(module.lambda_handler, {"Records": list(records)}))


@ex54.behaviour("a message delivered again creates no second user",
                hint=["Section 7: SQS delivers at least once, so the same message (same "
                      "messageId) can arrive twice, even in another batch.",
                      "Powertools' idempotent_function, keyed on the record's messageId, runs "
                      "the work once per message; the rest of the record (receipt handle, "
                      "receive count) changes on every delivery."])
def _(project: Project) -> None:
    with _worker(project) as (module, users, _resource), dynamodb_put_faults():
        event, _ids = _event(_signup("Ada", "ada@example.com"), _signup("Bob", "bob@example.com"))
        first, second = event["Records"]
        later, _ = _event(_signup("Cy", "cy@example.com"))
        assert _deliver(module, first, second) == [], "a batch of two good sign-ups failed"
        assert _deliver(module, _redelivered(second), later["Records"][0]) == [], (
            "a batch with a message delivered a second time reported a failure: a repeat is not "
            "a failure, it was already done")
        assert _deliver(module, _redelivered(_redelivered(first))) == [], (
            "a message delivered a third time reported a failure")
        emails = _emails(users)
    assert emails == ["ada@example.com", "bob@example.com", "cy@example.com"], (
        f"Ada's message was delivered three times and Bob's twice; the table holds the users "
        f"{emails}: each message must write once")


@ex54.behaviour("a message that failed is processed when it comes back",
                hint=["Section 7: Powertools only stores a result when the function returns; "
                      "an exception removes the in-progress record, so a retry runs again.",
                      "Let the failure raise out of the idempotent function: a result returned "
                      "for a failure is saved, and every retry would get it back."])
def _(project: Project) -> None:
    with _worker(project) as (module, users, _resource), \
            dynamodb_put_faults({"flaky@example.com": 1}):
        event, ids = _event(_signup("Flaky", "flaky@example.com"),
                            _signup("Ada", "ada@example.com"))
        reported = _deliver(module, *event["Records"])
        assert reported == ids[:1], (
            f"DynamoDB refused the first delivery; your handler reported {reported}: report it "
            "so that it comes back")
        assert _deliver(module, _redelivered(event["Records"][0])) == [], (
            "on its second delivery the message failed again, although DynamoDB accepted it")
        emails = _emails(users)
    assert emails == ["ada@example.com", "flaky@example.com"], (
        f"after a failed delivery and a successful retry the table holds {emails}: the retry "
        "must create the user")


@ex54.behaviour("idempotency records go to the table IDEMPOTENCY_TABLE names",
                hint=["Section 7: the persistence layer is created once, at import, with the "
                      "table name from the environment.",
                      "Read IDEMPOTENCY_TABLE with a default of 'idempotency'."])
def _(project: Project) -> None:
    with _worker(project) as (module, _users, resource), dynamodb_put_faults():
        event, _ids = _event(_signup("Ada", "ada@example.com"))
        _deliver(module, *event["Records"])
        items = resource.Table(IDEMPOTENCY_TABLE).scan()["Items"]
        assert len(items) == 1, (
            f"after one message the check's idempotency table ({IDEMPOTENCY_TABLE!r}, the one "
            f"IDEMPOTENCY_TABLE names) holds {len(items)} record(s); expected one per message")
        # Without the variable: the default table, "idempotency".
        os.environ.pop("IDEMPOTENCY_TABLE")
        default = resource.create_table(
            TableName="idempotency", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        sys.modules.pop(MODULE, None)
        try:
            module = project.module(MODULE)
        except BehaviourTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
            raise AssertionError(f"with IDEMPOTENCY_TABLE unset, importing the handler raised "
                                 f"{type(exc).__name__}: the default is 'idempotency'") from None
        event, _ids = _event(_signup("Bob", "bob@example.com"))
        _deliver(module, *event["Records"])
        count = len(default.scan()["Items"])
    assert count == 1, (
        f"with IDEMPOTENCY_TABLE unset, one message left {count} record(s) in the table "
        "'idempotency', the default")


@ex54.behaviour("each record knows when the invocation ends (register_lambda_context)",
                hint=["Section 7: if Lambda stops the function mid-work, the in-progress record "
                      "must expire with the invocation, or every retry is refused for an hour.",
                      "Give the idempotency configuration the invocation's context at the start "
                      "of lambda_handler."])
def _(project: Project) -> None:
    import time

    with _worker(project) as (module, _users, resource), dynamodb_put_faults():
        table = resource.Table(IDEMPOTENCY_TABLE)
        event, _ids = _event(_signup("Ada", "ada@example.com"))
        started_ms = time.time() * 1000
        _deliver(module, *event["Records"])
        items = table.scan()["Items"]
        assert items, "no idempotency record was written (see the behaviour above)"
        deadline = items[0].get("in_progress_expiration")
        assert deadline is not None, (
            "the idempotency record has no in_progress_expiration: Powertools did not know the "
            "invocation's deadline, so a function stopped mid-work blocks its message's retries "
            "until the record expires")
        assert started_ms < float(deadline) < started_ms + 60_000, (
            f"the record's in_progress_expiration ({deadline}) is not the invocation's deadline")
        # A later (warm) invocation, with 15 minutes left: its own deadline, not the first one.
        event, _ids = _event(_signup("Bob", "bob@example.com"))
        started_ms = time.time() * 1000
        _call_with(module.lambda_handler, event, lambda_context("signups-worker",
                                                                timeout_s=900))
        later = [item.get("in_progress_expiration") for item in table.scan()["Items"]
                 if item.get("in_progress_expiration") != deadline]
    assert later and started_ms + 600_000 < float(later[0]) < started_ms + 960_000, (
        "in a second invocation, the idempotency record still holds the first invocation's "
        "deadline: register each invocation's context, at the start of every lambda_handler "
        "call")


@ex54.behaviour("different messages still each create their user",
                hint=["Section 7: the idempotency key must tell messages apart.",
                      "Key on something that differs between messages and stays the same "
                      "between deliveries of one message."])
def _(project: Project) -> None:
    with _worker(project) as (module, users, _resource), dynamodb_put_faults():
        first, _ = _event(_signup("Ada", "ada@example.com"))
        second, _ = _event(_signup("Bob", "bob@example.com"), _signup("Cy", "cy@example.com"))
        _deliver(module, *first["Records"])
        _deliver(module, *second["Records"])
        emails = _emails(users)
    assert emails == ["ada@example.com", "bob@example.com", "cy@example.com"], (
        f"three different messages created the users {emails}: the idempotency key makes "
        "different messages look like one")


question("5.g", "Why is the idempotency key the message id, and not the whole SQS record?",
         ["The whole record is too large for DynamoDB.",
          "Each delivery of the same message has a new receipt handle and receive count, so a "
          "hash of the whole record changes and a repeat would not be recognised.",
          "Powertools cannot hash a dict."],
         answer=1,
         why=["The hash is short whatever the record's size.",
              "Right: the record changes on every delivery; the message id does not.",
              "It hashes any JSON data; the problem is that the data differs."])

question("5.f", "The queue's visibility timeout is 30 s and the function's timeout 60 s. What "
         "goes wrong?",
         ["Nothing: the function just has more time.",
          "Lambda refuses to create the mapping; and were it allowed, a batch still being "
          "processed would reappear and be processed twice.",
          "Messages go to the dead-letter queue after 30 s."],
         answer=1,
         why=["A message hidden for 30 s reappears while the function is still working on it.",
              "CreateEventSourceMapping rejects a visibility timeout below the function timeout; "
              "AWS recommends at least six times the function timeout, so throttled batches have "
              "time to be retried.",
              "Reappearing adds to the receive count, but the dead-letter queue only comes after "
              "maxReceiveCount receives."])

question("5.h", "A FIFO queue holds, in one message group, the updates 1, 2, 3 for one user. "
         "Update 2 fails. With SqsFifoPartialProcessor, what is reported as failed?",
         ["Only 2: 1 and 3 are applied.",
          "2 and 3: processing stops at the first failure, so 3 is not applied before 2.",
          "1, 2 and 3."],
         answer=1,
         why=["Applying 3 before 2 breaks the order a FIFO queue exists for.",
              "The FIFO processor stops at the first failure and reports the rest; they come "
              "back together, in order. (skip_group_on_error=True stops only that group.)",
              "1 succeeded and is deleted."])

question("5.i", "The integration tests poll the moto queue themselves and call lambda_handler. "
         "Why not create an event source mapping on moto with create_event_source_mapping?",
         ["moto does not support create_event_source_mapping.",
          "moto stores the mapping but, without Docker, never invokes a function: nothing would "
          "read the queue.",
          "A mapping would read the queue too slowly for a test."],
         answer=1,
         why=["It accepts the call (FunctionResponseTypes included) and reports the mapping as "
              "Enabled.",
              "moto's Lambda runs no code without Docker, so its mappings never fire: the test "
              "plays the mapping's part, in a few lines.",
              "Speed is not the issue: the mapping would never run at all."])
