import json

from handlers import api_handler
from handlers.api_handler import lambda_handler

EVENT = {"httpMethod": "GET", "path": "/hello"}


def test_success():
    assert lambda_handler(EVENT, None)["statusCode"] == 200


def test_bad_event():
    assert lambda_handler({"test": "data"}, None)["statusCode"] == 400


def test_error(monkeypatch):
    def mock_process_event(event):
        raise Exception("Test error")

    monkeypatch.setattr(api_handler, "process_event", mock_process_event)
    response = lambda_handler(EVENT, None)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"] == "Test error"
