"""Lesson 02: routes, structured logs with a correlation id, and EMF metrics on stdout."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from handlers import powertools_handler
from handlers.powertools_handler import lambda_handler

# 404s and 400s publish no application metric; Powertools warns about that on each flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty user store, no metric left over, and the next call counted as a cold start."""
    monkeypatch.setattr(powertools_handler, "USERS", {})
    monkeypatch.setattr(cold_start, "is_cold_start", True)
    powertools_handler.metrics.clear_metrics()


@pytest.fixture
def log_records(capture_logs: Callable) -> Callable[[], list[dict[str, Any]]]:
    return capture_logs(powertools_handler.logger)


def emf_blobs(stdout: str) -> dict[str, dict[str, Any]]:
    """EMF documents printed by Metrics, keyed by metric name."""
    blobs = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"')]
    return {
        metric["Name"]: blob
        for blob in blobs
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


def call(event: dict[str, Any], context: Any) -> tuple[int, Any]:
    response = lambda_handler(event, context)
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    return response["statusCode"], json.loads(response["body"])


def test_post_then_get_a_user(rest_event, lambda_context) -> None:
    status, created = call(rest_event("POST", "/users", body={"name": " Ada "}), lambda_context)
    assert status == 201
    assert created["name"] == "Ada"

    status, fetched = call(rest_event("GET", f"/users/{created['user_id']}"), lambda_context)
    assert (status, fetched) == (200, created)

    status, listed = call(rest_event("GET", "/users"), lambda_context)
    assert (status, listed) == (200, {"users": [created]})


def test_base64_encoded_body_is_decoded(rest_event, lambda_context) -> None:
    event = rest_event("POST", "/users", body={"name": "Grace"}, base64_body=True)
    assert event["body"] != '{"name": "Grace"}'  # really encoded

    status, created = call(event, lambda_context)

    assert (status, created["name"]) == (201, "Grace")


@pytest.mark.parametrize(
    ("body", "base64_body", "message"),
    [
        ("{not json", False, "Request body is not valid JSON"),
        ("not base64!", True, "Request body is not valid JSON"),
        ('{"name": 42}', False, "Field 'name' must be a non-empty string"),
        ('["Ada"]', False, "Field 'name' must be a non-empty string"),
        (None, False, "Field 'name' must be a non-empty string"),
    ],
    ids=["invalid-json", "invalid-base64", "name-not-a-string", "not-an-object", "no-body"],
)
def test_bad_post_body_is_a_400(rest_event, lambda_context, body, base64_body, message) -> None:
    event = rest_event("POST", "/users", body=body, base64_body=base64_body)

    assert call(event, lambda_context) == (400, {"message": message})


def test_unknown_user_and_unknown_route_are_404(rest_event, lambda_context) -> None:
    assert call(rest_event("GET", "/users/nobody"), lambda_context) == (
        404,
        {"message": "User not found"},
    )
    assert call(rest_event("GET", "/nowhere"), lambda_context)[0] == 404


def test_unexpected_error_is_a_generic_500_with_the_detail_in_the_log(
    rest_event, lambda_context, monkeypatch, log_records
) -> None:
    class BrokenStore(dict):
        def get(self, key: str, default: Any = None) -> Any:
            raise RuntimeError("connection string with password hunter2")

    monkeypatch.setattr(powertools_handler, "USERS", BrokenStore())

    status, body = call(rest_event("GET", "/users/u1"), lambda_context)

    assert (status, body) == (500, {"message": "Internal server error"})
    [record] = [r for r in log_records() if r["message"] == "Unhandled error"]
    assert record["level"] == "ERROR"
    assert "hunter2" in record["exception"]


def test_logs_are_json_with_the_request_id_as_correlation_id(
    rest_event, lambda_context, log_records
) -> None:
    event = rest_event("POST", "/users", body={"name": "Ada"}, request_id="abc-123")

    status, created = call(event, lambda_context)

    [record] = [r for r in log_records() if r["message"] == "User created"]
    assert record["correlation_id"] == event["requestContext"]["requestId"] == "abc-123"
    assert record["user_id"] == created["user_id"]
    assert record["function_request_id"] == lambda_context.aws_request_id
    assert "Ada" not in json.dumps(record)  # the event (and its body) is not logged


def test_metrics_are_printed_as_emf(rest_event, lambda_context, capsys) -> None:
    call(rest_event("POST", "/users", body={"name": "Ada"}), lambda_context)

    blobs = emf_blobs(capsys.readouterr().out)

    assert {"ColdStart", "UsersCreated"} <= blobs.keys()
    assert blobs["UsersCreated"]["UsersCreated"] == [1.0]
    namespace = blobs["UsersCreated"]["_aws"]["CloudWatchMetrics"][0]["Namespace"]
    assert namespace == powertools_handler.metrics.namespace


def test_cold_start_metric_only_on_the_first_call(rest_event, lambda_context, capsys) -> None:
    call(rest_event("GET", "/users"), lambda_context)
    first = emf_blobs(capsys.readouterr().out)
    call(rest_event("GET", "/users"), lambda_context)
    second = emf_blobs(capsys.readouterr().out)

    assert "ColdStart" in first
    assert "ColdStart" not in second
    assert "UsersListed" in second


def test_other_fields_of_the_body_are_ignored(rest_event, lambda_context) -> None:
    body = {"name": "Ada", "user_id": "chosen-by-client", "role": "admin"}

    status, created = call(rest_event("POST", "/users", body=body), lambda_context)

    assert status == 201
    assert set(created) == {"user_id", "name"} and created["user_id"] != "chosen-by-client"
    assert call(rest_event("GET", "/users/chosen-by-client"), lambda_context)[0] == 404


def test_the_error_line_holds_nothing_of_the_request(
    rest_event, lambda_context, monkeypatch, log_records
) -> None:
    class BrokenStore(dict):
        def get(self, key: str, default: Any = None) -> Any:
            raise RuntimeError("users store unreachable")

    monkeypatch.setattr(powertools_handler, "USERS", BrokenStore())
    event = rest_event("GET", "/users/u1", request_id="req-broken-1")
    event["headers"]["Authorization"] = "Bearer secret-token-123"

    status, body = call(event, lambda_context)

    assert (status, body) == (500, {"message": "Internal server error"})
    [record] = [r for r in log_records() if r["level"] == "ERROR"]
    assert record["correlation_id"] == "req-broken-1"
    text = json.dumps(record)
    assert "secret-token-123" not in text and "203.0.113.10" not in text


def test_metrics_disabled_silences_application_metrics_not_cold_start(
    rest_event, lambda_context, capsys, monkeypatch
) -> None:
    # POWERTOOLS_METRICS_DISABLED is read at each flush. In Powertools 3.37 it does not stop
    # the ColdStart metric (printed apart, with single_metric), which still needs a namespace.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    call(rest_event("POST", "/users", body={"name": "Ada"}), lambda_context)

    assert set(emf_blobs(capsys.readouterr().out)) == {"ColdStart"}
