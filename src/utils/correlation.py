"""Lesson 09: a correlation id that crosses the queue, in an SQS message attribute.

The API puts the id of the request in the message (message_attributes); the worker reads it
back from the record Lambda hands it (correlation_id_of) and logs under it, so one search finds
the request and everything it caused. The two sides see different shapes: SendMessage takes
{"DataType", "StringValue"}, Lambda's SQS event holds {"dataType", "stringValue"}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ATTRIBUTE = "correlation_id"


def message_attributes(correlation_id: str) -> dict[str, dict[str, str]]:
    """MessageAttributes for sqs.send_message carrying the correlation id."""
    return {ATTRIBUTE: {"DataType": "String", "StringValue": correlation_id}}


def correlation_id_of(record: Mapping[str, Any] | Any) -> str:
    """The correlation id an SQS record carries (a record of Lambda's event, as a dict or as
    Powertools' SQSRecord), else the record's own message id: every line gets one."""
    raw = getattr(record, "raw_event", record)  # SQSRecord wraps the dict
    attribute = (raw.get("messageAttributes") or {}).get(ATTRIBUTE) or {}
    value = attribute.get("stringValue")
    if attribute.get("dataType") == "String" and isinstance(value, str) and value.strip():
        return value
    return raw["messageId"]
