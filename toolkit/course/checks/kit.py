"""Helpers that check modules of several lessons need. Import inside behaviours or at the top
of a check module (this module imports only the standard library until a helper is called).

- `lambda_context()`: the same `context` object the course's Lambda runtime passes, for
  calling a learner's handler directly in the check.
- `run_pytest()`: run test files (the learner's own, or the check's against the learner's
  fixtures) in this process, and read what passed, failed or did not load.
- `mutated(module, mutate)`: while active, importing (or reloading) one of the learner's
  modules gives a broken copy of it (`mutate(module)` patches it after it loads), to prove
  that the learner's own tests catch that bug.
- `captured_logs()`: everything printed or logged inside a block, in one buffer;
  `json_lines(text)`: the JSON objects among its lines.
- `users_tables(resource, users, idempotency)`: lesson 04's users table (with its email
  index) and Powertools' idempotency table, in the current moto mock.
- `dynamodb_put_faults(failing, calls)`: a DynamoDB PutItem of chosen users is throttled
  (below boto3), and every AWS call made meanwhile is recorded.
- `once`: a per-run cache. Every check runs in a fresh child process, so a result cached
  here lives exactly as long as one `check()`: compute the learner's test run once, assert
  on it in several behaviours.
"""

from __future__ import annotations

import functools
import gc
import importlib.abc
import importlib.machinery
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from course.awslambda.context import LambdaContext
from course.checks.project import BehaviourTimeout
from course.sandbox import ACCOUNT_ID, REGION

F = TypeVar("F", bound=Callable[..., Any])


def once(func: F) -> F:
    """Cache `func`'s result for the rest of this check run (arguments must be hashable)."""
    return functools.cache(func)  # type: ignore[return-value]


def lambda_context(function_name: str = "users-api", *, timeout_s: float = 30.0,
                   memory_mb: int = 128, request_id: str | None = None) -> LambdaContext:
    """A context like the one Lambda passes: request id, ARN, memory, remaining time."""
    context = LambdaContext(
        aws_request_id=request_id or str(uuid.uuid4()),
        deadline_ms=int(time.time() * 1000 + timeout_s * 1000),
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}")
    context.function_name = function_name
    context.memory_limit_in_mb = str(memory_mb)  # a string, as in Lambda's runtime
    context.function_version = "$LATEST"
    context.log_group_name = f"/aws/lambda/{function_name}"
    return context


@contextmanager
def captured_logs(fmt: str = "%(message)s") -> Iterator[io.StringIO]:
    """Everything the code prints or logs inside the block (every logger's stream handlers,
    Powertools' included, and the root logger with `fmt`) goes to the yielded buffer."""
    buffer = io.StringIO()
    loggers = [logging.getLogger(), *(item for item in logging.Logger.manager.loggerDict.values()
                                      if isinstance(item, logging.Logger))]
    handlers = {id(h): h for logger in loggers for h in logger.handlers
                if isinstance(h, logging.StreamHandler)}
    saved = [(h, h.stream) for h in handlers.values()]
    extra = logging.StreamHandler(buffer)
    extra.setFormatter(logging.Formatter(fmt))
    logging.getLogger().addHandler(extra)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = buffer
    for handler, _ in saved:
        handler.setStream(buffer)
    try:
        yield buffer
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        logging.getLogger().removeHandler(extra)
        for handler, stream in saved:
            handler.setStream(stream)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The lines of `text` that are JSON objects (structured log lines), parsed."""
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def users_tables(resource: Any, users: str, idempotency: str) -> Any:
    """Lesson 04's users table (email-index included) and Powertools' idempotency table, in
    the current moto mock; returns the users table."""
    table = resource.create_table(
        TableName=users, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                              {"AttributeName": "email", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "email-index",
                                 "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    resource.create_table(
        TableName=idempotency, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    return table


@contextmanager
def dynamodb_put_faults(failing: dict[str, int] | None = None,
                        calls: list[tuple[str, str]] | None = None) -> Iterator[None]:
    """Below boto3: a DynamoDB PutItem of a user whose email is in `failing` answers
    ProvisionedThroughputExceededException (that many times; -1: always). Every AWS call made
    meanwhile is added to `calls` as (service, operation)."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    failing = failing if failing is not None else {}
    real = BaseClient._make_api_call

    def call(client: Any, operation: str, params: dict) -> Any:
        service = client.meta.service_model.service_name
        if calls is not None:
            calls.append((service, operation))
        if service == "dynamodb" and operation == "PutItem":
            email = (params.get("Item") or {}).get("email")
            email = str(email.get("S") if isinstance(email, dict) else email)
            if failing.get(email, 0):
                failing[email] -= 1
                raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                             "Message": "Rate of requests exceeds the allowed "
                                                        "throughput"}}, operation)
        return real(client, operation, params)

    BaseClient._make_api_call = call
    try:
        yield
    finally:
        BaseClient._make_api_call = real


@dataclass
class PytestRun:
    """What one in-process pytest session reported."""

    results: dict[str, str] = field(default_factory=dict)  # test -> "" passed, else why not
    collect_errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> list[str]:
        return [name for name, why in self.results.items() if not why]

    @property
    def failed(self) -> dict[str, str]:
        return {name: why for name, why in self.results.items() if why}

    def load_error(self) -> str:
        """The last line of the first collection error ('' when everything loaded)."""
        if not self.collect_errors:
            return ""
        lines = self.collect_errors[0].strip().splitlines() or [""]
        return re.sub(r"^E\s+", "", lines[-1])[:200]


class _Collector:
    """A pytest plugin object filling a PytestRun; stops the session on a time-out."""

    def __init__(self) -> None:
        self.run = PytestRun()
        self.timed_out = False

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        if call.excinfo is not None and call.excinfo.errisinstance(BehaviourTimeout):
            self.timed_out = True
            item.session.shouldstop = "out of time"

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.run.collect_errors.append(report.longreprtext)
            self.timed_out |= "BehaviourTimeout" in report.longreprtext

    def pytest_runtest_logreport(self, report: Any) -> None:
        name = report.nodeid.split("::")[-1]
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            why = (crash.message if crash is not None else str(report.longrepr)).strip()
            why = (why.splitlines() or ["failed"])[0].removeprefix("AssertionError: ")
            phase = {"setup": "a fixture failed: ", "teardown": "a fixture failed at the end: "}
            self.run.results[name] = phase.get(report.when, "") + why[:300]
        elif report.when == "call":
            self.run.results.setdefault(name, "")


def run_pytest(files: Mapping[str, str], *, plugins: tuple[object, ...] = ()) -> PytestRun:
    """Write `files` (name -> source) into a fresh folder and run pytest on it, in process.

    Only pytest's own plugins load (fast), with neutral settings (not the workspace's), the
    folder as working directory, and test modules of earlier runs forgotten. Raises
    BehaviourTimeout when the check's time ran out during the session.
    """
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import pytest

    base = Path(tempfile.mkdtemp(prefix="course-check-"))
    for name, source in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(source)
    (base / "pytest.ini").write_text("[pytest]\n")
    stems = {Path(name).stem for name in files}
    for loaded in [n for n, m in sys.modules.items()
                   if n in stems or "course-check-" in str(getattr(m, "__file__", None))]:
        del sys.modules[loaded]
    collector = _Collector()
    cwd = os.getcwd()
    os.chdir(base)  # a relative path in a learner's file points here, not at their files
    gc.freeze()  # pytest collects garbage at exit: skip the worker's large, long-lived heap
    try:
        pytest.main([str(base), "-c", str(base / "pytest.ini"), "--rootdir", str(base), "-q",
                     "-p", "no:cacheprovider", "-p", "no:faulthandler",
                     "--import-mode=importlib"], plugins=[collector, *plugins])
    finally:
        os.chdir(cwd)
        shutil.rmtree(base, ignore_errors=True)
    if collector.timed_out:
        raise BehaviourTimeout
    return collector.run


class _MutatingLoader(importlib.abc.Loader):
    """The module's own loader, then the mutation: at import and at every reload."""

    def __init__(self, loader: Any, mutate: Callable[[ModuleType], None]) -> None:
        self._loader, self._mutate = loader, mutate

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._mutate(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename... for tracebacks
        return getattr(self._loader, name)


class _MutatingFinder(importlib.abc.MetaPathFinder):
    """Finds one module as usual and hands it to a _MutatingLoader."""

    def __init__(self, name: str, mutate: Callable[[ModuleType], None]) -> None:
        self._name, self._mutate = name, mutate

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self._name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _MutatingLoader(spec.loader, self._mutate)
        return spec


@contextmanager
def mutated(module: str, mutate: Callable[[ModuleType], None] | None) -> Iterator[None]:
    """While active, importing (or reloading) `module` ("handlers.api_handler") gives the
    copy `mutate` broke; the learner's tests may import it however they like. Forget the
    module (del sys.modules[...]) before and after, so no copy outlives the block."""
    if mutate is None:
        yield
        return
    finder = _MutatingFinder(module, mutate)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
