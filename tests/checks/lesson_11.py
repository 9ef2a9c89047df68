"""Hidden tests for lesson 11 (capstone: the whole service, end to end).

Messages are written for the learner. 11.1 and 11.2 load the learner's scripts/runbook.py by
path and run it on moto: SQS refusals are injected below boto3 (a SendMessageBatch entry whose
body holds REFUSED lands in Failed, a SendMessage of one raises), and Lambda's
ListVersionsByFunction answers in pages of 50 as AWS does (moto answers in one page).

11.3 is the capstone check: every earlier exercise's check, run again on the final workspace
(one behaviour per lesson, each check in its own forked child as check() runs it); the whole
flow on moto from the learner's modules, on one users table; the guideline's traps, read from
the code (course.learner.capstone.find_traps) and, where they show, provoked; and the learner's
end-to-end tests, run against their service and against four broken copies of it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from course.checks import BehaviourTimeout, LearnerError, Project, exercise, question
from course.checks import exercises as _exercises
from course.checks.kit import lambda_context, mutated, once, run_pytest, users_tables

RUNBOOK = "scripts/runbook.py"
TESTS = "tests/integration/test_service.py"
CONFTEST = "tests/integration/conftest.py"
REFUSED = "REFUSED"  # a message body holding this is refused by the source queue
SHORT = 7  # a receive on a dead-letter queue answers at most 7 messages, as SQS may answer fewer
SOURCE = "/signups"  # the source queue's URL ends so; its dead-letter queue's in -dlq
PAGE = 50  # ListVersionsByFunction: at most 50 versions per page


# --- shared ----------------------------------------------------------------------------------

def _runbook(project: Project) -> Any:
    module = project.load_file(RUNBOOK, "runbook")
    for name in ("redrive", "rollback"):
        if not callable(getattr(module, name, None)):
            raise LearnerError(f"{RUNBOOK} has no function {name}: keep the scaffold's names.")
    if not isinstance(getattr(module, "RunbookError", None), type):
        raise LearnerError(f"{RUNBOOK} has no class RunbookError: keep the scaffold's.")
    return module


@contextmanager
def _aws(calls: list[tuple[str, str, dict]] | None = None) -> Iterator[None]:
    """moto (Lambda without Docker); below boto3, the source queue's refusals and Lambda's
    paging; every AWS call made meanwhile added to `calls` as (service, operation, parameters)."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError
    from moto import mock_aws

    real = BaseClient._make_api_call

    def call(client: Any, operation: str, params: dict) -> Any:
        service = client.meta.service_model.service_name
        if calls is not None:
            calls.append((service, operation, params))
        refusing = service == "sqs" and str(params.get("QueueUrl", "")).endswith(SOURCE)
        if service == "sqs" and operation == "ReceiveMessage" and \
                str(params.get("QueueUrl", "")).endswith("-dlq"):
            # Short polling samples some of SQS's servers: fewer messages than asked for,
            # while more wait. Only an empty answer says the queue is (probably) empty.
            params = {**params, "MaxNumberOfMessages": min(
                int(params.get("MaxNumberOfMessages") or 1), SHORT)}
        if refusing and operation == "SendMessage" and \
                REFUSED in str(params.get("MessageBody", "")):
            raise ClientError({"Error": {"Code": "KmsThrottled",
                                         "Message": "the queue refused this message"}},
                              operation)
        if refusing and operation == "SendMessageBatch":
            entries = params.get("Entries") or []
            refused = [e for e in entries if REFUSED in str(e.get("MessageBody", ""))]
            accepted = [e for e in entries if e not in refused]
            answer = real(client, operation, {**params, "Entries": accepted}) if accepted else \
                {"Successful": []}
            answer["Failed"] = answer.get("Failed", []) + [
                {"Id": e.get("Id"), "SenderFault": False, "Code": "KmsThrottled",
                 "Message": "the queue refused this message"} for e in refused]
            return answer
        if service == "lambda" and operation == "ListVersionsByFunction":
            answer = real(client, operation, {k: v for k, v in params.items()
                                              if k not in ("Marker", "MaxItems")})
            versions = answer.get("Versions", [])
            start = int(params.get("Marker") or 0)
            size = min(int(params.get("MaxItems") or PAGE), PAGE)
            answer["Versions"] = versions[start:start + size]
            answer.pop("NextMarker", None)
            if start + size < len(versions):
                answer["NextMarker"] = str(start + size)
            return answer
        return real(client, operation, params)

    BaseClient._make_api_call = call  # type: ignore[method-assign]
    try:
        with mock_aws(config={"lambda": {"use_docker": False}}):
            yield
    finally:
        BaseClient._make_api_call = real  # type: ignore[method-assign]


def _attempt(what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except (BehaviourTimeout, NotImplementedError):
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
        first = (str(exc).strip().splitlines() or [""])[0]
        raise AssertionError(f"{what} raised {type(exc).__name__}: {first[:200]}") from None


# --- 11.1 ------------------------------------------------------------------------------------

ex111 = exercise("11.1", "Redrive the dead-letter queue", files=[RUNBOOK], timeout=5.0)


def _queues(sqs: Any) -> tuple[str, str]:
    """(queue, its dead-letter queue), as lesson 08 declares them."""
    dlq = sqs.create_queue(QueueName="signups-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    queue = sqs.create_queue(QueueName="signups", Attributes={"RedrivePolicy": json.dumps({
        "deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": "5"})})
    return queue["QueueUrl"], dlq


def _dead(sqs: Any, url: str, count: int, *, refused: tuple[int, ...] = ()) -> list[str]:
    """Put `count` messages in the dead-letter queue, each with a correlation id attribute;
    the bodies numbered in `refused` hold REFUSED. Returns the bodies."""
    bodies = []
    for number in range(count):
        body = json.dumps({"name": f"User {number}", "email": f"user{number}@example.com",
                           **({"note": REFUSED} if number in refused else {})})
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "correlation_id": {"DataType": "String", "StringValue": f"req-{number:03}"},
            "attempt": {"DataType": "Number", "StringValue": str(number % 3 + 1)}})
        bodies.append(body)
    return bodies


def _all(sqs: Any, url: str) -> list[tuple[str, dict]]:
    """Every message of a queue (body, attributes), each received once and made visible again
    at once: in flight or not, nothing is left out."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    found, handles = {}, []
    for _ in range(50):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       MessageAttributeNames=["All"], VisibilityTimeout=60
                                       ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            found[message["MessageId"]] = (message["Body"], {
                name: value.get("StringValue") for name, value in
                (message.get("MessageAttributes") or {}).items()})
            handles.append(message["ReceiptHandle"])
    sqs.set_queue_attributes(QueueUrl=url,
                             Attributes={"VisibilityTimeout": attributes["VisibilityTimeout"]})
    return sorted(found.values(), key=lambda m: m[0])


def _stored(url: str) -> list[str]:
    """The bodies of every message moto holds in a queue, visible or in flight."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_queue(url.rsplit("/", 1)[-1])
    return sorted(message.body for message in queue._messages)


def _count(sqs: Any, url: str) -> int:
    """Messages in the queue, visible or in flight (received and not yet deleted)."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + \
        int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _redrive(project: Project, sqs: Any, dlq: str, queue: str, **options: Any) -> Any:
    return _attempt("redrive", _runbook(project).redrive, sqs, dlq, queue, **options)


@ex111.behaviour("moves every message back, body and attributes unchanged, and empties the "
                 "dead-letter queue",
                 hint=["Section 4: SQS hands out at most 10 messages per receive; keep "
                       "receiving until a receive returns none.",
                       "Ask for the message attributes when you receive (they are not sent by "
                       "default) and send them with the body."])
def _(project: Project) -> None:
    import boto3

    with _aws():
        sqs = boto3.client("sqs")
        queue, dlq = _queues(sqs)
        bodies = _dead(sqs, dlq, 23)
        # Another producer's poison: no attributes, a body that is not JSON, not ASCII.
        bare = "name,email\nZoë,zoë@exämple.com"
        sqs.send_message(QueueUrl=dlq, MessageBody=bare)
        _attempt("redrive (23 messages with attributes, and one without, whose body is not "
                 "JSON)", _runbook(project).redrive, sqs, dlq, queue)
        moved = _all(sqs, queue)
        left = _count(sqs, dlq)
    got = sorted(body for body, _ in moved)
    assert got == sorted([*bodies, bare]), (
        f"of 24 messages in the dead-letter queue, {len(got)} arrived in the queue"
        + (" (a message arrived twice)" if len(set(got)) < len(got) else "")
        + (" (a body was changed)" if set(got) - {*bodies, bare} else "")
        + ": each message must go back once, as it was (SQS may answer a receive with fewer "
        "messages than asked for while more wait)")
    lost = [body for body, attributes in moved if body != bare and set(attributes) != {
        "correlation_id", "attempt"}]
    assert not lost, (
        f"{len(lost)} message(s) arrived without their message attributes (correlation_id, "
        "attempt): the correlation id that ties a message to its logs is gone")
    invented = [attributes for body, attributes in moved if body == bare and attributes]
    assert not invented, f"a message sent without attributes arrived with {invented[0]}"
    assert left == 0, (f"{left} message(s) are still in the dead-letter queue after they were "
                       "moved: delete each one once the queue has accepted it")


@ex111.behaviour("returns how many messages it moved",
                 hint=["Section 4: the operator reads the number to know the redrive worked.",
                       "Count the messages the queue accepted, and return the count (an int)."])
def _(project: Project) -> None:
    import boto3

    with _aws():
        sqs = boto3.client("sqs")
        queue, dlq = _queues(sqs)
        _dead(sqs, dlq, 13)
        moved = _redrive(project, sqs, dlq, queue)
    assert isinstance(moved, int) and not isinstance(moved, bool) and moved == 13, (
        f"13 messages were moved and redrive returned {moved!r}; expected 13")


@ex111.behaviour("a message the queue refuses stays in the dead-letter queue, uncounted; the "
                 "others move",
                 hint=["Section 4: a batch send can half succeed: its answer lists Failed "
                       "entries, and nothing raises.",
                       "Delete from the dead-letter queue only the messages the queue accepted, "
                       "and count only those."])
def _(project: Project) -> None:
    import boto3

    with _aws():
        sqs = boto3.client("sqs")
        queue, dlq = _queues(sqs)
        bodies = _dead(sqs, dlq, 15, refused=(2, 11))
        moved = _redrive(project, sqs, dlq, queue)
        arrived = sorted(body for body, _ in _all(sqs, queue))
        kept = _count(sqs, dlq)  # visible or in flight: the refused ones, nothing else
        still = _stored(dlq)
    assert kept == 2, (
        f"the queue refused 2 of 15 messages; the dead-letter queue now holds {kept} "
        + ("(a refused message was deleted: it is lost)" if kept < 2 else
           "(more than the refused ones)") + ": a refused message must stay where it was")
    refused = sorted(b for b in bodies if REFUSED in b)
    assert still == refused, (
        f"the queue refused 2 of 15 messages, and {len(set(refused) - set(still))} of them "
        "were deleted from the dead-letter queue (lost for good) while accepted ones stayed "
        "there (they will be sent twice): delete exactly the messages the answer lists as "
        "Successful, matched by their Id")
    assert arrived == sorted(b for b in bodies if REFUSED not in b), (
        f"the queue refused 2 of 15 messages and received {len(arrived)}; the 13 others must "
        "still move")
    assert moved == 13, (f"13 messages moved and 2 were refused; redrive returned {moved!r}: "
                         "count only what moved")


@ex111.behaviour("moves at most `limit` messages, and loses none of the others",
                 hint=["Section 4: a cautious redrive moves one message first.",
                       "Ask SQS for no more messages than are still allowed: a message you "
                       "receive and do not move stays hidden for the visibility timeout."])
def _(project: Project) -> None:
    import boto3

    for limit in (3, 12, 0):
        with _aws():
            sqs = boto3.client("sqs")
            queue, dlq = _queues(sqs)
            _dead(sqs, dlq, 23)
            moved = _redrive(project, sqs, dlq, queue, limit=limit)
            arrived, left = _count(sqs, queue), _count(sqs, dlq)
        assert arrived == limit and moved == limit, (
            f"with limit={limit}, {arrived} message(s) arrived in the queue and redrive "
            f"returned {moved!r}; expected {limit} both times")
        assert left == 23 - limit, (
            f"with limit={limit}, {left} message(s) are left in the dead-letter queue out of "
            f"23; expected {23 - limit}")


@ex111.behaviour("an empty dead-letter queue: returns 0 and sends nothing",
                 hint=["Section 4: running the runbook twice must be harmless.",
                       "Stop as soon as a receive returns no message."])
def _(project: Project) -> None:
    import boto3

    calls: list[tuple[str, str, dict]] = []
    with _aws(calls):
        sqs = boto3.client("sqs")
        queue, dlq = _queues(sqs)
        calls.clear()
        moved = _redrive(project, sqs, dlq, queue)
    sends = [op for service, op, _ in calls if op.startswith("SendMessage")]
    assert moved == 0 and not sends, (
        f"on an empty dead-letter queue redrive returned {moved!r} and called "
        f"{', '.join(sends) or 'nothing'}; expected 0 and no send")


@ex111.behaviour("touches only the two queues: never creates, purges or deletes a queue",
                 hint=["Section 4: the runbook moves messages, nothing else.",
                       "Receive and delete on the dead-letter queue, send on the queue; no "
                       "PurgeQueue (it would also drop messages that arrive meanwhile)."])
def _(project: Project) -> None:
    import boto3

    calls: list[tuple[str, str, dict]] = []
    with _aws(calls):
        sqs = boto3.client("sqs")
        queue, dlq = _queues(sqs)
        _dead(sqs, dlq, 12, refused=(4,))
        calls.clear()
        _redrive(project, sqs, dlq, queue)
    forbidden = sorted({op for _, op, _ in calls if op in (
        "PurgeQueue", "DeleteQueue", "CreateQueue", "SetQueueAttributes")})
    assert not forbidden, f"redrive called {', '.join(forbidden)}: it should only move messages"
    wrong = sorted({op for _, op, params in calls if op.startswith("SendMessage")
                    and params.get("QueueUrl") != queue})
    assert not wrong, "redrive sent messages to another queue than the one it was given"


question("11.d", "A sign-up failed five times because the users table was throttled, and is "
         "now in the dead-letter queue. The throttling is over and you redrive it. What "
         "happens?",
         ["It fails at once: its receives are used up.",
          "It arrives in the sign-ups queue as a new message (a new message id, receive count "
          "0) and the worker creates the user: the failed attempts created nothing, so nothing "
          "is created twice.",
          "Powertools' idempotency skips it: its message id already has a record."],
         answer=1,
         why=["The receive count belongs to a message in its queue; the copy starts at 0.",
              "Right: each attempt failed at the write, and Powertools deletes its in-progress "
              "record when the function raises (lesson 05), so the copy starts clean.",
              "A failed attempt leaves no record (Powertools deletes it on an exception), and "
              "the copy has a new message id anyway."])

question("11.e", "Why redrive one message first (limit=1) before the rest?",
         ["SQS allows only one message per redrive call.",
          "To see the cause is really gone: if that one fails again, you have changed one "
          "message's fate, not sent a thousand back into a failing worker (and to the DLQ "
          "again after maxReceiveCount more failures, with alarms firing).",
          "A redrive of many messages is billed per message."],
         answer=1,
         why=["SQS has no such limit; a batch moves up to ten at a time.",
              "A canary for the fix: cheap to try, cheap to undo.",
              "Requests are billed, but that is not the reason: it is about a failing worker."])


# --- 11.2 ------------------------------------------------------------------------------------

ex112 = exercise("11.2", "Roll back by moving the alias", files=[RUNBOOK], timeout=5.0)
FUNCTION = "users-service-dev-worker"


def _zipped(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handlers/sqs_handler.py", text)
    return buffer.getvalue()


def _function(versions: int, alias_at: int | str, *, weights: dict[str, float] | None = None,
              deleted: tuple[int, ...] = (), others: dict[str, str] | None = None) -> Any:
    """A function with `versions` published versions (some deleted), alias live on alias_at
    (with a canary's weights if given), created after the aliases `others` ({name: version}).
    Returns the Lambda client."""
    import boto3

    iam = boto3.client("iam")
    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}
                                               ]}))["Role"]["Arn"]
    lam = boto3.client("lambda")
    lam.create_function(FunctionName=FUNCTION, Runtime="python3.13", Role=role,
                        Handler="handlers.sqs_handler.lambda_handler",
                        Code={"ZipFile": _zipped("# build 0\n")})
    for number in range(1, versions + 1):
        lam.update_function_code(FunctionName=FUNCTION, ZipFile=_zipped(f"# build {number}\n"))
        lam.publish_version(FunctionName=FUNCTION)
    for number in deleted:
        lam.delete_function(FunctionName=FUNCTION, Qualifier=str(number))
    for name, version in (others or {}).items():
        lam.create_alias(FunctionName=FUNCTION, Name=name, FunctionVersion=version)
    options = {"RoutingConfig": {"AdditionalVersionWeights": weights}} if weights else {}
    lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=str(alias_at),
                     **options)
    return lam


def _alias(lam: Any, name: str = "live") -> tuple[str, dict]:
    alias = lam.get_alias(FunctionName=FUNCTION, Name=name)
    return alias["FunctionVersion"], (alias.get("RoutingConfig") or {}).get(
        "AdditionalVersionWeights") or {}


def _rollback(project: Project, lam: Any, **options: Any) -> Any:
    return _attempt("rollback", _runbook(project).rollback, lam, FUNCTION, **options)


def _rolled_back(project: Project, versions: int, alias_at: int, **setup: Any) -> str:
    with _aws():
        lam = _function(versions, alias_at, **setup)
        _rollback(project, lam)
        return _alias(lam)[0]


@ex112.behaviour("moves the alias to the newest version older than its own, comparing versions "
                 "as numbers",
                 hint=["Section 5: versions are numbered 1, 2, 3...; Lambda hands them out as "
                       "text, and \"10\" sorts before \"9\" as text.",
                       "Compare the versions as integers; leave $LATEST out: it is not a "
                       "version you can roll back to."])
def _(project: Project) -> None:
    for versions, alias_at, expected in ((12, 12, "11"), (12, 10, "9"), (3, 2, "1")):
        got = _rolled_back(project, versions, alias_at)
        assert got == expected, (
            f"with versions 1 to {versions} published and live on {alias_at}, rollback left "
            f"live on version {got}; expected {expected}")


@ex112.behaviour("skips versions that no longer exist",
                 hint=["Section 5: version numbers have gaps once a version is deleted.",
                       "Take the versions Lambda lists, not the number before the alias's."])
def _(project: Project) -> None:
    got = _rolled_back(project, 9, 9, deleted=(7, 8))
    assert got == "6", (f"with versions 7 and 8 deleted and live on 9, rollback left live on "
                        f"{got}; expected 6, the newest version that still exists")


@ex112.behaviour("starts from the alias's version, not from the newest version",
                 hint=["Section 5: after one rollback the alias is not on the newest version; a "
                       "second rollback goes one further back.",
                       "Read the alias (get_alias) to know where it is now."])
def _(project: Project) -> None:
    got = _rolled_back(project, 12, 6)
    assert got == "5", (f"with versions 1 to 12 published and live on 6 (after earlier "
                        f"rollbacks), rollback left live on {got}; expected 5")


@ex112.behaviour("reads every page of versions",
                 hint=["Section 5: ListVersionsByFunction answers 50 versions at a time, with a "
                       "NextMarker when there are more.",
                       "Follow NextMarker (or use boto3's paginator) until it is gone."])
def _(project: Project) -> None:
    got = _rolled_back(project, 62, 58)
    assert got == "57", (f"with 62 versions published and live on 58, rollback left live on "
                         f"{got}; expected 57 (the versions after the 49th are on the "
                         "second page)")


@ex112.behaviour("during a canary, sends all traffic back to the alias's own version",
                 hint=["Section 5: a weighted alias sends a share of its traffic to a second "
                       "version (the canary) and the rest to its own version.",
                       "When the alias has weights, rolling back means dropping them: its own "
                       "version is the one that was fine."])
def _(project: Project) -> None:
    with _aws():
        lam = _function(8, 7, weights={"8": 0.2})
        result = _rollback(project, lam)
        version, weights = _alias(lam)
    assert version == "7" and not weights, (
        f"live ran version 7 with 20% of its traffic on version 8 (a canary); after rollback "
        f"it runs version {version}" + (f" with weights {weights}" if weights else "")
        + "; expected version 7 alone")
    assert result == "7", f"rollback returned {result!r}; expected '7', the version now live"


@ex112.behaviour("leaves no traffic weight behind",
                 hint=["Section 5: update_alias keeps the alias's routing configuration when "
                       "you do not give one.",
                       "Pass a routing configuration without weights when you move the alias."])
def _(project: Project) -> None:
    with _aws():
        lam = _function(11, 10, weights={"11": 0.1})
        _rollback(project, lam, to_version="9")
        version, weights = _alias(lam)
    assert not weights, (f"rollback to version 9 left the alias sending {weights} of its "
                         "traffic to another version: a rollback must route everything to the "
                         "version it names")
    assert version == "9", f"rollback with to_version='9' left live on {version}"


@ex112.behaviour("to_version: moves the alias to exactly that published version",
                 hint=["Section 5: an operator may know which version was last good.",
                       "Check it is a published version, then point the alias at it."])
def _(project: Project) -> None:
    with _aws():
        lam = _function(12, 12)
        result = _rollback(project, lam, to_version="3")
        version, _ = _alias(lam)
    assert version == "3", f"rollback with to_version='3' left live on {version}"
    assert result == "3", f"rollback returned {result!r}; expected '3'"


@ex112.behaviour("refuses what it cannot do with RunbookError, changing nothing",
                 hint=["Section 5: no version older than the alias's, a version that was never "
                       "published, and $LATEST are all refusals.",
                       "Raise the scaffold's RunbookError before calling update_alias."])
def _(project: Project) -> None:
    runbook = _runbook(project)
    cases = (("live on version 1 (nothing older)", 3, 1, {}),
             ("to_version='99' (never published)", 5, 5, {"to_version": "99"}),
             ("to_version='$LATEST' (not a version)", 5, 5, {"to_version": "$LATEST"}))
    for what, versions, alias_at, options in cases:
        with _aws():
            lam = _function(versions, alias_at)
            try:
                runbook.rollback(lam, FUNCTION, **options)
            except runbook.RunbookError:
                raised = ""
            except (BehaviourTimeout, NotImplementedError):
                raise
            except Exception as exc:  # noqa: BLE001 - the wrong refusal, explained
                raised = f"raised {type(exc).__name__}"
            else:
                raised = "did not raise"
            version, weights = _alias(lam)
        assert not raised, f"with {what}, rollback {raised}; expected a RunbookError"
        assert version == str(alias_at) and not weights, (
            f"with {what}, rollback moved live to {version}: a refusal changes nothing")


@ex112.behaviour("moves only the alias: publishes, deletes and changes nothing else",
                 hint=["Section 5: a rollback is instant because nothing is rebuilt: the old "
                       "version is still there.",
                       "One update_alias, of the alias the argument names; no "
                       "publish_version, no update_function_code, no deleting the bad "
                       "version (you will want to look at it)."])
def _(project: Project) -> None:
    calls: list[tuple[str, str, dict]] = []
    with _aws(calls):
        lam = _function(6, 6, others={"beta": "6", "staging": "6"})
        calls.clear()
        _rollback(project, lam)
        moved = {name: _alias(lam, name)[0] for name in ("live", "beta", "staging")}
    changes = sorted({op for service, op, _ in calls if service == "lambda" and op.startswith(
        ("Publish", "Update", "Delete", "Create", "Put")) and op != "UpdateAlias"})
    assert not changes, f"rollback called {', '.join(changes)}: only the alias should move"
    assert moved == {"live": "5", "beta": "6", "staging": "6"}, (
        f"the function has the aliases beta and staging next to live, all on version 6; after "
        f"rollback of live they are on {moved}: only the alias named (live by default) moves")
    with _aws():
        lam = _function(6, 4, others={"staging": "6"})
        _rollback(project, lam, alias="staging")
        moved = {name: _alias(lam, name)[0] for name in ("live", "staging")}
    assert moved == {"live": "4", "staging": "5"}, (
        f"with live on 4 and staging on 6, rollback(..., alias='staging') left them on {moved}; "
        "expected staging on 5 and live untouched: the alias argument names the alias to move")


@ex112.behaviour("returns the version now live, as text",
                 hint=["Section 5: the operator writes the version in the incident notes.",
                       "Return the version as Lambda writes it: a string such as \"9\"."])
def _(project: Project) -> None:
    with _aws():
        lam = _function(10, 10)
        result = _rollback(project, lam)
        version, _ = _alias(lam)
    assert result == version == "9", (
        f"rollback moved live to {version} and returned {result!r}; expected '9' both")


question("11.f", "A new version of the API was published and the live alias moved to it. The "
         "5xx alarm fires. Which is fastest and safest?",
         ["Fix the bug, rebuild the zip, terraform apply.",
          "Move the live alias back to the previous version (seconds, nothing rebuilt), then "
          "investigate and fix forward through the pipeline.",
          "Point API Gateway at $LATEST until the fix is ready."],
         answer=1,
         why=["Right eventually, but every minute of the fix is a minute of errors.",
              "Right: the previous version is still published and unchanged; clients and event "
              "sources call the alias, so they follow it at once. Terraform's state then still "
              "says the new version: the fix forward brings them back together.",
              "$LATEST is the newest code, the one that fails; and the API's permission is on "
              "the alias."])

question("11.g", "Why does a rollback clear the alias's weights (RoutingConfig) even when it "
         "names the version to go to?",
         ["It does not need to; weights expire after a deploy.",
          "UpdateAlias keeps the routing configuration you do not replace: a canary weight "
          "would keep sending a share of traffic to the version you are rolling back from.",
          "Lambda refuses an update that keeps weights."],
         answer=1,
         why=["Weights stay until someone changes them (CodeDeploy does, for its deployments).",
              "Right: a rollback must leave one version serving everything.",
              "Lambda accepts it; that is the trap."])


# --- 11.3 ------------------------------------------------------------------------------------

# Time: a re-run behaviour waits for forked children (their own limits apply there), so it uses
# no CPU here and only the wall-clock limit (5 x 15 s) bounds it: lesson 07's re-run, the
# longest, takes about 17 s on an idle two-core machine (pip installs). The flow and the
# learner's tests use 0.2-1.5 s of CPU each. Measured on the reference: about 55 s in all.
ex113 = exercise("11.3", "The whole service, end to end", files=[TESTS], timeout=15.0)
CAPSTONE_ID = (11, 3)


def _earlier() -> dict[str, list[str]]:
    """Lesson -> its exercises' ids, for every exercise before this one (loaded before this
    module: check modules load in lesson order)."""
    lessons: dict[str, list[str]] = {}
    for ex in sorted(_exercises.REGISTRY.values(), key=lambda e: _exercises.sort_key(e.id)):
        if _exercises.sort_key(ex.id) < CAPSTONE_ID:
            lessons.setdefault(ex.lesson, []).append(ex.id)
    return lessons


# What the earlier checks read: the project's files in these places (and the checks' and the
# toolkit's own code). A check that passed on exactly these contents passes on them again, so
# a pass is remembered (in this user's private scratch folder) and a re-run with nothing
# changed is quick; any change in any of them re-runs every check.
INPUT_TREES = ("src", "scripts", "terraform", "tests/unit", "tests/integration")
INPUT_FILES = ("pyproject.toml", "requirements-lambda.txt", "build_lambda.py", "Dockerfile",
               "template.yaml", "tests/conftest.py")
SKIP = ("__pycache__", ".terraform", ".hypothesis", ".pytest_cache")


def _inputs_key(root: Path) -> str:
    import course

    digest = hashlib.sha256()
    files = [root / name for name in INPUT_FILES]
    files += [path for tree in INPUT_TREES for path in (root / tree).rglob("*")]
    files += [*Path(__file__).parent.glob("*.py"), *Path(course.__file__).parent.rglob("*.py")]
    for path in sorted(files):
        if path.is_file() and not any(part in SKIP for part in path.parts):
            name = str(path.relative_to(root) if path.is_relative_to(root) else path.name)
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@once
def _run_key(root: Path) -> str:
    """_inputs_key, computed once per check run: every lesson's re-run behaviour needs it."""
    return _inputs_key(root)


def _passed_before(key: str, exercise_id: str) -> Path:
    from course import workspace

    return workspace.scratch() / "capstone-passes" / f"{key[:32]}-{exercise_id}"


def _rerun(ids: list[str]) -> Callable[[Project], None]:
    def behaviour(project: Project) -> None:
        from course.checks import _engine

        failing = []
        key = _run_key(project.root)
        for exercise_id in ids:
            remembered = _passed_before(key, exercise_id)
            if remembered.exists():
                continue
            verdict = _engine.run_isolated(exercise_id, project.root)
            if verdict.passed:
                remembered.parent.mkdir(exist_ok=True)
                remembered.touch()
            broken = [r for r in verdict.results if not r.passed]
            if broken:
                first = broken[0]
                more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
                failing.append(f"{exercise_id} {verdict.title}: \"{first.name}\"{more}: "
                               f"{first.message[:220]}")
        assert not failing, (
            "On your final workspace, " + "; ".join(failing)[:1500]
            + f". Run check(\"{failing[0].split()[0]}\") in its lesson: that verdict has the "
            "hints.")
    return behaviour


for _lesson, _ids in _earlier().items():
    _what = ("the runbook's checks (11.1, 11.2) pass" if _lesson == "11" else
             f"every check of lesson {_lesson} passes")
    ex113.behaviour(f"{_what} again on the final workspace",
                    hint=["The capstone re-runs every check of the course on your final files: "
                          "a later change broke an earlier promise.",
                          "Run the failing exercise's check in its lesson (its verdict names the "
                          "file and has hints), fix that file, then run this check again."]
                    )(_rerun(_ids))

# --- the flow, on moto, from the learner's modules ---

USERS = "users-capstone"
IDEMPOTENCY = "idempotency-capstone"
BUCKET = "users-imports-capstone"
HANDLERS = ("handlers.api_gateway_handler", "handlers.sqs_handler", "handlers.s3_handler")
APP_FILES = tuple(f"src/{name.replace('.', '/')}.py" for name in HANDLERS)
HEADER = "name,email,age\n"


def _forget_handlers() -> None:
    for name in [n for n in sys.modules if n == "handlers" or n.startswith("handlers.")]:
        del sys.modules[name]


def _create_tables() -> Any:
    import boto3

    return users_tables(boto3.resource("dynamodb"), USERS, IDEMPOTENCY)


@contextmanager
def _service(project: Project) -> Iterator[dict[str, Any]]:
    """The three functions on one moto users table: {"api", "worker", "importer" (modules),
    "users" (table), "sqs", "s3"}."""
    import boto3
    from moto import mock_aws

    os.environ.update(USERS_TABLE=USERS, IDEMPOTENCY_TABLE=IDEMPOTENCY,
                      POWERTOOLS_SERVICE_NAME="users-service", POWERTOOLS_METRICS_NAMESPACE="Users")
    os.environ.pop("POWERTOOLS_LOGGER_LOG_EVENT", None)
    with mock_aws():
        users = _create_tables()
        _forget_handlers()
        modules = [project.module(name) for name in HANDLERS]
        for module in modules:
            cached = getattr(module, "users_service", None)
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield {"api": modules[0], "worker": modules[1], "importer": modules[2], "users": users,
               "sqs": boto3.client("sqs"), "s3": s3}
        _forget_handlers()


def _emails(table: Any) -> list[str]:
    return sorted(str(item.get("email")) for item in table.scan()["Items"])


def _queue(sqs: Any, name: str, max_receives: int = 2) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    queue = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "60", "RedrivePolicy": json.dumps({
            "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
            "maxReceiveCount": str(max_receives)})})["QueueUrl"]
    return queue, dlq


def _notify(sqs: Any, s3: Any, queue: str) -> None:
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{
            "QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "imports/"},
                                               {"Name": "suffix", "Value": ".csv"}]}}}]})


def _drain(queue: str, handler: Any, sqs: Any) -> Any:
    from course.awslambda.event_source_mapping import EventSourceMapping

    mapping = EventSourceMapping(queue, handler, sqs=sqs, function_timeout=10,
                                 function_response_types=["ReportBatchItemFailures"])
    return _attempt("polling the queue", mapping.drain, max_batches=30)


def _api(module: Any, method: str, path: str, **options: Any) -> tuple[int, Any, str]:
    from course.learner import events

    response = _attempt(f"{method} {path}", module.lambda_handler,
                        events.api_gateway_rest(method, path, **options),
                        lambda_context("users-api"))
    assert isinstance(response, dict), f"{method} {path} returned {response!r:.100}"
    body = response.get("body") or ""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    return response.get("statusCode"), data, body


def _notification(s3: Any, key: str) -> str:
    etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put", "eventTime": "2026-01-01T00:00:00.000Z",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET,
                                                    "arn": f"arn:aws:s3:::{BUCKET}"},
               "object": {"key": quote_plus(key, safe=""), "size": 1, "eTag": etag}}}]})


@ex113.behaviour("POST /users stores the user; GET /users/{id} returns it",
                 hint=["Section 2 runs this stage: the users API of lessons 03-04 on the users "
                       "table.",
                       "Lessons 03 and 04's checks pass again? Then look at USERS_TABLE and the "
                       "email-index your API queries."])
def _(project: Project) -> None:
    with _service(project) as service:
        status, created, _ = _api(service["api"], "POST", "/users",
                                  body={"name": "Ada Lovelace", "email": "ada@example.com",
                                        "age": 36})
        assert status == 201 and isinstance(created, dict) and created.get("user_id"), (
            f"POST /users with a valid user answered {status} {str(created)[:120]}; expected "
            "201 and the user with its user_id")
        emails = _emails(service["users"])
        status, fetched, _ = _api(service["api"], "GET", f"/users/{created['user_id']}")
    assert emails == ["ada@example.com"], f"after POST /users the table holds {emails}"
    assert status == 200 and fetched == created, (
        f"GET /users/<the new id> answered {status} {str(fetched)[:120]}; expected 200 and "
        "the user POST returned")


@ex113.behaviour("a CSV upload whose key has spaces: S3 -> queue -> import -> users",
                 hint=["Section 2: the bucket notifies the uploads queue; the mapping invokes "
                       "the import's queue_handler (lesson 06, section 7).",
                       "Lesson 06's checks pass again? Then the key: S3 encodes its spaces as +."])
def _(project: Project) -> None:
    with _service(project) as service:
        sqs, s3 = service["sqs"], service["s3"]
        uploads, dlq = _queue(sqs, "uploads")
        _notify(sqs, s3, uploads)
        s3.put_object(Bucket=BUCKET, Key="imports/team list 2026.csv", Body=(
            HEADER + "Ada,ada@example.com,36\nEve,not-an-email,30\nGrace,grace@example.com,\n"
        ).encode())
        _drain(uploads, service["importer"].queue_handler, sqs)
        emails = _emails(service["users"])
        dead = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
        reports = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert emails == ["ada@example.com", "grace@example.com"], (
        f"imports/team list 2026.csv (two valid rows, one invalid) went through S3 -> SQS -> "
        f"queue_handler; the table holds {emails}")
    assert dead == 0, f"{dead} message(s) ended in the uploads dead-letter queue"
    assert "reports/team list 2026.csv.json" in reports, (
        f"the bucket holds {reports}: the import writes its report under reports/")


@ex113.behaviour("a notification or a sign-up delivered twice creates no one twice",
                 hint=["Section 2: SQS and S3 deliver at least once.",
                       "The import's ids come from the object version and the row (lesson 06); "
                       "the worker is idempotent per message id (lesson 05)."])
def _(project: Project) -> None:
    from course.learner import events

    with _service(project) as service:
        sqs, s3 = service["sqs"], service["s3"]
        uploads, _dlq = _queue(sqs, "uploads")
        _notify(sqs, s3, uploads)
        s3.put_object(Bucket=BUCKET, Key="imports/again and again.csv",
                      Body=(HEADER + "Ada,ada@example.com,36\nGrace,grace@example.com,\n").encode())
        _drain(uploads, service["importer"].queue_handler, sqs)
        sqs.send_message(QueueUrl=uploads,
                         MessageBody=_notification(s3, "imports/again and again.csv"))
        _drain(uploads, service["importer"].queue_handler, sqs)
        imported = _emails(service["users"])
        event = events.sqs(json.dumps({"name": "Linus", "email": "linus@example.com"}),
                           queue="signups")
        for _ in range(2):
            _attempt("the sign-ups worker", service["worker"].lambda_handler, event,
                     lambda_context("users-worker"))
        emails = _emails(service["users"])
    assert imported == ["ada@example.com", "grace@example.com"], (
        f"a notification delivered twice left {imported} in the table")
    assert emails == ["ada@example.com", "grace@example.com", "linus@example.com"], (
        f"a sign-up message delivered twice (same message id) left {emails} in the table")


@ex113.behaviour("a poison message ends in the dead-letter queue; the good ones become users",
                 hint=["Section 2: the worker reports a message that fails; after "
                       "maxReceiveCount receives the queue moves it to its DLQ.",
                       "Lesson 05: raise for a message that is not a sign-up, report it in "
                       "batchItemFailures, never swallow it."])
def _(project: Project) -> None:
    with _service(project) as service:
        sqs = service["sqs"]
        signups, dlq = _queue(sqs, "signups")
        poison = [json.dumps({"name": "Eve", "email": "not-an-email"}), "name,email\nEve,x"]
        for number in range(3):
            sqs.send_message(QueueUrl=signups, MessageBody=json.dumps(
                {"name": f"User {number}", "email": f"user{number}@example.com"}))
            if number < len(poison):
                sqs.send_message(QueueUrl=signups, MessageBody=poison[number])
        _drain(signups, service["worker"].lambda_handler, sqs)
        uploads, uploads_dlq = _queue(sqs, "uploads")
        sqs.send_message(QueueUrl=uploads, MessageBody="not a notification")
        _drain(uploads, service["importer"].queue_handler, sqs)
        emails = _emails(service["users"])
        dead = sorted(m["Body"] for m in sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", []))
        dead_uploads = [m["Body"] for m in sqs.receive_message(
            QueueUrl=uploads_dlq, MaxNumberOfMessages=10).get("Messages", [])]
    assert emails == [f"user{n}@example.com" for n in range(3)], (
        f"three valid sign-ups and two poison messages went through the worker; the table "
        f"holds {emails}")
    assert dead == sorted(poison), (
        f"the sign-ups dead-letter queue holds {len(dead)} message(s); expected the 2 poison "
        "ones: a poison message that is not reported is deleted and lost")
    assert dead_uploads == ["not a notification"], (
        "a message on the uploads queue that is not a notification did not end in its "
        "dead-letter queue")


# --- the guideline's traps ---

def _traps(project: Project, rule: str, *needed: str) -> list[str]:
    """The places that break `rule`, once the files it is about exist."""
    from course.learner.capstone import find_traps

    for relative in needed:
        project.require(relative)
    return [str(trap) for trap in find_traps(project.root) if trap.rule == rule]


def _say(traps: list[str]) -> str:
    shown = "; ".join(traps[:4]) + (f" (and {len(traps) - 4} more)" if len(traps) > 4 else "")
    return shown[:700]


def _dynamodb_down(marker: str) -> Any:
    """A patch of botocore: every DynamoDB call fails with `marker` in its message."""
    from unittest import mock

    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    real = BaseClient._make_api_call

    def call(client: Any, operation: str, params: dict) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": marker}},
                              operation)
        return real(client, operation, params)

    return mock.patch.object(BaseClient, "_make_api_call", call)


@ex113.behaviour("no exception text in any response (no str(e))",
                 hint=["Section 3: the guideline returns str(e) in its 500 responses: the "
                       "client reads table names, ARNs, your code's internals.",
                       "Log the exception (logger.exception); answer a fixed message."])
def _(project: Project) -> None:
    traps = _traps(project, "str(e)")
    assert not traps, f"exception text goes into a response: {_say(traps)}"
    marker = "arn:aws:dynamodb:us-east-1:123456789012:table/secret-internal-name"
    with _service(project) as service, _dynamodb_down(marker):
        leaks = []
        for method, path, body in (("GET", "/users", None),
                                   ("GET", "/users/0b7c4d2e-5f6a-4b8c-9d0e-1f2a3b4c5d6e", None),
                                   ("POST", "/users", {"name": "Ada", "email": "a@example.com"})):
            status, _, text = _api(service["api"], method, path, body=body)
            if status != 500 or "secret-internal-name" in text or "Traceback" in text:
                leaks.append(f"{method} {path} answered {status} {text[:120]}")
    assert not leaks, ("with DynamoDB failing, " + "; ".join(leaks)
                       + ": expected a 500 without the error's text")


@ex113.behaviour("no int() on raw query values",
                 hint=["Section 3: int() on a query value raises ValueError for ?limit=abc: a "
                       "500 for the client's mistake.",
                       "Validate the query string with a model (lesson 03's ListQuery) and use "
                       "its fields."])
def _(project: Project) -> None:
    traps = _traps(project, "int(query)")
    assert not traps, f"int() on a raw query-string value: {_say(traps)}"
    with _service(project) as service:
        answers = {value: _api(service["api"], "GET", "/users", query={"limit": value})[0]
                   for value in ("abc", "1e3", "")}
    wrong = {value: status for value, status in answers.items()
             if not (isinstance(status, int) and 400 <= status < 500)}
    assert not wrong, f"GET /users?limit=... answered {wrong}; a bad limit is a 4xx"


@ex113.behaviour("no mock_dynamodb in the tests",
                 hint=["Section 3: moto 5 removed its per-service decorators; the guideline's "
                       "tests fail at import.",
                       "Use mock_aws() (lesson 04)."])
def _(project: Project) -> None:
    traps = _traps(project, "mock_dynamodb", CONFTEST, TESTS)
    assert not traps, f"moto's removed per-service mocks: {_say(traps)}"


@ex113.behaviour("no whole events in the logs (no log_event=True)",
                 hint=["Section 3: an event holds names, emails, tokens; logged whole, they "
                       "stay in CloudWatch for the logs' retention.",
                       "Log the few fields you need; leave log_event off (lesson 09)."])
def _(project: Project) -> None:
    from course.checks.kit import captured_logs
    from course.learner import events

    traps = _traps(project, "log_event", *APP_FILES)
    assert not traps, f"whole events logged: {_say(traps)}"
    # Provoked: what only a whole event holds (a token, a cookie, a receipt handle) must not
    # reach the logs, however the event got there (raw_event, a helper, a record's dict).
    token, cookie = "Bearer whole-event-7f3a9c", "session=whole-event-c00k1e"
    signup = events.sqs(json.dumps({"name": "Linus", "email": "linus@example.com"}),
                        queue="signups")
    handle = signup["Records"][0]["receiptHandle"]
    with _service(project) as service, captured_logs() as buffer:
        _api(service["api"], "POST", "/users",
             body={"name": "Ada Lovelace", "email": "ada@example.com", "age": 36},
             headers={"Authorization": token, "Cookie": cookie})
        _attempt("the sign-ups worker", service["worker"].lambda_handler, signup,
                 lambda_context("users-worker"))
    text = buffer.getvalue()
    found = [what for what, value in (("the Authorization header", token[7:]),
                                      ("the Cookie header", cookie),
                                      ("an SQS record's receipt handle", handle)) if value in text]
    assert not found, (
        f"a POST /users and a sign-up through the worker left {', '.join(found)} in the logs: "
        "a whole event (or record) was logged, with everything a client sent. Log the fields "
        "you need, as keys")


@ex113.behaviour("no keep-warm branch or pinger",
                 hint=["Section 3: a pinger keeps one environment warm; N concurrent requests "
                       "still start N-1 cold (lesson 10).",
                       "Remove the branch (and any schedule that pings); provisioned "
                       "concurrency is the tool if cold starts matter."])
def _(project: Project) -> None:
    traps = _traps(project, "warmer", *APP_FILES)
    assert not traps, f"a keep-warm branch or pinger: {_say(traps)}"


# --- the learner's end-to-end tests ---

def _learner_tests(project: Project, mutate: dict[str, Callable[[Any], None]] | None = None
                   ) -> Any:
    """The learner's end-to-end tests, with their integration conftest, run in process: on
    their modules, or on copies that `mutate` broke (module name -> how)."""
    from contextlib import ExitStack

    files = {"conftest.py": project.require(CONFTEST).read_text(),
             "test_service.py": project.require(TESTS).read_text()}
    os.environ.pop("POWERTOOLS_LOGGER_LOG_EVENT", None)
    _forget_handlers()
    with ExitStack() as stack:
        for name, change in (mutate or {}).items():
            stack.enter_context(mutated(name, change))
        outcome = run_pytest(files)
    _forget_handlers()
    if outcome.collect_errors:
        raise AssertionError(f"pytest could not load your tests: {outcome.load_error()}")
    return outcome


@once
def _plain_run(project: Project) -> Any:
    return _learner_tests(project)


@ex113.behaviour("your end-to-end tests pass on your service",
                 hint=["Section 6 lists the four tests; the scaffold gives the service fixture "
                       "and drain().",
                       "Run them with run_tests(...) in the lesson to see pytest's own report."])
def _(project: Project) -> None:
    outcome = _plain_run(project)
    failed = outcome.failed
    assert not failed, "your tests fail on your service: " + "; ".join(
        f"{name}: {why}" for name, why in list(failed.items())[:3])[:900]
    assert len(outcome.passed) >= 4, (
        f"{len(outcome.passed)} test(s) ran in {TESTS}; section 6 asks for four: the API, an "
        "upload with spaces in its key, a notification delivered twice, a poison sign-up")


def _caught(project: Project, what: str, mutate: dict[str, Callable[[Any], None]]) -> None:
    plain = _plain_run(project)
    assert plain.passed and not plain.failed, (
        "your tests must first pass on your own service (the behaviour above)")
    outcome = _learner_tests(project, mutate)
    assert outcome.failed, f"your tests all pass on a service that {what}: none of them notices"


def _unquoted(module: Any) -> None:
    real = module.objects_in

    def objects_in(event: dict[str, Any]) -> Any:
        event = json.loads(json.dumps(event))
        for record in event.get("Records") or []:
            s3_object = (record.get("s3") or {}).get("object") or {}
            if isinstance(s3_object.get("key"), str):  # what unquote makes of a +: a +
                s3_object["key"] = s3_object["key"].replace("+", "%2B")
        return real(event)

    module.objects_in = objects_in


class _Renamed:
    """A users service whose save_item gives every item a new user id."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def save_item(self, item: dict[str, Any], **options: Any) -> Any:
        import uuid

        return self._inner.save_item({**item, "user_id": str(uuid.uuid4())}, **options)


class _Forgetful:
    """A users service whose save_item stores nothing."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def save_item(self, item: dict[str, Any], **options: Any) -> None:
        return None


def _wrapped_service(wrapper: type) -> Callable[[Any], None]:
    def mutate(module: Any) -> None:
        real = module.users_service

        def users_service() -> Any:
            return wrapper(real())

        users_service.cache_clear = getattr(real, "cache_clear", lambda: None)  # type: ignore
        module.users_service = users_service

    return mutate


def _swallowing(module: Any) -> None:
    real = module.lambda_handler

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            real(event, context)
        except Exception:  # noqa: BLE001 - the broken copy swallows everything
            pass
        return {"batchItemFailures": []}

    module.lambda_handler = lambda_handler


@ex113.behaviour("your tests catch an import that decodes keys with unquote",
                 hint=["Section 6: the upload's key must have a space in it, or unquote and "
                       "unquote_plus give the same key.",
                       "Assert on the users the upload created, not only that nothing raised."])
def _(project: Project) -> None:
    _caught(project, "decodes S3 keys with unquote (a space stays a +)",
            {"handlers.s3_handler": _unquoted})


@ex113.behaviour("your tests catch an import that is not idempotent",
                 hint=["Section 6: deliver the same notification twice and count the users.",
                       "Compare the whole list of emails (duplicates included), not a set."])
def _(project: Project) -> None:
    _caught(project, "creates the file's users again on each delivery",
            {"handlers.s3_handler": _wrapped_service(_Renamed)})


@ex113.behaviour("your tests catch a worker that loses its poison messages",
                 hint=["Section 6: a poison sign-up must end in the dead-letter queue.",
                       "Assert on what the dead-letter queue holds after drain()."])
def _(project: Project) -> None:
    _caught(project, "swallows every failure (poison messages are deleted, not dead-lettered)",
            {"handlers.sqs_handler": _swallowing})


@ex113.behaviour("your tests catch an API that answers 201 without storing the user",
                 hint=["Section 6: after POST, read the user back (GET /users/{id}, or the "
                       "table).",
                       "A 201 only says what the function answered."])
def _(project: Project) -> None:
    _caught(project, "answers 201 to POST /users but stores nothing",
            {"handlers.api_gateway_handler": _wrapped_service(_Forgetful)})


question("11.h", "Every lesson's check passed when you wrote it. Why does the capstone run them "
         "all again?",
         ["To count the score again.",
          "Later lessons changed earlier files (the API got Tracer and a table, the worker "
          "idempotency, the build a layer): a change can break an earlier promise, and only "
          "running every check on the final files proves the service you keep.",
          "Because checks expire after a day."],
         answer=1,
         why=["The score is not the point; the final workspace is.",
              "Right: a regression suite for the course. In your own projects, CI runs every "
              "test on every change for the same reason.",
              "They do not; files change."])

question("11.i", "Your end-to-end test uploads `imports/team.csv` and checks the users. Why "
         "does the capstone call that test weak?",
         ["It is not weak: it covers the import.",
          "A key without a space (or +) decodes the same with unquote and unquote_plus: the "
          "test passes on the bug lesson 06 is about. A test must use the input that tells "
          "the right code from the wrong one.",
          "CSV files must be uploaded under reports/."],
         answer=1,
         why=["It covers the happy path only; a mutant with unquote survives it.",
              "Right: tests are judged by the bugs they catch.",
              "imports/ is the prefix that triggers the import; reports/ is where it writes."])


# --- questions of sections 1-3 and 7 ---------------------------------------------------------

question("11.a", "API Gateway, the sign-ups mapping and the bucket notification all call the "
         "functions' `live` alias, never `$LATEST`. What does that buy you when a deploy goes "
         "wrong?",
         ["Nothing: `$LATEST` and `live` run the same code.",
          "A rollback is one call: move `live` back to the previous version and every caller "
          "follows at once; nothing is rebuilt or redeployed.",
          "Lambda retries a failed invocation on the previous version by itself."],
         answer=1,
         why=["`$LATEST` is whatever was uploaded last; `live` is the published version you "
              "chose, and versions never change once published.",
              "Right: section 5 writes that call.",
              "Lambda retries on the same version; it has no notion of a good one."])

question("11.b", "The flow delivered the same S3 notification twice, and the table still holds "
         "each user once. What makes that so?",
         ["SQS removes duplicate messages.",
          "The import derives each user's id from the object's version and the row, and saves "
          "with a conditional put: the second write of the same id is refused and counted as "
          "already imported.",
          "The event source mapping remembers the message ids it has seen."],
         answer=1,
         why=["Standard queues deliver at least once and never deduplicate (FIFO queues do, "
              "within five minutes, by deduplication id).",
              "Right: lesson 06, exercise 6.2. The sign-ups worker does the same per message id "
              "with Powertools' idempotency (lesson 05).",
              "It does not: a duplicate is a new message, with its own id."])

question("11.c", "Every test passes and every exercise's check passed. Why also read the code "
         "for the guideline's traps?",
         ["Reading code is faster than running tests.",
          "A test proves what it tries. `str(e)` on one rare error path, or `log_event=True` on "
          "one function, passes every test that does not go there; a rule read over all the "
          "code finds the habit wherever it is.",
          "The checks never test error paths."],
         answer=1,
         why=["Speed is not the point; coverage of habits is.",
              "Right: linters and code review do the same in a team (ruff's rules, for one).",
              "They do (lessons 01-06 provoke failures); they cannot try every path of every "
              "file you will write."])

question("11.j", "Your certificate's Init Duration was measured on this machine. Why will "
         "Lambda show a longer one for the same code at 256 MB?",
         ["It will not: INIT runs the same imports.",
          "Lambda runs INIT on the CPU share the memory size buys (1,769 MB is one vCPU, 256 MB "
          "about a seventh of one), and a cold start there also creates the execution "
          "environment and fetches the package: measure in Lambda before promising a latency.",
          "Lambda imports every module of the package, used or not."],
         answer=1,
         why=["The imports are the same; the CPU they run on is not.",
              "Right: lesson 10 ran the function under a CPU share to see it; the certificate's "
              "figure is a floor, not a promise.",
              "It imports what your handler's module imports, as here."])
