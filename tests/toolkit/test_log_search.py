"""course.learner.log_search: CloudWatch filter patterns applied to logs kept on moto."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from course.learner.log_search import matches, search, ship

ERROR = json.dumps({"level": "ERROR", "message": "Queue unavailable", "status": 503,
                    "service": "signups-api", "cold_start": True, "user": None,
                    "items": [{"id": "a"}], "correlation_id": "req-1"})
INFO = json.dumps({"level": "INFO", "message": "Sign-up queued", "status": 202,
                   "service": "signups-api", "cold_start": False, "correlation_id": "req-2"})


@pytest.mark.parametrize(("pattern", "expected"), [
    ('{ $.level = "ERROR" }', [True, False]),
    ("{ $.level = ERROR }", [True, False]),
    ('{ $.level != "ERROR" }', [False, True]),
    ("{ $.status >= 500 }", [True, False]),
    ("{ $.status < 300 }", [False, True]),
    ("{ $.status = 202 }", [False, True]),
    ('{ $.service = "signups-*" }', [True, True]),
    ('{ $.service = "users-*" }', [False, False]),
    ('{ $.level = "ERROR" && $.status = 503 }', [True, False]),
    ('{ $.level = "ERROR" || $.status = 202 }', [True, True]),
    ('{ ($.level = "INFO" || $.status > 500) && $.correlation_id = "req-2" }', [False, True]),
    ("{ $.cold_start IS TRUE }", [True, False]),
    ("{ $.cold_start IS FALSE }", [False, True]),
    ("{ $.user IS NULL }", [True, False]),
    ("{ $.user NOT EXISTS }", [False, True]),
    ('{ $.items[0].id = "a" }', [True, False]),
    ('{ $.missing = "x" }', [False, False]),
    ('{ $.missing != "x" }', [False, False]),
    ("ERROR", [True, False]),
    ("Queue unavailable", [True, False]),
    ('"Queue unavailable"', [True, False]),
    ('"unavailable Queue"', [False, False]),
    ("?ERROR ?queued", [True, True]),
    ("signups-api -ERROR", [False, True]),
    ("error", [False, False]),  # case-sensitive, as in CloudWatch
    ("", [True, True]),
])
def test_patterns_match_as_in_cloudwatch(pattern: str, expected: list[bool]) -> None:
    assert [matches(pattern, line) for line in (ERROR, INFO)] == expected


def test_a_json_pattern_never_matches_a_plain_line() -> None:
    assert not matches('{ $.level = "ERROR" }', "[ERROR] something failed")
    assert not matches("{ $.level = ERROR }", '["ERROR"]')


@pytest.mark.parametrize("pattern", ["{ $.level = }", '{ $.level = "ERROR"', "{ $.a IS MAYBE }",
                                     "[ip, user]", '{ $.a = "x" $.b = "y" }'])
def test_what_it_cannot_read_is_an_error_not_a_match(pattern: str) -> None:
    with pytest.raises(ValueError):
        matches(pattern, ERROR)


def test_ship_and_search_on_moto() -> None:
    with mock_aws():
        logs = boto3.client("logs", region_name="us-east-1")
        group = "/aws/lambda/signups-api"
        assert ship(f"START RequestId: x\n{ERROR}\n{INFO}\n", client=logs, group=group) == 3
        assert ship([INFO], client=logs, group=group) == 1  # group and stream exist: fine
        # moto alone returns every event for a JSON pattern; search() applies it
        everything = logs.filter_log_events(logGroupName=group,
                                            filterPattern='{ $.level = "ERROR" }')["events"]
        assert len(everything) == 4
        found = search(logs, group, '{ $.level = "ERROR" }')
        assert [json.loads(e["message"])["correlation_id"] for e in found] == ["req-1"]
        assert len(search(logs, group)) == 4
