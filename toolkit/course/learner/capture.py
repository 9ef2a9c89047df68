"""`captured(logger)`: what a Powertools Logger (and Metrics, on stdout) write during a block.

    from course.learner.capture import captured

    with captured(api.logger) as out:
        response = api.lambda_handler(event, context)
    out.logs      # the Logger's JSON lines, as dicts
    out.metrics   # the EMF documents Metrics printed, as dicts
    out.warnings  # warnings raised in the block (they are not shown)
    out.text      # everything, as written

Why a helper: a Logger binds its output stream when it is created (usually when your module
is imported), so redirecting `sys.stdout` later does not catch its lines. For the length of
the block this points the logger's handlers at a buffer with the standard library's public
`logging.StreamHandler.setStream()`, redirects stdout (where Metrics prints) into the same
buffer, and puts everything back afterwards, also when the block raises. A notebook demo,
not a testing tool: the app's own tests use pytest's fixtures.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Captured:
    """What was written inside a `captured()` block (filled in when the block ends)."""

    text: str = ""
    logs: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _stream_handlers(logger: Any) -> list[logging.StreamHandler]:
    """The stream handlers of a Powertools Logger or a `logging.Logger` (its `handlers`)."""
    handlers = getattr(logger, "handlers", None)
    if not isinstance(handlers, list):
        raise TypeError(f"captured() takes loggers (a Powertools Logger or a logging.Logger), "
                        f"got {type(logger).__name__}")
    return [h for h in handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]


def _parse(text: str, into: Captured) -> None:
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            (into.metrics if isinstance(record.get("_aws"), dict) else into.logs).append(record)


@contextlib.contextmanager
def captured(*loggers: Any) -> Iterator[Captured]:
    """Catch what `loggers` write and what is printed inside the block; see the module doc."""
    buffer = io.StringIO()
    handlers = [h for logger in loggers for h in _stream_handlers(logger)]
    out = Captured()
    previous: list[tuple[logging.StreamHandler, Any]] = []
    try:
        for handler in dict.fromkeys(handlers):  # loggers of one service share a handler
            previous.append((handler, handler.setStream(buffer)))
        with contextlib.redirect_stdout(buffer), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield out
            finally:
                out.warnings = [str(w.message) for w in caught]
    finally:
        for handler, stream in reversed(previous):
            handler.setStream(stream)
        out.text = buffer.getvalue()
        _parse(out.text, out)
