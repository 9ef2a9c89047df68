"""Lessons 03 and 04: the users API. Powertools routing, pydantic validation, DynamoDB storage.

Every client mistake is a 4xx JSON {"message": ...}; anything unexpected is a generic 500 whose
detail only goes to the log.

Environment: USERS_TABLE (default "users"), POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any, TypeVar

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    NotFoundError,
    ServiceError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pydantic import BaseModel, ValidationError

from models.user import USER_ID, ListQuery, User, UserCreate
from services.dynamodb_service import DynamoDBService, ItemAlreadyExists

logger = Logger()
tracer = Tracer()  # also patches boto3: each DynamoDB call is a subsegment
app = APIGatewayRestResolver()

Model = TypeVar("Model", bound=BaseModel)

EMAIL_INDEX = "email-index"
# The API's paths and their methods, so a known path with another method gets 405, not 404.
# Like the REST resolver's own patterns, they accept trailing slashes.
ALLOWED_METHODS = {
    re.compile(r"/users/*"): ("GET", "POST"),
    re.compile(r"/users/[^/]+/*"): ("GET",),
}


# API Gateway answers 504 after 29 s, whatever the function is still doing. With these settings
# a DynamoDB call gives up after (2 s + 3 s) x 3 attempts = 15 s at worst: a clean 500 instead.
DYNAMODB_CONFIG = Config(
    connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 3}
)


@functools.cache
def users_service() -> DynamoDBService:
    """The table service, created on first use and reused by warm invocations.

    Created on first use rather than at import: by then a test has set USERS_TABLE and started
    its mock, and importing the module needs no region. Tests call users_service.cache_clear().
    """
    resource = boto3.resource("dynamodb", config=DYNAMODB_CONFIG)
    return DynamoDBService(os.environ.get("USERS_TABLE", "users"), resource=resource)


@app.get("/users")
def list_users() -> dict[str, Any]:
    query = validate(ListQuery, app.current_event.query_string_parameters or {})
    start = {"user_id": query.next} if query.next else None
    items = users_service().scan_items(limit=query.limit, start_key=start)
    users = [User.model_validate(item).model_dump() for item in items]
    # A full page may have a successor, which starts after this page's last user.
    cursor = users[-1]["user_id"] if len(users) == query.limit else None
    return {"users": users, "count": len(users), "next": cursor}


@app.get("/users/<user_id>")
def get_user(user_id: str) -> dict[str, Any]:
    # Ids are UUIDs: anything else cannot exist (and would not even be a valid DynamoDB key).
    item = users_service().get_item({"user_id": user_id}) if USER_ID.fullmatch(user_id) else None
    if item is None:
        raise NotFoundError("User not found")
    return User.model_validate(item).model_dump()


@app.post("/users")
def create_user() -> tuple[dict[str, Any], int]:
    data = validate(UserCreate, json_object_body())
    # Best effort: GSIs are eventually consistent, so two simultaneous requests could both pass.
    if users_service().query_items("email", data.email, index_name=EMAIL_INDEX):
        raise ServiceError(409, "A user with this email already exists")
    user = User.new(data)
    try:
        users_service().save_item(user.to_item())  # conditional: never overwrites a user
    except ItemAlreadyExists as exc:  # only this is a conflict; other failures stay 500s
        raise ServiceError(409, "User already exists") from exc
    logger.info("User created", user_id=user.user_id)
    return user.model_dump(), 201


def json_object_body() -> dict[str, Any]:
    """The request body as a JSON object (base64 bodies are decoded first)."""
    try:
        body = app.current_event.json_body
    except ValueError as exc:  # bad JSON, bad base64 and bad UTF-8 are all ValueErrors
        raise BadRequestError("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BadRequestError("Request body must be a JSON object")
    return body


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    """data as a model, or a 400 listing each invalid field (no input values, no internals)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, error["loc"])), "message": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise BadRequestError({"message": "Invalid request", "errors": errors}) from exc


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods the API accepts for this path (empty if the path is unknown)."""
    return next((m for rule, m in ALLOWED_METHODS.items() if rule.fullmatch(path)), ())


@app.not_found
def not_found(exc: NotFoundError) -> Response:
    """Unknown route (or a route raising NotFoundError): 404, or 405 for a known path."""
    allowed = allowed_methods(app.current_event.path)
    if allowed and app.current_event.http_method.upper() not in allowed:
        headers = {"Allow": ", ".join(allowed)}
        return json_response(405, {"message": "Method not allowed"}, headers)
    return json_response(404, {"message": exc.msg})


# The exception handlers (lesson 02, exercise 2.4): Powertools' HTTP errors keep their status,
# anything else is a generic 500.
# Handlers are looked up along the exception's MRO, so without this one the catch-all below
# would also catch BadRequestError and turn every 4xx into a 500.
@app.exception_handler(ServiceError)
def client_error(exc: ServiceError) -> Response:
    body = exc.msg if isinstance(exc.msg, dict) else {"message": exc.msg}
    return json_response(exc.status_code, body)


@app.exception_handler(Exception)
def server_error(exc: Exception) -> Response:
    logger.exception("Unhandled error")  # the detail goes to the log, never to the client
    return json_response(500, {"message": "Internal server error"})


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers,
    )


# Above Tracer's decorator: the Logger's (lesson 02, exercise 2.2).
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False
)
@tracer.capture_lambda_handler(capture_response=False)  # responses hold personal data (emails)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
