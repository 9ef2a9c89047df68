"""Lesson 02: Powertools event handler, Logger, Tracer and Metrics.

Configured from the environment (set by Terraform): POWERTOOLS_SERVICE_NAME,
POWERTOOLS_METRICS_NAMESPACE (default "UsersApp"), POWERTOOLS_LOG_LEVEL.
Users live in memory: they last as long as the execution environment (lesson 04 adds DynamoDB).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    NotFoundError,
    ServiceError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "UsersApp"))
app = APIGatewayRestResolver()

USERS: dict[str, dict[str, str]] = {}


@app.get("/users")
@tracer.capture_method
def list_users() -> dict[str, Any]:
    metrics.add_metric(name="UsersListed", unit=MetricUnit.Count, value=1)
    return {"users": list(USERS.values())}


@app.get("/users/<user_id>")
@tracer.capture_method
def get_user(user_id: str) -> dict[str, str]:
    user = USERS.get(user_id)
    if user is None:
        raise NotFoundError("User not found")
    logger.info("User retrieved", user_id=user_id)
    metrics.add_metric(name="UserRetrieved", unit=MetricUnit.Count, value=1)
    return user


@app.post("/users")
@tracer.capture_method
def create_user() -> tuple[dict[str, str], int]:
    body = parse_json_body()
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError("Field 'name' must be a non-empty string")
    user = {"user_id": str(uuid.uuid4()), "name": name.strip()}
    USERS[user["user_id"]] = user
    logger.info("User created", user_id=user["user_id"])
    metrics.add_metric(name="UsersCreated", unit=MetricUnit.Count, value=1)
    return user, 201


def parse_json_body() -> Any:
    """The parsed request body (base64 bodies are decoded first); a client error if invalid."""
    try:
        return app.current_event.json_body
    except ValueError as exc:  # bad JSON, bad base64 and bad UTF-8 are all ValueErrors
        raise BadRequestError("Request body is not valid JSON") from exc


# Handlers are looked up along the exception's MRO, so without this one the catch-all below
# would also catch BadRequestError and NotFoundError and turn every 4xx into a 500.
@app.exception_handler(ServiceError)
def client_error(exc: ServiceError) -> Response:
    return json_response(exc.status_code, {"message": exc.msg})


@app.exception_handler(Exception)
def server_error(exc: Exception) -> Response:
    logger.exception("Unhandled error")  # the detail goes to the log, never to the client
    return json_response(500, {"message": "Internal server error"})


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False
)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
