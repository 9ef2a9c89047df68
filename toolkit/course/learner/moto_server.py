"""`moto_server()`: moto as a server on this machine, for code in another process.

`mock_aws()` answers boto3 calls made in *this* process only. A handler that `course.invoke`
runs in a function process of its own (as Lambda runs it) cannot see it; it reaches moto through
an HTTP endpoint instead:

    >>> from course.learner.moto_server import moto_server
    >>> with moto_server() as endpoint:          # "http://127.0.0.1:<free port>"
    ...     sqs = boto3.client("sqs", endpoint_url=endpoint)
    ...     invoke("handlers.x.lambda_handler", event, env={"AWS_ENDPOINT_URL": endpoint})

boto3 sends every call to AWS_ENDPOINT_URL when it is set. The server listens on loopback only
(the course sandbox allows nothing else), on a free port, without a request log, and stops when
the block ends. Each block starts with an empty moto (queues, tables and buckets of an earlier
block are gone), so a cell that uses it can run twice. The server shares its state with
`mock_aws()` in this process, and starting `mock_aws()` resets that state: do not mix the two
in one block.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["moto_server"]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto's server on 127.0.0.1 (a free port); yield its endpoint URL; stop it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=10).close()
        yield endpoint
    finally:
        server.stop()
