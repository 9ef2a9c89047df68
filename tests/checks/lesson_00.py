"""Hidden tests and questions for lesson 00 (Welcome). Messages are written for the learner."""

from __future__ import annotations

import json

from course.checks import Project, exercise, question

# --- questions ---------------------------------------------------------------------------

question(
    "0.a",
    "The Lambda console now labels your function an **Event function**. Which boto3 client "
    "and which Terraform resource manage it?",
    ["`boto3.client(\"lambda\")` and `aws_lambda_function`, as before",
     "`boto3.client(\"lambda-web\")` and a new Web Function resource",
     "Neither yet: Event Functions have no API of their own"],
    answer=0,
    why=["Only the name in the docs and the console changed. CreateFunction, Invoke, the SDKs, "
         "the CLI and the resource types still say *function*.",
         "That client manages Web Functions: HTTP servers listening on a port, Node.js only for "
         "now. A Python handler that receives an event is an Event Function.",
         "They are the original Lambda functions under a new name, so they keep the whole "
         "Lambda API."])

question(
    "0.b",
    "In this kernel, outside any `with mock_aws():` block, you run "
    "`boto3.client(\"s3\").list_buckets()`. What happens?",
    ["It lists the buckets of the AWS account in your `~/.aws` profile",
     "moto answers with an empty list of buckets",
     "The sandbox refuses the connection before anything leaves this machine"],
    answer=2,
    why=["`import course` ignores `~/.aws` and `AWS_PROFILE` and sets fake credentials. Your "
         "real account is never touched.",
         "moto answers only inside `mock_aws()`. Outside it, boto3 tries the real endpoint, and "
         "the sandbox blocks the attempt.",
         "The network guard lets connections through only to this machine, and AWS is not on "
         "it. The demo shows the error this gives."])

question(
    "0.c",
    "A handler module has `HEADERS = {\"Content-Type\": \"application/json\"}` at the top, and "
    "its handler runs `HEADERS.update(extra)` on each request. The first request passes "
    "`extra = {\"Set-Cookie\": \"session=alice\"}`. The next request comes from Bob, a warm "
    "call in the same process, with `extra = {}`. Which headers does Bob's response have?",
    ["Only Content-Type: each invocation starts from a fresh module",
     "Content-Type and Alice's Set-Cookie",
     "None: update() empties the dict"],
    answer=1,
    why=["Only a cold start imports the module again. A warm call reuses the process, and every "
         "module-level object in it keeps its state.",
         "The first request changed the module-level dict, and the warm call reused it. Bob now "
         "gets Alice's session cookie. That is why json_response builds a new dict on every call.",
         "update() adds keys and replaces existing ones; it never removes any."])

question(
    "0.d",
    "A bucket holds 2,500 objects. `s3.list_objects_v2(Bucket=...)` is called once, with no "
    "paginator. How many keys are in the response?",
    ["1,000, and IsTruncated is True", "2,500", "0: large listings need a paginator"],
    answer=0,
    why=["The call returns one page of up to 1,000 keys with `IsTruncated: True`. The keys after "
         "that are never read unless you follow `NextContinuationToken`, which the paginator "
         "does for you.",
         "A single call returns one page, and a page holds at most 1,000 keys.",
         "The first page always comes back. Only the following pages need another call."])

question(
    "0.e",
    "`event = events.api_gateway_rest(\"GET\", \"/hello\")` has no query string. What does "
    "`event.get(\"queryStringParameters\", {}).get(\"name\")` do?",
    ["Returns None: there is no name", "Returns {}", "Raises AttributeError: 'NoneType' object "
     "has no attribute 'get'"],
    answer=2,
    why=["It would if the key were missing. Here the key is present and holds None, so the "
         "default {} is never used.",
         "The default {} is used only when the key is missing, and then the second .get() "
         "returns None, not {}.",
         "The key is present and holds None, so the first .get() returns None, and None has no "
         ".get(). A missing key and a None value both need handling, which exercise 0.3 asks "
         "for."])

question(
    "0.f",
    "You call `invoke()` twice in a row: the first call is a cold start, the second is warm. "
    "Which REPORT line has an **Init Duration**?",
    ["Both of them", "Only the second (warm) one", "Only the first (cold) one"],
    answer=2,
    why=["A warm call reuses a process that already imported your module. There is no INIT "
         "phase to report.",
         "The warm call is the one that skips INIT.",
         "INIT (starting Python and importing your module) happens once per execution "
         "environment. Since August 2025 it is billed for zip functions on managed runtimes."])

# --- 0.1 ---------------------------------------------------------------------------------

ex01 = exercise("0.1", "An API Gateway proxy response", files=["src/utils/helpers.py"])


def _json_response(project: Project):
    return project.function("utils.helpers", "json_response")


def _response(project: Project, *args, **kwargs) -> dict:
    response = _json_response(project)(*args, **kwargs)
    assert isinstance(response, dict), (
        f"json_response returned a {type(response).__name__}; API Gateway needs a dict")
    return response


def _headers(response: dict, call: str) -> dict:
    headers = response.get("headers")
    assert isinstance(headers, dict), (
        f"{call} has no headers dict (got {type(headers).__name__}): a proxy response carries "
        "its headers as a dict of name to value")
    return headers


def _header(headers: dict, name: str, call: str) -> object:
    """The value of header `name`, compared case-insensitively as HTTP does (None if absent)."""
    values = [v for k, v in headers.items() if str(k).lower() == name.lower()]
    assert len(values) <= 1, (
        f"{call} has {len(values)} headers called {name} (in different cases): a client "
        "would pick one of them at random")
    return values[0] if values else None


def _is_json_type(value: object) -> bool:
    return isinstance(value, str) and value.split(";")[0].strip().lower() == "application/json"


@ex01.behaviour("returns a dict with statusCode, headers and body",
                hint=["Exercise 0.1 shows the dict a proxy integration must return.",
                      "Its three keys are spelled exactly as in the example: statusCode is "
                      "camelCase."])
def _(project: Project) -> None:
    response = _response(project, 200, {"ok": True})
    missing = {"statusCode", "headers", "body"} - set(response)
    assert not missing, f"the response has no {', '.join(sorted(missing))} key"


@ex01.behaviour("statusCode is the number it was given",
                hint=["API Gateway reads statusCode as a number: the one json_response was "
                      "called with.",
                      "Use the status_code argument as it is: neither a string nor a fixed "
                      "200."])
def _(project: Project) -> None:
    for status in (200, 201, 404, 500):
        got = _response(project, status, {})["statusCode"]
        assert got == status and isinstance(got, int), (
            f"json_response({status}, ...) gave statusCode {got!r}; expected the int {status}")


@ex01.behaviour("body is the data as a JSON string",
                hint=["Exercise 0.1: the body is JSON *text*, whatever the data is (a dict, a "
                      "list, even an empty one).",
                      "The json module turns any of these into a JSON string. Encode exactly "
                      "the value given, with no default in place of an empty one."])
def _(project: Project) -> None:
    cases = [{"users": [{"id": "1", "name": "Zoë"}], "count": 1}, [{"id": "1"}], [], {},
             "created"]
    for data in cases:
        body = _response(project, 200, data)["body"]
        assert isinstance(body, str), (
            f"for the data {data!r} the body is a {type(body).__name__}; it must be a JSON "
            "string")
        try:
            decoded = json.loads(body)
        except ValueError:
            raise AssertionError(
                f"for the data {data!r} the body is a string but not valid JSON: "
                f"{body[:60]!r}") from None
        assert decoded == data and type(decoded) is type(data), (
            f"for the data {data!r} the body decodes to {decoded!r}: a client reading an empty "
            "list must get an empty list back")


@ex01.behaviour("says Content-Type: application/json",
                hint=["Exercise 0.1: every response carries a Content-Type header saying the "
                      "body is JSON.",
                      "Look at the JSON_HEADERS constant in the cell: the response's headers "
                      "start from it."])
def _(project: Project) -> None:
    headers = _headers(_response(project, 200, {}), "json_response(200, {})")
    value = _header(headers, "Content-Type", "json_response(200, {})")
    assert _is_json_type(value), (
        f"the Content-Type header is {value!r}; without 'application/json' clients treat the "
        "body as plain text")


@ex01.behaviour("adds extra headers and keeps Content-Type unless the caller sets it",
                hint=["Exercise 0.1: extra headers come on top of the defaults, not instead of "
                      "them, and a caller may send its own Content-Type (application/problem+json "
                      "with an error, say).",
                      "The response's headers hold every default and every extra one. When both "
                      "name the same header, the order in which you combine them decides which "
                      "value it keeps: the caller's must win."])
def _(project: Project) -> None:
    call = "json_response(200, {}, headers={'Cache-Control': 'no-store', 'Location': '/u/42'})"
    headers = _headers(_response(project, 200, {}, headers={"Cache-Control": "no-store",
                                                            "Location": "/u/42"}), call)
    for name, value in (("Cache-Control", "no-store"), ("Location", "/u/42")):
        assert _header(headers, name, call) == value, f"for {call} the {name} header is missing"
    assert _is_json_type(_header(headers, "Content-Type", call)), (
        f"for {call} Content-Type went missing: the extras replaced the defaults")
    call = "json_response(400, {...}, headers={'Content-Type': 'application/problem+json'})"
    headers = _headers(_response(project, 400, {"title": "Bad request"},
                                 headers={"Content-Type": "application/problem+json"}), call)
    value = _header(headers, "Content-Type", call)
    assert value == "application/problem+json", (
        f"for {call} the Content-Type is {value!r}: the default overrode the caller's header")


@ex01.behaviour("never changes headers shared between calls",
                hint=["Lesson 00, section 3 and question 0.c: a warm Lambda keeps module-level "
                      "objects between requests, so one request's headers can leak into the "
                      "next.",
                      "Each call needs a headers dict of its own. Never change JSON_HEADERS, "
                      "never change the dict you were given, and never return either of them "
                      "as the response's headers."])
def _(project: Project) -> None:
    extra = {"Cache-Control": "no-store"}
    _response(project, 200, {}, headers=extra)
    assert extra == {"Cache-Control": "no-store"}, "json_response changed the dict it was given"
    _response(project, 200, {}, headers={"X-Request": "first"})
    later = _response(project, 200, {})
    assert _header(_headers(later, "a later call"), "X-Request", "a later call") is None, (
        "headers from an earlier call leaked into a later response: a shared dict was updated")
    first = _response(project, 200, {})
    _headers(first, "json_response(200, {})")["Set-Cookie"] = "session=alice"
    second = _response(project, 200, {})
    assert _header(_headers(second, "the next call"), "Set-Cookie", "the next call") is None, (
        "a header added to one response's headers (as a handler might add a cookie) showed up "
        "in the next response: both share one dict. Give every response its own")


# --- 0.2 ---------------------------------------------------------------------------------

ex02 = exercise("0.2", "A first boto3 call, against moto", files=["src/utils/s3_helpers.py"])
BUCKET = "course-warmup"


def _small_pages(page_size: int) -> None:
    """Make S3 answer every listing (v2 and the older v1) in pages of `page_size`, as it does
    past 1,000 keys, for every client made from boto3's default session from now on; and make
    v1 pages look like AWS's: without a Delimiter, S3 sends no NextMarker."""
    import boto3

    def cap(params: dict, **_: object) -> None:
        params["MaxKeys"] = min(params.get("MaxKeys", page_size), page_size)

    def like_aws(parsed: dict, **_: object) -> None:
        if isinstance(parsed, dict) and not parsed.get("Delimiter"):
            parsed.pop("NextMarker", None)

    events = boto3.DEFAULT_SESSION.events
    for operation in ("ListObjectsV2", "ListObjects"):
        events.register(f"provide-client-params.s3.{operation}", cap)
    events.register("after-call.s3.ListObjects", like_aws)


def _with_bucket(project: Project, keys: list[str], page_size: int | None = None) -> tuple:
    import boto3

    boto3.setup_default_session()
    if page_size:
        _small_pages(page_size)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    return project.function("utils.s3_helpers", "list_keys"), s3


def _keys(result: object) -> list[str]:
    assert isinstance(result, list), (
        f"list_keys returned a {type(result).__name__}, not a list: the caller may loop over "
        "it twice, or take its len()")
    assert all(isinstance(k, str) for k in result), "list_keys must return the keys as strings"
    return result


@ex02.behaviour("returns [] for an empty bucket",
                hint=["Exercise 0.2 warns about it: an empty listing's response has no "
                      "'Contents' key at all.",
                      "Read Contents in a way that gives an empty list when the key is "
                      "missing."])
def _(project: Project) -> None:
    from moto import mock_aws

    with mock_aws():
        list_keys, s3 = _with_bucket(project, [])
        assert _keys(list_keys(s3, BUCKET)) == [], "an empty bucket should give []"


@ex02.behaviour("returns the key of every object",
                hint=["Section 2's demo lists a bucket: each item of Contents describes one "
                      "object.",
                      "Return the 'Key' of each item, and make every call through the "
                      "s3_client argument, never a client of your own."])
def _(project: Project) -> None:
    from moto import mock_aws

    keys = ["a.txt", "docs/b.csv", "docs/c d.csv", "données/été+2026.json"]
    with mock_aws():
        list_keys, s3 = _with_bucket(project, keys)
        calls: list[str] = []
        s3.meta.events.register("before-call.s3",
                                lambda model, **_: calls.append(model.name))
        got = _keys(list_keys(s3, BUCKET))
        assert sorted(got) == sorted(keys), (
            f"expected the {len(keys)} keys of the bucket, got {got}")
        assert calls, (
            "list_keys never called S3 through the client it was given: it made its own. A "
            "function that uses the client it is given works with any account, region or "
            "test double its caller chooses")


@ex02.behaviour("only returns keys under the prefix, however deep",
                hint=["Exercise 0.2: every key that *starts with* the prefix, including keys "
                      "in deeper 'folders'.",
                      "list_objects_v2 takes a Prefix parameter. A key that merely contains "
                      "the prefix further along is not under it, and a Delimiter would hide "
                      "the deeper keys."])
def _(project: Project) -> None:
    from moto import mock_aws

    under = ["docs/b.csv", "docs/c.csv", "docs/2026/11/d.csv"]
    others = ["a.txt", "docs.txt", "archive/docs/old.csv"]
    with mock_aws():
        list_keys, s3 = _with_bucket(project, under + others)
        got = _keys(list_keys(s3, BUCKET, prefix="docs/"))
        assert sorted(got) == sorted(under), (
            f"with prefix='docs/' expected {sorted(under)}, got {sorted(got)}")


@ex02.behaviour("returns every key when the listing takes several pages",
                hint=["Exercise 0.2: one call returns one page; the rest of the listing needs "
                      "more calls.",
                      "boto3's paginators follow the pages for you (the exercise shows one). "
                      "Whichever way you page, every call needs the same Bucket and Prefix."])
def _(project: Project) -> None:
    from moto import mock_aws

    logs = [f"logs/{i:03}.json" for i in range(23)]
    other = [f"tmp/{i:03}.json" for i in range(9)]
    with mock_aws():
        list_keys, s3 = _with_bucket(project, logs + other, page_size=5)
        got = _keys(list_keys(s3, BUCKET))
        assert sorted(got) == sorted(logs + other), (
            f"the bucket holds {len(logs + other)} keys in pages of 5; list_keys returned "
            f"{len(got)} ({len(set(got))} different)")
        got = _keys(list_keys(s3, BUCKET, prefix="logs/"))
        assert sorted(got) == logs, (
            f"{len(logs)} keys start with 'logs/', in pages of 5; with that prefix list_keys "
            f"returned {len(got)}, {len(set(got) - set(logs))} of them from outside it")


def _many_keys(s3: object, count: int) -> list[str]:
    """`count` objects, put straight into moto's S3 store (1,000 API calls are slow)."""
    keys = [f"events/{i:05}.json" for i in range(count)]
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for key in keys:
            backend.put_object(BUCKET, key, b"x")
    except (ImportError, KeyError, AttributeError, TypeError):  # another moto: the slow way
        for key in keys:
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")  # type: ignore[attr-defined]
    return keys


@ex02.behaviour("returns every key past the first 1,000",
                hint=["Exercise 0.2: S3 answers at most 1,000 keys per call, and a bucket may "
                      "hold millions.",
                      "Stop only when the listing says there is nothing more, never at a count "
                      "you chose (MaxItems is a count too)."])
def _(project: Project) -> None:
    from moto import mock_aws

    with mock_aws():
        list_keys, s3 = _with_bucket(project, [])
        keys = _many_keys(s3, 1_203)
        got = _keys(list_keys(s3, BUCKET))
        assert sorted(got) == keys, (
            f"the bucket holds {len(keys)} keys, S3's pages hold 1,000; list_keys returned "
            f"{len(got)}")


# --- 0.3 ---------------------------------------------------------------------------------

ex03 = exercise("0.3", "A first handler, invoked like Lambda", files=["src/handlers/hello.py"])


def _call_hello(project: Project, event: dict) -> dict:
    response = project.function("handlers.hello", "lambda_handler")(event, None)
    assert isinstance(response, dict), (
        f"lambda_handler returned a {type(response).__name__}; return a proxy response dict")
    return response


def _hello(project: Project, event: dict, what: str) -> dict:
    response = _call_hello(project, event)
    assert response.get("statusCode") == 200, (
        f"for {what} the statusCode is {response.get('statusCode')!r}; expected 200")
    try:
        return json.loads(response.get("body") or "null")
    except (TypeError, ValueError):
        raise AssertionError(f"for {what} the body is not a JSON string") from None


@ex03.behaviour("answers 200 with a JSON body and Content-Type (your json_response)",
                hint=["Exercise 0.3 asks you to answer with your json_response from exercise "
                      "0.1.",
                      "Import it from utils.helpers, the name Lambda sees too, and return what "
                      "it builds."])
def _(project: Project) -> None:
    from course import events

    what = "GET /hello?name=Ada"
    response = _call_hello(project, events.api_gateway_rest("GET", "/hello",
                                                            query={"name": "Ada"}))
    assert response.get("statusCode") == 200, (
        f"for {what} the statusCode is {response.get('statusCode')!r}; expected 200")
    headers = response.get("headers")
    assert isinstance(headers, dict), f"for {what} the response has no headers dict"
    content_type = {str(k).lower(): v for k, v in headers.items()}.get("content-type")
    assert _is_json_type(content_type), (
        f"for {what} the Content-Type header is {content_type!r}; expected application/json")
    assert isinstance(response.get("body"), str), (
        f"for {what} the body is a {type(response.get('body')).__name__}, not a JSON string")


@ex03.behaviour("greets the name in the query string (REST API event)",
                hint=["Exercise 0.3: look at the event the cell above it prints. The name "
                      "arrives in queryStringParameters.",
                      "Greet it exactly as it arrives: the check sends names with capitals and "
                      "spaces."])
def _(project: Project) -> None:
    from course import events

    for name in ("Ada", "Grace Hopper"):
        what = f"?name={name}"
        body = _hello(project, events.api_gateway_rest("GET", "/hello", query={"name": name}),
                      what)
        assert body == {"message": f"Hello, {name}!"}, f"for {what} the body was {body}"


@ex03.behaviour("says Hello, world! without a name, on every call",
                hint=["Exercise 0.3 shows it: without a query string API Gateway sends "
                      "queryStringParameters: None, not {}; and ?name= sends an empty name.",
                      "Fall back to 'world' for a missing dict, a missing name and an empty "
                      "one. Keep nothing from one request for the next: a warm Lambda reuses "
                      "module-level objects."])
def _(project: Project) -> None:
    from course import events

    cases = [("a request without a query string", events.api_gateway_rest("GET", "/hello")),
             ("?name= (an empty name)", events.api_gateway_rest("GET", "/hello",
                                                                query={"name": ""})),
             ("?lang=fr (another parameter)", events.api_gateway_rest("GET", "/hello",
                                                                      query={"lang": "fr"}))]
    _hello(project, events.api_gateway_rest("GET", "/hello", query={"name": "Ada"}), "?name=Ada")
    for what, event in cases:  # each a warm call after Ada's
        body = _hello(project, event, what)
        assert body == {"message": "Hello, world!"}, (
            f"for {what}, right after a request for Ada, the body was {body}")


@ex03.behaviour("works with an HTTP API (v2) event too",
                hint=["Exercise 0.3: HTTP API (v2) events carry queryStringParameters too, but "
                      "leave the key out entirely when there is no query string.",
                      "Read the key in a way that works when it is missing, None or a dict."])
def _(project: Project) -> None:
    from course import events

    body = _hello(project, events.api_gateway_http("GET", "/hello", query={"name": "Grace"}),
                  "an HTTP API request with ?name=Grace")
    assert body == {"message": "Hello, Grace!"}, f"for an HTTP API event the body was {body}"
    body = _hello(project, events.api_gateway_http("GET", "/hello"),
                  "an HTTP API request without a query string")
    assert body == {"message": "Hello, world!"}, (
        f"for an HTTP API event without a query string the body was {body}")
