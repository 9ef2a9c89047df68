"""The sandbox: fake credentials, no profile, and no network beyond loopback."""

from __future__ import annotations

import os
import socket

import boto3
import pytest

from course import sandbox


def test_active_with_fake_credentials() -> None:
    assert sandbox.is_active()
    credentials = boto3.Session().get_credentials()
    assert credentials.access_key == "testing"
    assert "AWS_PROFILE" not in os.environ


@pytest.mark.parametrize("host", ["sts.amazonaws.com", "8.8.8.8", "10.0.0.1"])
def test_leaving_the_machine_is_refused_with_a_reason(host: str) -> None:
    with pytest.raises(sandbox.SandboxBlocked, match="sandbox blocked a connection"):
        socket.create_connection((host, 443), timeout=1)


def test_boto3_outside_moto_is_refused() -> None:
    from botocore.exceptions import HTTPClientError

    with pytest.raises(HTTPClientError, match="sandbox blocked") as caught:
        boto3.client("s3").list_buckets()
    assert isinstance(caught.value.kwargs["error"], sandbox.SandboxBlocked)


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    socket.create_connection(server.getsockname(), timeout=1).close()
    server.close()
