# ruff: noqa: F401, I001 - the guideline's tests, as the guideline writes them
import json
import pytest
from src.handlers.api_handler import lambda_handler, process_event

def test_lambda_handler_success():
    event = {"test": "data"}
    context = {}
    response = lambda_handler(event, context)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["message"] == "Success"

def test_process_event():
    event = {"test": "data"}
    result = process_event(event)
    assert result == {"processed": True}

def test_lambda_handler_error():
    event = {"invalid": "data"}
    context = {}
    def mock_process_event(event):
        raise Exception("Test error")
    import src.handlers.api_handler
    original_process_event = src.handlers.api_handler.process_event
    src.handlers.api_handler.process_event = mock_process_event
    try:
        response = lambda_handler(event, context)
        assert response["statusCode"] == 500
        body = json.loads(response["body"])
        assert body["error"] == "Test error"
    finally:
        src.handlers.api_handler.process_event = original_process_event
