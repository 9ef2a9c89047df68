"""Tests that reload the handler so that LOG_LEVEL, read at import, takes effect."""

import importlib
import json
import logging

import pytest

import handlers.api_handler

GET = {"httpMethod": "GET", "path": "/orders/42"}
POST_V2 = {"version": "2.0", "rawPath": "/orders", "requestContext": {"http": {"method": "POST"}}}
JSON_TYPE = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def api(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    return importlib.reload(handlers.api_handler)


@pytest.mark.parametrize(("event", "expected"), [
    (GET, {"method": "GET", "path": "/orders/42"}),
    (POST_V2, {"method": "POST", "path": "/orders"}),
])
def test_process_event(api, event, expected):
    assert api.process_event(event) == expected


def test_invalid_event_is_rejected(api):
    with pytest.raises(api.InvalidEventError):
        api.process_event({"test": "data"})
    response = api.lambda_handler({"test": "data"}, None)
    assert (response["statusCode"], response["headers"]) == (400, JSON_TYPE)
    assert json.loads(response["body"]) == {"message": "Not an API Gateway proxy event"}


def test_success(api):
    response = api.lambda_handler(GET, None)
    assert (response["statusCode"], response["headers"]) == (200, JSON_TYPE)
    assert json.loads(response["body"]) == {
        "message": "Success", "data": {"method": "GET", "path": "/orders/42"}}


def test_failure_is_generic_and_logged(api, monkeypatch, caplog):
    def boom(event):
        raise KeyError("secret-table-name")

    monkeypatch.setattr(api, "process_event", boom)
    with caplog.at_level(logging.DEBUG):
        response = api.lambda_handler({**GET, "headers": {"Authorization": "Bearer T0K"}}, None)
    assert (response["statusCode"], response["headers"]) == (500, JSON_TYPE)
    assert json.loads(response["body"]) == {"message": "Internal server error"}
    assert "secret-table-name" in caplog.text
    assert any(r.exc_info for r in caplog.records)
    assert "T0K" not in caplog.text


def test_logs_method_and_path_only(api, caplog):
    with caplog.at_level(logging.DEBUG):
        api.lambda_handler({**GET, "headers": {"Authorization": "Bearer T0K"}}, None)
    assert "GET" in caplog.text and "/orders/42" in caplog.text
    assert "T0K" not in caplog.text
