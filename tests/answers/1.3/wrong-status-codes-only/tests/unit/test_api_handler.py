import pytest

from handlers import api_handler
from handlers.api_handler import lambda_handler, process_event

REST_EVENT = {"httpMethod": "GET", "path": "/hello"}
HTTP_API_EVENT = {
    "version": "2.0", "rawPath": "/hello", "requestContext": {"http": {"method": "GET"}},
}


@pytest.mark.parametrize("event", [REST_EVENT, HTTP_API_EVENT])
def test_process_event(event):
    assert process_event(event) == {"method": "GET", "path": "/hello"}


def test_success():
    assert lambda_handler(REST_EVENT, None)["statusCode"] == 200


def test_bad_event():
    assert lambda_handler({"test": "data"}, None)["statusCode"] == 400


def test_error(monkeypatch, caplog):
    def broken(event):
        raise RuntimeError("hunter2")

    monkeypatch.setattr(api_handler, "process_event", broken)
    event = {**REST_EVENT, "headers": {"Authorization": "Bearer tok-123"}}
    assert lambda_handler(event, None)["statusCode"] == 500
    assert "hunter2" in caplog.text
    assert any(record.exc_info for record in caplog.records)
    assert "tok-123" not in caplog.text


def test_logging(caplog):
    import logging

    with caplog.at_level(logging.INFO):
        lambda_handler({**REST_EVENT, "headers": {"Authorization": "Bearer tok-123"}}, None)
    assert "tok-123" not in caplog.text and "/hello" in caplog.text


def test_rejects():
    with pytest.raises(api_handler.InvalidEventError):
        process_event({"test": "data"})
