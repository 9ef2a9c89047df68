"""Lesson 01: a basic API Gateway handler, standard library only.

Works with REST API (payload v1: httpMethod, path) and HTTP API (payload v2:
requestContext.http.method, rawPath) proxy events.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


class InvalidEventError(ValueError):
    """The event is not an API Gateway proxy event."""


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point: always returns an API Gateway proxy response."""
    try:
        result = process_event(event)
    except InvalidEventError:
        logger.warning("Rejected an event that is not an API Gateway proxy event")
        return response(400, {"message": "Not an API Gateway proxy event"})
    except Exception:
        # The detail (and traceback) goes to the log; the client gets a generic message.
        logger.exception("Error processing event")
        return response(500, {"message": "Internal server error"})
    return response(200, {"message": "Success", "data": result})


def process_event(event: dict[str, Any]) -> dict[str, str]:
    """The request's method and path, for either payload version."""
    http = (event.get("requestContext") or {}).get("http") or {}  # only in v2 events
    method = event.get("httpMethod") or http.get("method")
    path = event.get("path") or event.get("rawPath")
    if not method or not path:
        raise InvalidEventError("event has no HTTP method or path")
    # Log what we need to follow a request, never the whole event (headers, tokens, bodies).
    logger.info("Request %s %s", method, path)
    return {"method": method, "path": path}


def response(status_code: int, body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON body."""
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
