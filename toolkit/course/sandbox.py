"""The AWS sandbox: fake credentials, no profile, and no network beyond loopback.

Active as soon as `course` is imported (in the kernel, the check worker and every
handler process the toolkit starts), so a learner with real AWS credentials on
their laptop cannot touch their account by accident. `allow_real_aws()` is the
one explicit way out.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # the fake account every sample ARN and event uses
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # Ignore ~/.aws/credentials and ~/.aws/config, and never ask EC2 metadata.
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "COURSE_SANDBOX": "1",
}
DROPPED_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
               "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
               "AWS_ROLE_ARN", "AWS_ENDPOINT_URL")

_saved_env: dict[str, str | None] = {}
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_active = False


class SandboxBlocked(RuntimeError):
    """Raised instead of opening a connection that would leave this machine.

    Not an OSError on purpose: HTTP clients would retry an OSError (slowly) and reword it;
    this one reaches the learner at once and with its message.
    """


def _message(target: object) -> str:
    return (
        f"The course sandbox blocked a connection to {target}. Exercises run offline: "
        "wrap AWS calls in `mock_aws()` (moto) or use the course's local endpoint. "
        "Only if you really mean to use your own AWS account, run "
        "`course.sandbox.allow_real_aws()` first."
    )


def _is_loopback(host: object) -> bool:
    if host in (None, "", "localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, bytes):
        host = host.decode()
    if not _is_loopback(host):
        raise SandboxBlocked(_message(host))
    return _real_getaddrinfo(host, *args, **kwargs)


def _address_allowed(sock: socket.socket, address: Any) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return True  # Unix sockets and friends stay on this machine.
    return _is_loopback(address[0])


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _address_allowed(self, address):
        raise SandboxBlocked(_message(address[0]))
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _address_allowed(self, address):
        raise SandboxBlocked(_message(address[0]))
    return _real_connect_ex(self, address)


def activate() -> None:
    """Fake credentials in the environment and the loopback-only network guard."""
    global _active
    if _active or os.environ.get("COURSE_SANDBOX") == "off":
        return
    for name in (*FAKE_ENV, *DROPPED_ENV):
        _saved_env.setdefault(name, os.environ.get(name))
    for name in DROPPED_ENV:
        os.environ.pop(name, None)
    os.environ.update(FAKE_ENV)
    socket.getaddrinfo = _guarded_getaddrinfo
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign, assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign, assignment]
    _active = True


def allow_real_aws() -> None:
    """Opt out: restore the original AWS environment and the real network."""
    global _active
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    socket.getaddrinfo = _real_getaddrinfo
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    os.environ["COURSE_SANDBOX"] = "off"  # processes started from here inherit the choice
    _active = False
    print("Real AWS allowed in this kernel: calls outside mock_aws() now reach your account.")


def is_active() -> bool:
    return _active
