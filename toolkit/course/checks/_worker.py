"""The warm check worker: one long-lived process per kernel that has already imported
boto3, moto and Powertools, and forks a fresh child for every check
(`python -m course.checks._worker`; the kernel talks to it through `CheckWorker`).

A bare pytest process needs ~2.5 s to start here; a fork of a warm worker needs a few
milliseconds, which is what makes `check()` answer within a fraction of a second.

Protocol: JSON lines. The worker prints {"ready": true} once warm, then answers each
request {"exercise": "0.1", "project": "/path"} with a verdict (or {"error": "..."}).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from course import workspace
from course.checks import _engine, exercises
from course.checks.project import LearnerError

START_TIMEOUT = 60.0  # seconds to wait for a cold worker (first import of boto3 & moto)


def _share_botocore_models() -> None:
    """Keep botocore's parsed service models for the life of the worker.

    Every `mock_aws()` starts a fresh boto3 session, and each session re-reads and parses
    the service's JSON model (~70 ms for S3). The models are read-only data, so one parsed
    copy can serve every session, and forked children inherit it already parsed.
    """
    from botocore import loaders

    cache: dict = {}

    def shared(method: Callable[..., Any]) -> Callable[..., Any]:
        def cached(self: Any, *args: Any, **kwargs: Any) -> Any:
            key = (method.__name__, tuple(self.search_paths), args, tuple(kwargs.items()))
            if key not in cache:
                cache[key] = method(self, *args, **kwargs)
            return cache[key]

        return cached

    for name in ("load_service_model", "load_data_with_path", "list_available_services",
                 "determine_latest_version"):
        setattr(loaders.Loader, name, shared(getattr(loaders.Loader, name)))


def warm_up() -> None:
    """Import and exercise the heavy libraries once, so forked children inherit them."""
    _share_botocore_models()
    import boto3
    from moto import mock_aws

    with mock_aws():  # first calls load service models and moto backends: pay that once
        boto3.client("s3").list_buckets()
        boto3.client("sqs").list_queues()
        boto3.resource("dynamodb").create_table(
            TableName="warm-up", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    import aws_lambda_powertools.event_handler
    import aws_lambda_powertools.logging
    import aws_lambda_powertools.metrics
    import aws_lambda_powertools.tracing
    import aws_lambda_powertools.utilities.batch
    import aws_lambda_powertools.utilities.idempotency
    import aws_lambda_powertools.utilities.streaming  # noqa: F401 - lessons 05 and 06
    import aws_xray_sdk.core  # noqa: F401 - Tracer's import is the slowest of Powertools
    import hypothesis  # noqa: F401 - some checks run a learner's own (property) tests
    import pydantic  # noqa: F401
    import pytest  # noqa: F401


def _checks_stamp() -> tuple[float, ...]:
    return tuple(p.stat().st_mtime for p in exercises.lesson_modules())


def serve(requests: IO[str], replies: IO[str]) -> None:
    stamp = _checks_stamp()
    exercises.load_all()
    gc.freeze()  # the warm heap is shared with every child: keep the collector off it
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in requests:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if _checks_stamp() != stamp:  # a check module was edited: reload them all
                stamp = _checks_stamp()
                exercises.load_all(force=True)
            verdict = _engine.run_isolated(request["exercise"], request["project"])
            reply = verdict.to_json()
        except LearnerError as exc:
            reply = {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - the worker must survive anything
            reply = {"error": f"The checker failed: {type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main() -> None:
    from course import sandbox

    sandbox.activate()
    # Keep the protocol on a private copy of stdout; stray prints go to stderr.
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    try:
        warm_up()
    except Exception:  # noqa: BLE001 - a colder worker still works
        import traceback

        traceback.print_exc()
    serve(sys.stdin, replies)


class WorkerError(RuntimeError):
    pass


class CheckWorker:
    """The kernel's handle on its worker process: start it early, restart it if it dies."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._log: Path | None = None  # set by start(): the running worker's stderr
        self._ready = False
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._proc and self._proc.poll() is None:
            return
        self._log = workspace.scratch() / f"worker-{os.getpid()}.log"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "course.checks._worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log.open("w"), text=True, bufsize=1,
            env=os.environ.copy(),
            start_new_session=True,  # kernel interrupts and shutdowns must not wait on it
        )
        self._ready = False

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def _readline(self, timeout: float) -> dict:
        assert self._proc and self._proc.stdout
        stdout = self._proc.stdout
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            self.stop()
            tail = self._log.read_text()[-600:] if self._log and self._log.exists() else ""
            raise WorkerError("The check worker stopped answering (it will restart on the next "
                              f"check). Its log, {self._log}, ends with:\n{tail}")
        return json.loads(box[0])

    def request(self, exercise_id: str, project: Path, timeout: float) -> dict:
        with self._lock:
            self.start()
            if not self._ready:
                self._readline(START_TIMEOUT)
                self._ready = True
            assert self._proc and self._proc.stdin
            try:
                self._proc.stdin.write(json.dumps({"exercise": exercise_id,
                                                   "project": str(project)}) + "\n")
                self._proc.stdin.flush()
            except BrokenPipeError:
                self.stop()
                raise WorkerError("The check worker had stopped; run the check again.") from None
            return self._readline(timeout)


_worker = CheckWorker()


def run(exercise_id: str, project: Path) -> dict:
    """Ask the (warm) worker to check an exercise; restarts the worker once if it died."""
    limit = exercises.get(exercise_id).budget * _engine.WALL_FACTOR + 10.0
    start = time.perf_counter()
    try:
        reply = _worker.request(exercise_id, project, limit)
    except WorkerError:
        reply = _worker.request(exercise_id, project, limit)
    reply.setdefault("seconds", round(time.perf_counter() - start, 4))
    return reply


def prestart() -> None:
    """Start warming the worker now, so the first check is quick."""
    _worker.start()


if __name__ == "__main__":
    main()
