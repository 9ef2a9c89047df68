"""A small DynamoDB table wrapper: conditional writes, every page read, its own exceptions.

Callers never see botocore's exceptions: they catch ItemAlreadyExists, ItemNotFound or
DynamoDBError, so a handler can map each one to an HTTP status without knowing boto3.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)

Item = dict[str, Any]


class DynamoDBError(Exception):
    """DynamoDB failed for a reason the caller cannot fix (throttling, permissions, network)."""


class ItemAlreadyExists(DynamoDBError):
    """A create-only write found an item with the same key."""


class ItemNotFound(DynamoDBError):
    """The item to delete does not exist."""


class DynamoDBService:
    """Read and write items of one table. Create it once per execution environment.

    partition_key names the table's partition key (the course's users table: user_id);
    resource is a boto3 DynamoDB resource, created from the environment when omitted.
    """

    def __init__(
        self,
        table_name: str,
        *,
        partition_key: str = "user_id",
        resource: Any | None = None,
    ) -> None:
        self.partition_key = partition_key
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def get_item(self, key: Item) -> Item | None:
        """The item with this key, or None."""
        with _translate_errors("get_item"):
            return self._table.get_item(Key=key).get("Item")

    def save_item(self, item: Item, *, overwrite: bool = False) -> None:
        """Write an item; unless overwrite=True, raise ItemAlreadyExists if its key is taken."""
        options: dict[str, Any] = {}
        if not overwrite:  # one conditional write: no window between a read and the write
            options["ConditionExpression"] = Attr(self.partition_key).not_exists()
        with _translate_errors("save_item", on_condition=ItemAlreadyExists):
            self._table.put_item(Item=item, **options)

    def delete_item(self, key: Item) -> None:
        """Delete an item; raise ItemNotFound if there is none with this key."""
        condition = Attr(self.partition_key).exists()
        with _translate_errors("delete_item", on_condition=ItemNotFound):
            self._table.delete_item(Key=key, ConditionExpression=condition)

    def query_items(
        self, key_name: str, key_value: Any, *, index_name: str | None = None
    ) -> list[Item]:
        """All items whose key_name equals key_value, reading every page (1 MB each)."""
        # Key() lets boto3 write the expression with placeholders (#n0 = :v0): attribute names
        # such as name or status are reserved words that DynamoDB refuses in a written one.
        params: Item = {"KeyConditionExpression": Key(key_name).eq(key_value)}
        if index_name:
            params["IndexName"] = index_name
        with _translate_errors("query_items"):
            return _read_pages(self._table.query, params)

    def scan_items(self, *, limit: int, start_key: Item | None = None) -> list[Item]:
        """Up to `limit` items in no particular order; with start_key (the key of the last item
        of an earlier page), the items after it. A Scan reads the table itself, not an index:
        keep it for small tables or bounded pages like these."""
        params: Item = {"ExclusiveStartKey": start_key} if start_key else {}
        with _translate_errors("scan_items"):
            return _read_pages(self._table.scan, params, limit=limit)


def _read_pages(operation: Any, params: Item, *, limit: int | None = None) -> list[Item]:
    """Call a query or scan page after page, following LastEvaluatedKey, until there are no
    more pages or `limit` items; with a limit, each call asks only for the items missing."""
    items: list[Item] = []
    while True:
        if limit is not None:
            params = {**params, "Limit": limit - len(items)}  # never read more than needed
        page = operation(**params)
        items.extend(page.get("Items", []))
        next_start = page.get("LastEvaluatedKey")
        if next_start is None or (limit is not None and len(items) >= limit):
            return items
        params = {**params, "ExclusiveStartKey": next_start}


@contextmanager
def _translate_errors(
    operation: str, *, on_condition: type[DynamoDBError] | None = None
) -> Iterator[None]:
    """Turn botocore errors into this module's exceptions; log the unexpected ones."""
    try:
        yield
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException" and on_condition:
            raise on_condition(operation) from exc
        # One line here; the caller that finally handles the error logs the traceback.
        logger.error("DynamoDB %s failed: %s", operation, code)
        raise DynamoDBError(f"DynamoDB {operation} failed") from exc
    except BotoCoreError as exc:  # no answer at all: timeouts, connections, credentials
        logger.error("DynamoDB %s failed: %s", operation, type(exc).__name__)
        raise DynamoDBError(f"DynamoDB {operation} failed") from exc


def create_users_table(resource: Any, name: str = "users") -> Any:
    """Create the users table (key user_id, GSI "email-index" on email) and wait until it is
    ready. For tests, notebooks and local use: in production Terraform owns the table."""
    table = resource.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "email", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "email-index",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    return table
