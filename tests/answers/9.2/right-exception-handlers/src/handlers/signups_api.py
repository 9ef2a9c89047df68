"""Lesson 09: the sign-ups API. POST /signups puts a sign-up on the queue lesson 05's worker reads.

The request's correlation id (API Gateway's request id) travels with the message, so the
worker's lines can be found with the API's. Logs carry ids and field names, never what the
person sent.

Environment: SIGNUPS_QUEUE_URL, ENVIRONMENT (default "dev"), POWERTOOLS_SERVICE_NAME,
POWERTOOLS_METRICS_NAMESPACE (default "UsersApp"), POWERTOOLS_LOG_LEVEL.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from models.user import UserCreate
from utils.correlation import message_attributes

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "UsersApp"))
# On every document this Metrics flushes; a dimension whose values are few and known.
metrics.set_default_dimensions(environment=os.environ.get("ENVIRONMENT", "dev"))
app = APIGatewayRestResolver()
# API Gateway gives up after 29 s: a queue that does not answer fails in well under that.
SQS_CONFIG = Config(
    connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 2}
)


@functools.cache
def sqs() -> Any:
    """The SQS client, created on first use and reused by warm invocations."""
    return boto3.client("sqs", config=SQS_CONFIG)


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def count_rejection(reason: str) -> None:
    """SignupsRejected, in a document of its own: its reason dimension (two values) must not
    split SignupsQueued."""
    with single_metric(name="SignupsRejected", unit=MetricUnit.Count, value=1,
                       namespace=metrics.namespace,
                       default_dimensions=metrics.default_dimensions) as metric:
        metric.add_dimension(name="reason", value=reason)


class Rejected(Exception):
    def __init__(self, fields: list[str], reason: str) -> None:
        super().__init__(reason)
        self.fields, self.reason = fields, reason


@app.exception_handler(Rejected)
def rejected(exc: Rejected) -> Response:
    logger.warning("Sign-up rejected", fields=exc.fields)
    count_rejection(exc.reason)
    return json_response(400, {"message": "Invalid sign-up", "fields": exc.fields})


def parse_signup() -> UserCreate:
    try:
        body = app.current_event.json_body
    except ValueError:
        raise Rejected(["body"], "invalid_json") from None
    try:
        return UserCreate.model_validate(body)
    except ValidationError as exc:
        fields = [".".join(str(part) for part in error["loc"]) or "body"
                  for error in exc.errors(include_input=False)]
        raise Rejected(sorted(set(fields)), "invalid_fields") from None


@app.post("/signups")
def create_signup() -> Response:
    signup = parse_signup()
    correlation_id = logger.get_correlation_id()
    try:
        sent = sqs().send_message(QueueUrl=os.environ["SIGNUPS_QUEUE_URL"],
                                  MessageBody=signup.model_dump_json(),
                                  MessageAttributes=message_attributes(correlation_id))
    except (ClientError, BotoCoreError):
        logger.exception("Sign-up not queued")
        return json_response(503, {"message": "Please try again later"})
    logger.info("Sign-up queued", message_id=sent["MessageId"])
    metrics.add_metric(name="SignupsQueued", unit=MetricUnit.Count, value=1)
    return json_response(202, {"status": "queued", "correlation_id": correlation_id})


LOG_EVENT = False


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=LOG_EVENT, clear_state=True
)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
