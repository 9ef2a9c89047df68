"""The `context` object Lambda's Python runtime passes to a handler.

Imported by the function process (`course.awslambda.runtime`) and by checks that call a
learner's handler directly: standard library only.
"""

from __future__ import annotations

import os
import sys
import time


class CognitoIdentity:
    """`context.identity`: set for calls from the AWS Mobile SDK, otherwise both fields are None."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None

    def __repr__(self) -> str:
        return (f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
                f"cognito_identity_pool_id={self.cognito_identity_pool_id}])")


class LambdaContext:
    """The `context` argument, with the attributes of Lambda's Python runtime.

    As in Lambda, `memory_limit_in_mb` is a string (it comes from the environment variable
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE): use `int(context.memory_limit_in_mb)` for arithmetic.
    `identity` is an object whose fields are None, `client_context` is None (both are only set
    for calls from the AWS Mobile SDK).
    """

    def __init__(self, *, aws_request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = aws_request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = None
        self.identity = CognitoIdentity()
        self.tenant_id = None
        self._epoch_deadline_time_in_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out (never negative)."""
        return max(self._epoch_deadline_time_in_ms - int(time.time() * 1000), 0)

    def log(self, msg: str) -> None:
        """Write to the function's log, like `print` without the newline."""
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},"
                f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
                f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
                f"function_version={self.function_version},"
                f"invoked_function_arn={self.invoked_function_arn},"
                f"client_context={self.client_context},identity={self.identity},"
                f"tenant_id={self.tenant_id}])")
