"""Hidden tests for lesson 10 (performance and cost). Messages are written for the learner.

10.1 counts a users table on moto, in this process (with the scan's pages made small by a hook
on boto3's default session, and every botocore client creation counted), then measures cold
starts with the course's `invoke`: the learner's handler and the baseline below, one after the
other in the same run, against a moto server on loopback. What is judged is a ratio of median
Init Durations, never an absolute time. 10.2 and 10.3 call the learner's functions in
scripts/power_tuning.py with figures whose answers are worked out here.
"""

from __future__ import annotations

import ast
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from course.checks import Project, exercise, question

REPORT = "src/handlers/users_report.py"
REPORT_MODULE = "handlers.users_report"
TABLE = "users-report-check"
FUNCTION_TIMEOUT_S = 10.0
INIT_RATIO = 0.8  # the learner's median Init Duration may be at most this share of the baseline's
ROUNDS = 3
SCRIPT = "scripts/power_tuning.py"
X86, ARM = 0.0000166667, 0.0000133334
REQUESTS = 0.20

# The colleague's first version, as lesson 10 shows it: the baseline of exercise 10.1.
BASELINE = '''
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
'''
# Modules the report has no use for: importing any of them is init time paid for nothing.
UNNEEDED = {
    "aws_xray_sdk": "the X-Ray SDK (Tracer): the function is not traced",
    "aws_lambda_powertools.event_handler": "Powertools' event handler: the report is no API",
    "aws_lambda_powertools.utilities.batch": "Powertools' batch utility: no batch here",
    "aws_lambda_powertools.utilities.data_masking": "Powertools' data masking",
    "aws_lambda_powertools.utilities.idempotency": "Powertools' idempotency utility",
    "aws_lambda_powertools.utilities.parser": "Powertools' parser and its models",
}


# --- 10.1 --------------------------------------------------------------------------------

ex101 = exercise("10.1", "A cheaper init for the users report", files=[REPORT], timeout=8)


def _create_table(client: Any, items: int, name: str = TABLE) -> None:
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "user_id",
                                               "AttributeType": "S"}])
    for number in range(items):
        client.put_item(TableName=name, Item={"user_id": {"S": f"u-{number:03}"},
                                                "name": {"S": f"User {number}"}})


@contextmanager
def _report(project: Project, users: int, *, page_size: int = 0,
            table: str | None = TABLE) -> Iterator[tuple[Any, list]]:
    """(the learner's module freshly imported, the botocore clients created since) inside a
    moto mock holding a users table of `users` items; scans return at most page_size items.
    table=None: USERS_TABLE is not set, and the table has the default name, users."""
    import boto3
    import botocore.session
    from moto import mock_aws

    os.environ.update({"POWERTOOLS_SERVICE_NAME": "users-report",
                       "POWERTOOLS_TRACE_DISABLED": "true"})
    if table:
        os.environ["USERS_TABLE"] = table
    else:
        os.environ.pop("USERS_TABLE", None)
    created: list[tuple[str, Any]] = []
    original = botocore.session.Session.create_client

    def counting(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        created.append((service_name, client))
        return client

    with mock_aws():
        boto3.setup_default_session()
        if page_size:
            def cap(params: dict, **_: Any) -> None:
                params["Limit"] = min(params.get("Limit", page_size), page_size)

            boto3.DEFAULT_SESSION.events.register("provide-client-params.dynamodb.Scan", cap)
        _create_table(boto3.client("dynamodb"), users, table or "users")
        botocore.session.Session.create_client = counting
        try:
            sys.modules.pop(REPORT_MODULE, None)
            module = project.module(REPORT_MODULE)
            yield module, created
        finally:
            botocore.session.Session.create_client = original


def _call(module: Any, event: dict | None = None) -> Any:
    from course.checks.kit import lambda_context

    handler = getattr(module, "lambda_handler", None)
    assert callable(handler), (
        f"{REPORT} has no function lambda_handler: Lambda calls lambda_handler(event, context)")
    try:
        return handler({} if event is None else event, lambda_context("users-report"))
    except Exception as exc:  # noqa: BLE001 - the learner reads what escaped
        raise AssertionError(f"your lambda_handler raised {type(exc).__name__}: {exc}") from None


@ex101.behaviour("answers {\"users\": N}, every user counted however many pages the scan "
                 "takes",
                 hint=["Lesson 10, exercise 10.1: the report answers the same as the baseline, "
                       "and lesson 04 showed that a scan returns one page at a time.",
                       "Follow LastEvaluatedKey until there is none (a paginator does it for "
                       "you) and add up each page's Count."])
def _(project: Project) -> None:
    with _report(project, 0) as (module, _):
        answer = _call(module)
        assert answer == {"users": 0}, (
            f"for an empty table your handler answered {answer!r}; expected {{'users': 0}}")
    with _report(project, 7, page_size=3) as (module, _):
        answer = _call(module)
        assert answer == {"users": 7}, (
            f"for a table of 7 users, read in pages of 3, your handler answered {answer!r}; "
            "expected {'users': 7}: a scan returns one page, the next page starts at its "
            "LastEvaluatedKey")
    with _report(project, 4, table=None) as (module, _):
        answer = _call(module)
        assert answer == {"users": 4}, (
            f"with USERS_TABLE not set, and 4 users in the table named users, your handler "
            f"answered {answer!r}; expected {{'users': 4}}: the table's name defaults to users")


def _warm_constants(tree: ast.AST) -> list[str]:
    """String constants mentioning 'warm' in a condition or a key lookup."""
    found = []
    for node in ast.walk(tree):
        tests: list[ast.AST] = []
        if isinstance(node, (ast.If, ast.IfExp, ast.While, ast.Assert)):
            tests.append(node.test)
        elif isinstance(node, ast.Subscript):
            tests.append(node.slice)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("get", "pop"):
            tests.extend(node.args)
        elif isinstance(node, ast.Compare):
            tests.append(node)
        elif isinstance(node, ast.match_case):
            tests.append(node.pattern)
        for test in tests:
            found += [sub.value for sub in ast.walk(test) if isinstance(sub, ast.Constant)
                      and isinstance(sub.value, str) and "warm" in sub.value.lower()]
    return found


@ex101.behaviour("no warmer branch: a {\"warmer\": true} event is an ordinary request",
                 hint=["Lesson 10, 'The keep-warm myth': a pinger keeps one environment warm and "
                       "leaves every concurrent request cold; the branch only adds code.",
                       "Remove the test for the warmer key altogether: every event gets the "
                       "report."])
def _(project: Project) -> None:
    from course.learner import events

    pings = [({"warmer": True}, "{'warmer': True}"), ({"ping": True}, "{'ping': True}"),
             ({"source": "serverless-plugin-warmup"}, "serverless-plugin-warmup's ping"),
             ({"keep-alive": True, "concurrency": 1}, "a keep-alive ping"),
             (events.eventbridge_scheduled("users-report-daily"),
              "EventBridge's scheduled event (the schedule that asks for the report)")]
    with _report(project, 2) as (module, _):
        for event, what in pings:
            answer = _call(module, event)
            assert answer == {"users": 2}, (
                f"for {what} your handler answered {answer!r}, not the report {{'users': 2}}: "
                "a keep-warm branch is still there, whatever key it tests")
    tree = ast.parse(project.require(REPORT).read_text())
    found = _warm_constants(tree)
    assert not found, (f"{REPORT} still tests the event for {found[0]!r}: a warmer branch that "
                       "never runs is still code to read and keep")


@ex101.behaviour("one DynamoDB client per execution environment, and no client it does not use",
                 hint=["Lesson 10, 'Clients: once per environment': creating a client loads "
                       "its service's model, tens of milliseconds each time.",
                       "Create the DynamoDB client once, at module level (or on first use, "
                       "cached), let every invocation reuse it, and create no other client."])
def _(project: Project) -> None:
    with _report(project, 1) as (module, created):
        for _ in range(3):
            _call(module)
        services = [service for service, _ in created]
        others = sorted(set(services) - {"dynamodb"})
        assert not others, (
            f"your report creates a client for {', '.join(others)}, which it never calls: each "
            "client costs the time to load its service's model during INIT")
        assert services, "your report created no DynamoDB client through boto3"
        assert len(services) == 1, (
            f"three invocations in one warm environment created {len(services)} DynamoDB "
            "clients: each one costs the time to load DynamoDB's service model, on every call")


def _attempts(config: Any) -> int:
    retries = dict(getattr(config, "retries", None) or {})
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    if "max_attempts" in retries:
        return int(retries["max_attempts"]) + 1
    if os.environ.get("AWS_MAX_ATTEMPTS"):
        return int(os.environ["AWS_MAX_ATTEMPTS"])
    mode = retries.get("mode") or os.environ.get("AWS_RETRY_MODE") or "legacy"
    return 3 if mode in ("standard", "adaptive") else 5


@ex101.behaviour("the DynamoDB client gives up within the function's 10 s timeout",
                 hint=["Lesson 10, 'Timeouts inside timeouts': botocore waits up to 60 s to "
                       "connect and 60 s to read, and retries, far beyond the function's "
                       "timeout.",
                       "Give the client a botocore Config whose connect and read timeouts, "
                       "times the number of attempts, stay under 10 s."])
def _(project: Project) -> None:
    with _report(project, 1) as (module, created):
        _call(module)
        dynamodb = [client for service, client in created if service == "dynamodb"]
        assert dynamodb, "your report created no DynamoDB client through boto3"
        config = dynamodb[-1].meta.config
        connect = float(config.connect_timeout)
        read = float(config.read_timeout)
        attempts = _attempts(config)
        worst = (connect + read) * attempts
        assert worst < FUNCTION_TIMEOUT_S, (
            f"your DynamoDB client waits up to {connect:g} s to connect and {read:g} s to read, "
            f"{attempts} attempts: up to {worst:g} s, past the function's "
            f"{FUNCTION_TIMEOUT_S:g} s timeout. Lambda would kill the invocation mid-call, "
            "with no log line saying why")


def _unused_imports(tree: ast.Module) -> list[str]:
    bound: dict[str, str] = {}
    for node in ast.walk(tree):  # module level and inside functions alike
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    exported = {sub.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                for sub in ast.walk(node.value) if isinstance(sub, ast.Constant)}
    return [full for name, full in bound.items() if name not in used | exported]


@ex101.behaviour("imports only what the report uses",
                 hint=["Lesson 10, 'Measure before tuning': `python -X importtime` shows what "
                       "each import costs, and the baseline imports utilities the report never "
                       "calls.",
                       "Keep boto3, botocore's Config and the Logger; drop every import the "
                       "code does not use, and Tracer: nobody traces this function."])
def _(project: Project) -> None:
    tree = ast.parse(project.require(REPORT).read_text())
    unused = _unused_imports(tree)
    assert not unused, (f"{REPORT} imports {', '.join(unused)} and never uses it: every import "
                        "runs during INIT, on every cold start")
    script = ("import sys, json; import handlers.users_report\n"
              "print(json.dumps(sorted(sys.modules)))")
    env = {**os.environ, "PYTHONPATH": str(project.src), "AWS_DEFAULT_REGION": "us-east-1",
           "POWERTOOLS_TRACE_DISABLED": "true", "USERS_TABLE": TABLE}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, cwd=str(project.src), timeout=30)
    assert run.returncode == 0, (
        f"importing {REPORT} in a fresh Python failed: {run.stderr.strip().splitlines()[-1:]}")
    import json

    loaded = set(json.loads(run.stdout.strip().splitlines()[-1]))
    heavy = [why for name, why in UNNEEDED.items()
             if any(m == name or m.startswith(name + ".") for m in loaded)]
    assert not heavy, (f"importing {REPORT} loads {heavy[0]}, which the report never needs: "
                       "init time paid on every cold start")


@contextmanager
def _moto_endpoint() -> Iterator[str]:
    """A moto server on loopback, holding the users table, for functions in other processes."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        _create_table(boto3.client("dynamodb", endpoint_url=endpoint), 3)
        yield endpoint
    finally:
        server.stop()


@ex101.behaviour("a lower Init Duration than the baseline's, measured in the same run",
                 hint=["Lesson 10, 'Measure before tuning': the Init Duration is the import of "
                       "your module; the table there shows which imports cost most.",
                       "Import only boto3, Config and the Logger at module level; the "
                       "utilities the baseline imports and Tracer's X-Ray SDK are most of its "
                       "init."])
def _(project: Project) -> None:
    from course.awslambda.invoke import invoke, shutdown

    project.require(REPORT)
    baseline = Path(tempfile.mkdtemp(prefix="course-baseline-"))
    (baseline / "src" / "handlers").mkdir(parents=True)
    (baseline / "src" / "handlers" / "__init__.py").write_text("")
    (baseline / "src" / "handlers" / "users_report.py").write_text(BASELINE)
    inits: dict[str, list[float]] = {"yours": [], "baseline": []}
    with _moto_endpoint() as endpoint:
        env = {"USERS_TABLE": TABLE, "AWS_ENDPOINT_URL": endpoint,
               "POWERTOOLS_SERVICE_NAME": "users-report", "POWERTOOLS_TRACE_DISABLED": "true"}
        try:
            for _ in range(ROUNDS):
                for label, root in (("yours", project.root), ("baseline", baseline)):
                    result = invoke(f"{REPORT_MODULE}.lambda_handler", {}, project=root,
                                    cold=True, env=env, memory_mb=1024, timeout=10)
                    if label == "yours" and not result.ok:
                        raise AssertionError(
                            "run as Lambda runs it, your report failed: "
                            f"{result.error.get('errorType')}: "
                            f"{str(result.error.get('errorMessage'))[:200]}")
                    inits[label].append(result.init_cpu_ms or 0.0)
        finally:
            shutdown()
    yours, theirs = statistics.median(inits["yours"]), statistics.median(inits["baseline"])
    ratio = yours / theirs
    assert ratio <= INIT_RATIO, (
        f"median init over {ROUNDS} cold starts each (its CPU time, which a busy machine does "
        f"not inflate as it does the Init Duration): yours {yours:.0f} ms, the baseline's "
        f"{theirs:.0f} ms (ratio {ratio:.2f}); expected at most {INIT_RATIO:.0%} of the "
        "baseline's. Every cold start waits for, and is billed for, the whole init")


# --- 10.2 --------------------------------------------------------------------------------

ex102 = exercise("10.2", "What a memory setting costs", files=[SCRIPT])


def _script(project: Project) -> Any:
    return project.load_file(SCRIPT, f"power_tuning_{os.getpid()}_{id(project)}")


def _cost(project: Project) -> Any:
    cost = getattr(_script(project), "cost_per_million", None)
    assert callable(cost), f"{SCRIPT} has no function cost_per_million"
    return cost


def _expected(memory_mb: int, billed_ms: float, price: float) -> float:
    return billed_ms / 1000 * memory_mb / 1024 * price * 1_000_000 + REQUESTS


def _close(got: Any, expected: float, what: str) -> None:
    assert isinstance(got, (int, float)) and not isinstance(got, bool), (
        f"{what}: cost_per_million returned {got!r}; expected a number of US dollars")
    assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9), (
        f"{what}: cost_per_million returned {got:.6f} USD; expected {expected:.6f} USD")


@ex102.behaviour("a warm invocation: GB (1,024 MB each) x billed seconds x price, per million",
                 hint=["Lesson 10, 'What a setting costs': Lambda bills GB-seconds, memory in GB "
                       "(1,024 MB) times billed seconds, at a price per GB-second.",
                       "Work out one invocation's GB-seconds, multiply by the price, then by a "
                       "million; the request charge comes on top."])
def _(project: Project) -> None:
    cost = _cost(project)
    _close(cost(1024, 100, architecture="x86_64"), _expected(1024, 100, X86),
           "1,024 MB, 100 ms, x86_64")
    _close(cost(2048, 250, architecture="arm64"), _expected(2048, 250, ARM),
           "2,048 MB, 250 ms, arm64")
    _close(cost(128, 40, architecture="x86_64"), _expected(128, 40, X86),
           "128 MB, 40 ms, x86_64")


@ex102.behaviour("durations are billed in whole milliseconds, rounded up",
                 hint=["Lesson 10, 'What a setting costs': the REPORT line's Billed Duration is "
                       "the Duration rounded up to the next millisecond.",
                       "Round each billed duration up before you price it: 12.01 ms bills "
                       "13 ms."])
def _(project: Project) -> None:
    cost = _cost(project)
    _close(cost(1024, 12.01, architecture="x86_64"), _expected(1024, 13, X86),
           "1,024 MB, 12.01 ms (billed 13 ms)")
    _close(cost(512, 99.5, architecture="arm64"), _expected(512, 100, ARM),
           "512 MB, 99.5 ms (billed 100 ms)")
    _close(cost(512, 100.0, architecture="arm64"), _expected(512, 100, ARM),
           "512 MB, exactly 100 ms")
    _close(cost(512, 101.0, architecture="arm64"), _expected(512, 101, ARM),
           "512 MB, exactly 101 ms")


@ex102.behaviour("each architecture at its own price, arm64 by default",
                 hint=["Lesson 10, 'What a setting costs': arm64 (Graviton) costs about 20% "
                       "less per GB-second than x86_64; the prices are constants of the file.",
                       "Look the price up by the architecture argument, whose default is "
                       "arm64."])
def _(project: Project) -> None:
    cost = _cost(project)
    _close(cost(1024, 200, architecture="arm64"), _expected(1024, 200, ARM),
           "1,024 MB, 200 ms, arm64")
    _close(cost(1024, 200, architecture="x86_64"), _expected(1024, 200, X86),
           "1,024 MB, 200 ms, x86_64")
    _close(cost(1024, 200), _expected(1024, 200, ARM),
           "1,024 MB, 200 ms, no architecture given (arm64)")


@ex102.behaviour("cold starts add their INIT, for the share of invocations that are cold",
                 hint=["Lesson 10, 'INIT is billed': since August 2025 an on-demand zip "
                       "function's cold start bills its Init Duration too.",
                       "A cold invocation bills init + duration, the sum rounded up once; "
                       "round each kind of invocation first, then weight cold and warm ones "
                       "by cold_start_rate."])
def _(project: Project) -> None:
    cost = _cost(project)
    _close(cost(1024, 100, architecture="x86_64", init_ms=400, cold_start_rate=1.0),
           _expected(1024, 500, X86), "every invocation cold: 100 ms + 400 ms INIT")
    _close(cost(1024, 100, architecture="x86_64", init_ms=400, cold_start_rate=0.25),
           _expected(1024, 200, X86), "a quarter of them cold (400 ms INIT)")
    _close(cost(1024, 100, architecture="arm64", init_ms=400, cold_start_rate=0.0),
           _expected(1024, 100, ARM), "no cold starts: INIT costs nothing")
    _close(cost(1024, 100.4, architecture="x86_64", init_ms=400.4, cold_start_rate=1.0),
           _expected(1024, 501, X86),
           "every invocation cold: 100.4 ms + 400.4 ms INIT (one sum, rounded up once: 501 ms)")
    _close(cost(1024, 12.3, architecture="x86_64", init_ms=250.9, cold_start_rate=0.5),
           _expected(1024, (13 + 264) / 2, X86),
           "half of them cold: 12.3 ms (billed 13 ms) warm, 12.3 + 250.9 ms (billed 264 ms) cold")


@ex102.behaviour("the request charge is part of the cost",
                 hint=["Lesson 10, 'What a setting costs': besides GB-seconds, Lambda charges "
                       "per request.",
                       "Add PRICE_PER_MILLION_REQUESTS once per million invocations, whatever "
                       "the memory and duration."])
def _(project: Project) -> None:
    cost = _cost(project)
    _close(cost(128, 1, architecture="arm64"), _expected(128, 1, ARM), "128 MB, 1 ms")


@ex102.behaviour("refuses what Lambda does not have: another architecture, memory outside "
                 "128-10,240 MB, a cold-start rate outside 0-1",
                 hint=["Lesson 10, 'What a setting costs': Lambda has two architectures and "
                       "memory from 128 to 10,240 MB; a rate is a share.",
                       "Raise ValueError for those, before computing anything: a typo such as "
                       "'x86' should not be priced as if it were arm64."])
def _(project: Project) -> None:
    cost = _cost(project)
    for args, kwargs, what in [((1024, 100), {"architecture": "x86"}, "architecture 'x86'"),
                               ((1024, 100), {"architecture": "ARM64"}, "architecture 'ARM64'"),
                               ((64, 100), {}, "64 MB"), ((10241, 100), {}, "10,241 MB"),
                               ((1024, 100), {"cold_start_rate": 1.5}, "a cold-start rate 1.5"),
                               ((1024, 100), {"cold_start_rate": -0.1},
                                "a cold-start rate -0.1")]:
        try:
            got = cost(*args, **kwargs)
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001 - the learner reads what escaped
            raise AssertionError(f"for {what} cost_per_million raised {type(exc).__name__}: "
                                 f"{exc}; expected ValueError") from None
        raise AssertionError(f"for {what} cost_per_million returned {got!r}; expected "
                             "ValueError: Lambda has no such setting")
    _close(cost(128, 10), _expected(128, 10, ARM), "128 MB (the smallest size)")
    _close(cost(10240, 10), _expected(10240, 10, ARM), "10,240 MB (the largest size)")


# --- 10.3 --------------------------------------------------------------------------------

ex103 = exercise("10.3", "Pick the memory size for a goal", files=[SCRIPT])


def _recommend(project: Project) -> Any:
    recommend = getattr(_script(project), "recommend", None)
    assert callable(recommend), f"{SCRIPT} has no function recommend"
    return recommend


def _pick(recommend: Any, results: list[dict], **kwargs: Any) -> Any:
    before = [dict(result) for result in results]
    try:
        got = recommend(results, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the learner reads what escaped
        raise AssertionError(f"recommend raised {type(exc).__name__}: {exc}") from None
    assert results == before, "recommend changed the results it was given"
    return got


# A CPU-bound function: twice the memory, about half the duration, until one vCPU (1,769 MB).
# Below 512 MB it also waits on memory (garbage collection), so 256 MB costs more than 512 MB.
RESULTS = [
    {"memory_mb": 128, "duration_ms": 2950.0, "init_ms": 2100.0},
    {"memory_mb": 256, "duration_ms": 1180.0, "init_ms": 1050.0},
    {"memory_mb": 512, "duration_ms": 410.0, "init_ms": 530.0},
    {"memory_mb": 1024, "duration_ms": 215.0, "init_ms": 270.0},
    {"memory_mb": 1769, "duration_ms": 128.0, "init_ms": 160.0},
    {"memory_mb": 3008, "duration_ms": 121.0, "init_ms": 150.0},
]


@ex103.behaviour("the cheapest setting fast enough for the goal",
                 hint=["Lesson 10, 'Pick a setting': the smallest memory is not always the "
                       "cheapest, and the fastest is rarely the cheapest.",
                       "Keep the settings whose duration meets the goal, price each with your "
                       "cost_per_million, and return the memory size of the cheapest."])
def _(project: Project) -> None:
    recommend = _recommend(project)
    got = _pick(recommend, RESULTS, max_duration_ms=1500, architecture="arm64")
    assert got == 512, (
        f"goal: at most 1,500 ms. recommend answered {got!r}; 256 MB is fast enough but costs "
        "more than 512 MB (its duration more than halves), so 512 is the cheapest")
    got = _pick(recommend, RESULTS, max_duration_ms=200, architecture="x86_64")
    assert got == 1769, (
        f"goal: at most 200 ms. recommend answered {got!r}; 1,769 and 3,008 MB are fast "
        "enough, 1,769 MB costs less")
    close = [{"memory_mb": 128, "duration_ms": 10.0, "init_ms": 0.0},
             {"memory_mb": 256, "duration_ms": 6.0, "init_ms": 0.0}]
    got = _pick(recommend, close, max_duration_ms=20, architecture="arm64")
    assert got == 128, (
        f"goal: at most 20 ms. recommend answered {got!r}; 128 MB x 10 ms costs about a third "
        "of a cent less per million than 256 MB x 6 ms: compare the costs as they are, "
        "unrounded (at a billion invocations a month, that third of a cent is $3)")


@ex103.behaviour("a duration exactly at the goal meets it",
                 hint=["Lesson 10, exercise 10.3: 'at most max_duration_ms' includes the limit.",
                       "Compare with <=, not <."])
def _(project: Project) -> None:
    got = _pick(_recommend(project), RESULTS, max_duration_ms=410, architecture="arm64")
    assert got == 512, (f"goal: at most 410 ms, and 512 MB takes exactly 410 ms; recommend "
                        f"answered {got!r}, expected 512")


@ex103.behaviour("None when no setting is fast enough (and for no results)",
                 hint=["Lesson 10, exercise 10.3: a goal nothing meets is an answer too: None.",
                       "Return None when no result is kept, instead of raising or picking the "
                       "fastest."])
def _(project: Project) -> None:
    recommend = _recommend(project)
    got = _pick(recommend, RESULTS, max_duration_ms=100, architecture="arm64")
    assert got is None, (f"goal: at most 100 ms, which no setting meets; recommend answered "
                         f"{got!r}, expected None")
    got = _pick(recommend, [], max_duration_ms=100, architecture="arm64")
    assert got is None, f"for no results recommend answered {got!r}, expected None"


@ex103.behaviour("costs include INIT at the given cold-start rate",
                 hint=["Lesson 10, 'Pick a setting': a setting with a long INIT can be the "
                       "cheapest warm and the dearest when many invocations are cold.",
                       "Pass each result's init_ms and the cold_start_rate you were given to "
                       "cost_per_million."])
def _(project: Project) -> None:
    recommend = _recommend(project)
    results = [{"memory_mb": 512, "duration_ms": 100.0, "init_ms": 2400.0},
               {"memory_mb": 640, "duration_ms": 82.0, "init_ms": 300.0}]
    got = _pick(recommend, results, max_duration_ms=150, architecture="arm64",
                cold_start_rate=0.0)
    assert got == 512, (f"with no cold starts, 512 MB x 100 ms costs less than 640 MB x 82 ms; "
                        f"recommend answered {got!r}")
    got = _pick(recommend, results, max_duration_ms=150, architecture="arm64",
                cold_start_rate=0.2)
    assert got == 640, (
        f"with one invocation in five cold, 512 MB's 2,400 ms INIT makes it the dearer "
        f"setting; recommend answered {got!r}, expected 640: INIT is billed")


@ex103.behaviour("of two settings that cost the same, the faster",
                 hint=["Lesson 10, exercise 10.3: when the price is the same, speed is free.",
                       "Compare the cost first and the duration second."])
def _(project: Project) -> None:
    results = [{"memory_mb": 512, "duration_ms": 200.0, "init_ms": 0.0},
               {"memory_mb": 1024, "duration_ms": 100.0, "init_ms": 0.0},
               {"memory_mb": 2048, "duration_ms": 80.0, "init_ms": 0.0}]
    for order in (results, results[::-1]):
        got = _pick(_recommend(project), order, max_duration_ms=500, architecture="arm64")
        assert got == 1024, (f"512 MB x 200 ms and 1,024 MB x 100 ms cost the same; recommend "
                             f"answered {got!r}, expected the faster, 1024, whatever the "
                             "order of the results")


@ex103.behaviour("answers the memory size, in MB",
                 hint=["Lesson 10, exercise 10.3: the answer goes into Terraform's memory_size.",
                       "Return the result's memory_mb, not its cost or the whole result."])
def _(project: Project) -> None:
    got = _pick(_recommend(project), RESULTS[2:4], max_duration_ms=1000, architecture="arm64")
    assert isinstance(got, int) and not isinstance(got, bool) and got in (512, 1024), (
        f"recommend answered {got!r}; expected a memory size in MB, such as 512")


# --- questions ---------------------------------------------------------------------------

question(
    "10.a",
    "A handler imports a heavy module that **every** invocation uses. The guideline says to "
    "move the import into the handler. What changes?",
    ["Cold starts get cheaper and faster: the import no longer runs",
     "The import moves from INIT into the first invocation: the cold request waits as long, "
     "and since August 2025 both are billed",
     "Every invocation pays the import again"],
    answer=1,
    why=["The import still runs once per environment: in the first call instead of during "
         "INIT.",
         "Right: a lazy import only saves time when a path that does not need the module is "
         "taken. For a module every call needs, module level is as fast, and clearer.",
         "Python caches imported modules in sys.modules: the second import is a dictionary "
         "lookup."],
)

question(
    "10.b",
    "A function runs at 128 MB and takes 800 ms of CPU-bound work. What does doubling its "
    "memory to 256 MB most likely do?",
    ["Doubles the cost, same duration: memory is only memory",
     "About halves the duration for about the same cost: CPU grows with memory",
     "Nothing: Python uses one core anyway"],
    answer=1,
    why=["Lambda allocates CPU in proportion to memory: 128 MB gets about 7% of a vCPU.",
         "Right: twice the memory is twice the CPU share, so CPU-bound work takes about half "
         "as long, and GB-seconds stay about the same. The power-tuning chart shows it.",
         "One core is 1,769 MB; below that the function gets a fraction of one core, and "
         "more memory means a larger fraction."],
)

question(
    "10.c",
    "A pinger invokes the function every 5 minutes. Ten requests then arrive at the same "
    "moment. How many of them start cold?",
    ["None: the function is warm", "One", "Nine: one environment is warm, and it serves one "
     "request at a time"],
    answer=2,
    why=["Warm means one execution environment exists; it serves one request at a time.",
         "The first request takes the warm environment; the others need environments of their "
         "own.",
         "Right: concurrent requests need concurrent environments. Provisioned concurrency "
         "keeps N of them ready; a pinger keeps one."],
)

question(
    "10.d",
    "Which statement about SnapStart for Python is right?",
    ["It can be combined with provisioned concurrency for the fastest starts",
     "It works on $LATEST, so no alias or version is needed",
     "It restores a snapshot of an initialised environment, so anything unique or "
     "time-bound made during INIT (random seeds, connections, credentials) needs "
     "refreshing in an after-restore hook"],
    answer=2,
    why=["AWS's documentation: SnapStart does not support provisioned concurrency.",
         "SnapStart works on published versions (and aliases pointing at them), not on "
         "$LATEST.",
         "Right: every restored environment starts from the same snapshot; "
         "@register_after_restore re-seeds and reconnects."],
)

question(
    "10.e",
    "The function's timeout is 6 s; its boto3 client keeps botocore's defaults (60 s to "
    "connect, 60 s to read, retries). DynamoDB stops answering. What happens?",
    ["boto3 raises after 6 s, and the handler logs the error",
     "Lambda kills the invocation at 6 s while the SDK is still waiting: a timeout, with no "
     "log line of yours saying which call hung",
     "The SDK notices the function's timeout and gives up in time"],
    answer=1,
    why=["Nothing in boto3 knows the function's timeout: its own limits are far longer.",
         "Right: set connect and read timeouts and attempts whose total stays under the "
         "function's timeout, so the error is yours to log and answer.",
         "The SDK does not read the remaining time of the invocation."],
)

question(
    "10.f",
    "Your Python function moves to Lambda Managed Instances, where one execution environment "
    "serves several requests at once. What must you now take care of?",
    ["Module-level caches: requests now share them and overwrite each other's data",
     "Files in /tmp: the concurrent requests run in separate processes that share the "
     "environment's /tmp",
     "Nothing at all"],
    answer=1,
    why=["AWS's documentation: the Python runtime serves concurrent requests in separate "
         "processes, so module state is not shared between them.",
         "Right: give files per-request names (or lock them). Threads you start yourself do "
         "share module state, as anywhere in Python.",
         "/tmp is shared between the processes of one environment."],
)
