"""Tests for the basic handler, in classes, with unittest.mock."""

import json
import logging
from unittest import mock

import pytest

import handlers.api_handler as api_handler

V1 = {"httpMethod": "DELETE", "path": "/users/7"}
V2 = {"version": "2.0", "rawPath": "/users/7", "requestContext": {"http": {"method": "DELETE"}}}


def header(response, name):
    return {k.lower(): v for k, v in response["headers"].items()}[name.lower()]


class TestProcessEvent:
    @pytest.mark.parametrize("event", [V1, V2])
    def test_reads_both_payload_versions(self, event):
        assert api_handler.process_event(event) == {"method": "DELETE", "path": "/users/7"}

    def test_rejects_other_events(self):
        with pytest.raises(api_handler.InvalidEventError):
            api_handler.process_event({"source": "aws.events"})


class TestLambdaHandler:
    def test_success(self):
        response = api_handler.lambda_handler(V2, None)
        assert response["statusCode"] == 200
        assert header(response, "content-type") == "application/json"
        assert json.loads(response["body"]) == {
            "message": "Success", "data": {"method": "DELETE", "path": "/users/7"}}

    def test_bad_request(self):
        response = api_handler.lambda_handler({"test": "data"}, None)
        assert response["statusCode"] == 400
        assert header(response, "Content-Type") == "application/json"
        assert json.loads(response["body"]) == {"message": "Not an API Gateway proxy event"}

    def test_failure(self, caplog):
        event = {**V1, "headers": {"authorization": "Bearer abc.def"}}
        with mock.patch.object(api_handler, "process_event", side_effect=OSError("pw=hunter2")):
            with caplog.at_level(logging.DEBUG):
                response = api_handler.lambda_handler(event, None)
        assert response["statusCode"] == 500
        assert header(response, "content-type") == "application/json"
        assert json.loads(response["body"]) == {"message": "Internal server error"}
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors and errors[0].exc_info and "hunter2" in caplog.text
        assert "abc.def" not in caplog.text

    def test_logs_request_not_secrets(self, caplog):
        with caplog.at_level(logging.INFO):
            api_handler.lambda_handler({**V1, "body": '{"ssn": "078-05-1120"}'}, None)
        assert "DELETE" in caplog.text and "/users/7" in caplog.text
        assert "078-05-1120" not in caplog.text
