"""Lesson 06: the users import. A CSV file uploaded under imports/ becomes users.

S3 notifies either Lambda itself (lambda_handler: an asynchronous invocation, which Lambda
retries twice when it fails, then hands to an on-failure destination) or an SQS queue that
Lambda polls (queue_handler: partial batch responses, as in lesson 05). Either way a
notification may arrive more than once, late and out of order, so an import is idempotent per
object version: a user's id comes from the object version and the row number, and save_item
never overwrites.

The file: a header row name,email,age (age may be empty), in UTF-8 with or without a byte order
mark. A row that is not a valid user is reported, never fatal. Each import writes a report under
reports/, outside the prefix that triggers the function.

Environment: USERS_TABLE (default "users"), POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import ValidationError

from models.user import User, UserCreate
from services.dynamodb_service import DynamoDBService, ItemAlreadyExists

IMPORT_PREFIX = "imports/"
IMPORT_SUFFIX = ".csv"
REPORT_PREFIX = "reports/"  # outside IMPORT_PREFIX: writing a report never triggers an import
# Fixed for good: the same object version and row always give the same user id.
IMPORT_NAMESPACE = uuid.UUID("6f1c2b0e-5a8d-4c3e-9b7a-2d4e6f8a0c1b")
GONE = ("NoSuchKey", "NoSuchVersion")  # deleted since the notification was sent

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS, logger=logger)


@dataclass(frozen=True)
class S3ObjectRef:
    """One object a notification names (the key decoded)."""

    bucket: str
    key: str
    version_id: str | None = None  # set by versioned buckets only
    etag: str = ""

    @property
    def version(self) -> str:
        """What identifies this content of the object: its version id, else its ETag."""
        return self.version_id or self.etag


@dataclass
class ImportReport:
    """What one import did. Rejections name the row and the fields, never the values."""

    key: str
    created: int = 0
    already_imported: int = 0
    rejected: list[str] = field(default_factory=list)  # e.g. "row 3: email (value_error)"
    missing: bool = False  # the object (or this version of it) was gone


@functools.cache
def users_service() -> DynamoDBService:
    return DynamoDBService(os.environ.get("USERS_TABLE", "users"))


@functools.cache
def s3_client() -> Any:
    return boto3.client("s3")


def objects_in(event: dict[str, Any]) -> list[S3ObjectRef]:
    """The import files an S3 notification names: created objects under IMPORT_PREFIX ending
    in IMPORT_SUFFIX, keys decoded. S3's test event (no Records) names none."""
    refs = []
    for record in event.get("Records") or []:
        if not record.get("eventName", "").startswith("ObjectCreated:"):
            continue
        s3 = record["s3"]
        key = unquote_plus(s3["object"]["key"])  # "+" is a space, "%2B" a plus
        if key.startswith(IMPORT_PREFIX) and key.endswith(IMPORT_SUFFIX):
            refs.append(S3ObjectRef(s3["bucket"]["name"], key,
                                    s3["object"].get("versionId"), s3["object"].get("eTag", "")))
    return refs


def user_from_row(row: dict[str, Any], user_id: str) -> User:
    """A CSV row as a user; ValidationError if it is not one."""
    data = {"name": row.get("name"), "email": row.get("email"), "age": row.get("age") or None}
    signup = UserCreate.model_validate(data, strict=False)  # CSV values are text: "36" is an age
    return User(user_id=user_id, created_at=datetime.now(UTC).isoformat(), **signup.model_dump())


def import_users(ref: S3ObjectRef) -> ImportReport:
    """Create a user per valid row of the object, reading it as a stream."""
    report = ImportReport(ref.key)
    options = {"VersionId": ref.version_id} if ref.version_id else {}
    try:
        body = s3_client().get_object(Bucket=ref.bucket, Key=ref.key, **options)["Body"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in GONE:
            raise
        report.missing = True
        return report
    # Text, 8 KB at a time: a byte order mark is dropped, bytes that are not UTF-8 become U+FFFD.
    text = io.TextIOWrapper(body, encoding="utf-8-sig", errors="replace", newline="")
    for number, row in enumerate(csv.DictReader(text), start=2):  # row 1 is the header
        if any("\ufffd" in str(value) for value in row.values()):
            report.rejected.append(f"row {number}: not UTF-8 text")
            continue
        seed = f"{ref.bucket}/{ref.key}/{ref.version}/{number}"
        try:
            user = user_from_row(row, str(uuid.uuid5(IMPORT_NAMESPACE, seed)))
        except ValidationError as exc:
            fields = ", ".join(f"{'.'.join(map(str, e['loc']))} ({e['type']})"
                               for e in exc.errors(include_url=False, include_input=False))
            report.rejected.append(f"row {number}: {fields}")
            continue
        try:
            users_service().save_item(user.to_item())
            report.created += 1
        except ItemAlreadyExists:  # imported by an earlier delivery of this notification
            report.already_imported += 1
    return report


def process_object(ref: S3ObjectRef) -> ImportReport:
    """Import one object and write its report under REPORT_PREFIX; skip an object that is
    gone. DynamoDB failures propagate: the invocation fails and is retried."""
    report = import_users(ref)
    if report.missing:
        logger.warning("Object gone before it was read: nothing imported", key=ref.key)
        return report
    report_key = REPORT_PREFIX + ref.key.removeprefix(IMPORT_PREFIX) + ".json"
    s3_client().put_object(Bucket=ref.bucket, Key=report_key,
                           Body=json.dumps(asdict(report)).encode(),
                           ContentType="application/json")
    # (not created=...: a log record has a "created" attribute of its own)
    logger.info("Import done", key=ref.key, users_created=report.created,
                already_imported=report.already_imported, rows_rejected=len(report.rejected))
    return report


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """S3 -> Lambda. An asynchronous caller reads no response: to be retried, raise."""
    return {"imports": [asdict(process_object(ref)) for ref in objects_in(event)]}


def notification_handler(record: SQSRecord) -> int:
    """One SQS message holding an S3 notification: import every object it names."""
    logger.append_keys(message_id=record.message_id)
    notification = json.loads(record.body)  # not JSON: the message fails and is reported
    return len([process_object(ref) for ref in objects_in(notification)])


@logger.inject_lambda_context(clear_state=True)
def queue_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """S3 -> SQS -> Lambda: the ids of the messages that failed (partial batch response)."""
    return process_partial_response(
        event=event, record_handler=notification_handler, processor=processor, context=context
    )
