"""Lesson 05: the sign-ups worker. SQS -> Lambda -> DynamoDB, and no message lost.
Lesson 09: each record's lines carry the correlation id its message brought from the API.

Each message asks for one user, as a JSON body {"name": ..., "email": ..., "age": ...}. The
handler answers with a partial batch response: the ids of the messages that failed. Lambda's
event source mapping (with ReportBatchItemFailures on) deletes the others and leaves those in
the queue, to come back after the visibility timeout until they succeed or the queue's redrive
policy moves them to the dead-letter queue. The handler never deletes a message itself.

Environment: USERS_TABLE (default "users"), IDEMPOTENCY_TABLE (default "idempotency"),
POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from models.user import User, UserCreate
from services.dynamodb_service import DynamoDBService
from utils.correlation import correlation_id_of

logger = Logger()
# Each failed record is logged at WARNING with its traceback, then reported.
processor = BatchProcessor(event_type=EventType.SQS, logger=logger)
persistence = DynamoDBPersistenceLayer(
    table_name=os.environ.get("IDEMPOTENCY_TABLE", "idempotency")
)
# A redelivered message keeps its messageId (its receipt handle and receive count change).
idempotency = IdempotencyConfig(event_key_jmespath="messageId")


class PoisonMessage(Exception):
    """A message that can never succeed (not JSON, not a sign-up): retrying cannot help."""


@functools.cache
def users_service() -> DynamoDBService:
    """The users table service, created on first use and reused by warm invocations."""
    return DynamoDBService(os.environ.get("USERS_TABLE", "users"))


def parse_signup(body: str) -> UserCreate:
    """The message body as a sign-up; PoisonMessage naming the bad fields (never their values)
    if it is not one."""
    try:
        return UserCreate.model_validate_json(body)
    except ValidationError as exc:
        problems = ", ".join(
            f"{'.'.join(map(str, error['loc'])) or 'body'} ({error['type']})"
            for error in exc.errors(include_url=False, include_input=False)
        )
        # from None: the ValidationError's text holds the values, and a traceback shows it
        raise PoisonMessage(f"not a valid sign-up: {problems}") from None


@idempotent_function(
    data_keyword_argument="record", config=idempotency, persistence_store=persistence
)
def create_user(record: SQSRecord) -> str:
    """Create the user a message asks for, once per message id; returns the user id."""
    user = User.new(parse_signup(record.body))
    users_service().save_item(user.to_item())
    logger.info("User created", user_id=user.user_id)
    return user.user_id


def record_handler(record: SQSRecord) -> str:
    """One message: raise to report it as failed. (Powertools calls it with record=...)"""
    logger.append_keys(message_id=record.message_id)  # on every line, the failure's too
    # The API's request id (or this message's id): one search finds the request and this work.
    logger.set_correlation_id(correlation_id_of(record))
    return create_user(record=record)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)  # an unfinished record expires with the call
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
