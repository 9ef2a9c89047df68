"""Hidden tests for lesson 04 (DynamoDB service, integration tests with moto).

Messages are written for the learner. Every behaviour starts its own moto mock and creates the
tables itself (with boto3, not the learner's create_users_table). Pages are made small with a
boto3 event hook that caps Limit, so a few small items already span several pages. Failures
that moto cannot produce (a read timeout, a refused permission) come from a stand-in for
botocore's API call. Exercise 4.4 runs hidden tests with pytest (in this process) against the
learner's conftest; exercise 4.5 calls the learner's tests directly, with their own service and
with broken variants of it (subclasses that break one promise each, built from their code).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from course.checks import BehaviourTimeout, Project, exercise, question
from course.checks.kit import PytestRun, lambda_context, once, run_pytest

SERVICE = "src/services/dynamodb_service.py"
SERVICE_MODULE = "services.dynamodb_service"
HANDLER = "src/handlers/api_gateway_handler.py"
HANDLER_MODULE = "handlers.api_gateway_handler"
CONFTEST = "tests/integration/conftest.py"
SERVICE_TESTS = "tests/integration/test_dynamodb_service.py"
TABLE = "users-check"
INDEX = "email-index"
ADA = {"user_id": "u-ada", "name": "Ada", "email": "ada@example.com"}
API_GATEWAY_LIMIT = 29  # seconds: API Gateway's default integration timeout
BUDGET = 15  # seconds: the worst case the lesson allows a DynamoDB call, all attempts included

# --- formative questions (asked in the notebook with ask("4.a") ...) -----------------------

question(
    "4.a", "With moto 5 installed, what does `from moto import mock_dynamodb` do?",
    ["imports the DynamoDB mock", "imports it with a DeprecationWarning",
     "raises ImportError", "imports mock_aws under an old name"],
    answer=2,
    why=["That was moto 4. Version 5 removed every per-service mock.",
         "There is no transition period: the name is gone.",
         "Right: moto 5 has one mock for every service, `mock_aws`.",
         "moto 5 kept no aliases for the old names."])

question(
    "4.b", "A user saved with `\"age\": 36` is read back with `get_item`. What is "
    "`item[\"age\"]`, and what does `json.dumps(item)` do?",
    ["`36`, and it works", "`Decimal('36')`, and it raises TypeError",
     "`'36'`, and it works", "`36.0`, and it works"],
    answer=1,
    why=["boto3 never returns an int for a DynamoDB number.",
         "DynamoDB numbers come back as `Decimal` (exact, unlike float), which the json module "
         "cannot encode: a model (`User.model_validate`) turns them back into ints.",
         "A number stays a number (type N); only its Python type changes.",
         "boto3 refuses floats altogether, both ways: it uses `Decimal`."])

question(
    "4.c", "The guideline's `query_items` writes `f\"{key_name} = :value\"`. You call it with "
    "`key_name=\"status\"`. What does DynamoDB answer?",
    ["the matching items", "ValidationException: `status` is a reserved keyword",
     "an empty list", "it depends on the index"],
    answer=1,
    why=["DynamoDB parses the expression first, and `status` is one of its reserved words.",
         "Right: `name`, `status`, `date` and hundreds more are reserved. `Key(\"status\")"
         ".eq(...)` makes boto3 write `#n0 = :v0` with the name beside it.",
         "An expression DynamoDB cannot parse fails; it does not match nothing.",
         "Reserved words are refused in every expression, on tables and indexes alike."])

question(
    "4.d", "Why does `save_item` make one conditional `put_item`, rather than `get_item` "
    "(\"is the id free?\") followed by `put_item`?",
    ["one call is cheaper, that is all", "two requests can both see the id free, then both "
     "write: the second overwrites the first", "get_item cannot see new items",
     "put_item cannot fail otherwise"],
    answer=1,
    why=["It is cheaper too, but the real problem is correctness.",
         "Right: between the read and the write another request can write. The condition is "
         "checked by DynamoDB at the moment of the write.",
         "A get_item by key is strongly consistent when you ask for it; that is not the issue.",
         "put_item without a condition succeeds, and that is the problem."])

question(
    "4.e", "A `Scan` asks for `Limit=5` on a table of 9 small items. DynamoDB returns 5 items "
    "and a `LastEvaluatedKey`. What does the key tell you?",
    ["there are exactly 4 more items", "there may be more: scan again from that key",
     "the scan failed half-way", "the table has more than 1 MB"],
    answer=1,
    why=["It says nothing about how many: DynamoDB stopped because of the Limit.",
         "Right: pass it back as `ExclusiveStartKey` to continue. It can even lead to an empty "
         "page: the key means 'stopped here', not 'there is more'.",
         "A failure is an exception, never a key.",
         "A page also ends at 1 MB, but here it ended at the Limit."])

question(
    "4.f", "Why does this course create the DynamoDB service on first use (`@functools.cache`) "
    "rather than at import?",
    ["creating a boto3 client calls AWS", "cold starts are free that way",
     "a test can set USERS_TABLE and start its mock before the service exists",
     "Lambda does not allow clients at module level"],
    answer=2,
    why=["Creating a client makes no network call; it reads configuration and a service model.",
         "The work only moves from INIT into the first request, and since August 2025 INIT is "
         "billed like the rest.",
         "Right: testability. AWS recommends module-level clients, and they are fine in Lambda; "
         "created lazily, importing the module needs no region and no mock.",
         "Lambda's own best practices recommend creating clients outside the handler."])

question(
    "4.g", "With botocore's defaults (60 s connect timeout, 60 s read timeout, 4 attempts for "
    "DynamoDB), how long can one `get_item` take when DynamoDB never answers?",
    ["about 1 minute", "about 2 minutes", "about 8 minutes", "29 s: API Gateway stops it"],
    answer=2,
    why=["Each attempt may wait 60 s to connect and 60 s to read.",
         "That is one attempt; there are four.",
         "Right: 4 × (60 s + 60 s) = 480 s. API Gateway has answered the client 504 long "
         "before, and the function keeps running (and billing) until its own timeout.",
         "API Gateway stops waiting after 29 s, but your function does not stop."])

question(
    "4.h", "A fixture sets `os.environ[\"AWS_ACCESS_KEY_ID\"] = \"testing\"` instead of "
    "`monkeypatch.setenv(...)`. What happens after the test?",
    ["pytest restores the old value", "the fake key stays for every later test in the process",
     "the key is removed", "moto restores it"],
    answer=1,
    why=["pytest only undoes what its fixtures (monkeypatch) changed.",
         "Right: os.environ is the process's environment; the change outlives the test, and "
         "later tests (or a real deployment script in the same process) run with it.",
         "Nothing removes it.",
         "moto sets its own fake credentials only inside the mock, and leaves yours alone."])


def _create_table(resource: Any, name: str = TABLE, key: str = "user_id",
                  index_key: str = "email", index: str = INDEX) -> Any:
    """A table: partition key `key`, a GSI `index` on `index_key`."""
    return resource.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"},
                              {"AttributeName": index_key, "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": index,
                                 "KeySchema": [{"AttributeName": index_key, "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
    )


@contextmanager
def _dynamodb(project: Project, service_class: Any = None):
    """(service, table, resource) inside a fresh moto mock; service_class defaults to the
    learner's DynamoDBService."""
    import boto3
    from moto import mock_aws

    if service_class is None:
        service_class = _module(project).DynamoDBService
    with mock_aws():
        resource = boto3.resource("dynamodb")
        table = _create_table(resource)
        try:
            service = service_class(TABLE, resource=resource)
        except TypeError as exc:
            raise AssertionError(
                f"DynamoDBService({TABLE!r}, resource=...) raised TypeError: {exc}. Keep the "
                "scaffold's __init__: tests pass their own resource") from None
        yield service, table, resource


def _module(project: Project) -> Any:
    module = project.module(SERVICE_MODULE)
    for name in ("DynamoDBService", "DynamoDBError", "ItemAlreadyExists", "ItemNotFound"):
        assert isinstance(getattr(module, name, None), type), (
            f"{SERVICE} has no class {name} (keep the scaffold's exceptions)")
    assert issubclass(module.ItemAlreadyExists, module.DynamoDBError) and issubclass(
        module.ItemNotFound, module.DynamoDBError), (
        "ItemAlreadyExists and ItemNotFound should be subclasses of DynamoDBError (keep the "
        "scaffold's classes)")
    return module


def _call(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    """func(*args, **kwargs), with botocore's exceptions explained to the learner."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return func(*args, **kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        raise AssertionError(
            f"{what} let botocore's ClientError ({code}) escape: {str(exc)[:140]}") from None
    except BotoCoreError as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {str(exc)[:140]}") from None


def _capture_errors(logger_name: str) -> list[logging.LogRecord]:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(logger_name)
    logger.addHandler(Collect(logging.ERROR))
    logger.setLevel(logging.DEBUG)
    return records


class Call:
    """One DynamoDB API call as the service made it: operation, parameters, items returned."""

    def __init__(self, operation: str, params: dict[str, Any]) -> None:
        self.operation, self.params, self.items = operation, params, 0


@contextmanager
def _api_calls(fail: Callable[[str, dict], BaseException | None] | None = None
               ) -> Iterator[list[Call]]:
    """Record every AWS API call made inside the block (any client, any session); `fail`
    may return an exception to raise instead of making a call, as botocore would."""
    from botocore.client import BaseClient

    real = BaseClient._make_api_call
    calls: list[Call] = []

    def recording(client: Any, operation: str, params: dict) -> Any:
        call = Call(operation, dict(params))
        calls.append(call)
        error = fail(operation, params) if fail else None
        if error is not None:
            raise error
        response = real(client, operation, params)
        call.items = len(response.get("Items", [])) if isinstance(response, dict) else 0
        return response

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = real  # type: ignore[method-assign]


def _timeout(operation: str, params: dict) -> BaseException | None:
    from botocore.exceptions import ReadTimeoutError

    return ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")


def _no_connection(operation: str, params: dict) -> BaseException | None:
    from botocore.exceptions import EndpointConnectionError

    return EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")


def _no_credentials(operation: str, params: dict) -> BaseException | None:
    from botocore.exceptions import NoCredentialsError

    return NoCredentialsError()


def _expect_base_error(module: Any, name: str, call: Callable[[], Any], what: str) -> None:
    try:
        call()
    except module.DynamoDBError as exc:
        assert type(exc) is module.DynamoDBError, (
            f"{name} {what} raised {type(exc).__name__}: that is for a failed condition only. "
            "Other failures are the plain DynamoDBError")
        return
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's exception, explained
        raise AssertionError(
            f"{name} {what} raised {type(exc).__module__}.{type(exc).__name__}: callers would "
            "need to know botocore to handle it. Raise the module's DynamoDBError instead"
        ) from None
    raise AssertionError(f"{name} {what} raised nothing")


# --- 4.1 ---------------------------------------------------------------------------------

ex41 = exercise("4.1", "DynamoDBService: get, save without overwriting, delete", files=[SERVICE])
SERVICE_SECTION = "Lesson 04, section 4 ('The service: conditional writes, its own errors')"


@ex41.behaviour("save_item stores an item and get_item reads it back; a missing key gives None",
                hint=[f"{SERVICE_SECTION}: the table object has put_item and get_item.",
                      "A get_item response has no 'Item' key at all when nothing matches: read "
                      "it without assuming it is there."])
def _(project: Project) -> None:
    from decimal import Decimal

    with _dynamodb(project) as (service, table, _):
        item = {**ADA, "age": 36}
        _call("save_item", service.save_item, item)
        stored = table.get_item(Key={"user_id": "u-ada"}).get("Item")
        assert stored is not None, "after save_item the table has no item with that user_id"
        got = _call("get_item", service.get_item, {"user_id": "u-ada"})
        assert got == {**ADA, "age": Decimal("36")}, f"get_item gave {got!r:.120}"
        missing = _call("get_item", service.get_item, {"user_id": "nobody"})
        assert missing is None, f"get_item for a key that does not exist gave {missing!r:.80}"


@ex41.behaviour("save_item never overwrites: one conditional write, ItemAlreadyExists, the "
                "original kept",
                hint=[f"{SERVICE_SECTION}: put_item replaces an item silently unless it carries "
                      "a condition.",
                      "The condition: no item has this partition key yet. DynamoDB checks it at "
                      "the moment of the write, so do not read first.",
                      "A failed condition arrives as a ClientError with its own code; "
                      "_translate_errors turns it into the on_condition exception."])
def _(project: Project) -> None:
    module = _module(project)
    with _dynamodb(project) as (service, table, _):
        _call("save_item", service.save_item, ADA)
        with _api_calls() as calls:
            try:
                service.save_item({**ADA, "name": "Mallory"})
            except module.ItemAlreadyExists:
                pass
            except Exception as exc:  # noqa: BLE001 - the learner's exception, explained
                raise AssertionError(
                    f"saving a second item with a taken user_id raised {type(exc).__name__}; "
                    "expected ItemAlreadyExists") from None
            else:
                raise AssertionError(
                    "saving a second item with the same user_id succeeded: put_item replaces "
                    "an item silently unless you give it a condition")
        name = table.get_item(Key={"user_id": "u-ada"})["Item"]["name"]
        assert name == "Ada", f"the stored user is now named {name!r}: it was overwritten"
        operations = [c.operation for c in calls]
        assert operations == ["PutItem"] and "ConditionExpression" in calls[0].params, (
            f"saving made the calls {operations}: one put_item with a condition is enough, and "
            "a read before the write leaves a moment in which another request can take the id")


@ex41.behaviour("save_item(..., overwrite=True) replaces the item",
                hint=[f"{SERVICE_SECTION}: overwrite=True is for updates of an existing item.",
                      "Only add the condition when overwrite is false."])
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, _):
        _call("save_item", service.save_item, ADA)
        try:
            service.save_item({**ADA, "name": "Ada L."}, overwrite=True)
        except TypeError as exc:
            raise AssertionError(f"save_item(item, overwrite=True) raised TypeError: {exc}. Keep "
                                 "the scaffold's signature") from None
        except Exception as exc:  # noqa: BLE001 - the learner's exception, explained
            raise AssertionError(f"save_item(item, overwrite=True) on a taken key raised "
                                 f"{type(exc).__name__}; it should replace the item") from None
        name = table.get_item(Key={"user_id": "u-ada"})["Item"]["name"]
        assert name == "Ada L.", f"after overwrite=True the user is still named {name!r}"


@ex41.behaviour("delete_item removes the item; deleting a missing one raises ItemNotFound",
                hint=[f"{SERVICE_SECTION}: without a condition, DynamoDB deletes nothing and "
                      "says nothing when the item is not there.",
                      "Give delete_item a condition too: that the item exists. One call, no "
                      "read first."])
def _(project: Project) -> None:
    module = _module(project)
    with _dynamodb(project) as (service, table, _):
        table.put_item(Item=ADA)
        _call("delete_item", service.delete_item, {"user_id": "u-ada"})
        assert "Item" not in table.get_item(Key={"user_id": "u-ada"}), (
            "after delete_item the item is still in the table")
        with _api_calls() as calls:
            try:
                service.delete_item({"user_id": "u-ada"})
            except module.ItemNotFound:
                pass
            except Exception as exc:  # noqa: BLE001 - the learner's exception, explained
                raise AssertionError(f"deleting an item that does not exist raised "
                                     f"{type(exc).__name__}; expected ItemNotFound") from None
            else:
                raise AssertionError("deleting an item that does not exist raised nothing: a "
                                     "client deleting the wrong id should hear about it")
        operations = [c.operation for c in calls]
        assert operations == ["DeleteItem"], (
            f"deleting made the calls {operations}: one conditional delete_item is enough")


@ex41.behaviour("DynamoDB's refusals (a missing table) reach callers as DynamoDBError, never "
                "as botocore's ClientError",
                hint=[f"{SERVICE_SECTION}: _translate_errors wraps every call; callers should "
                      "never need to know botocore.",
                      "DynamoDB's error code is in the ClientError's response. A failed "
                      "condition becomes on_condition when one is given; any other code the "
                      "plain DynamoDBError, chained to its cause."])
def _(project: Project) -> None:
    import boto3
    from moto import mock_aws

    module = _module(project)
    with mock_aws():
        missing = module.DynamoDBService("no-such-table", resource=boto3.resource("dynamodb"))
        for name, call in (("get_item", lambda: missing.get_item({"user_id": "u"})),
                           ("save_item", lambda: missing.save_item(dict(ADA))),
                           ("delete_item", lambda: missing.delete_item({"user_id": "u"}))):
            _expect_base_error(module, name, call, "on a table that does not exist")


@ex41.behaviour("failures without an answer (timeout, no connection, no credentials) are a "
                "DynamoDBError too",
                hint=[f"{SERVICE_SECTION}: not every failure is a ClientError. When DynamoDB "
                      "never answers, botocore raises another family of exceptions.",
                      "botocore.exceptions has a base class for those (timeouts, connections, "
                      "credentials): translate it as well."])
def _(project: Project) -> None:
    module = _module(project)
    with _dynamodb(project) as (service, _, _):
        for fail, what in ((_timeout, "when DynamoDB does not answer in time"),
                           (_no_connection, "when DynamoDB cannot be reached"),
                           (_no_credentials, "without credentials")):
            with _api_calls(fail):
                for name, call in (("get_item", lambda: service.get_item({"user_id": "u"})),
                                   ("save_item", lambda: service.save_item(dict(ADA))),
                                   ("delete_item", lambda: service.delete_item({"user_id": "u"}))):
                    _expect_base_error(module, name, call, what)


@ex41.behaviour("each failure is logged at ERROR with DynamoDB's error code (or the "
                "exception's type)",
                hint=[f"{SERVICE_SECTION}: the service logs one line per failure, with the "
                      "module's logger.",
                      "Name the operation and DynamoDB's error code; when there is no answer, "
                      "the exception's class name. No traceback here: the handler that finally "
                      "deals with the error logs it."])
def _(project: Project) -> None:
    import boto3
    from moto import mock_aws

    module = _module(project)
    records = _capture_errors(SERVICE_MODULE)
    with mock_aws():
        missing = module.DynamoDBService("no-such-table", resource=boto3.resource("dynamodb"))
        try:
            missing.get_item({"user_id": "u"})
        except Exception:  # noqa: BLE001 - the exception type is checked by another behaviour
            pass
        text = "\n".join(record.getMessage() for record in records)
        assert records, (f"get_item on a missing table logged nothing at ERROR with the logger "
                         f"logging.getLogger(__name__) of {SERVICE}")
        assert "ResourceNotFoundException" in text, (
            f"the ERROR line does not name DynamoDB's error code (ResourceNotFoundException): "
            f"{text[:160]!r}")
        records.clear()
        with _api_calls(_timeout):
            try:
                missing.get_item({"user_id": "u"})
            except Exception:  # noqa: BLE001 - the exception type is checked elsewhere
                pass
        text = "\n".join(record.getMessage() for record in records)
        assert "ReadTimeoutError" in text, (
            "when DynamoDB does not answer in time, the ERROR line should name what happened "
            f"(ReadTimeoutError); it is {text[:160]!r}")


# --- 4.2 ---------------------------------------------------------------------------------

ex42 = exercise("4.2", "Queries that return every page", files=[SERVICE])
PAGES_SECTION = "Lesson 04, section 5 ('Every page of a query')"


def _small_pages(resource: Any, operation: str, size: int = 2) -> list[dict]:
    """Cap Limit at `size` for every `operation` call (Query or Scan) on this resource: DynamoDB
    then answers in pages of `size` items, as it does past 1 MB. Returns the calls made."""
    calls: list[dict] = []

    def cap(params: dict, **_: Any) -> None:
        params["Limit"] = min(params.get("Limit", size), size)
        calls.append(dict(params))

    resource.meta.client.meta.events.register(f"provide-client-params.dynamodb.{operation}", cap)
    return calls


def _ids(items: Any, what: str) -> list[str]:
    assert isinstance(items, list), f"{what} returned a {type(items).__name__}, not a list"
    return sorted(str(item.get("user_id")) for item in items)


def _query(service: Any, email: str, key: str = "email", index: str = INDEX) -> list:
    try:
        return service.query_items(key, email, index_name=index)
    except TypeError as exc:
        raise AssertionError(f"query_items({key!r}, ..., index_name={index!r}) raised TypeError: "
                             f"{exc}. Keep the scaffold's signature") from None
    except Exception as exc:
        cause = getattr(exc.__cause__, "response", {}).get("Error", {})
        if type(exc).__name__ != "DynamoDBError" or cause.get("Code") != "ValidationException":
            raise
        raise AssertionError(
            f"DynamoDB refused the query ({cause.get('Code')}: {cause.get('Message', '')[:100]}). "
            f"A condition on {key} needs the index that has {key} as its key: pass the index's "
            "name on") from None


@ex42.behaviour("query_items finds users by email through the email-index",
                hint=[f"{PAGES_SECTION}: the table's own key is user_id, so a condition on email "
                      "only works on the index whose key is email.",
                      "Build the key condition from key_name and key_value, and pass the index's "
                      "name when one is given."])
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, _):
        for n, email in enumerate(["ada@example.com", "grace@example.com", "grace@example.com"]):
            table.put_item(Item={"user_id": f"u-{n}", "name": "x", "email": email})
        found = _call("query_items", _query, service, "grace@example.com")
        assert _ids(found, "query_items") == ["u-1", "u-2"], (
            f"querying email grace@example.com gave the users {_ids(found, 'query_items')}; "
            "expected u-1 and u-2")


@ex42.behaviour("query_items returns [] when nothing matches",
                hint=[f"{PAGES_SECTION}: an empty result is a page with no items.",
                      "Return a list in every case, an empty one included."])
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, _):
        table.put_item(Item=ADA)
        found = _call("query_items", _query, service, "nobody@example.com")
        assert found == [], f"a query that matches nothing returned {found!r:.80}"


@ex42.behaviour("query_items returns every item, once, when the result spans several pages",
                hint=[f"{PAGES_SECTION}: one query call returns one page (at most 1 MB).",
                      "While a response carries a LastEvaluatedKey, query again starting from "
                      "that key, and collect the items of every page: each page once."])
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, resource):
        for n in range(7):
            table.put_item(Item={"user_id": f"u-{n}", "email": "team@example.com"})
        calls = _small_pages(resource, "Query")
        found = _call("query_items", _query, service, "team@example.com")
        got = _ids(found, "query_items")
        assert sorted(set(got)) == [f"u-{n}" for n in range(7)], (
            f"7 users share the email, in pages of 2; query_items returned {len(set(got))} of "
            f"them after {len(calls)} query call(s)")
        assert len(got) == 7, (
            f"query_items returned {len(got)} items for 7 users: some came back twice")
        assert len(calls) <= 5, (
            f"query_items made {len(calls)} query calls for 4 pages: read each page once")


RESERVED = re.compile(r"(?<![#:\w])(name|status)(?!\w)", re.I)


@ex42.behaviour("query_items works for attribute names DynamoDB reserves (name, status)",
                hint=[f"{PAGES_SECTION}, and section 3's demo: DynamoDB refuses hundreds of "
                      "words (name, status, date...) as attribute names written into an "
                      "expression.",
                      "Build the condition with boto3's Key(): boto3 then writes a placeholder "
                      "for the name and sends the real name beside it. (moto does not check "
                      "this for key conditions; DynamoDB does, so the check does.)"])
def _(project: Project) -> None:
    module = _module(project)
    with _dynamodb(project) as (_, _, resource):
        for key in ("name", "status"):
            table = _create_table(resource, f"by-{key}", index_key=key, index=f"{key}-index")
            table.put_item(Item={"user_id": "u-1", key: "Ada"})
            service = module.DynamoDBService(f"by-{key}", resource=resource)
            with _api_calls() as calls:
                found = _call("query_items", _query, service, "Ada", key, f"{key}-index")
            for call in calls:
                expression = call.params.get("KeyConditionExpression")
                if isinstance(expression, str) and RESERVED.search(expression):
                    raise AssertionError(
                        f"query_items({key!r}, ...) sent the expression {expression!r}: DynamoDB "
                        f"answers ValidationException, because {key!r} is a reserved word "
                        "(moto does not check it here; DynamoDB does)")
            assert _ids(found, "query_items") == ["u-1"], (
                f"query_items({key!r}, 'Ada', index_name={key + '-index'!r}) gave {found!r:.100}")


@ex42.behaviour("scan_items(limit=n) returns n items, and reads no more than it returns",
                hint=[f"{PAGES_SECTION}: a page may hold fewer items than its Limit, so a limited "
                      "scan reads pages until it has enough.",
                      "Each call should ask only for the items still missing: a Scan is billed "
                      "for every item it reads, returned or not."])
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, resource):
        for n in range(9):
            table.put_item(Item={"user_id": f"u-{n}", "email": f"{n}@example.com"})
        _small_pages(resource, "Scan")
        for limit, expected in ((5, 5), (1, 1), (100, 9)):
            with _api_calls() as calls:
                try:
                    items = service.scan_items(limit=limit)
                except TypeError as exc:
                    raise AssertionError(f"scan_items(limit={limit}) raised TypeError: {exc}. "
                                         "Keep the scaffold's signature") from None
            got = len(_ids(items, "scan_items"))
            scans = [c for c in calls if c.operation == "Scan"]
            read = sum(c.items for c in scans)
            assert got == expected, (
                f"the table holds 9 users in pages of 2; scan_items(limit={limit}) returned "
                f"{got} after {len(scans)} scan call(s); expected {expected}")
            assert read <= expected, (
                f"scan_items(limit={limit}) read {read} items to return {got}: ask each page "
                "only for the items still missing (DynamoDB bills every item a Scan reads)")


@ex42.behaviour("scan_items(start_key=...) continues after that key: page by page, every "
                "item exactly once",
                hint=[f"{PAGES_SECTION}: start_key is the key of the last item of an earlier "
                      "page; the next page starts after it.",
                      "DynamoDB starts a scan after a key when you pass it as ExclusiveStartKey "
                      "on the first call."])
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, resource):
        for n in range(9):
            table.put_item(Item={"user_id": f"u-{n}", "email": f"{n}@example.com"})
        _small_pages(resource, "Scan")
        seen: list[str] = []
        start = None
        for _ in range(12):
            try:
                page = service.scan_items(limit=4, start_key=start)
            except TypeError as exc:
                raise AssertionError(f"scan_items(limit=4, start_key=...) raised TypeError: "
                                     f"{exc}. Keep the scaffold's signature") from None
            seen += _ids(page, "scan_items")
            if len(page) < 4:
                break
            start = {"user_id": page[-1]["user_id"]}
        assert sorted(seen) == [f"u-{n}" for n in range(9)], (
            f"paging through 9 users 4 at a time, each page starting after the last user of the "
            f"one before, gave {len(seen)} users ({len(set(seen))} different): expected each "
            "of the 9 once")


@ex42.behaviour("query and scan failures reach callers as DynamoDBError",
                hint=[f"{PAGES_SECTION}: the new methods make DynamoDB calls too.",
                      "Run them inside _translate_errors, as the methods of exercise 4.1 do."])
def _(project: Project) -> None:
    import boto3
    from moto import mock_aws

    module = _module(project)
    with mock_aws():
        missing = module.DynamoDBService("no-such-table", resource=boto3.resource("dynamodb"))
        for name, call in (("query_items", lambda: missing.query_items(
                "email", "a@example.com", index_name=INDEX)),
                           ("scan_items", lambda: missing.scan_items(limit=5))):
            _expect_base_error(module, name, call, "on a table that does not exist")
    with _dynamodb(project) as (service, _, _), _api_calls(_timeout):
        for name, call in (("query_items", lambda: service.query_items(
                "email", "a@example.com", index_name=INDEX)),
                           ("scan_items", lambda: service.scan_items(limit=5))):
            _expect_base_error(module, name, call, "when DynamoDB does not answer in time")


# --- 4.3 ---------------------------------------------------------------------------------

ex43 = exercise("4.3", "The users API on DynamoDB", files=[HANDLER])
API_SECTION = "Lesson 04, section 6 ('The users API on DynamoDB')"


@contextmanager
def _users_api(project: Project, table_name: str | None = TABLE, *,
               count_services: list | None = None):
    """(handler module, table) inside a fresh mock, with USERS_TABLE = table_name (None: unset,
    and the table is "users"; otherwise the table is TABLE, so another name is a missing
    table). The handler module is imported afresh inside the mock."""
    import boto3
    from moto import mock_aws

    if table_name is None:
        os.environ.pop("USERS_TABLE", None)
    else:
        os.environ["USERS_TABLE"] = table_name
    services = _module(project)
    real_init = services.DynamoDBService.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        if count_services is not None:
            count_services.append(args)
        real_init(self, *args, **kwargs)

    with mock_aws():
        table = _create_table(boto3.resource("dynamodb"), TABLE if table_name else "users")
        services.DynamoDBService.__init__ = counting_init
        try:
            sys.modules.pop(HANDLER_MODULE, None)  # a fresh import: no service from before
            module = project.module(HANDLER_MODULE)
            project.function(HANDLER_MODULE, "lambda_handler")
            yield module, table
        finally:
            services.DynamoDBService.__init__ = real_init
            os.environ.pop("USERS_TABLE", None)


def _request(module: Any, method: str, path: str, body: Any = None,
             query: dict | None = None) -> tuple[int, Any]:
    from course import events

    what = f"{method} {path}"
    try:
        response = module.lambda_handler(events.api_gateway_rest(method, path, body, query=query),
                                         lambda_context())
    except BehaviourTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
        raise AssertionError(f"{what} raised {type(exc).__name__}: {str(exc)[:140]}") from None
    try:
        payload = json.loads(response["body"])
    except (TypeError, ValueError, KeyError):
        payload = response.get("body")
    return int(response["statusCode"]), payload


def _created(module: Any, body: dict, table: str = TABLE) -> dict:
    status, payload = _request(module, "POST", "/users", body)
    where = (f" (the check's table is the one USERS_TABLE names, {table!r})" if status == 500
             else "")
    assert status == 201, f"POST /users with {body} answered {status} {payload!r:.120}{where}"
    return payload


@ex43.behaviour("POST /users stores the user in the table USERS_TABLE names (\"users\" when "
                "it is not set)",
                hint=[f"{API_SECTION}: the table's name comes from the function's configuration, "
                      "an environment variable Terraform sets.",
                      "Read USERS_TABLE where the service is created, with \"users\" as the "
                      "default when the variable is absent."])
def _(project: Project) -> None:
    for name in (TABLE, None):
        with _users_api(project, name) as (module, table):
            user = _created(module, {"name": "Ada", "email": "ada@example.com", "age": 36},
                            name or "users")
            items = table.scan()["Items"]
            where = f"the table {name!r} (USERS_TABLE)" if name else (
                "the table 'users' (USERS_TABLE unset)")
            assert [item.get("user_id") for item in items] == [user.get("user_id")], (
                f"after POST /users {where} holds {len(items)} item(s): the handler does not "
                "write to it")
            assert "age" in items[0] and items[0].get("email") == "ada@example.com", (
                f"the stored item is {items[0]!r:.120}")


@ex43.behaviour("GET /users/<id> and GET /users read the users from the table",
                hint=[f"{API_SECTION}: only users_service() changes; the routes already call "
                      "get_item and scan_items on whatever it returns.",
                      "If a read fails, compare what your service returns with what lesson "
                      "03's in-memory store returned."])
def _(project: Project) -> None:
    with _users_api(project) as (module, table):
        item = {"user_id": "8a1c7c1e-2f4b-4d2e-9a57-0c4f3b2a1d00", "name": "Grace",
                "email": "grace@example.com", "created_at": "2025-01-01T00:00:00+00:00"}
        table.put_item(Item=item)
        status, payload = _request(module, "GET", f"/users/{item['user_id']}")
        assert (status, payload) == (200, {**item, "age": None}), (
            f"a user written straight to the table: GET /users/<its id> answered {status} "
            f"{payload!r:.100}")
        status, payload = _request(module, "GET", "/users")
        assert status == 200 and isinstance(payload, dict) and payload.get("count") == 1, (
            f"GET /users answered {status} {payload!r:.100}; expected the table's one user")


@ex43.behaviour("GET /users pages with next: every user exactly once, the last page's next "
                "is null",
                hint=[f"{API_SECTION}: list_users passes the cursor on to scan_items as the "
                      "start key; exercise 4.2 makes the service honour it.",
                      "If users are missing or repeated, check scan_items with start_key "
                      "(check('4.2'))."])
def _(project: Project) -> None:
    with _users_api(project) as (module, table):
        ids = []
        for n in range(5):
            ids.append(_created(module, {"name": f"U{n}", "email": f"u{n}@example.com"})
                       ["user_id"])
        seen: list[str] = []
        query = {"limit": "2"}
        pages = 0
        for _ in range(6):
            status, page = _request(module, "GET", "/users", query=query)
            pages += 1
            assert status == 200 and isinstance(page, dict), (
                f"GET /users?{query} answered {status} {page!r:.100}")
            seen += [u.get("user_id") for u in page.get("users", [])]
            if page.get("next") is None:
                break
            query = {"limit": "2", "next": page["next"]}
        assert sorted(seen) == sorted(ids), (
            f"following next through 5 users, 2 per page, gave {len(seen)} users "
            f"({len(set(seen))} different) in {pages} pages: expected each of the 5 once")


@ex43.behaviour("the DynamoDB service is created once per execution environment, and reused",
                hint=[f"{API_SECTION}: every warm invocation should reuse one service (and its "
                      "boto3 client).",
                      "Cache the result of users_service(), as lesson 03's version did, or "
                      "create the service once at module level."])
def _(project: Project) -> None:
    created: list = []
    with _users_api(project, count_services=created) as (module, _):
        _created(module, {"name": "Ada", "email": "ada@example.com"})
        _request(module, "GET", "/users")
        _request(module, "GET", "/users")
        assert len(created) == 1, (
            f"an import and three requests created {len(created)} DynamoDBService objects: "
            "create one per execution environment and reuse it")
        assert module.users_service() is module.users_service(), (
            "users_service() returns a new service on each call")


@ex43.behaviour("DynamoDB calls give up well before API Gateway's 29 s: (connect + read "
                f"timeout) x attempts <= {BUDGET} s",
                hint=[f"{API_SECTION}: botocore waits 60 s to connect and 60 s to read, and "
                      "tries DynamoDB calls 4 times, unless told otherwise.",
                      "Give the boto3 resource a botocore Config with both timeouts and the "
                      f"total number of attempts, so that their product stays within {BUDGET} "
                      "s."])
def _(project: Project) -> None:
    with _users_api(project) as (module, _):
        service = module.users_service()
        table = getattr(service, "_table", None)
        assert table is not None, (
            "the service has no _table attribute: keep the scaffold's DynamoDBService.__init__")
        config = table.meta.client.meta.config
        retries = dict(config.retries or {})
        mode = retries.get("mode") or "standard"
        attempts = retries.get("total_max_attempts")
        if attempts is None and retries.get("max_attempts") is not None:
            attempts = retries["max_attempts"] + 1
        if attempts is None:
            attempts = 10 if mode == "legacy" else 4  # botocore's defaults for DynamoDB
        connect, read = config.connect_timeout, config.read_timeout
        worst = (connect + read) * attempts
        assert worst <= BUDGET, (
            f"the service's client waits up to {connect} s to connect and {read} s to read, "
            f"{attempts} times: {worst:g} s when DynamoDB does not answer. API Gateway answers "
            f"the client 504 after {API_GATEWAY_LIMIT} s, while the function keeps waiting (and "
            "billing)")


@ex43.behaviour("an email already in the table is a 409, and nothing more is written",
                hint=[f"{API_SECTION}: create_user already asks query_items for the email "
                      "through the index.",
                      "With the DynamoDB service that reads the table: if this fails, check "
                      "query_items (check('4.2'))."])
def _(project: Project) -> None:
    with _users_api(project) as (module, table):
        _created(module, {"name": "Ada", "email": "ada@example.com"})
        status, payload = _request(module, "POST", "/users",
                                   {"name": "Ada again", "email": "ADA@example.com"})
        assert status == 409, f"a second user with the same email answered {status} {payload!r:.80}"
        assert table.scan()["Count"] == 1, "after the 409 the table holds more than one user"


@ex43.behaviour('a user_id that is already taken is a 409 "User already exists", never an '
                'overwrite',
                hint=[f"{API_SECTION}: save_item raises ItemAlreadyExists when the id is taken "
                      "(exercise 4.1).",
                      "Turn exactly that exception into Powertools' ServiceError with status 409 "
                      "and the exercise's message."])
def _(project: Project) -> None:
    import uuid

    fixed = uuid.UUID("3f2b8c1e-5d4a-4b6c-9e8f-7a6b5c4d3e2f")
    real_uuid4 = uuid.uuid4
    uuid.uuid4 = lambda: fixed  # two users drawing the same id
    try:
        with _users_api(project) as (module, table):
            _created(module, {"name": "Ada", "email": "ada@example.com"})
            status, payload = _request(module, "POST", "/users",
                                       {"name": "Grace", "email": "grace@example.com"})
            stored = table.get_item(Key={"user_id": str(fixed)}).get("Item", {})
            assert stored.get("name") == "Ada", (
                "a second user with the same user_id replaced the first: save_item must be a "
                "conditional write (exercise 4.1)")
            assert (status, payload) == (409, {"message": "User already exists"}), (
                f"when the user_id is taken, POST /users answered {status} {payload!r:.80}; "
                'expected 409 {"message": "User already exists"}')
    finally:
        uuid.uuid4 = real_uuid4


def _access_denied(operation: str, params: dict) -> BaseException | None:
    from botocore.exceptions import ClientError

    if operation != "PutItem":
        return None
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": "User: arn:aws:sts"
                                  "::123456789012:assumed-role/users-api is not authorized to "
                                  "perform: dynamodb:PutItem"}}, operation)


@ex43.behaviour("only a taken user_id is a 409: a write refused for another reason is a "
                "generic 500",
                hint=[f"{API_SECTION}: a 409 tells the client to change its request; a missing "
                      "permission or a throttled table is the server's problem.",
                      "Catch the specific exception for a taken id, not the service's base "
                      "class: everything else reaches the catch-all 500."])
def _(project: Project) -> None:
    with _users_api(project) as (module, table):
        with _api_calls(_access_denied):
            status, payload = _request(module, "POST", "/users",
                                       {"name": "Ada", "email": "ada@example.com"})
        assert (status, payload) == (500, {"message": "Internal server error"}), (
            "when DynamoDB refuses the write (AccessDeniedException: the function's role lacks "
            f"dynamodb:PutItem), POST /users answered {status} {payload!r:.100}; expected the "
            "generic 500: the client can do nothing about it, the on-call engineer can")


@ex43.behaviour("a DynamoDB failure (a missing table, a timeout) is a generic 500",
                hint=[f"{API_SECTION}: the service raises its DynamoDBError, which is not one of "
                      "Powertools' HTTP errors.",
                      "Do not catch it in the routes: the catch-all handler answers 500 and logs "
                      "the detail."])
def _(project: Project) -> None:
    with _users_api(project, "table-that-does-not-exist") as (module, _):
        status, payload = _request(module, "GET", "/users")
    assert (status, payload) == (500, {"message": "Internal server error"}), (
        f"with USERS_TABLE naming a missing table, GET /users answered {status} "
        f"{payload!r:.120}: keep the 500 generic, the detail belongs in the log")
    with _users_api(project) as (module, _), _api_calls(_timeout):
        status, payload = _request(module, "GET", "/users/3f2b8c1e-5d4a-4b6c-9e8f-7a6b5c4d3e2f")
    assert (status, payload) == (500, {"message": "Internal server error"}), (
        f"when DynamoDB does not answer in time, GET /users/<id> answered {status} "
        f"{payload!r:.120}; expected the generic 500")


# --- 4.4 ---------------------------------------------------------------------------------

ex44 = exercise("4.4", "Fixtures: fake credentials and a table inside mock_aws",
                files=[CONFTEST], timeout=15.0)
FIXTURES_SECTION = "Lesson 04, section 7 ('Integration tests with moto')"

REAL_ENV = {"AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY01", "AWS_SECRET_ACCESS_KEY": "real-secret",
            "AWS_PROFILE": "production", "AWS_DEFAULT_REGION": "eu-west-1"}

FIXTURE_TESTS = '''
import os

REAL = @REAL@


def test_credentials(aws_credentials):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        value = os.environ.get(name)
        assert value and value != REAL[name], (
            f"in a test using aws_credentials, {name} is still the shell's value: set fake ones")
    assert "AWS_PROFILE" not in os.environ, (
        "in a test using aws_credentials, AWS_PROFILE is still set: boto3 would read that "
        "profile's settings")


def test_dynamodb(dynamodb):
    assert hasattr(dynamodb, "Table") and hasattr(dynamodb, "create_table"), (
        f"dynamodb gave {type(dynamodb).__name__}, not a boto3 DynamoDB resource")
    try:
        dynamodb.meta.client.list_tables()
    except Exception as exc:
        raise AssertionError(
            "a call through the dynamodb fixture's resource did not reach moto "
            f"({type(exc).__name__}): the mock must be on for as long as the test runs") from None


def test_users_table(users_table):
    description = users_table.meta.client.describe_table(TableName=users_table.name)["Table"]
    keys = [(k["AttributeName"], k["KeyType"]) for k in description["KeySchema"]]
    assert keys == [("user_id", "HASH")], f"users_table's key is {keys}, not user_id"
    indexes = [i["IndexName"] for i in description.get("GlobalSecondaryIndexes", [])]
    assert "email-index" in indexes, f"users_table has no email-index (indexes: {indexes})"
    assert users_table.scan()["Count"] == 0, "users_table is not empty at the start of a test"


def test_service(service, users_table):
    assert type(service).__name__ == "DynamoDBService", (
        f"service is a {type(service).__name__}, not a DynamoDBService")
    service.save_item({"user_id": "u-check", "email": "check@example.com"})
    assert "Item" in users_table.get_item(Key={"user_id": "u-check"}), (
        "an item saved through service is not in users_table: build the service on that table")


def test_first_test_writes(users_table):
    users_table.put_item(Item={"user_id": "left-over", "email": "left@example.com"})


def test_next_test_starts_empty(users_table):
    assert users_table.scan()["Count"] == 0, (
        "a test sees an item the previous test wrote: give each test its own mock "
        "(function-scoped fixtures, the mock started inside the fixture)")
'''.replace("@REAL@", repr(REAL_ENV))


def _fake_home(with_region: bool) -> Path:
    home = Path(tempfile.mkdtemp(prefix="check-4.4-aws-"))
    region = "region = eu-west-1\n" if with_region else ""
    (home / "aws-config").write_text(f"[profile production]\n{region}")
    (home / "aws-credentials").write_text(
        "[production]\naws_access_key_id = AKIAREALLOOKINGKEY01\n"
        "aws_secret_access_key = real-secret\n")
    return home


@once
def _fixture_session(project: Project, with_region: bool = True
                     ) -> tuple[PytestRun, dict[str, str | None], bool]:
    """Run FIXTURE_TESTS with the learner's conftest (once per check and shell): the outcome,
    the environment right after the session, and whether a DynamoDB call still reached a mock.
    The shell holds real-looking credentials and a profile; with_region=False: no region at
    all (a fresh CI runner, a colleague's laptop)."""
    source = project.require(CONFTEST).read_text()
    import boto3

    home = _fake_home(with_region)
    os.environ.update(REAL_ENV, AWS_CONFIG_FILE=str(home / "aws-config"),
                      AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"))
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN") + (
            () if with_region else ("AWS_DEFAULT_REGION", "AWS_REGION")):
        os.environ.pop(name, None)
    boto3.DEFAULT_SESSION = None
    try:
        outcome = run_pytest({"conftest.py": source, "test_fixtures_check.py": FIXTURE_TESTS})
        after = {name: os.environ.get(name) for name in REAL_ENV}
        boto3.DEFAULT_SESSION = None
        try:
            boto3.client("dynamodb", region_name="eu-west-1").list_tables()
            mock_still_on = True
        except Exception:  # noqa: BLE001 - refused by the sandbox: no mock left running
            mock_still_on = False
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return outcome, after, mock_still_on


def _fixture_test(project: Project, name: str, fixture: str, with_region: bool = True) -> None:
    outcome, _, _ = _fixture_session(project, with_region)
    if outcome.collect_errors:
        raise AssertionError(f"pytest could not load your conftest.py: {outcome.load_error()}")
    why = outcome.results.get(name)
    assert why is not None, f"the check's test using {fixture} did not run"
    if "fixture '" in why and "not found" in why:
        raise AssertionError(f"{CONFTEST} has no fixture named {fixture}")
    assert not why, why


@ex44.behaviour("aws_credentials sets fake credentials and drops AWS_PROFILE",
                hint=[f"{FIXTURES_SECTION}: a developer's shell may hold real credentials or a "
                      "profile; tests must never use them.",
                      "pytest's monkeypatch fixture sets and removes environment variables for "
                      "one test: the access key, the secret key and both tokens get fake "
                      "values, and the profile goes (it may not be set at all)."])
def _(project: Project) -> None:
    _fixture_test(project, "test_credentials", "aws_credentials")


@ex44.behaviour("the fixtures work in a shell with no region at all",
                hint=[f"{FIXTURES_SECTION}: boto3 refuses to create a client without a region, "
                      "and a fresh CI runner has none.",
                      "aws_credentials sets the region too, in the variable boto3 reads "
                      "(AWS_DEFAULT_REGION: botocore does not read AWS_REGION)."])
def _(project: Project) -> None:
    for name, fixture in (("test_dynamodb", "dynamodb"), ("test_users_table", "users_table"),
                          ("test_service", "service")):
        try:
            _fixture_test(project, name, fixture, with_region=False)
        except AssertionError as exc:
            raise AssertionError(f"in a shell without a region: {exc}") from None


@ex44.behaviour("after the tests, the real environment is back and no mock is left running",
                hint=[f"{FIXTURES_SECTION}: pytest undoes what monkeypatch changed when the test "
                      "ends; it cannot undo an assignment to os.environ.",
                      "A mock started with a `with` block around the yield stops by itself when "
                      "the test ends."])
def _(project: Project) -> None:
    outcome, after, mock_still_on = _fixture_session(project)
    changed = [name for name, value in REAL_ENV.items() if after.get(name) != value]
    assert not changed, (
        f"after the tests {', '.join(changed)} still hold(s) the fixtures' values: later tests "
        "(and anything else in the process) would run with them")
    assert not mock_still_on, (
        "after the tests a DynamoDB call was still answered by moto: a mock was started and "
        "never stopped")
    assert outcome.results, "no test ran with your fixtures"


@ex44.behaviour("dynamodb yields a DynamoDB resource while moto's mock is on",
                hint=[f"{FIXTURES_SECTION}: the fixture asks for aws_credentials first, then "
                      "starts the mock.",
                      "Yield the resource from inside the `with` block: the mock then lasts "
                      "exactly as long as the test, and the client is created inside it."])
def _(project: Project) -> None:
    _fixture_test(project, "test_dynamodb", "dynamodb")


@ex44.behaviour("users_table is an empty users table with its email-index",
                hint=[f"{FIXTURES_SECTION}: the services module already knows the table's "
                      "design.",
                      "Reuse its function with the fixture's resource and TABLE_NAME."])
def _(project: Project) -> None:
    _fixture_test(project, "test_users_table", "users_table")


@ex44.behaviour("service is a DynamoDBService on users_table",
                hint=[f"{FIXTURES_SECTION}: the service under test works on the table the test "
                      "sees.",
                      "Build it for TABLE_NAME with the dynamodb fixture's resource."])
def _(project: Project) -> None:
    _fixture_test(project, "test_service", "service")


@ex44.behaviour("each test starts with a fresh mock: nothing leaks from one test to the next",
                hint=[f"{FIXTURES_SECTION}: fixtures are function-scoped unless told otherwise.",
                      "Start the mock inside a function-scoped fixture, not at import or once "
                      "per session."])
def _(project: Project) -> None:
    _fixture_test(project, "test_first_test_writes", "users_table")
    _fixture_test(project, "test_next_test_starts_empty", "users_table")


# --- 4.5 ---------------------------------------------------------------------------------

ex45 = exercise("4.5", "Integration tests that catch a broken service", files=[SERVICE_TESTS],
                timeout=15.0)
TESTS = ("test_save_never_overwrites_unless_asked", "test_query_reads_every_page")
TESTS_SECTION = "Lesson 04, section 7, exercise 4.5"


@once
def _service_tests(project: Project) -> Any:
    module = project.load_file(SERVICE_TESTS, "course_check_test_dynamodb_service")
    for name in TESTS:
        assert callable(getattr(module, name, None)), f"{SERVICE_TESTS} has no test {name}"
    return module


class _PagedTable:
    """A service's table whose query answers carry one pagination bug."""

    def __init__(self, table: Any, kind: str) -> None:
        self._table, self._kind = table, kind

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def query(self, **params: Any) -> dict:
        page = self._table.query(**params)
        if self._kind == "first_page":  # the guideline: one call, the next pages never asked
            page = {k: v for k, v in page.items() if k != "LastEvaluatedKey"}
        elif self._kind == "last_page_lost" and "ExclusiveStartKey" in params \
                and "LastEvaluatedKey" not in page:  # a loop that stops before the last page
            page = {**page, "Items": []}
        return page


def _variant(project: Project, kind: str) -> Any:
    """The learner's DynamoDBService, or a subclass with one bug."""
    module = _module(project)
    base = module.DynamoDBService
    if kind == "correct":
        return base

    class Broken(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if kind in ("first_page", "last_page_lost"):
                assert getattr(self, "_table", None) is not None, (
                    "your DynamoDBService has no _table: keep the scaffold's __init__")
                self._table = _PagedTable(self._table, kind)

        def save_item(self, item: dict, *, overwrite: bool = False) -> None:
            key = {self.partition_key: item[self.partition_key]}
            if kind == "overwrites":
                return super().save_item(item, overwrite=True)
            if kind == "never_replaces":
                return super().save_item(item, overwrite=False)
            if kind == "replace_noop" and overwrite and super().get_item(key) is not None:
                return None  # says yes, changes nothing
            if kind == "base_error":
                try:
                    return super().save_item(item, overwrite=overwrite)
                except module.ItemAlreadyExists as exc:
                    raise module.DynamoDBError("DynamoDB save_item failed") from exc
            if kind == "writes_then_raises" and not overwrite:
                existed = super().get_item(key) is not None
                super().save_item(item, overwrite=True)
                if existed:
                    raise module.ItemAlreadyExists("save_item")
                return None
            return super().save_item(item, overwrite=overwrite)

        def query_items(self, key_name: str, key_value: Any, *,
                        index_name: str | None = None) -> list:
            items = super().query_items(key_name, key_value, index_name=index_name)
            return items + items[:3] if kind == "duplicates" else items

    Broken.__name__ = "DynamoDBService"
    return Broken


def _run_test(project: Project, name: str, kind: str) -> str | None:
    """Run one of the learner's tests with a fresh table and a (maybe broken) service; None
    when it passes, else what it failed with."""
    test = getattr(_service_tests(project), name)
    params = list(inspect.signature(test).parameters)
    unknown = [p for p in params if p not in ("service", "users_table", "dynamodb")]
    assert not unknown, (f"{name} asks for the fixture(s) {', '.join(unknown)}: use service and "
                         "users_table (the check provides those, and dynamodb)")
    with _dynamodb(project, _variant(project, kind)) as (service, table, resource):
        given = {"service": service, "users_table": table, "dynamodb": resource}
        try:
            test(**{p: given[p] for p in params})
        except BehaviourTimeout:
            raise
        except NotImplementedError:
            raise AssertionError(f"{name} still raises NotImplementedError: write the test and "
                                 "run its cell again") from None
        except BaseException as exc:  # noqa: BLE001 - pytest.fail's exception included
            return f"{type(exc).__name__}: {str(exc).strip()[:160]}"
    return None


@once
def _on_correct_service(project: Project, name: str) -> str | None:
    return _run_test(project, name, "correct")


def _correct(project: Project, name: str) -> None:
    why = _on_correct_service(project, name)
    assert why is None, (
        f"{name} fails against your service from 4.1 and 4.2 ({why}). If checks 4.1 and 4.2 "
        "pass, the test expects something the service does not promise")


def _catches(project: Project, name: str, broken: dict[str, str]) -> None:
    try:
        _correct(project, name)
    except AssertionError:
        raise AssertionError(f"first make {name} pass against your own service (the first "
                             "check): a test that always fails catches nothing") from None
    for kind, bug in broken.items():
        assert _run_test(project, name, kind) is not None, (
            f"{name} passed against a service that {bug}")


@ex45.behaviour("both tests pass against a correct service (yours from 4.1 and 4.2)",
                hint=[f"{TESTS_SECTION}: a test may rely only on what the service promises.",
                      "save_item raises ItemAlreadyExists for a taken key unless overwrite=True; "
                      "query_items returns every match, once."])
def _(project: Project) -> None:
    for name in TESTS:
        _correct(project, name)


@ex45.behaviour("the save test fails for a service that overwrites an existing user",
                hint=[f"{TESTS_SECTION}: save a user, then another item with the same user_id.",
                      "The second save must raise: expect the exception with pytest.raises."])
def _(project: Project) -> None:
    _catches(project, TESTS[0], {"overwrites": "silently overwrites an existing user"})


@ex45.behaviour("the save test expects ItemAlreadyExists itself, not its base class",
                hint=[f"{TESTS_SECTION}: DynamoDBError means 'something went wrong'; only "
                      "ItemAlreadyExists means 'the id is taken'.",
                      "Expect the specific exception: a service that raises the base class for "
                      "a taken id would make the API answer 500 instead of 409."])
def _(project: Project) -> None:
    _catches(project, TESTS[0], {"base_error": "raises the base DynamoDBError for a taken id"})


@ex45.behaviour("the save test checks that the stored user is unchanged after the refusal",
                hint=[f"{TESTS_SECTION}: an exception is not enough: the service could write "
                      "first and complain after.",
                      "After the refused save, read the user back and compare it with the "
                      "original."])
def _(project: Project) -> None:
    _catches(project, TESTS[0], {"writes_then_raises": "overwrites the user, then raises "
                                                      "ItemAlreadyExists"})


@ex45.behaviour("the save test fails for a service that cannot replace a user with "
                "overwrite=True",
                hint=[f"{TESTS_SECTION}: the test ends with a save that must succeed.",
                      "Save with overwrite=True, then read the user back and assert the new "
                      "value is stored: a service may also say yes and change nothing."])
def _(project: Project) -> None:
    _catches(project, TESTS[0], {"never_replaces": "raises ItemAlreadyExists even with "
                                                  "overwrite=True",
                                 "replace_noop": "accepts overwrite=True but keeps the old user"})


@ex45.behaviour("the page test fails for a query that reads only the first page",
                hint=[f"{TESTS_SECTION}: the test only proves something if the data spans "
                      "several pages.",
                      "Save more than 1 MB under one email (30 items with the 40 KB BLOB), check "
                      "that a raw query on users_table returns a LastEvaluatedKey, then assert "
                      "query_items returns all 30."])
def _(project: Project) -> None:
    _catches(project, TESTS[1], {
        "first_page": "returns only the first page of a query (the guideline's query_items)"})


@ex45.behaviour("the page test fails when the last page is lost or items come back twice",
                hint=[f"{TESTS_SECTION}: 'more than one page' is not 'every item'.",
                      "Compare the exact ids returned (sorted) with the 30 you saved: a count "
                      "that is too high is as wrong as one that is too low."])
def _(project: Project) -> None:
    _catches(project, TESTS[1], {
        "last_page_lost": "stops before the last page (a loop that ends one page early)",
        "duplicates": "returns some items twice"})
