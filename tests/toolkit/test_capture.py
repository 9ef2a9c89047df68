"""captured(): a demo catches what a Powertools Logger and Metrics write, and nothing is left
changed afterwards."""

from __future__ import annotations

import io
import logging
import sys
import uuid
import warnings

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from course.learner.capture import captured


def fresh_logger(stream: io.StringIO) -> Logger:
    # Loggers of one service share a handler: a service of its own keeps tests apart.
    return Logger(service=f"capture-{uuid.uuid4().hex[:8]}", stream=stream)


def test_catches_a_loggers_json_lines_and_restores_its_stream() -> None:
    original = io.StringIO()
    logger = fresh_logger(original)
    with captured(logger) as out:
        logger.info("inside", user_id="u1")
    logger.info("after")
    assert [(r["message"], r.get("user_id")) for r in out.logs] == [("inside", "u1")]
    assert '"after"' in original.getvalue() and "inside" not in original.getvalue()


def test_catches_emf_documents_printed_by_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "CaptureTest")
    metrics = Metrics()

    @metrics.log_metrics
    def handler(event: dict, context: object) -> dict:
        metrics.add_metric(name="Things", unit=MetricUnit.Count, value=1)
        return {}

    stdout = sys.stdout
    with captured() as out:
        handler({}, None)
    assert [doc["Things"] for doc in out.metrics] == [[1.0]]
    assert out.logs == []
    assert sys.stdout is stdout


def test_records_warnings_instead_of_showing_them() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning shown outside the block would fail here
        with captured() as out:
            warnings.warn("No application metrics to publish", UserWarning, stacklevel=1)
    assert out.warnings == ["No application metrics to publish"]


def test_restores_the_stream_when_the_block_raises() -> None:
    original = io.StringIO()
    logger = fresh_logger(original)
    with pytest.raises(RuntimeError), captured(logger) as out:
        logger.error("about to fail")
        raise RuntimeError("boom")
    assert [r["message"] for r in out.logs] == ["about to fail"]
    logger.info("later")
    assert '"later"' in original.getvalue()


def test_takes_a_standard_library_logger_too() -> None:
    stream = io.StringIO()
    plain = logging.getLogger(f"capture-plain-{uuid.uuid4().hex[:8]}")
    plain.addHandler(logging.StreamHandler(stream))
    plain.setLevel(logging.INFO)
    with captured(plain) as out:
        plain.info('{"message": "json by hand"}')
    assert out.logs == [{"message": "json by hand"}] and stream.getvalue() == ""


def test_refuses_what_is_not_a_logger() -> None:
    with pytest.raises(TypeError, match="takes loggers"), captured("logger"):
        pass
