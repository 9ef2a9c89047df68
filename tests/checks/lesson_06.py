"""Hidden tests for lesson 06 (S3 event processing).

Messages are written for the learner. Every behaviour that touches AWS starts its own moto mock,
creates the users table and a bucket itself, points USERS_TABLE at the table and imports the
handler afresh. Failures are injected below boto3 (a PutItem for a chosen email answers
ProvisionedThroughputExceeded). Reads are watched at botocore's StreamingBody, to tell a stream
from a whole-object read. The S3 -> SQS -> Lambda pipeline uses moto's own bucket notifications
and the toolkit's simulated event source mapping.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote_plus

from course.checks import BehaviourTimeout, Project, exercise, question
from course.checks.kit import captured_logs, dynamodb_put_faults, json_lines, lambda_context

HANDLER = "src/handlers/s3_handler.py"
MODULE = "handlers.s3_handler"
BUCKET = "uploads-check"
USERS_TABLE = "users-check"
HEADER = "name,email,age\n"


# --- shared ----------------------------------------------------------------------------------

def _module(project: Project) -> Any:
    module = project.module(MODULE)
    for name in ("S3ObjectRef", "ImportReport"):
        assert isinstance(getattr(module, name, None), type), (
            f"{HANDLER} has no class {name}: keep the scaffold's classes")
    return module


def _ref(module: Any, key: str, *, etag: str = "etag-1", version_id: str | None = None,
         bucket: str = BUCKET) -> Any:
    return module.S3ObjectRef(bucket=bucket, key=key, version_id=version_id, etag=etag)


@contextmanager
def _aws(project: Project, *, versioned: bool = False) -> Iterator[tuple[Any, Any, Any]]:
    """(handler module, S3 client, users table) in a fresh mock with the check's bucket."""
    import boto3
    from moto import mock_aws

    os.environ["USERS_TABLE"] = USERS_TABLE
    os.environ.pop("POWERTOOLS_LOGGER_LOG_EVENT", None)
    with mock_aws():
        users = boto3.resource("dynamodb").create_table(
            TableName=USERS_TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}])
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        if versioned:
            s3.put_bucket_versioning(Bucket=BUCKET,
                                     VersioningConfiguration={"Status": "Enabled"})
        sys.modules.pop(MODULE, None)
        yield _module(project), s3, users


def _put(s3: Any, key: str, body: str | bytes) -> dict:
    data = body.encode() if isinstance(body, str) else body
    answer = s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return {"etag": answer["ETag"].strip('"'), "version_id": answer.get("VersionId")}




def _captured_logs() -> Any:
    """captured_logs() with each root-logger line's level first (a test reads the levels)."""
    return captured_logs("%(levelname)s %(message)s")


def _users(table: Any) -> list[dict]:
    return table.scan()["Items"]


def _emails(table: Any) -> list[str]:
    return sorted(str(item.get("email")) for item in _users(table))


def _attempt(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except BehaviourTimeout:
        raise
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's crash, explained
        first = (str(exc).strip().splitlines() or [""])[0]
        raise AssertionError(f"{what} raised {type(exc).__name__}: {first[:160]}") from None


def _report(module: Any, report: Any, what: str) -> Any:
    assert isinstance(report, module.ImportReport), (
        f"{what} returned {report!r:.100}; expected an ImportReport")
    return report


# --- 6.1 -------------------------------------------------------------------------------------

ex61 = exercise("6.1", "Which objects an event names", files=[HANDLER])

ODD_KEYS = ["imports/my file.csv", "imports/a+b=c.csv", "imports/100% [final] (2).csv",
            "imports/Zoë/naïve café.csv", "imports/rate%20card.csv", "imports/semi;colon&x.csv"]


def _objects(project: Project, event: dict) -> list:
    objects_in = project.function(MODULE, "objects_in")
    refs = _attempt("objects_in(event)", objects_in, event)
    assert isinstance(refs, list), f"objects_in returned a {type(refs).__name__}, not a list"
    return refs


def _moto_style(key: str, bucket: str = BUCKET, event_name: str = "ObjectCreated:Put") -> dict:
    """A record as moto sends it: fewer fields, and even "/" encoded (%2F)."""
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-01-01T00:00:00.000Z", "eventName": event_name,
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "moto",
                   "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                   "object": {"key": quote_plus(key, safe=""), "size": 4, "eTag": "e-moto"}}}


@ex61.behaviour("decodes each key as S3 encodes it (a space is +, a + is %2B)",
                hint=["Section 1 shows how a key travels in a notification, and which of "
                      "urllib.parse's functions reverses that.",
                      "unquote leaves a + as it is; the key's spaces arrive as +."])
def _(project: Project) -> None:
    from course.learner import events

    event = events.s3_put(keys=ODD_KEYS, bucket=BUCKET)
    event["Records"].append(_moto_style("imports/from moto+1.csv"))
    keys = sorted(getattr(ref, "key", None) for ref in _objects(project, event))
    expected = sorted([*ODD_KEYS, "imports/from moto+1.csv"])
    missing = [k for k in expected if k not in keys]
    assert not missing, (
        f"objects_in returned the keys {keys}; these keys of the event were not decoded to "
        f"what was uploaded: {missing}")


@ex61.behaviour("gives each object's bucket, version id and ETag",
                hint=["Section 3: the record's s3.bucket and s3.object hold them; versionId "
                      "is there only when the bucket is versioned.",
                      "Keep the scaffold's S3ObjectRef and fill all four fields."])
def _(project: Project) -> None:
    from course.learner import events

    module = _module(project)
    versioned = events.s3_put("imports/a.csv", BUCKET, etag="e-1", version_id="v-7")
    plain = events.s3_put("imports/b.csv", "other-bucket", etag="e-2")
    for event, expected in ((versioned, (BUCKET, "imports/a.csv", "v-7", "e-1")),
                            (plain, ("other-bucket", "imports/b.csv", None, "e-2"))):
        refs = _objects(project, event)
        assert len(refs) == 1 and isinstance(refs[0], module.S3ObjectRef), (
            f"for one import file objects_in returned {refs!r:.120}; expected one S3ObjectRef")
        ref = refs[0]
        got = (ref.bucket, ref.key, ref.version_id, ref.etag)
        assert got == expected, (
            f"objects_in gave (bucket, key, version_id, etag) = {got}; expected {expected}")


@ex61.behaviour("an event without Records names no object (S3's test event)",
                hint=["Section 2: when a notification is set up, S3 sends a test event that "
                      "has no Records key at all.",
                      "Read the records with a default instead of indexing the event."])
def _(project: Project) -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent",
                  "Time": "2026-01-01T00:00:00.000Z", "Bucket": BUCKET,
                  "RequestId": "A1B2C3", "HostId": "x"}
    for event in (test_event, {"Records": []}):
        refs = _objects(project, event)
        assert refs == [], f"objects_in({str(event)[:60]}...) returned {refs!r:.80}; expected []"


@ex61.behaviour("only keys under imports/ that end in .csv",
                hint=["Section 3: the notification's filter is the first line of defence; the "
                      "code checks the decoded key again.",
                      "Compare the decoded key with IMPORT_PREFIX at its start and "
                      "IMPORT_SUFFIX at its end."])
def _(project: Project) -> None:
    from course.learner import events

    keys = ["reports/a.csv.json", "imports/a.txt", "other/imports/a.csv", "imports.csv",
            "importsx/a.csv", "imports/sub/dir/b.csv", "reports/imports/c.csv",
            "imports/d.csv.bak"]
    got = sorted(ref.key for ref in _objects(project, events.s3_put(keys=keys, bucket=BUCKET)))
    assert got == ["imports/sub/dir/b.csv"], (
        f"of {keys} objects_in kept {got}; only a key under imports/ ending in .csv is an "
        "import file (a report written under reports/ must never start an import)")


@ex61.behaviour("only ObjectCreated events",
                hint=["Section 3: a bucket can notify removals too (ObjectRemoved:*); a removed "
                      "file has nothing to import.",
                      "Look at each record's eventName."])
def _(project: Project) -> None:
    from course.learner import events

    removed = events.s3_put("imports/a.csv", BUCKET, event_name="ObjectRemoved:Delete")
    created = [events.s3_put(f"imports/{n}.csv", BUCKET, event_name=name)
               for n, name in enumerate(("ObjectCreated:Put", "ObjectCreated:Copy",
                                         "ObjectCreated:CompleteMultipartUpload"))]
    assert _objects(project, removed) == [], (
        "objects_in named the object of an ObjectRemoved:Delete event: it no longer exists")
    for event in created:
        name = event["Records"][0]["eventName"]
        assert len(_objects(project, event)) == 1, f"objects_in skipped an {name} event"


question("6.a", "A file named `q1+q2 report.csv` is uploaded. Its key arrives in the "
         "notification as `q1%2Bq2+report.csv`. What do urllib.parse.unquote and unquote_plus "
         "make of it?",
         ["Both give `q1+q2 report.csv`.",
          "unquote gives `q1+q2+report.csv` (wrong), unquote_plus gives `q1+q2 report.csv`.",
          "unquote gives `q1 q2 report.csv`, unquote_plus gives `q1+q2 report.csv`."],
         answer=1,
         why=["unquote does not know that a + stands for a space.",
              "S3 encodes a space as + and a real + as %2B, like an HTML form: unquote_plus "
              "reverses exactly that. With unquote, get_object asks for a key that does not "
              "exist (NoSuchKey).",
              "unquote decodes %2B to + but leaves the + that stands for the space."])

question("6.b", "The guideline's S3 handler starts with `len(event['Records'])`. What happens "
         "when S3 sends its test event after a notification is configured?",
         ["Nothing: the test event has an empty Records list.",
          "KeyError: the test event has no Records key; the invocation fails and, as an "
          "asynchronous invocation, is retried twice.",
          "S3 does not send test events to Lambda."],
         answer=1,
         why=["The test event has Service, Event (s3:TestEvent), Time and Bucket, and no "
              "Records at all.",
              "An asynchronous invocation that fails is retried (twice by default) and then "
              "goes to the on-failure destination: noise, alarms, or a poison message in a "
              "queue. Skip events without Records.",
              "A notification to an SQS queue gets it for sure (moto sends it too); treat it "
              "as something that can arrive."])

question("6.c", "The bucket notification already filters on prefix imports/ and suffix .csv. "
         "Why does objects_in check the key again?",
         ["It does not need to; the check is only for tests.",
          "Defence in depth: a notification or queue configured more widely, or a report "
          "written where the function reads, would otherwise start an import, possibly in a "
          "loop.",
          "Because S3 ignores suffix filters."],
         answer=1,
         why=["Configuration lives elsewhere (Terraform, the console) and changes; the code "
              "should not trust it blindly.",
              "The code's check costs nothing and stops a recursive trigger even when the "
              "filter is wrong.",
              "S3 applies prefix and suffix filters (moto too); the point is not to depend on "
              "them alone."])


# --- 6.2 -------------------------------------------------------------------------------------

ex62 = exercise("6.2", "A CSV import, read as a stream", files=[HANDLER], timeout=5.0)


def _import(module: Any, ref: Any) -> Any:
    return _report(module, _attempt("import_users(ref)", module.import_users, ref),
                   "import_users")


@ex62.behaviour("creates a user per valid row, with its name, email and age",
                hint=["Section 5: csv.DictReader over the text stream gives one dict per row, "
                      "keyed by the header's names.",
                      "user_from_row (given) turns a row into a User; save it through "
                      "users_service() and count it in the report."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        version = _put(s3, "imports/team.csv",
                       HEADER + "Ada,Ada@Example.com,36\nGrace,grace@example.com,\n"
                       "Linus,linus@example.com\n")
        report = _import(module, _ref(module, "imports/team.csv", **version))
        stored = {item["email"]: item for item in _users(users)}
    assert set(stored) == {"ada@example.com", "grace@example.com", "linus@example.com"}, (
        f"a file with three valid rows (the last one without its empty age field, as some "
        f"tools write it) created the users {sorted(stored)}")
    assert stored["ada@example.com"].get("name") == "Ada" and \
        stored["ada@example.com"].get("age") == 36, (
        f"the row Ada,Ada@Example.com,36 was stored as {stored['ada@example.com']!r:.120}")
    assert stored["grace@example.com"].get("age") is None, (
        "an empty age should be stored as no age (None), not as an error or a 0")
    assert report.created == 3, (
        f"the report says created={report.created}; three users were created")


BAD_ROWS = (HEADER + "Ada,ada@example.com,36\n"
            "Mallory,mallory.private@,30\n"
            "Grace,grace@example.com,\n"
            "Trudy,trudy@example.com,forty-two\n"
            ",nameless.private@example.com,20\n")


@ex62.behaviour("reports each bad row by number and field, and imports the others",
                hint=["Section 5: a bad row is the file's problem, not the import's: note it "
                      "and go on with the next row.",
                      "Catch the ValidationError of one row; the header is row 1, so the first "
                      "data row is row 2."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        version = _put(s3, "imports/mixed.csv", BAD_ROWS)
        report = _import(module, _ref(module, "imports/mixed.csv", **version))
        emails = _emails(users)
    assert emails == ["ada@example.com", "grace@example.com"], (
        f"a file with two valid rows and three bad ones created {emails}: the valid rows must "
        "be imported, whatever the others hold")
    rejected = [str(r) for r in report.rejected]
    assert len(rejected) == 3, f"three rows are bad; the report rejects {len(rejected)}: {rejected}"
    for row, field in ((3, "email"), (5, "age"), (6, "name")):
        assert any(f"row {row}:" in r and field in r for r in rejected), (
            f"no rejection names row {row} and its field {field!r} (counting the header as row "
            f"1): {rejected}")


@ex62.behaviour("a rejection never holds the row's values",
                hint=["Section 5: the report is kept and read, and the rows hold personal data.",
                      "Build each rejection from the errors' locations and types, without their "
                      "inputs."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, _users), dynamodb_put_faults():
        version = _put(s3, "imports/mixed.csv", BAD_ROWS)
        report = _import(module, _ref(module, "imports/mixed.csv", **version))
    text = " ".join(map(str, report.rejected))
    for secret in ("mallory.private", "forty-two", "nameless.private"):
        assert secret not in text, (
            f"a rejection quotes {secret!r}, a value from the file: name the row and the field, "
            "never the value")


@ex62.behaviour("reads the object as a stream, never whole",
                hint=["Section 5: read() with no size loads the whole object into the "
                      "function's memory (128 MB by default).",
                      "Wrap the body in a text stream (io.TextIOWrapper) and let the CSV reader "
                      "pull lines from it, or use Powertools' S3Object."])
def _(project: Project) -> None:
    from botocore.response import StreamingBody

    reads: list[int] = []
    real_read, real_readlines = StreamingBody.read, StreamingBody.readlines

    class Calls(list):
        """The AWS calls; notes how many bytes were read when the first user was saved."""

        read_at_first_save: int | None = None

        def append(self, call: Any) -> None:
            if call == ("dynamodb", "PutItem") and self.read_at_first_save is None:
                self.read_at_first_save = sum(reads)
            super().append(call)

    calls = Calls()

    def read(self: Any, amt: Any = None) -> bytes:
        chunk = real_read(self, amt)
        reads.append(len(chunk))
        return chunk

    def readlines(self: Any) -> list:
        lines = real_readlines(self)
        reads.append(sum(map(len, lines)))
        return lines

    long_rows = "".join(f"{'N' * 100_000},long{n}@example.com,\n" for n in range(30))
    body = HEADER + "Ada,ada@example.com,36\n" + long_rows + "Grace,grace@example.com,\n"
    StreamingBody.read, StreamingBody.readlines = read, readlines  # type: ignore[method-assign]
    try:
        with _aws(project) as (module, s3, users), dynamodb_put_faults(calls=calls):
            version = _put(s3, "imports/big.csv", body)
            _import(module, _ref(module, "imports/big.csv", **version))
            emails = _emails(users)
    finally:
        StreamingBody.read, StreamingBody.readlines = real_read, real_readlines  # type: ignore
    assert reads, "the object's body was never read"
    biggest = max(reads)
    assert biggest <= 1024 * 1024, (
        f"a 3 MB file was read with a single read of {biggest // 1024} KB: that is the whole "
        "object in memory. Read it as a stream, a few KB at a time")
    assert emails == ["ada@example.com", "grace@example.com"], (
        f"the big file's two valid rows gave the users {emails}")
    early = calls.read_at_first_save
    assert early is not None and early <= 1024 * 1024, (
        f"the first row (row 2) was saved after {(early or 0) // 1024} KB of a 3 MB file had "
        "been read: the whole object was gathered in memory first (in small reads, but all of "
        "it). Let the CSV reader pull lines from the stream as it goes")


@ex62.behaviour("a file that starts with a byte order mark imports",
                hint=["Section 5: Excel's 'CSV UTF-8' starts the file with a byte order mark; "
                      "decoded as plain utf-8 it sticks to the first column's name.",
                      "Python has a codec that drops the mark when it is there."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        version = _put(s3, "imports/excel.csv", "\ufeff" + HEADER +
                       "Ada,ada@example.com,36\nZoë,zoe@example.com,\n")
        _import(module, _ref(module, "imports/excel.csv", **version))
        names = sorted(str(item.get("name")) for item in _users(users))
    assert names == ["Ada", "Zoë"], (
        f"a file saved by Excel (byte order mark first) created the users {names}: the first "
        "header is read as '\\ufeffname', so no row has a name")


@ex62.behaviour("a row that is not UTF-8 is rejected, the other rows import",
                hint=["Section 5: one row in Latin-1 must not stop the import, nor be stored "
                      "with broken characters.",
                      "Decode so that bad bytes do not raise (they become U+FFFD), and reject "
                      "a row that contains U+FFFD; or decode each line yourself and reject the "
                      "one that fails."])
def _(project: Project) -> None:
    data = (HEADER + "Ada,ada@example.com,36\n").encode() + \
        "Zoë,latin1@example.com,22\n".encode("latin-1") + b"Grace,grace@example.com,\n"
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        version = _put(s3, "imports/latin.csv", data)
        report = _import(module, _ref(module, "imports/latin.csv", **version))
        stored = _users(users)
    emails = sorted(str(item.get("email")) for item in stored)
    assert "ada@example.com" in emails and "grace@example.com" in emails, (
        f"a file with one Latin-1 row imported {emails}: the valid UTF-8 rows must import")
    assert "latin1@example.com" not in emails, (
        "the Latin-1 row was imported; its name is not valid UTF-8 (stored as "
        f"{[i.get('name') for i in stored if i.get('email') == 'latin1@example.com']}): "
        "reject it")
    assert any("row 3:" in str(r) for r in report.rejected), (
        f"the Latin-1 row (row 3) is not among the rejections: {report.rejected}")
    assert any("row 3:" in str(r) and "UTF-8" in str(r) for r in report.rejected), (
        f"the rejection of the Latin-1 row does not say it is not UTF-8 text: {report.rejected}")


@ex62.behaviour("importing the same version again creates no one twice",
                hint=["Section 5: S3 may deliver a notification twice, so an import runs again.",
                      "Derive each user id from the object version and the row number "
                      "(uuid.uuid5 with IMPORT_NAMESPACE), and let save_item refuse a taken "
                      "id: ItemAlreadyExists means 'imported before'."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        version = _put(s3, "imports/team.csv", HEADER + "Ada,ada@example.com,36\n"
                                                        "Grace,grace@example.com,\n")
        first = _import(module, _ref(module, "imports/team.csv", **version))
        second = _import(module, _ref(module, "imports/team.csv", **version))
        emails = _emails(users)
    assert emails == ["ada@example.com", "grace@example.com"], (
        f"the same file imported twice left the users {emails}")
    assert (first.created, second.created, second.already_imported) == (2, 0, 2), (
        f"first import: created={first.created}; second: created={second.created}, "
        f"already_imported={second.already_imported}; expected 2, then 0 and 2")


@ex62.behaviour("a DynamoDB failure stops the import; the retry creates each user once",
                hint=["Section 5: a throttled table is not the file's fault: let the error out, "
                      "so the invocation fails and Lambda retries it.",
                      "On the retry, the rows saved before the failure must be recognised, not "
                      "saved again: the ids must be the same as the first time."])
def _(project: Project) -> None:
    rows = "".join(f"User {n},user{n}@example.com,{20 + n}\n" for n in range(5))
    with _aws(project) as (module, s3, users), dynamodb_put_faults({"user2@example.com": 1}):
        version = _put(s3, "imports/five.csv", HEADER + rows)
        ref = _ref(module, "imports/five.csv", **version)
        try:
            module.import_users(ref)
        except BehaviourTimeout:
            raise
        except NotImplementedError:
            raise
        except Exception:  # noqa: BLE001 - the failure must come out
            pass
        else:
            raise AssertionError(
                "DynamoDB refused row 4 (throttled) and import_users returned normally: the "
                "failure must propagate, or Lambda never retries the import and the user is "
                "missing for good")
        _import(module, ref)
        emails = _emails(users)
    expected = [f"user{n}@example.com" for n in range(5)]
    assert emails == expected, (
        f"after a failure at row 4 and a retry, the table holds {emails}; expected each of the "
        "five users once")


@ex62.behaviour("another file, or a new version of it, imports its own rows",
                hint=["Section 5: the id comes from the object version, not only the row.",
                      "Use the bucket, the key, ref.version and the row number together."])
def _(project: Project) -> None:
    content = HEADER + "Ada,ada@example.com,36\n"
    with _aws(project, versioned=True) as (module, s3, users), dynamodb_put_faults():
        first = _put(s3, "imports/a.csv", content)
        _import(module, _ref(module, "imports/a.csv", **first))
        other = _put(s3, "imports/b.csv", content)
        _import(module, _ref(module, "imports/b.csv", **other))
        newer = _put(s3, "imports/a.csv", content)
        _import(module, _ref(module, "imports/a.csv", **newer))
        count = len(_users(users))
    assert count == 3, (
        f"one row imported from a.csv, then from b.csv, then from a new version of a.csv: the "
        f"table holds {count} user(s); each file version is a new import (3 users)")
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        first = _put(s3, "imports/a.csv", content)
        _import(module, _ref(module, "imports/a.csv", **first))
        changed = _put(s3, "imports/a.csv", content + "Bob,bob@example.com,40\n")
        _import(module, _ref(module, "imports/a.csv", **changed))
        unversioned = len(_users(users))
        s3.create_bucket(Bucket="uploads-other")
        s3.put_object(Bucket="uploads-other", Key="imports/a.csv", Body=content.encode())
        _import(module, _ref(module, "imports/a.csv", bucket="uploads-other", **first))
        other_bucket = len(_users(users))
    assert unversioned == 3, (
        f"in a bucket without versioning (no version id: the ETag tells contents apart), a.csv "
        f"with one row, then a.csv rewritten with two: the table holds {unversioned} user(s); "
        "the new content is a new import (3 users). Use ref.version, not ref.version_id")
    assert other_bucket == 4, (
        "the same file (same key, same content) in another bucket imported nothing: the bucket "
        "is part of what the ids are derived from")


@ex62.behaviour("reads the version the notification names, not the latest",
                hint=["Section 4: notifications arrive late and out of order; by then the key "
                      "may hold a newer version.",
                      "Pass VersionId to get_object when the ref has a version id (and only "
                      "then)."])
def _(project: Project) -> None:
    with _aws(project, versioned=True) as (module, s3, users), dynamodb_put_faults():
        old = _put(s3, "imports/a.csv", HEADER + "Ada,ada@example.com,36\n")
        _put(s3, "imports/a.csv", HEADER + "Bob,bob@example.com,40\n")
        _import(module, _ref(module, "imports/a.csv", **old))
        emails = _emails(users)
    assert emails == ["ada@example.com"], (
        "a late notification for an older version of imports/a.csv (a newer one was uploaded "
        f"since) imported {emails}: read the version it names (VersionId), or its row ids and "
        "its content disagree")


@ex62.behaviour("a missing object or version is reported as missing, not raised",
                hint=["Section 5: an object may be deleted between the notification and the "
                      "read; retrying will never find it.",
                      "get_object raises a ClientError whose code is NoSuchKey (or NoSuchVersion "
                      "for a deleted version); the scaffold's GONE lists them."])
def _(project: Project) -> None:
    with _aws(project, versioned=True) as (module, s3, _users), dynamodb_put_faults():
        report = _import(module, _ref(module, "imports/never-there.csv"))
        assert report.missing is True and report.created == 0, (
            f"for a key that does not exist import_users reported {report!r:.140}; expected "
            "missing=True")
        version = _put(s3, "imports/gone.csv", HEADER + "Ada,ada@example.com,36\n")
        s3.delete_object(Bucket=BUCKET, Key="imports/gone.csv", VersionId=version["version_id"])
        report = _import(module, _ref(module, "imports/gone.csv", **version))
    assert report.missing is True, (
        f"for a version deleted since the notification import_users reported {report!r:.140}; "
        "expected missing=True")


@ex62.behaviour("other S3 errors are raised",
                hint=["Section 5: only a missing object is final; any other error (no such "
                      "bucket, access denied, throttling) may pass.",
                      "Re-raise the ClientError unless its code is in GONE."])
def _(project: Project) -> None:
    with _aws(project) as (module, _s3, _users), dynamodb_put_faults():
        ref = _ref(module, "imports/a.csv", bucket="bucket-that-does-not-exist")
        try:
            report = module.import_users(ref)
        except BehaviourTimeout:
            raise
        except NotImplementedError:
            raise
        except Exception:  # noqa: BLE001 - raising is what is asked
            return
    raise AssertionError(
        f"reading from a bucket that does not exist, import_users returned {report!r:.120}: "
        "only NoSuchKey and NoSuchVersion mean 'gone'; let other errors out so that Lambda "
        "retries")


question("6.e", "`for line in S3Object(bucket=..., key=...)` (Powertools' streaming utility) "
         "over a 3-line CSV. What does each iteration give?",
         ["One line of text.",
          "A chunk of up to 1 KiB of bytes, whatever the lines are.",
          "One row, as a dict."],
         answer=1,
         why=["Iterating delegates to botocore's StreamingBody, which yields 1024-byte chunks; "
              "Powertools' own example calls them 'line', but they are not lines.",
              "Use io.TextIOWrapper around it (lines of text), its readline, or "
              "is_csv=True / CsvTransform for dict rows.",
              "That is is_csv=True (or .transform(CsvTransform())); plain iteration gives "
              "bytes."])


# --- 6.3 -------------------------------------------------------------------------------------

ex63 = exercise("6.3", "The import handler, without a recursive trigger", files=[HANDLER],
                timeout=5.0)


def _event(keys: list[str], s3: Any) -> dict:
    """A notification for these keys, with their ETags (as S3 sends it)."""
    from course.learner import events

    event = events.s3_put(keys=keys, bucket=BUCKET)
    for record, key in zip(event["Records"], keys, strict=True):
        try:
            etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
        except Exception:  # noqa: BLE001 - a key that is not there keeps the made-up ETag
            continue
        record["s3"]["object"]["eTag"] = etag
    return event


def _handle(module: Any, event: dict) -> Any:
    handler = getattr(module, "lambda_handler", None)
    assert callable(handler), f"{HANDLER} has no function lambda_handler"
    return _attempt("lambda_handler", handler, event, lambda_context("users-import"))


def _keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@ex63.behaviour("imports every import file the event names",
                hint=["Section 6: objects_in gives the files; process_object imports each one.",
                      "Loop over all of them: an event may name several objects."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        _put(s3, "imports/a.csv", HEADER + "Ada,ada@example.com,36\n")
        _put(s3, "imports/team b.csv",
             HEADER + "Grace,grace@example.com,\nLinus,linus@example.com,54\n")
        result = _handle(module, _event(["imports/a.csv", "imports/team b.csv"], s3))
        emails = _emails(users)
    assert emails == ["ada@example.com", "grace@example.com", "linus@example.com"], (
        f"an event naming two import files created {emails}")
    try:
        answer = json.loads(json.dumps(result))
    except (TypeError, ValueError):
        raise AssertionError(
            f"lambda_handler returned {result!r:.120}, which is not JSON: Lambda cannot send it "
            "back, and the invocation fails (Runtime.MarshalError), so it is retried. Return "
            "the reports as dicts (asdict)") from None
    imports = answer.get("imports") if isinstance(answer, dict) else None
    assert isinstance(imports, list) and sorted(
        (i.get("key"), i.get("created")) for i in imports if isinstance(i, dict)) == [
        ("imports/a.csv", 1), ("imports/team b.csv", 2)], (
        f"lambda_handler returned {str(answer)[:160]}; expected {{\"imports\": [...]}}, each "
        "import's report as a dict")


@ex63.behaviour("writes each import's report under reports/, never under imports/",
                hint=["Section 6: the report goes to REPORT_PREFIX + the key without "
                      "IMPORT_PREFIX + '.json'.",
                      "A file written under imports/ would notify the function again: a "
                      "recursive trigger."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, _users), dynamodb_put_faults():
        _put(s3, "imports/2026/team.csv", BAD_ROWS)
        _handle(module, _event(["imports/2026/team.csv"], s3))
        keys = _keys(s3)
        body = None
        if "reports/2026/team.csv.json" in keys:
            body = s3.get_object(Bucket=BUCKET, Key="reports/2026/team.csv.json")["Body"].read()
    assert [k for k in keys if k.startswith("imports/")] == ["imports/2026/team.csv"], (
        f"after the import the bucket holds {keys}: the function wrote under imports/, where "
        "every new object notifies it again")
    assert body is not None, (
        f"no report at reports/2026/team.csv.json; the bucket holds {keys}")
    try:
        report = json.loads(body)
    except ValueError:
        raise AssertionError("the report is not JSON") from None
    assert isinstance(report, dict) and report.get("created") == 2 and \
        len(report.get("rejected") or []) == 3, (
        f"the report holds {str(report)[:160]}; expected the ImportReport as JSON (created 2, "
        "3 rejected rows)")


@ex63.behaviour("S3's test event and other keys do nothing",
                hint=["Section 6: objects_in already names nothing for them.",
                      "Write nothing and fail nothing when there is no import file."])
def _(project: Project) -> None:
    from course.learner import events

    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        _put(s3, "reports/old.csv.json", "{}")
        _handle(module, {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})
        _handle(module, events.s3_put("reports/old.csv.json", BUCKET))
        keys = _keys(s3)
        count = len(_users(users))
    assert keys == ["reports/old.csv.json"] and count == 0, (
        f"a test event and a report's notification left the bucket with {keys} and {count} "
        "user(s): they must do nothing")


@ex63.behaviour("an object deleted since the event is skipped, with a warning",
                hint=["Section 6: import_users reports it as missing; that is no error.",
                      "Log a warning with the key, write no report, and return normally."])
def _(project: Project) -> None:
    from course.learner import events

    with _aws(project) as (module, s3, _users), dynamodb_put_faults(), _captured_logs() as logs:
        _handle(module, events.s3_put("imports/deleted since.csv", BUCKET))
        keys = _keys(s3)
    text = logs.getvalue()
    assert keys == [], f"for a deleted object the function wrote {keys}"
    assert "WARNING" in text and "imports/deleted since.csv" in text, (
        "for an object deleted since the event, no warning naming its key was logged: a file "
        "that vanished should leave a trace")


@ex63.behaviour("a DynamoDB failure fails the invocation, so Lambda retries it",
                hint=["Section 4: S3 invokes asynchronously; Lambda only retries an invocation "
                      "that fails. A returned status code is read by nobody.",
                      "Let the error out of lambda_handler."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, _users), dynamodb_put_faults({"ada@example.com": -1}):
        _put(s3, "imports/a.csv", HEADER + "Ada,ada@example.com,36\n")
        try:
            result = module.lambda_handler(_event(["imports/a.csv"], s3),
                                           lambda_context("users-import"))
        except BehaviourTimeout:
            raise
        except NotImplementedError:
            raise
        except Exception:  # noqa: BLE001 - failing is what is asked
            return
    raise AssertionError(
        f"DynamoDB refused every write and lambda_handler returned {result!r:.100}: to an "
        "asynchronous invocation that is a success, so the import is never retried and the "
        "users are missing for good")


@ex63.behaviour("a redelivered event creates no one twice",
                hint=["Section 4: S3 delivers at least once.",
                      "Exercise 6.2's ids already make this work: handle the event as it is."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        _put(s3, "imports/a.csv", HEADER + "Ada,ada@example.com,36\nGrace,grace@example.com,\n")
        event = _event(["imports/a.csv"], s3)
        _handle(module, event)
        _handle(module, event)
        emails = _emails(users)
    assert emails == ["ada@example.com", "grace@example.com"], (
        f"the same notification handled twice left {emails}")


@ex63.behaviour("the logs never hold the file's data",
                hint=["Section 6: log the key and the counts, not rows or rejections' values; "
                      "at every level (the check runs at DEBUG).",
                      "Do not log the event either: it is harmless here, but the habit leaks."])
def _(project: Project) -> None:
    os.environ["POWERTOOLS_LOG_LEVEL"] = "DEBUG"  # debug lines count too
    with _aws(project) as (module, s3, _users), dynamodb_put_faults(), _captured_logs() as logs:
        _put(s3, "imports/a.csv", BAD_ROWS)
        _handle(module, _event(["imports/a.csv"], s3))
    text = logs.getvalue()
    for secret in ("mallory.private", "nameless.private", "ada@example.com", "forty-two"):
        assert secret not in text, (
            f"the logs (at POWERTOOLS_LOG_LEVEL=DEBUG) hold {secret!r}, from the file's rows")


question("6.d", "S3 invokes the guideline's handler for an upload; DynamoDB is down, so the "
         "handler catches the error and returns {\"statusCode\": 500}. What does Lambda do?",
         ["Retries the event twice, then sends it to the on-failure destination.",
          "Nothing more: to Lambda the function returned, so the invocation succeeded.",
          "S3 retries the upload notification."],
         answer=1,
         why=["That is what happens when the function fails (raises or times out); a return "
              "value is a success.",
              "An asynchronous caller never reads the response: a status code means nothing "
              "there. Raise, and configure the retries and an on-failure destination.",
              "S3 handed the event to Lambda's queue for asynchronous invocations; it does "
              "not hear how the function did."])

question("6.g", "The import function writes its report to imports/report.csv in the bucket "
         "that notifies it for imports/*.csv. What happens?",
         ["Nothing special: the report is just another file.",
          "The report notifies the function, which imports it and writes another report: a "
          "loop, each turn billed, until Lambda's recursive loop detection stops it (after "
          "about 16 invocations) or the code breaks it.",
          "S3 refuses to notify for objects written by Lambda."],
         answer=1,
         why=["Every new object under the prefix with the suffix sends a notification, "
              "whoever writes it.",
              "Write outputs under another prefix (or bucket) than the trigger's, and check the "
              "key in code too. Lambda detects loops between Lambda and S3 since 2024, but "
              "only after ~16 invocations.",
              "S3 notifies for every matching object, whoever wrote it."])


# --- 6.4 -------------------------------------------------------------------------------------

ex64 = exercise("6.4", "S3 -> SQS -> Lambda", files=[HANDLER], timeout=5.0)


def _sqs_event(*bodies: str) -> tuple[dict, list[str]]:
    from course.learner import events

    event = events.sqs(*bodies, queue="uploads")
    return event, [record["messageId"] for record in event["Records"]]


def _queue_handler(module: Any) -> Any:
    handler = getattr(module, "queue_handler", None)
    assert callable(handler), f"{HANDLER} has no function queue_handler"
    return handler


def _failed(module: Any, event: dict) -> list[str]:
    response = _attempt("queue_handler", _queue_handler(module), event,
                        lambda_context("users-import"))
    assert isinstance(response, dict) and isinstance(response.get("batchItemFailures"), list), (
        f"queue_handler returned {response!r:.120}; expected a partial batch response "
        '{"batchItemFailures": [...]} (lesson 05)')
    return [f.get("itemIdentifier") for f in response["batchItemFailures"]
            if isinstance(f, dict)]


def _notification(s3: Any, key: str) -> str:
    return json.dumps(_event([key], s3))


TEST_EVENT = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                         "Time": "2026-01-01T00:00:00.000Z", "Bucket": BUCKET})


@ex64.behaviour("imports the objects each message names; S3's test event and a deleted "
                "object succeed",
                hint=["Section 7: each message's body is an S3 notification, as JSON.",
                      "Parse the body and hand it to objects_in and process_object; the test "
                      "event names no object, and an object deleted since is skipped: both "
                      "are successes."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        _put(s3, "imports/a.csv", HEADER + "Ada,ada@example.com,36\n")
        _put(s3, "imports/b.csv", HEADER + "Grace,grace@example.com,\n")
        _put(s3, "imports/gone.csv", HEADER + "Gone,gone@example.com,\n")
        gone = _notification(s3, "imports/gone.csv")
        s3.delete_object(Bucket=BUCKET, Key="imports/gone.csv")
        event, ids = _sqs_event(TEST_EVENT, _notification(s3, "imports/a.csv"),
                                _notification(s3, "imports/b.csv"), gone)
        failed = _failed(module, event)
        emails = _emails(users)
    assert ids[3] not in failed, (
        "the notification of an object deleted since it was sent was reported failed: it will "
        "come back until the dead-letter queue, and never succeed. A missing object is "
        "skipped (process_object), not a failure")
    assert failed == [], (
        f"a batch of a test event and two notifications reported {failed} failed")
    assert emails == ["ada@example.com", "grace@example.com"], (
        f"two notifications through the queue created {emails}")


@ex64.behaviour("reports exactly the messages that failed",
                hint=["Section 7: the same partial batch response as lesson 05, one message per "
                      "notification.",
                      "Let a failure raise out of the record handler: a body that is not JSON, "
                      "an import that DynamoDB refuses."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, users), dynamodb_put_faults({"down@example.com": -1}):
        _put(s3, "imports/a.csv", HEADER + "Ada,ada@example.com,36\n")
        _put(s3, "imports/down.csv", HEADER + "Dan,down@example.com,40\n")
        event, ids = _sqs_event(_notification(s3, "imports/a.csv"), "not JSON",
                                _notification(s3, "imports/down.csv"))
        failed = _failed(module, event)
        emails = _emails(users)
    assert sorted(map(str, failed)) == sorted(ids[1:]), (
        f"of three messages, the second (not JSON) and the third (DynamoDB refused its import) "
        f"failed; your response reported {len(failed)}: "
        + ("the right ones" if set(failed) == set(ids[1:]) else
           "not exactly those. A failure left out is deleted and lost; a success listed is "
           "processed again"))
    assert emails == ["ada@example.com"], f"the good message's import created {emails}"


@ex64.behaviour("S3 -> SQS -> Lambda on moto: each upload becomes its users, once",
                hint=["Section 7 runs the pipeline: S3 notifies the queue (a test event first), "
                      "the mapping polls it and invokes queue_handler.",
                      "A notification delivered twice must import nothing twice: exercise 6.2's "
                      "ids do that."])
def _(project: Project) -> None:
    import boto3

    from course.awslambda.event_source_mapping import EventSourceMapping

    with _aws(project) as (module, s3, users), dynamodb_put_faults():
        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName="uploads-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        queue = sqs.create_queue(QueueName="uploads", Attributes={"RedrivePolicy": json.dumps({
            "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
            "maxReceiveCount": "3"})})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
            "QueueConfigurations": [{
                "QueueArn": queue_arn["Attributes"]["QueueArn"],
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "imports/"},
                                                   {"Name": "suffix", "Value": ".csv"}]}}}]})
        _put(s3, "imports/team 1+2.csv", HEADER + "Ada,ada@example.com,36\n"
                                                   "Grace,grace@example.com,\n")
        _put(s3, "imports/more.csv", HEADER + "Linus,linus@example.com,54\n")
        _put(s3, "notes/readme.txt", "not an import")
        mapping = EventSourceMapping(queue, _queue_handler(module), sqs=sqs,
                                     function_response_types=["ReportBatchItemFailures"])
        _attempt("running the mapping", mapping.drain, max_batches=20)
        first = _emails(users)
        again = _notification(s3, "imports/team 1+2.csv")
        sqs.send_message(QueueUrl=queue, MessageBody=again)  # a duplicate delivery
        _attempt("running the mapping", mapping.drain, max_batches=20)
        emails = _emails(users)
        dead = mapping.dead_letters()
        keys = _keys(s3)
    assert first == ["ada@example.com", "grace@example.com", "linus@example.com"], (
        f"two uploads went through S3 -> SQS -> queue_handler; the table holds {first}")
    assert emails == first, f"a duplicate notification changed the users to {emails}"
    assert not dead, (f"{len(dead)} message(s) ended in the dead-letter queue; the pipeline "
                      "should process all of them (the test event included)")
    assert "reports/team 1+2.csv.json" in keys and "reports/more.csv.json" in keys, (
        f"the bucket holds {keys}; each import writes its report under reports/")


@ex64.behaviour("the logs name each failed message's id, as message_id",
                hint=["Section 7: as in lesson 05, exercise 5.2: a message that ends in the "
                      "dead-letter queue must leave a trace you can search for.",
                      "Add the message id to the logger's keys first thing in the record "
                      "handler, and give the BatchProcessor your logger."])
def _(project: Project) -> None:
    with _aws(project) as (module, s3, _users), dynamodb_put_faults({"down@example.com": -1}), \
            _captured_logs() as logs:
        _put(s3, "imports/a.csv", HEADER + "Ada,ada@example.com,36\n")
        _put(s3, "imports/down.csv", HEADER + "Dan,down@example.com,40\n")
        event, ids = _sqs_event(_notification(s3, "imports/a.csv"), "not JSON",
                                _notification(s3, "imports/down.csv"))
        _failed(module, event)
    keyed = {str(entry.get("message_id")) for entry in json_lines(logs.getvalue())}
    for failed, what in ((ids[1], "not JSON"), (ids[2], "an import DynamoDB refused")):
        assert failed in keyed, (
            f"a message that failed ({what}) left no log line with its id under the key "
            "message_id: when it reaches the dead-letter queue, nobody will find why")


@ex64.behaviour("never deletes a message itself",
                hint=["Section 7: as in lesson 05, the event source mapping deletes what you do "
                      "not report.",
                      "No SQS client in the handler."])
def _(project: Project) -> None:
    calls: list[tuple[str, str]] = []
    with _aws(project) as (module, s3, _users), dynamodb_put_faults(calls=calls):
        _put(s3, "imports/a.csv", HEADER + "Ada,ada@example.com,36\n")
        event, _ids = _sqs_event(_notification(s3, "imports/a.csv"), "not JSON")
        try:
            _queue_handler(module)(event, lambda_context("users-import"))
        except BehaviourTimeout:
            raise
        except NotImplementedError:
            raise
        except Exception:  # noqa: BLE001 - another behaviour explains a crash
            pass
    sqs_calls = sorted({operation for service, operation in calls if service == "sqs"})
    assert not sqs_calls, (
        f"queue_handler called SQS ({', '.join(sqs_calls)}): Lambda deletes the messages you "
        "do not report")


question("6.h", "Why put an SQS queue between S3 and the import function instead of letting S3 "
         "invoke it directly?",
         ["Direct invocation loses every event whose function fails.",
          "The queue keeps each notification until it is processed, under your control: "
          "retries for as long as the redrive policy says, a dead-letter queue holding the "
          "message itself, batches with partial failures, and a steady pace when uploads "
          "burst.",
          "S3 cannot invoke Lambda functions directly."],
         answer=1,
         why=["Direct (asynchronous) invocation retries twice and has on-failure destinations; "
              "it loses events only when those are not configured.",
              "All of that comes with the queue, and the function sees the same notification "
              "in each message's body.",
              "It can: that is the asynchronous invocation of sections 4 and 6."])

question("6.i", "Your integration test feeds moto's S3 notification to Powertools' parser with "
         "`parse(event, model=S3Model)`. What happens?",
         ["It parses: moto sends S3's exact format.",
          "It fails validation: moto's records lack fields S3 sends (userIdentity, "
          "requestParameters, responseElements, the bucket's ownerIdentity), and the test event "
          "has no Records.",
          "It parses but the keys come out decoded."],
         answer=1,
         why=["moto's notifications are reduced: a strict model rejects them.",
              "Checked on moto 5.2.5 and Powertools 3.37: read the few fields you need from the "
              "dict (or the S3Event data class), and test with complete sample events too.",
              "Neither the parser nor the data class decodes keys: unquote_plus is yours to "
              "call."])

question("6.f", "A CSV import must survive a retry after it failed half-way (row 500 of 1,000). "
         "Why is Powertools' idempotency, keyed on the object version, not enough here?",
         ["It is enough: the second attempt returns the saved result.",
          "A failed attempt leaves no saved result (Powertools deletes the in-progress record "
          "on an exception), so the retry runs again from row 1: rows 1-499 would be created "
          "twice unless each write is idempotent itself.",
          "Powertools cannot hash an S3 key."],
         answer=1,
         why=["Powertools saves a result only when the function returns.",
              "Deterministic ids (uuid5 of the version and the row) and a conditional put make "
              "every row's write idempotent, whatever retries happen.",
              "Any JSON data can be the key."])
