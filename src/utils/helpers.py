"""Helpers shared by the handlers."""

import json
from typing import Any

JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> dict:
    """An API Gateway proxy response carrying `body` as JSON."""
    return {
        "statusCode": status_code,
        "headers": {**JSON_HEADERS, **(headers or {})},  # a new dict: never mutate a shared one
        "body": json.dumps(body),
    }
