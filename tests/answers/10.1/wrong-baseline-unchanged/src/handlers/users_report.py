# ruff: noqa: F401 - the colleague's version, kept as it was
"""The colleague's first version, unchanged."""
import json
import os

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_masking import DataMasking
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.parser import models

logger = Logger()
tracer = Tracer()
s3 = boto3.client("s3")
sqs = boto3.client("sqs")
table = boto3.resource("dynamodb").Table(os.environ.get("USERS_TABLE", "users"))


@tracer.capture_lambda_handler
def lambda_handler(event, context):
    if event.get("warmer"):
        return {"warmed": True}
    client = boto3.client("dynamodb")
    result = client.scan(TableName=os.environ.get("USERS_TABLE", "users"), Select="COUNT")
    return {"users": result["Count"]}
