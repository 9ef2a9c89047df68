"""Lesson 10: the users report, with an init that pays only for what it uses.

An EventBridge schedule calls it every morning (and the admin dashboard on demand): it counts
the users table and answers {"users": N}. It is not traced (no active tracing on the function).

Environment: USERS_TABLE (default "users"), POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

logger = Logger()

# The function's timeout is 10 s: (1 s to connect + 2 s to read) x 3 attempts = 9 s at worst,
# so a slow DynamoDB ends in a clean error the function logs, not in a timeout.
DYNAMODB_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 3}
)
# Created once per execution environment, during INIT; every invocation reuses it.
dynamodb = boto3.client("dynamodb", config=DYNAMODB_CONFIG)


def count_users(table_name: str) -> int:
    """How many items the table holds, every page read (Select=COUNT reads no attributes)."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=table_name, Select="COUNT")
    return sum(page["Count"] for page in pages)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    total = count_users(os.environ.get("USERS_TABLE", "users"))
    logger.info("Report ready", users=total)
    return {"users": total}
