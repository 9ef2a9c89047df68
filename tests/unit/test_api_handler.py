"""The guideline's unit tests for the basic handler, rewritten to pass and to mean something."""

from __future__ import annotations

import json
import logging

import pytest

from handlers import api_handler
from handlers.api_handler import InvalidEventError, lambda_handler, process_event

JSON = {"Content-Type": "application/json"}
TOKEN = "Bearer s3cr3t-token"
REST_EVENT = {"httpMethod": "GET", "path": "/hello", "requestContext": {"requestId": "r1"}}
HTTP_API_EVENT = {
    "version": "2.0",
    "rawPath": "/hello",
    "requestContext": {"http": {"method": "POST", "path": "/hello"}, "requestId": "r2"},
}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (REST_EVENT, {"method": "GET", "path": "/hello"}),
        (HTTP_API_EVENT, {"method": "POST", "path": "/hello"}),
    ],
    ids=["rest-v1", "http-api-v2"],
)
def test_process_event_reads_method_and_path(event: dict, expected: dict) -> None:
    assert process_event(event) == expected


@pytest.mark.parametrize(
    "event", [{"test": "data"}, {"httpMethod": "GET"}], ids=["test-event", "no-path"]
)
def test_process_event_rejects_an_event_that_is_not_from_api_gateway(event: dict) -> None:
    with pytest.raises(InvalidEventError):
        process_event(event)


def test_lambda_handler_success() -> None:
    response = lambda_handler(REST_EVENT, None)

    assert response["statusCode"] == 200
    assert response["headers"] == JSON
    body = json.loads(response["body"])
    assert body == {"message": "Success", "data": {"method": "GET", "path": "/hello"}}


def test_lambda_handler_answers_400_to_an_event_that_is_not_from_api_gateway() -> None:
    response = lambda_handler({"test": "data"}, None)

    assert response["statusCode"] == 400
    assert response["headers"] == JSON
    assert json.loads(response["body"]) == {"message": "Not an API Gateway proxy event"}


def test_lambda_handler_error_is_generic_for_the_client_and_detailed_in_the_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_process_event(event: dict) -> dict:
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(api_handler, "process_event", broken_process_event)
    event = {**REST_EVENT, "headers": {"Authorization": TOKEN}}

    with caplog.at_level(logging.INFO, logger=api_handler.__name__):
        response = lambda_handler(event, None)

    assert response["statusCode"] == 500
    assert response["headers"] == JSON
    assert json.loads(response["body"]) == {"message": "Internal server error"}
    assert "hunter2" not in response["body"]
    assert "hunter2" in caplog.text  # logger.exception keeps the detail and the traceback
    assert any(record.exc_info for record in caplog.records)
    assert TOKEN not in caplog.text  # the event stays out of the log, on this path too


def test_lambda_handler_logs_method_and_path_but_not_the_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = {**REST_EVENT, "headers": {"Authorization": TOKEN}, "body": "pin=1234"}

    with caplog.at_level(logging.INFO, logger=api_handler.__name__):
        lambda_handler(event, None)

    assert "GET /hello" in caplog.text
    assert TOKEN not in caplog.text
    assert "1234" not in caplog.text
