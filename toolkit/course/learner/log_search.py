"""CloudWatch Logs filter patterns, evaluated the way CloudWatch does, for logs kept on moto.

    from course.learner.log_search import matches, ship, search

    ship(invocation.logs, client=logs, group="/aws/lambda/signups-api")   # put the lines
    search(logs, "/aws/lambda/signups-api", '{ $.level = "ERROR" }')     # the matching events
    matches('{ $.status >= 500 && $.service = "signups-*" }', line)      # one line

Why a module: moto stores log events and returns them from `filter_log_events`, but it only
understands plain terms and quoted phrases; every other pattern (JSON patterns such as
`{ $.level = "ERROR" }`, `?A ?B`, `-TERM`) matches *every* event there. `search()` asks moto
for the events without a pattern and applies the pattern here, so a search finds what it
would find in CloudWatch.

What is supported (CloudWatch's syntax, case-sensitive as in CloudWatch):
- terms: `ERROR Timeout` (all must appear), `"quoted phrase"`, `?ERROR ?WARNING` (any),
  `ERROR -Retry` (exclude); a term matches as a substring of the message;
- JSON patterns: `{ SELECTOR OP VALUE }` with `$.a.b` and `$.a[0]` selectors, `=` and `!=` on
  strings (a `*` in the value is a wildcard) and on numbers, `<`, `<=`, `>`, `>=` on numbers,
  `IS TRUE`, `IS FALSE`, `IS NULL`, `NOT EXISTS`, joined with `&&`, `||` and parentheses.
  A condition on a field the event does not have is false (except `NOT EXISTS`); a message
  that is not a JSON object matches no JSON pattern.
Not supported: space-delimited patterns (`[ip, user, ...]`) and regular expressions; they raise
ValueError rather than match something by accident.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["matches", "search", "ship"]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<and>&&) | (?P<or>\|\|) | (?P<open>\() | (?P<close>\)) |
      (?P<op><=|>=|!=|=|<|>) |
      (?P<string>"(?:[^"\\]|\\.)*") |
      (?P<selector>\$(?:\.[A-Za-z0-9_@-]+|\[\d+\])*) |
      (?P<word>[^\s()&|=!<>"]+)
    )""", re.X)
_MISSING = object()


def matches(pattern: str, message: str) -> bool:
    """True when CloudWatch Logs would return `message` for the filter `pattern`."""
    pattern = pattern.strip()
    if not pattern:
        return True
    if pattern.startswith("{"):
        if not pattern.endswith("}"):
            raise ValueError(f"a JSON pattern is enclosed in braces: {pattern!r}")
        try:
            event = json.loads(message)
        except ValueError:
            return False
        if not isinstance(event, dict):
            return False
        return _JsonPattern(pattern[1:-1]).evaluate(event)
    if pattern.startswith("[") or pattern.startswith("%"):
        raise ValueError("space-delimited and regular-expression patterns are not supported "
                         f"by the course's matcher: {pattern!r}")
    return _terms_match(pattern, message)


def _terms(pattern: str) -> list[str]:
    return [quoted.replace('\\"', '"') if quoted else bare
            for quoted, bare in re.findall(r'([?-]?"(?:[^"\\]|\\.)*")|(\S+)', pattern)]


def _terms_match(pattern: str, message: str) -> bool:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    for term in _terms(pattern):
        kind = term[0] if term[0] in "?-" and len(term) > 1 else ""
        text = term[1:] if kind else term
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        {"": required, "?": optional, "-": excluded}[kind].append(text)
    if any(text in message for text in excluded):
        return False
    if not all(text in message for text in required):
        return False
    return not optional or any(text in message for text in optional)


class _JsonPattern:
    """A recursive-descent reader of the inside of `{ ... }`."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = text.strip()
        while position < len(text):
            found = _TOKEN.match(text, position)
            if not found or found.end() == position:
                raise ValueError(f"cannot read the JSON pattern at {text[position:]!r}")
            kind = found.lastgroup or ""
            self.tokens.append((kind, found.group(kind)))
            position = found.end()
            while position < len(text) and text[position].isspace():
                position += 1
        self.index = 0

    def evaluate(self, event: dict[str, Any]) -> bool:
        self.index = 0
        self.event = event
        result = self._or()
        if self.index != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.index][1]!r} in the JSON pattern")
        return result

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("", "")

    def _take(self, kind: str) -> str:
        got_kind, value = self._peek()
        if got_kind != kind:
            raise ValueError(f"expected {kind} in the JSON pattern, found {value or 'the end'!r}")
        self.index += 1
        return value

    def _or(self) -> bool:
        result = self._and()
        while self._peek()[0] == "or":
            self.index += 1
            result = self._and() or result
        return result

    def _and(self) -> bool:
        result = self._condition()
        while self._peek()[0] == "and":
            self.index += 1
            result = self._condition() and result
        return result

    def _condition(self) -> bool:
        if self._peek()[0] == "open":
            self.index += 1
            result = self._or()
            self._take("close")
            return result
        value = _select(self.event, self._take("selector"))
        kind, word = self._peek()
        if kind == "word" and word in ("IS", "NOT"):
            self.index += 1
            expected = self._take("word")
            if word == "NOT":
                if expected != "EXISTS":
                    raise ValueError(f"NOT {expected}: only NOT EXISTS is a condition")
                return value is _MISSING
            if expected == "NULL":
                return value is None
            if expected in ("TRUE", "FALSE"):
                return value is (expected == "TRUE")
            raise ValueError(f"IS {expected}: use IS TRUE, IS FALSE or IS NULL")
        operator = self._take("op")
        kind, literal = self._peek()
        if kind not in ("string", "word"):
            raise ValueError(f"a value is missing after {operator} in the JSON pattern")
        self.index += 1
        if value is _MISSING:
            return False
        return _compare(value, operator, literal, quoted=kind == "string")


def _select(event: Any, selector: str) -> Any:
    value = event
    for name, index in re.findall(r"\.([A-Za-z0-9_@-]+)|\[(\d+)\]", selector[1:]):
        if name and isinstance(value, dict) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(value: Any, operator: str, literal: str, *, quoted: bool) -> bool:
    text = json.loads(literal) if quoted else literal
    wanted = None if quoted else _number(text)
    if wanted is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        actual = float(value)
        return {"=": actual == wanted, "!=": actual != wanted, "<": actual < wanted,
                "<=": actual <= wanted, ">": actual > wanted, ">=": actual >= wanted}[operator]
    if operator not in ("=", "!="):
        return False  # an ordering needs a number on both sides
    if not isinstance(value, str):
        return operator == "!="
    equal = fnmatch.fnmatchcase(value, text) if "*" in text else value == text
    return equal if operator == "=" else not equal


def ship(lines: str | Iterable[str], *, client: Any, group: str,
         stream: str | None = None) -> int:
    """Put log lines (e.g. an Invocation's `logs`) into CloudWatch Logs, as Lambda does; the
    group and stream are created if needed. Returns the number of events put."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    events = [line for line in lines if line.strip()]
    stream = stream or time.strftime("%Y/%m/%d/[$LATEST]course")
    for create, kwargs in ((client.create_log_group, {"logGroupName": group}),
                           (client.create_log_stream, {"logGroupName": group,
                                                       "logStreamName": stream})):
        try:
            create(**kwargs)
        except client.exceptions.ResourceAlreadyExistsException:
            pass
    now = int(time.time() * 1000)
    for start in range(0, len(events), 1000):
        batch = events[start:start + 1000]
        client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now, "message": message} for message in batch])
    return len(events)


def search(client: Any, group: str, pattern: str = "", **kwargs: Any) -> list[dict[str, Any]]:
    """The events of `group` that `pattern` matches, as `filter_log_events` returns them in
    CloudWatch (every page read; the pattern applied here, since moto ignores most of them).
    Other keyword arguments (startTime, logStreamNames...) go to filter_log_events."""
    found: list[dict[str, Any]] = []
    for page in client.get_paginator("filter_log_events").paginate(logGroupName=group,
                                                                    **kwargs):
        found += [event for event in page.get("events", [])
                  if matches(pattern, event.get("message", ""))]
    return found
