"""Hidden tests for lesson 04 (DynamoDB service, integration tests with moto).

Messages are written for the learner. Every behaviour starts its own moto mock and creates the
users table itself (with boto3, not the learner's create_users_table). Pages are made small with
a boto3 event hook that caps Limit, so a few small items already span several pages.
Exercise 4.4 runs hidden tests with pytest (in this process) against the learner's conftest;
exercise 4.5 calls the learner's tests directly, with a correct service and broken ones.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from course.checks import BehaviourTimeout, Project, exercise
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


def _create_table(resource: Any, name: str = TABLE) -> Any:
    """The users table: partition key user_id, GSI email-index on email."""
    return resource.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                              {"AttributeName": "email", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": INDEX,
                                 "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
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
    for name in ("DynamoDBService", "ServiceError", "ItemAlreadyExists", "ItemNotFound"):
        assert isinstance(getattr(module, name, None), type), f"{SERVICE} has no class {name}"
    assert issubclass(module.ItemAlreadyExists, module.ServiceError) and issubclass(
        module.ItemNotFound, module.ServiceError), (
        "ItemAlreadyExists and ItemNotFound should be subclasses of ServiceError (keep the "
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


# --- 4.1 ---------------------------------------------------------------------------------

ex41 = exercise("4.1", "DynamoDBService: get, save without overwriting, delete", files=[SERVICE])


@ex41.behaviour("save_item stores an item and get_item reads it back; a missing key gives None",
                hint="The table object has put_item and get_item; a get_item response has no "
                     "'Item' key at all when nothing matches.")
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


@ex41.behaviour("save_item never overwrites: ItemAlreadyExists, and the original is kept",
                hint="Give put_item a condition that no item has this partition key yet. A taken "
                     "key then fails with ConditionalCheckFailedException, which "
                     "_translate_errors turns into the on_condition exception.")
def _(project: Project) -> None:
    module = _module(project)
    with _dynamodb(project) as (service, table, _):
        _call("save_item", service.save_item, ADA)
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
                "saving a second item with the same user_id succeeded: put_item replaces an "
                "item silently unless you give it a condition")
        name = table.get_item(Key={"user_id": "u-ada"})["Item"]["name"]
        assert name == "Ada", f"the stored user is now named {name!r}: it was overwritten"


@ex41.behaviour("save_item(..., overwrite=True) replaces the item",
                hint="Only add the ConditionExpression when overwrite is False.")
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
                hint="delete_item takes a condition too: require that the item exists. Without "
                     "it DynamoDB deletes nothing and says nothing.")
def _(project: Project) -> None:
    module = _module(project)
    with _dynamodb(project) as (service, table, _):
        table.put_item(Item=ADA)
        _call("delete_item", service.delete_item, {"user_id": "u-ada"})
        assert "Item" not in table.get_item(Key={"user_id": "u-ada"}), (
            "after delete_item the item is still in the table")
        try:
            service.delete_item({"user_id": "u-ada"})
        except module.ItemNotFound:
            return
        except Exception as exc:  # noqa: BLE001 - the learner's exception, explained
            raise AssertionError(f"deleting an item that does not exist raised "
                                 f"{type(exc).__name__}; expected ItemNotFound") from None
        raise AssertionError("deleting an item that does not exist raised nothing: a client "
                             "deleting the wrong id should hear about it (ItemNotFound)")


@ex41.behaviour("other DynamoDB errors reach callers as ServiceError, never as ClientError",
                hint="In _translate_errors, catch botocore's ClientError and BotoCoreError around "
                     "the yield. The code is in exc.response['Error']['Code']: a failed "
                     "condition becomes on_condition when one is given, anything else the plain "
                     "ServiceError (raise ... from exc).")
def _(project: Project) -> None:
    import boto3
    from moto import mock_aws

    module = _module(project)
    with mock_aws():
        missing = module.DynamoDBService("no-such-table", resource=boto3.resource("dynamodb"))
        for name, call in (("get_item", lambda: missing.get_item({"user_id": "u"})),
                           ("save_item", lambda: missing.save_item(dict(ADA))),
                           ("delete_item", lambda: missing.delete_item({"user_id": "u"}))):
            try:
                call()
            except module.ServiceError as exc:
                assert type(exc) is module.ServiceError, (
                    f"{name} on a missing table raised {type(exc).__name__}: that is for a "
                    "failed condition only. Other errors are plain ServiceError")
                continue
            except Exception as exc:  # noqa: BLE001 - the learner's exception, explained
                raise AssertionError(
                    f"{name} on a table that does not exist raised {type(exc).__module__}."
                    f"{type(exc).__name__}: callers would need to know botocore to handle it. "
                    "Raise the module's ServiceError instead") from None
            raise AssertionError(f"{name} on a table that does not exist raised nothing")


@ex41.behaviour("each failure is logged at ERROR with DynamoDB's error code",
                hint="Log one line at ERROR with the module's logger, naming the operation and "
                     "DynamoDB's error code. No traceback here: the handler that finally deals "
                     "with the error logs it.")
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


# --- 4.2 ---------------------------------------------------------------------------------

ex42 = exercise("4.2", "Queries that return every page", files=[SERVICE])


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


def _query(service: Any, email: str) -> list:
    try:
        return service.query_items("email", email, index_name=INDEX)
    except TypeError as exc:
        raise AssertionError(f"query_items('email', ..., index_name={INDEX!r}) raised TypeError: "
                             f"{exc}. Keep the scaffold's signature") from None
    except Exception as exc:
        cause = getattr(exc.__cause__, "response", {}).get("Error", {})
        if type(exc).__name__ != "ServiceError" or cause.get("Code") != "ValidationException":
            raise
        raise AssertionError(
            f"DynamoDB refused the query ({cause.get('Code')}: {cause.get('Message', '')[:100]}). "
            "A condition on email needs the index that has email as its key: pass "
            "IndexName=index_name") from None


@ex42.behaviour("query_items finds users by email through the email-index",
                hint="Build the key condition with Key(key_name) and pass IndexName when "
                     "index_name is given: the table's own key is user_id, so a condition on "
                     "email only works on the index.")
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, _):
        for n, email in enumerate(["ada@example.com", "grace@example.com", "grace@example.com"]):
            table.put_item(Item={"user_id": f"u-{n}", "name": "x", "email": email})
        found = _call("query_items", _query, service, "grace@example.com")
        assert _ids(found, "query_items") == ["u-1", "u-2"], (
            f"querying email grace@example.com gave the users {_ids(found, 'query_items')}; "
            "expected u-1 and u-2")


@ex42.behaviour("query_items returns [] when nothing matches",
                hint="An empty result has Items: []; return a list in every case.")
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, _):
        table.put_item(Item=ADA)
        found = _call("query_items", _query, service, "nobody@example.com")
        assert found == [], f"a query that matches nothing returned {found!r:.80}"


@ex42.behaviour("query_items returns every item when the result spans several pages",
                hint="One query call returns one page (at most 1 MB). While the response has a "
                     "LastEvaluatedKey, query again with ExclusiveStartKey=that key, and "
                     "collect the Items of every page.")
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, resource):
        for n in range(7):
            table.put_item(Item={"user_id": f"u-{n}", "email": "team@example.com"})
        calls = _small_pages(resource, "Query")
        found = _call("query_items", _query, service, "team@example.com")
        got = _ids(found, "query_items")
        assert got == [f"u-{n}" for n in range(7)], (
            f"7 users share the email, in pages of 2; query_items returned {len(got)} of them "
            f"after {len(calls)} query call(s)")


@ex42.behaviour("scan_items(limit=n) returns n items, reading as many pages as it needs",
                hint="Scan with Limit=limit, then keep following LastEvaluatedKey until you "
                     "have `limit` items or there are no more pages; return at most `limit`.")
def _(project: Project) -> None:
    with _dynamodb(project) as (service, table, resource):
        for n in range(9):
            table.put_item(Item={"user_id": f"u-{n}", "email": f"{n}@example.com"})
        calls = _small_pages(resource, "Scan")
        for limit, expected in ((5, 5), (1, 1), (100, 9)):
            try:
                items = service.scan_items(limit=limit)
            except TypeError as exc:
                raise AssertionError(f"scan_items(limit={limit}) raised TypeError: {exc}") from None
            got = len(_ids(items, "scan_items"))
            assert got == expected, (
                f"the table holds 9 users in pages of 2; scan_items(limit={limit}) returned "
                f"{got} after {len(calls)} scan call(s); expected {expected}")
            calls.clear()


@ex42.behaviour("query and scan errors reach callers as ServiceError",
                hint="Wrap the calls in `with _translate_errors('query_items'):` as the other "
                     "methods do.")
def _(project: Project) -> None:
    import boto3
    from moto import mock_aws

    module = _module(project)
    with mock_aws():
        missing = module.DynamoDBService("no-such-table", resource=boto3.resource("dynamodb"))
        for name, call in (("query_items", lambda: _query(missing, "a@example.com")),
                           ("scan_items", lambda: missing.scan_items(limit=5))):
            try:
                call()
            except module.ServiceError:
                continue
            except AssertionError:
                raise
            except Exception as exc:  # noqa: BLE001 - the learner's exception, explained
                raise AssertionError(f"{name} on a table that does not exist raised "
                                     f"{type(exc).__module__}.{type(exc).__name__}; expected the "
                                     "module's ServiceError") from None
            raise AssertionError(f"{name} on a table that does not exist raised nothing")


# --- 4.3 ---------------------------------------------------------------------------------

ex43 = exercise("4.3", "The users API on DynamoDB", files=[HANDLER])


@contextmanager
def _users_api(project: Project, table_name: str = TABLE, *, count_resources: bool = False):
    """(handler module, table, resource calls) with USERS_TABLE set, inside a fresh mock; the
    handler module is imported afresh inside it."""
    import boto3
    from moto import mock_aws

    os.environ["USERS_TABLE"] = table_name
    with mock_aws():
        table = _create_table(boto3.resource("dynamodb"))
        calls: list[tuple] = []
        real = boto3.resource

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return real(*args, **kwargs)

        if count_resources:
            boto3.resource = counting
        try:
            sys.modules.pop(HANDLER_MODULE, None)  # a fresh import: no service from before
            module = project.module(HANDLER_MODULE)
            project.function(HANDLER_MODULE, "lambda_handler")
            yield module, table, calls
        finally:
            boto3.resource = real


def _request(module: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    from course import events

    what = f"{method} {path}"
    try:
        response = module.lambda_handler(events.api_gateway_rest(method, path, body),
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


def _created(module: Any, body: dict) -> dict:
    status, payload = _request(module, "POST", "/users", body)
    where = (f" (the check's table is the one USERS_TABLE names, {TABLE!r})" if status == 500
             else "")
    assert status == 201, f"POST /users with {body} answered {status} {payload!r:.120}{where}"
    return payload


@ex43.behaviour("POST /users stores the user in the table named by USERS_TABLE",
                hint="Read the table's name from the environment (USERS_TABLE, default 'users') "
                     "inside users_service(): it comes from the function's configuration.")
def _(project: Project) -> None:
    with _users_api(project) as (module, table, _):
        user = _created(module, {"name": "Ada", "email": "ada@example.com", "age": 36})
        items = table.scan()["Items"]
        assert [item.get("user_id") for item in items] == [user.get("user_id")], (
            f"after POST /users the table {TABLE!r} (USERS_TABLE) holds {len(items)} item(s): "
            "the handler does not write to DynamoDB")
        assert "age" in items[0] and items[0].get("email") == "ada@example.com", (
            f"the stored item is {items[0]!r:.120}")


@ex43.behaviour("GET /users/<id> and GET /users read the users from the table",
                hint="Only users_service() changes: the routes already call get_item and "
                     "scan_items on whatever it returns.")
def _(project: Project) -> None:
    with _users_api(project) as (module, table, _):
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


@ex43.behaviour("the DynamoDB service is created on first use, once, not at import",
                hint="Create the service inside users_service() and cache its result (functools "
                     "has a decorator for that): nothing AWS at import, one client reused by every "
                     "warm invocation.")
def _(project: Project) -> None:
    with _users_api(project, count_resources=True) as (module, _, calls):
        assert not calls, ("importing the handler module created a boto3 resource: create the "
                           "service inside users_service(), on first use")
        _created(module, {"name": "Ada", "email": "ada@example.com"})
        _request(module, "GET", "/users")
        _request(module, "GET", "/users")
        assert len(calls) == 1, (
            f"three requests created {len(calls)} boto3 resources: create the service once per "
            "execution environment and reuse it (@functools.cache on users_service)")
        service = module.users_service
        assert hasattr(service, "cache_clear") and service() is service(), (
            "users_service() should return the same service every time, with a cache_clear() "
            "for tests (@functools.cache)")


@ex43.behaviour("an email already in the table is a 409, and nothing more is written",
                hint="create_user already asks query_items for the email through the index: "
                     "with the DynamoDB service that reads the table.")
def _(project: Project) -> None:
    with _users_api(project) as (module, table, _):
        _created(module, {"name": "Ada", "email": "ada@example.com"})
        status, payload = _request(module, "POST", "/users",
                                   {"name": "Ada again", "email": "ADA@example.com"})
        assert status == 409, f"a second user with the same email answered {status} {payload!r:.80}"
        assert table.scan()["Count"] == 1, "after the 409 the table holds more than one user"


@ex43.behaviour('a user_id that is already taken is a 409 "User already exists", never an '
                'overwrite',
                hint="save_item raises ItemAlreadyExists when the id is taken: turn it into "
                     "Powertools' ServiceError with status 409 and the task's message.")
def _(project: Project) -> None:
    import uuid

    fixed = uuid.UUID("3f2b8c1e-5d4a-4b6c-9e8f-7a6b5c4d3e2f")
    real_uuid4 = uuid.uuid4
    uuid.uuid4 = lambda: fixed  # two users drawing the same id
    try:
        with _users_api(project) as (module, table, _):
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


@ex43.behaviour("a DynamoDB failure (a missing table) is a generic 500",
                hint="The service raises its ServiceError, which no client_error handler "
                     "matches (it is not Powertools' ServiceError): server_error answers 500 and "
                     "logs the detail. Do not catch it in the routes.")
def _(project: Project) -> None:
    with _users_api(project, "table-that-does-not-exist") as (module, _, _calls):
        status, payload = _request(module, "GET", "/users")
    assert status == 500, f"with USERS_TABLE naming a missing table, GET /users answered {status}"
    assert payload == {"message": "Internal server error"}, (
        f"the 500 body is {payload!r:.120}: keep it generic, the detail belongs in the log")


# --- 4.4 ---------------------------------------------------------------------------------

ex44 = exercise("4.4", "Fixtures: fake credentials and a table inside mock_aws",
                files=[CONFTEST], timeout=10.0)

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
    assert os.environ.get("AWS_DEFAULT_REGION"), "aws_credentials sets no AWS_DEFAULT_REGION"
    assert "AWS_PROFILE" not in os.environ, (
        "in a test using aws_credentials, AWS_PROFILE is still set: boto3 would read that "
        "profile's settings (monkeypatch.delenv('AWS_PROFILE', raising=False))")


def test_dynamodb(dynamodb):
    assert hasattr(dynamodb, "Table") and hasattr(dynamodb, "create_table"), (
        f"dynamodb gave {type(dynamodb).__name__}, not boto3.resource('dynamodb')")
    try:
        dynamodb.meta.client.list_tables()
    except Exception as exc:
        raise AssertionError(
            "a call through the dynamodb fixture's resource did not reach moto "
            f"({type(exc).__name__}): create it and yield it inside `with mock_aws():`") from None


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


@once
def _fixture_session(project: Project) -> tuple[PytestRun, dict[str, str | None], bool]:
    """Run FIXTURE_TESTS with the learner's conftest (once per check): the outcome, the
    environment right after the session, and whether a DynamoDB call still reached a mock."""
    source = project.require(CONFTEST).read_text()
    import boto3

    home = Path(tempfile.mkdtemp(prefix="check-4.4-aws-"))
    (home / "aws-config").write_text("[profile production]\nregion = eu-west-1\n")
    (home / "aws-credentials").write_text(
        "[production]\naws_access_key_id = AKIAREALLOOKINGKEY01\n"
        "aws_secret_access_key = real-secret\n")
    os.environ.update(REAL_ENV, AWS_CONFIG_FILE=str(home / "aws-config"),
                      AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"))
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    boto3.DEFAULT_SESSION = None
    outcome = run_pytest({"conftest.py": source, "test_fixtures_check.py": FIXTURE_TESTS})
    after = {name: os.environ.get(name) for name in REAL_ENV}
    boto3.DEFAULT_SESSION = None
    try:
        boto3.client("dynamodb", region_name="eu-west-1").list_tables()
        mock_still_on = True
    except Exception:  # noqa: BLE001 - refused by the sandbox: no mock left running
        mock_still_on = False
    shutil.rmtree(home, ignore_errors=True)
    return outcome, after, mock_still_on


def _fixture_test(project: Project, name: str, fixture: str) -> None:
    outcome, _, _ = _fixture_session(project)
    if outcome.collect_errors:
        raise AssertionError(f"pytest could not load your conftest.py: {outcome.load_error()}")
    why = outcome.results.get(name)
    assert why is not None, f"the check's test using {fixture} did not run"
    if "fixture '" in why and "not found" in why:
        raise AssertionError(f"{CONFTEST} has no fixture named {fixture}")
    assert not why, why


@ex44.behaviour("aws_credentials sets fake credentials and a region, and drops AWS_PROFILE",
                hint="Use the monkeypatch fixture: setenv fake values for the access key, the "
                     "secret key and both tokens, setenv a region, and delenv the profile "
                     "(raising=False: it may not be set).")
def _(project: Project) -> None:
    _fixture_test(project, "test_credentials", "aws_credentials")


@ex44.behaviour("after the tests, the real environment is back and no mock is left running",
                hint="monkeypatch undoes its changes when the test ends; os.environ[...] = ... "
                     "does not. `with mock_aws():` around the yield stops the mock afterwards.")
def _(project: Project) -> None:
    outcome, after, mock_still_on = _fixture_session(project)
    changed = [name for name, value in REAL_ENV.items() if after.get(name) != value]
    assert not changed, (
        f"after the tests {', '.join(changed)} still hold(s) the fixtures' values: later tests "
        "(and anything else in the process) would run with them. Use monkeypatch")
    assert not mock_still_on, (
        "after the tests a DynamoDB call was still answered by moto: a mock started without "
        "`with` (mock.start()) was never stopped")
    assert outcome.results, "no test ran with your fixtures"


@ex44.behaviour("dynamodb yields a DynamoDB resource while moto's mock is on",
                hint="Ask for aws_credentials, start the mock with a `with` block and yield the "
                     "resource from inside it: the mock then lasts exactly as long as the test.")
def _(project: Project) -> None:
    _fixture_test(project, "test_dynamodb", "dynamodb")


@ex44.behaviour("users_table is an empty users table with its email-index",
                hint="The services module already knows the table's design: reuse its function "
                     "with the fixture's resource and TABLE_NAME.")
def _(project: Project) -> None:
    _fixture_test(project, "test_users_table", "users_table")


@ex44.behaviour("service is a DynamoDBService on users_table",
                hint="Build the service for TABLE_NAME and pass it the dynamodb fixture's "
                     "resource: the same resource, so the same mock, as the table.")
def _(project: Project) -> None:
    _fixture_test(project, "test_service", "service")


@ex44.behaviour("each test starts with a fresh mock: nothing leaks from one test to the next",
                hint="Keep the fixtures function-scoped (the default) and start the mock inside "
                     "one of them, not at import or once per session.")
def _(project: Project) -> None:
    _fixture_test(project, "test_first_test_writes", "users_table")
    _fixture_test(project, "test_next_test_starts_empty", "users_table")


# --- 4.5 ---------------------------------------------------------------------------------

ex45 = exercise("4.5", "Integration tests that catch a broken service", files=[SERVICE_TESTS],
                timeout=10.0)
TESTS = ("test_save_never_overwrites_unless_asked", "test_query_reads_every_page")


@once
def _service_tests(project: Project) -> Any:
    module = project.load_file(SERVICE_TESTS, "course_check_test_dynamodb_service")
    for name in TESTS:
        assert callable(getattr(module, name, None)), f"{SERVICE_TESTS} has no test {name}"
    return module


def _variant(project: Project, kind: str) -> Any:
    """The learner's DynamoDBService, or a subclass with one bug."""
    base = _module(project).DynamoDBService
    if kind == "correct":
        return base

    class Broken(base):
        def save_item(self, item: dict, *, overwrite: bool = False) -> None:
            if kind == "overwrites":
                overwrite = True
            elif kind == "never_replaces":
                overwrite = False
            super().save_item(item, overwrite=overwrite)

        def query_items(self, key_name: str, key_value: Any, *,
                        index_name: str | None = None) -> list:
            if kind != "first_page":
                return super().query_items(key_name, key_value, index_name=index_name)
            from boto3.dynamodb.conditions import Key

            params: dict[str, Any] = {"KeyConditionExpression": Key(key_name).eq(key_value)}
            if index_name:
                params["IndexName"] = index_name
            return self._table.query(**params).get("Items", [])  # the guideline's one call

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


def _catches(project: Project, name: str, kind: str, bug: str) -> None:
    try:
        _correct(project, name)
    except AssertionError:
        raise AssertionError(f"first make {name} pass against your own service (the first "
                             "check): a test that always fails catches nothing") from None
    assert _run_test(project, name, kind) is not None, f"{name} passed against a service that {bug}"


@ex45.behaviour("both tests pass against a correct service (yours from 4.1 and 4.2)",
                hint="Use only what the service promises: save_item raises ItemAlreadyExists "
                     "for a taken key unless overwrite=True; query_items returns every match.")
def _(project: Project) -> None:
    for name in TESTS:
        _correct(project, name)


@ex45.behaviour("the save test fails for a service that overwrites an existing user",
                hint="Save a user, then save another item with the same user_id inside "
                     "pytest.raises(ItemAlreadyExists), and assert the stored one is unchanged.")
def _(project: Project) -> None:
    _catches(project, TESTS[0], "overwrites", "silently overwrites an existing user")


@ex45.behaviour("the save test fails for a service that ignores overwrite=True",
                hint="End the test with save_item(..., overwrite=True) and assert that the item "
                     "was replaced.")
def _(project: Project) -> None:
    _catches(project, TESTS[0], "never_replaces", "cannot replace a user even with overwrite=True")


@ex45.behaviour("the page test fails for a query that reads only the first page",
                hint="Save more than 1 MB under one email (30 items with a 40 KB attribute, "
                     "BLOB), check that a raw users_table.query(...) has a LastEvaluatedKey, then "
                     "assert query_items returns all 30.")
def _(project: Project) -> None:
    _catches(project, TESTS[1], "first_page",
             "returns only the first page of a query (the guideline's query_items)")
