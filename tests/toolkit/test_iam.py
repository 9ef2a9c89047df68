"""course.learner.iam: moto's IAM enforcement, DynamoDB resource ARNs included."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import course  # noqa: F401 - the sandbox: fake credentials and region
from course.learner.iam import denied, enforce_iam, session_for_policy, use_credentials

TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/users"


def _tables() -> None:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="users", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                              {"AttributeName": "email", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "email-index", "Projection": {
            "ProjectionType": "ALL"}, "KeySchema": [{"AttributeName": "email",
                                                    "KeyType": "HASH"}]}])
    client.create_table(TableName="other", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "user_id",
                                               "AttributeType": "S"}])


def _outcome(call) -> str:
    try:
        call()
    except ClientError as exc:
        return "denied" if denied(exc) else exc.response["Error"]["Code"]
    return "allowed"


def test_dynamodb_requests_are_judged_on_their_table_and_index() -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": TABLE_ARN},
        {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": f"{TABLE_ARN}/index/*"}]}
    with mock_aws():
        _tables()
        session = session_for_policy(policy)
        client = session.client("dynamodb")
        key = {"user_id": {"S": "u-1"}}
        query = {"KeyConditionExpression": "email = :e",
                 "ExpressionAttributeValues": {":e": {"S": "a@example.com"}}}
        with enforce_iam():
            assert _outcome(lambda: client.get_item(TableName="users", Key=key)) == "allowed"
            assert _outcome(lambda: client.get_item(TableName="other", Key=key)) == "denied"
            assert _outcome(lambda: client.query(TableName="users", IndexName="email-index",
                                                 **query)) == "allowed"
            assert _outcome(lambda: client.delete_item(TableName="users", Key=key)) == "denied"
        # outside the block, enforcement is off again, and moto is as it was
        assert _outcome(lambda: boto3.client("dynamodb").delete_item(
            TableName="users", Key=key)) == "allowed"
    from moto.dynamodb.responses import DynamoHandler

    assert "_determine_resource" not in DynamoHandler.__dict__


def test_s3_keys_are_judged_by_prefix() -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/in/*"}]}
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="bkt")
        for key in ("in/a.csv", "out/a.csv"):
            boto3.client("s3").put_object(Bucket="bkt", Key=key, Body=b"x")
        s3 = session_for_policy(policy).client("s3")
        with enforce_iam():
            assert _outcome(lambda: s3.get_object(Bucket="bkt", Key="in/a.csv")) == "allowed"
            assert _outcome(lambda: s3.get_object(Bucket="bkt", Key="out/a.csv")) == "denied"


def test_use_credentials_replaces_the_keys_and_drops_the_session_token() -> None:
    environ = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_SESSION_TOKEN": "testing", "AWS_SECURITY_TOKEN": "testing"}
    with mock_aws():
        session = session_for_policy({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}]})
        use_credentials(session, environ)
    assert environ["AWS_ACCESS_KEY_ID"] != "testing"
    assert "AWS_SESSION_TOKEN" not in environ and "AWS_SECURITY_TOKEN" not in environ
    assert os.environ.get("AWS_SESSION_TOKEN") == "testing"  # the real environment untouched


@pytest.mark.parametrize("response, expected", [
    ({"Error": {"Code": "403", "Message": "<Code>AccessDenied</Code>"},
      "ResponseMetadata": {"HTTPStatusCode": 403}}, True),
    ({"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, True),
    ({"Error": {"Code": "ResourceNotFoundException"},
      "ResponseMetadata": {"HTTPStatusCode": 400}}, False),
])
def test_denied_tells_refusals_from_other_errors(response: dict, expected: bool) -> None:
    assert denied(ClientError(json.loads(json.dumps(response)), "GetItem")) is expected
