"""IAM, enforced by moto: run code with exactly one policy's permissions (lesson 08).

    with mock_aws():
        ...create the tables, queues, buckets (allowed: enforcement is off)...
        session = session_for_policy(policy)        # an IAM user holding only `policy`
        with enforce_iam():
            session.client("dynamodb").get_item(...)  # allowed or AccessDenied, as in AWS

moto 5 checks every request against the caller's IAM policies inside
`moto.core.enable_iam_authentication()`. It matches the resource ARN of S3, SQS and IAM requests,
but evaluates DynamoDB requests against "*", so a policy naming its table would be refused while
one granting "dynamodb:*" on "*" passes: the opposite of least privilege. `enforce_iam()` also
tells moto which table (or index) each DynamoDB request touches, as AWS does — the table's ARN,
or `<table ARN>/index/<name>` for a request with an IndexName. Requests that name several tables
(batch and transaction calls) are checked against "*".

Denials come back as HTTP 403 (`AccessDenied` for S3; for JSON services such as DynamoDB and
SQS, botocore reports the code "403"): `denied(error)` tells them apart from other errors.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

POLICY_NAME = "course-least-privilege"


def _dynamodb_resource(handler: Any) -> str:
    """The ARN a DynamoDB request acts on: its table, or the index it queries."""
    body = handler.body  # moto has parsed a JSON request already; older versions had text
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body or "{}")
        except ValueError:
            return "*"
    table = body.get("TableName") if isinstance(body, dict) else None
    if not isinstance(table, str):
        return "*"
    if table.startswith("arn:"):
        arn = table
    else:
        arn = f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{table}"
    index = body.get("IndexName")
    return f"{arn}/index/{index}" if isinstance(index, str) else arn


@contextlib.contextmanager
def enforce_iam() -> Iterator[None]:
    """Inside the block, moto allows a request only if the caller's IAM policies do, with the
    resource ARNs of DynamoDB requests too. Use it inside `mock_aws()`."""
    from moto.core import enable_iam_authentication
    from moto.dynamodb.responses import DynamoHandler

    had = "_determine_resource" in DynamoHandler.__dict__
    previous = DynamoHandler.__dict__.get("_determine_resource")
    DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]
    try:
        with enable_iam_authentication():
            yield
    finally:
        if had:
            DynamoHandler._determine_resource = previous  # type: ignore[attr-defined]
        else:
            del DynamoHandler._determine_resource  # type: ignore[attr-defined]


def session_for_policy(policy: dict[str, Any] | str, user: str = "course-function") -> Any:
    """A boto3 session whose credentials belong to a new IAM user that holds only `policy`
    (an IAM policy document, as a dict or JSON). Call it inside `mock_aws()`, before
    `enforce_iam()`."""
    import boto3

    iam = boto3.client("iam")
    iam.create_user(UserName=user)
    document = policy if isinstance(policy, str) else json.dumps(policy)
    iam.put_user_policy(UserName=user, PolicyName=POLICY_NAME, PolicyDocument=document)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"],
                         aws_secret_access_key=key["SecretAccessKey"],
                         region_name=boto3.Session().region_name or "us-east-1")


def use_credentials(session: Any, environ: Any = None) -> None:
    """Put the session's credentials in the environment (os.environ by default), for code that
    makes its own clients (a handler) to run with them. The course's fake session token goes:
    an IAM user's keys come without one, and moto refuses keys with a token it did not issue."""
    import os

    environ = os.environ if environ is None else environ
    found = session.get_credentials()
    environ["AWS_ACCESS_KEY_ID"] = found.access_key
    environ["AWS_SECRET_ACCESS_KEY"] = found.secret_key
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        environ.pop(name, None)


def denied(error: BaseException) -> bool:
    """True when a botocore ClientError is an authorisation refusal (HTTP 403)."""
    response = getattr(error, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(response.get("Error", {}).get("Code", ""))
    message = str(response.get("Error", {}).get("Message", ""))
    return status == 403 or code in ("403", "AccessDenied", "AccessDeniedException") or \
        "AccessDenied" in message
