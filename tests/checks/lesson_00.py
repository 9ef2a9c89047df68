"""Hidden tests for lesson 00 (Welcome). Messages are written for the learner."""

from __future__ import annotations

import json

from course.checks import Project, exercise

# --- 0.1 ---------------------------------------------------------------------------------

ex01 = exercise("0.1", "An API Gateway proxy response", files=["src/utils/helpers.py"])


def _json_response(project: Project):
    return project.function("utils.helpers", "json_response")


def _response(project: Project, *args, **kwargs) -> dict:
    response = _json_response(project)(*args, **kwargs)
    assert isinstance(response, dict), (
        f"json_response returned a {type(response).__name__}; API Gateway needs a dict")
    return response


@ex01.behaviour("returns a dict with statusCode, headers and body",
                hint="A proxy response is a dict with exactly these three keys.")
def _(project: Project) -> None:
    response = _response(project, 200, {"ok": True})
    missing = {"statusCode", "headers", "body"} - set(response)
    assert not missing, f"the response has no {', '.join(sorted(missing))} key"


@ex01.behaviour("statusCode is the number it was given",
                hint="Use the status_code argument as it is: an int, not a string.")
def _(project: Project) -> None:
    for status in (200, 201, 404):
        got = _response(project, status, {})["statusCode"]
        assert got == status and isinstance(got, int), (
            f"json_response({status}, ...) gave statusCode {got!r}; expected the int {status}")


@ex01.behaviour("body is the data as a JSON string",
                hint="API Gateway sends the body as text: json.dumps(body).")
def _(project: Project) -> None:
    data = {"users": [{"id": "1", "name": "Zoë"}], "count": 1}
    body = _response(project, 200, data)["body"]
    assert isinstance(body, str), f"body is a {type(body).__name__}; it must be a JSON string"
    try:
        decoded = json.loads(body)
    except ValueError:
        raise AssertionError("body is a string but not valid JSON") from None
    assert decoded == data, "body does not decode back to the data you were given"


@ex01.behaviour("says Content-Type: application/json",
                hint="headers should contain {'Content-Type': 'application/json'}.")
def _(project: Project) -> None:
    headers = _response(project, 200, {})["headers"]
    assert isinstance(headers, dict), "headers must be a dict"
    assert headers.get("Content-Type") == "application/json", (
        f"the Content-Type header is {headers.get('Content-Type')!r}")


@ex01.behaviour("adds extra headers and keeps Content-Type",
                hint="Merge the defaults and the extra headers into a new dict: {**a, **b}.")
def _(project: Project) -> None:
    headers = _response(project, 200, {}, headers={"Cache-Control": "no-store"})["headers"]
    assert headers.get("Cache-Control") == "no-store", "the extra header is missing"
    assert headers.get("Content-Type") == "application/json", (
        "with extra headers, Content-Type went missing")


@ex01.behaviour("never changes headers shared between calls",
                hint="A warm Lambda keeps module-level dicts between requests. Build a new "
                     "headers dict each call instead of updating a shared or given one.")
def _(project: Project) -> None:
    extra = {"Cache-Control": "no-store"}
    _response(project, 200, {}, headers=extra)
    assert extra == {"Cache-Control": "no-store"}, "json_response changed the dict it was given"
    _response(project, 200, {}, headers={"X-Request": "first"})
    later = _response(project, 200, {})["headers"]
    assert "X-Request" not in later, (
        "headers from an earlier call leaked into a later response: a shared dict was updated")


# --- 0.2 ---------------------------------------------------------------------------------

ex02 = exercise("0.2", "A first boto3 call, against moto", files=["src/utils/s3_helpers.py"])
BUCKET = "course-warmup"


def _with_bucket(project: Project, keys: list[str], page_size: int | None = None) -> tuple:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    if page_size:  # make S3 answer in small pages, as it does past 1,000 keys
        s3.meta.events.register(
            "provide-client-params.s3.ListObjectsV2",
            lambda params, **_: params.update(MaxKeys=min(params.get("MaxKeys", page_size),
                                                          page_size)))
    return project.function("utils.s3_helpers", "list_keys"), s3


def _keys(result: object) -> list[str]:
    assert isinstance(result, list), f"list_keys returned a {type(result).__name__}, not a list"
    assert all(isinstance(k, str) for k in result), "list_keys must return the keys as strings"
    return result


@ex02.behaviour("returns [] for an empty bucket",
                hint="An empty listing has no 'Contents' key at all: use .get('Contents', []).")
def _(project: Project) -> None:
    from moto import mock_aws

    with mock_aws():
        list_keys, s3 = _with_bucket(project, [])
        assert _keys(list_keys(s3, BUCKET)) == [], "an empty bucket should give []"


@ex02.behaviour("returns the key of every object",
                hint="Each item of response['Contents'] has a 'Key'.")
def _(project: Project) -> None:
    from moto import mock_aws

    keys = ["a.txt", "docs/b.csv", "docs/c d.csv"]
    with mock_aws():
        list_keys, s3 = _with_bucket(project, keys)
        got = _keys(list_keys(s3, BUCKET))
        assert sorted(got) == sorted(keys), f"expected the 3 keys of the bucket, got {got}"


@ex02.behaviour("only returns keys under the prefix",
                hint="list_objects_v2 takes Prefix=...; pass the prefix argument through.")
def _(project: Project) -> None:
    from moto import mock_aws

    with mock_aws():
        list_keys, s3 = _with_bucket(project, ["a.txt", "docs/b.csv", "docs/c.csv"])
        got = _keys(list_keys(s3, BUCKET, prefix="docs/"))
        assert sorted(got) == ["docs/b.csv", "docs/c.csv"], (
            f"with prefix='docs/' expected the two docs/ keys, got {got}")


@ex02.behaviour("returns every key when the listing takes several pages",
                hint="One call returns at most one page (1,000 keys). Use "
                     "s3_client.get_paginator('list_objects_v2') and loop over its pages.")
def _(project: Project) -> None:
    from moto import mock_aws

    keys = [f"logs/{i:03}.json" for i in range(23)]
    with mock_aws():
        list_keys, s3 = _with_bucket(project, keys, page_size=5)
        got = _keys(list_keys(s3, BUCKET))
        assert sorted(got) == keys, (
            f"the bucket holds {len(keys)} keys in pages of 5; list_keys returned {len(got)}")


# --- 0.3 ---------------------------------------------------------------------------------

ex03 = exercise("0.3", "A first handler, invoked like Lambda", files=["src/handlers/hello.py"])


def _hello(project: Project, event: dict) -> dict:
    response = project.function("handlers.hello", "lambda_handler")(event, None)
    assert isinstance(response, dict), (
        f"lambda_handler returned a {type(response).__name__}; return a proxy response dict")
    assert response.get("statusCode") == 200, f"statusCode is {response.get('statusCode')!r}"
    try:
        return json.loads(response.get("body") or "null")
    except (TypeError, ValueError):
        raise AssertionError("the body is not a JSON string: use json_response") from None


@ex03.behaviour("greets the name in the query string (REST API event)",
                hint="The name is in event['queryStringParameters']['name'].")
def _(project: Project) -> None:
    from course import events

    body = _hello(project, events.api_gateway_rest("GET", "/hello", query={"name": "Ada"}))
    assert body == {"message": "Hello, Ada!"}, f"for ?name=Ada the body was {body}"


@ex03.behaviour("says Hello, world! without a query string",
                hint="Without a query string API Gateway sends queryStringParameters: None "
                     "(not {}): `event.get('queryStringParameters') or {}` covers both.")
def _(project: Project) -> None:
    from course import events

    body = _hello(project, events.api_gateway_rest("GET", "/hello"))
    assert body == {"message": "Hello, world!"}, f"without a name the body was {body}"


@ex03.behaviour("works with an HTTP API (v2) event too",
                hint="HTTP API events also carry queryStringParameters, but leave it out "
                     "entirely when there is none.")
def _(project: Project) -> None:
    from course import events

    body = _hello(project, events.api_gateway_http("GET", "/hello", query={"name": "Grace"}))
    assert body == {"message": "Hello, Grace!"}, f"for an HTTP API event the body was {body}"
    body = _hello(project, events.api_gateway_http("GET", "/hello"))
    assert body == {"message": "Hello, world!"}, (
        f"for an HTTP API event without a query string the body was {body}")
