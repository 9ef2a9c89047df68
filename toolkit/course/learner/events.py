"""Sample events shaped like the ones AWS sends to a Lambda function.

Every function returns a new dict (change it freely) for account 123456789012 in the course's
region, with simple keyword overrides:

- `api_gateway_rest(method, path, body, ...)`: API Gateway REST API, proxy integration (payload 1.0)
- `api_gateway_http(method, path, body, ...)`: API Gateway HTTP API (payload 2.0)
- `sqs(*bodies, queue=...)`: an SQS batch, one record per body
- `s3_put(key, bucket, size, keys=[...])`: S3 "ObjectCreated:Put" notifications
- `dynamodb_stream(*changes, table=...)`: DynamoDB Streams records (INSERT / MODIFY / REMOVE)
- `eventbridge_scheduled(rule)`: the "Scheduled Event" an EventBridge schedule rule sends
- `eventbridge(detail, source=..., detail_type=...)`: a custom EventBridge event

The awkward parts are kept: REST API events carry `null` for absent query strings, path
parameters and bodies while HTTP API events leave those keys out; bodies are strings (a dict
body is JSON-encoded) and base64-encoded when `isBase64Encoded` is true; S3 object keys arrive
URL-encoded (a space becomes "+"); DynamoDB images are in DynamoDB JSON ({"S": "..."}).
"""

from __future__ import annotations

import base64 as b64
import hashlib
import json
import secrets
import struct
import time as _time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

from course.sandbox import ACCOUNT_ID, REGION

__all__ = ["ACCOUNT_ID", "REGION", "api_gateway_http", "api_gateway_rest", "dynamodb_stream",
           "eventbridge", "eventbridge_scheduled", "s3_key_encode", "s3_put", "sqs"]

API_ID = "a1b2c3d4e5"
SOURCE_IP = "198.51.100.23"  # an address reserved for documentation
USER_AGENT = "curl/8.5.0"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Body = str | bytes | bytearray | dict | list | None


# --- shared helpers ------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC)


def _request_time(moment: datetime) -> str:
    """API Gateway's "09/Apr/2015:12:34:56 +0000" (month names independent of the locale)."""
    return (f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:"
            f"{moment:%H:%M:%S} +0000")


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso_ms(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _trace_id(moment: datetime) -> str:
    return f"Root=1-{int(moment.timestamp()):08x}-{secrets.token_hex(12)}"


def _encode_body(body: Body, base64: bool) -> tuple[str | None, bool, bool]:
    """(body string, isBase64Encoded, is JSON) the way API Gateway hands a body to Lambda."""
    if body is None:
        return None, False, False
    is_json = isinstance(body, (dict, list))
    if is_json:
        raw = json.dumps(body).encode()
    elif isinstance(body, (bytes, bytearray)):
        raw = bytes(body)
        if not base64:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("a binary body needs base64=True (API Gateway base64-encodes "
                                 "binary payloads)") from None
    else:
        raw = str(body).encode()
    if base64:
        return b64.b64encode(raw).decode("ascii"), True, is_json
    return raw.decode("utf-8"), False, is_json


def _split_query(path: str, query: Mapping[str, Any] | None) -> tuple[str, list[tuple[str, str]]]:
    """The path without "?...", and the query as (name, value) pairs in order."""
    pairs: list[tuple[str, str]] = []
    if "?" in path:
        path, _, raw = path.partition("?")
        pairs += parse_qsl(raw, keep_blank_values=True)
    for name, value in (query or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs += [(str(name), _text(item)) for item in values]
    return path or "/", pairs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _template(path: str, path_parameters: Mapping[str, str] | None) -> str:
    """"/users/42" with {"id": "42"} -> "/users/{id}" (a greedy "{proxy+}" for a value with "/")."""
    if not path_parameters:
        return path
    segments = path.split("/")
    remaining = {name: str(value) for name, value in path_parameters.items()}
    for name, value in list(remaining.items()):
        if "/" in value and path.endswith(value):
            head = path[: len(path) - len(value)]
            return _template(head, {k: v for k, v in remaining.items() if k != name}) + \
                "{" + name + "+}"
    for index, segment in enumerate(segments):
        for name, value in list(remaining.items()):
            if segment == value or segment == quote_plus(value):
                segments[index] = "{" + name + "}"
                del remaining[name]
                break
    return "/".join(segments)


def _merge_headers(defaults: dict[str, str], extra: Mapping[str, Any] | None,
                   lower: bool = False) -> dict[str, str]:
    headers = dict(defaults)
    for name, value in (extra or {}).items():
        for existing in [key for key in headers if key.lower() == str(name).lower()]:
            del headers[existing]
        headers[str(name).lower() if lower else str(name)] = _text(value)
    return headers


# --- API Gateway ---------------------------------------------------------------------------------

def api_gateway_rest(method: str = "GET", path: str = "/", body: Body = None, *,
                     headers: Mapping[str, Any] | None = None,
                     query: Mapping[str, Any] | None = None,
                     path_parameters: Mapping[str, Any] | None = None, base64: bool = False,
                     request_id: str | None = None, resource: str | None = None,
                     stage: str = "prod", source_ip: str = SOURCE_IP,
                     stage_variables: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload 1.0).

    body: a str, bytes, or a dict/list (JSON-encoded, with Content-Type application/json).
    query: {"limit": "5", "tag": ["a", "b"]} fills queryStringParameters (last value) and
    multiValueQueryStringParameters; "?limit=5" in the path works too. Absent parts are None,
    as AWS sends them. resource defaults to the path with path parameters as "{name}".
    """
    moment = _now()
    method = method.upper()
    path, pairs = _split_query(path, query)
    text, encoded, is_json = _encode_body(body, base64)
    host = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    defaults = {
        "Accept": "*/*",
        "Host": host,
        "User-Agent": USER_AGENT,
        "X-Amzn-Trace-Id": _trace_id(moment),
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if is_json:
        defaults["Content-Type"] = "application/json"
    all_headers = _merge_headers(defaults, headers)
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    params = {str(k): _text(v) for k, v in path_parameters.items()} if path_parameters else None
    resource = resource or _template(path, params)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": single or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": params,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": API_ID,
            "extendedRequestId": b64.b64encode(secrets.token_bytes(10)).decode()[:15] + "=",
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": all_headers.get("User-Agent", USER_AGENT),
                "userArn": None,
            },
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id or str(uuid.uuid4()),
            "requestTime": _request_time(moment),
            "requestTimeEpoch": _epoch_ms(moment),
            "resourceId": secrets.token_hex(3),
            "resourcePath": resource,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def api_gateway_http(method: str = "GET", path: str = "/", body: Body = None, *,
                     headers: Mapping[str, Any] | None = None,
                     query: Mapping[str, Any] | None = None,
                     path_parameters: Mapping[str, Any] | None = None,
                     cookies: Iterable[str] | Mapping[str, str] | None = None,
                     base64: bool = False, request_id: str | None = None,
                     route_key: str | None = None, stage: str = "$default",
                     source_ip: str = SOURCE_IP,
                     stage_variables: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload 2.0).

    Header names are lower-case, repeated query values are joined with commas, cookies come in
    their own list, and absent parts (query, path parameters, body, cookies) are left out.
    route_key defaults to "METHOD /path/{param}"; use "$default" for a catch-all route.
    """
    moment = _now()
    method = method.upper()
    path, pairs = _split_query(path, query)
    text, encoded, is_json = _encode_body(body, base64)
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    host = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    defaults = {"accept": "*/*"}
    if text is not None:
        defaults["content-length"] = str(len(b64.b64decode(text) if encoded else text.encode()))
    if is_json:
        defaults["content-type"] = "application/json"
    defaults.update({
        "host": host,
        "user-agent": USER_AGENT,
        "x-amzn-trace-id": _trace_id(moment),
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    })
    all_headers = _merge_headers(defaults, headers, lower=True)
    params = {str(k): _text(v) for k, v in path_parameters.items()} if path_parameters else None
    route_key = route_key or f"{method} {_template(path, params)}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": urlencode(pairs),
    }
    if cookies:
        items = cookies.items() if isinstance(cookies, Mapping) else None
        event["cookies"] = [f"{k}={v}" for k, v in items] if items else list(cookies)
    event["headers"] = all_headers
    if pairs:
        joined: dict[str, str] = {}
        for name, value in pairs:
            joined[name] = f"{joined[name]},{value}" if name in joined else value
        event["queryStringParameters"] = joined
    if params:
        event["pathParameters"] = params
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": API_ID,
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": all_headers.get("user-agent", USER_AGENT),
        },
        "requestId": request_id or b64.b64encode(secrets.token_bytes(11)).decode()[:15] + "=",
        "routeKey": route_key,
        "stage": stage,
        "time": _request_time(moment),
        "timeEpoch": _epoch_ms(moment),
    }
    if text is not None:
        event["body"] = text
    event["isBase64Encoded"] = encoded
    return event


# --- SQS -----------------------------------------------------------------------------------------

def _sqs_attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping) and "dataType" in value:
        return {"stringListValues": [], "binaryListValues": [], **value}
    if isinstance(value, (bytes, bytearray)):
        return {"binaryValue": b64.b64encode(bytes(value)).decode(), "stringListValues": [],
                "binaryListValues": [], "dataType": "Binary"}
    kind = "Number" if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) \
        else "String"
    return {"stringValue": _text(value), "stringListValues": [], "binaryListValues": [],
            "dataType": kind}


def _md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5OfMessageAttributes: length-prefixed name, type and value, sorted by name."""
    def field(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    buffer = b""
    for name in sorted(attributes):
        attribute = attributes[name]
        buffer += field(name.encode()) + field(attribute["dataType"].encode())
        if attribute.get("binaryValue") is not None:
            buffer += b"\x02" + field(b64.b64decode(attribute["binaryValue"]))
        else:
            buffer += b"\x01" + field(attribute["stringValue"].encode())
    return hashlib.md5(buffer).hexdigest()


def sqs(*bodies: Any, queue: str = "orders",
        message_attributes: Mapping[str, Any] | None = None, receive_count: int = 1,
        group_id: str | None = None) -> dict[str, Any]:
    """An SQS batch as Lambda's event source mapping delivers it: one record per body.

    A dict/list body is JSON-encoded (SQS bodies are strings). message_attributes
    ({"source": "web", "priority": 2}) go on every message as String/Number/Binary attributes.
    A queue named "*.fifo" adds MessageGroupId, MessageDeduplicationId and SequenceNumber.
    With no bodies, one sample order.
    """
    if not bodies:
        bodies = ({"order_id": "o-1001", "item": "notebook", "quantity": 1},)
    attributes = {str(k): _sqs_attribute(v) for k, v in (message_attributes or {}).items()}
    fifo = queue.endswith(".fifo")
    sent = int(_time.time() * 1000) - 25
    sequence = int(_time.time() * 1e6) * 1000
    records = []
    for index, body in enumerate(bodies):
        if isinstance(body, (bytes, bytearray)):
            text = bytes(body).decode("utf-8")
        elif isinstance(body, str):
            text = body
        else:
            text = json.dumps(body)
        record_attributes = {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent + index),
            "SenderId": "AROAEXAMPLEROLEID1234:course-producer",
            "ApproximateFirstReceiveTimestamp": str(sent + index + 18),
        }
        if fifo:
            record_attributes["SequenceNumber"] = f"{sequence + index:020d}"
            record_attributes["MessageGroupId"] = group_id or "default"
            record_attributes["MessageDeduplicationId"] = hashlib.sha256(text.encode()).hexdigest()
        record: dict[str, Any] = {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "AQEB" + b64.b64encode(secrets.token_bytes(96)).decode(),
            "body": text,
            "attributes": record_attributes,
            "messageAttributes": json.loads(json.dumps(attributes)),  # a copy per record
            "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
        }
        if attributes:
            record["md5OfMessageAttributes"] = _md5_of_attributes(attributes)
        record.update({
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}",
            "awsRegion": REGION,
        })
        records.append(record)
    return {"Records": records}


# --- S3 ------------------------------------------------------------------------------------------

def s3_key_encode(key: str) -> str:
    """Encode an object key as S3 notifications do: space -> "+", "/" kept, others %XX."""
    return quote_plus(key, safe="/")


def s3_put(key: str = "uploads/my file.csv", bucket: str = "course-uploads", size: int = 1024,
           *, keys: Iterable[str] | None = None, etag: str | None = None,
           version_id: str | None = None,
           event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    """S3 event notification records, one per key (`keys=[...]`, else `key`).

    The key arrives URL-encoded like in a real notification ("uploads/my+file.csv"): decode it
    with urllib.parse.unquote_plus before calling S3. eTag defaults to a made-up MD5.
    For "ObjectRemoved:*" events size and eTag are left out, as S3 does.
    """
    moment = _now()
    removed = event_name.startswith("ObjectRemoved")
    sequencer = int(moment.timestamp() * 1e6) * 256
    records = []
    for index, object_key in enumerate(list(keys) if keys is not None else [key]):
        s3_object: dict[str, Any] = {"key": s3_key_encode(object_key)}
        if not removed:
            s3_object["size"] = size
            s3_object["eTag"] = etag or hashlib.md5(
                f"{bucket}/{object_key}:{size}".encode()).hexdigest()
        if version_id is not None:
            s3_object["versionId"] = version_id
        s3_object["sequencer"] = f"{sequencer + index:018X}"
        records.append({
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": _iso_ms(moment),
            "eventName": event_name,
            "userIdentity": {"principalId": "AWS:AROAEXAMPLEROLEID1234:course-uploader"},
            "requestParameters": {"sourceIPAddress": SOURCE_IP},
            "responseElements": {
                "x-amz-request-id": secrets.token_hex(8).upper(),
                "x-amz-id-2": b64.b64encode(secrets.token_bytes(57)).decode(),
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "course-object-events",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": {"principalId": "A3EXAMPLEOWNERID"},
                    "arn": f"arn:aws:s3:::{bucket}",
                },
                "object": s3_object,
            },
        })
    return {"Records": records}


# --- DynamoDB Streams ----------------------------------------------------------------------------

_STREAM_LABEL = "2025-01-01T00:00:00.000"


def _decimals(value: Any) -> Any:
    """Floats are not allowed in DynamoDB JSON (boto3 wants Decimal): convert them."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _dynamodb_json(item: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer  # boto3 loads only when a stream is built

    serializer = TypeSerializer()
    return {name: serializer.serialize(_decimals(value)) for name, value in item.items()}


def dynamodb_stream(*changes: tuple[Any, ...], table: str = "users",
                    key: str | tuple[str, ...] = "id",
                    view_type: str = "NEW_AND_OLD_IMAGES",
                    removed_by_ttl: bool = False) -> dict[str, Any]:
    """DynamoDB Streams records in DynamoDB JSON.

    Each change is ("INSERT", new_item), ("MODIFY", old_item, new_item) or ("REMOVE", old_item),
    items as plain dicts (floats become Decimal). key names the key attribute(s) of the table.
    view_type chooses which images appear (Keys always do); removed_by_ttl marks REMOVE records
    as deleted by Time To Live. With no changes, one INSERT of a sample user.
    """
    if not changes:
        changes = (("INSERT", {"id": "u-1001", "name": "Ada Lovelace",
                               "email": "ada@example.com"}),)
    key_names = (key,) if isinstance(key, str) else tuple(key)
    moment = int(_time.time())
    sequence = 100000000000000000000 + int(_time.time() * 1000) * 1000
    records = []
    for index, change in enumerate(changes):
        kind = str(change[0]).upper() if change else ""
        expected = {"INSERT": 2, "MODIFY": 3, "REMOVE": 2}.get(kind)
        if expected is None or len(change) != expected:
            raise ValueError('a change is ("INSERT", new), ("MODIFY", old, new) or '
                             f'("REMOVE", old), not {change!r}')
        old = change[1] if kind != "INSERT" else None
        new = change[-1] if kind != "REMOVE" else None
        source = new if new is not None else old
        assert source is not None
        missing = [name for name in key_names if name not in source]
        if missing:
            raise ValueError(f"the item has no key attribute {missing} (key={key!r}): {source!r}")
        record_data: dict[str, Any] = {
            "ApproximateCreationDateTime": moment,
            "Keys": _dynamodb_json({name: source[name] for name in key_names}),
        }
        if new is not None and view_type in ("NEW_AND_OLD_IMAGES", "NEW_IMAGE"):
            record_data["NewImage"] = _dynamodb_json(new)
        if old is not None and view_type in ("NEW_AND_OLD_IMAGES", "OLD_IMAGE"):
            record_data["OldImage"] = _dynamodb_json(old)
        size = len(json.dumps(record_data, separators=(",", ":"))) // 2
        record_data.update({"SequenceNumber": str(sequence + index * 100),
                            "SizeBytes": size, "StreamViewType": view_type})
        record: dict[str, Any] = {
            "eventID": secrets.token_hex(16),
            "eventName": kind,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": record_data,
            "eventSourceARN": (f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}"
                               f"/stream/{_STREAM_LABEL}"),
        }
        if kind == "REMOVE" and removed_by_ttl:
            record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        records.append(record)
    return {"Records": records}


# --- EventBridge ---------------------------------------------------------------------------------

def _event_time(moment: datetime | str | None) -> str:
    if isinstance(moment, str):
        return moment
    return (moment or _now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def eventbridge_scheduled(rule: str = "course-schedule", *,
                          time: datetime | str | None = None) -> dict[str, Any]:
    """The event an EventBridge schedule rule (rate(...) / cron(...)) sends: detail is {}."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": _event_time(time),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


def eventbridge(detail: Mapping[str, Any] | None = None, *, source: str = "course.orders",
                detail_type: str = "OrderPlaced", resources: Iterable[str] = (),
                time: datetime | str | None = None) -> dict[str, Any]:
    """A custom event put on an EventBridge bus (PutEvents) and delivered by a rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": _event_time(time),
        "region": REGION,
        "resources": list(resources),
        "detail": json.loads(json.dumps(dict(detail or {}), default=str)),
    }
