"""Sample events: shaped like AWS's (Powertools' parser models and data classes accept them)."""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal
from urllib.parse import unquote_plus

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayProxyEvent,
    APIGatewayProxyEventV2,
    DynamoDBStreamEvent,
    EventBridgeEvent,
    S3Event,
    SQSEvent,
)
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    DynamoDBStreamModel,
    EventBridgeModel,
    S3Model,
    SqsModel,
)
from moto import mock_aws

from course.learner import events
from course.sandbox import REGION

# --- API Gateway REST (payload 1.0) ----------------------------------------------------------


def test_rest_get_has_aws_nulls_and_parses() -> None:
    event = events.api_gateway_rest("GET", "/users")
    model = APIGatewayProxyEventModel.model_validate(event)
    assert model.httpMethod == "GET" and model.path == "/users"
    for absent in ("body", "queryStringParameters", "multiValueQueryStringParameters",
                   "pathParameters", "stageVariables"):
        assert absent in event and event[absent] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["domainName"].endswith(f".execute-api.{REGION}.amazonaws.com")
    assert context["identity"]["sourceIp"] == events.SOURCE_IP
    assert context["path"] == "/prod/users" and context["stage"] == "prod"
    assert len(context["requestId"]) == 36
    assert event["multiValueHeaders"]["Host"] == [event["headers"]["Host"]]


def test_rest_overrides_and_data_class() -> None:
    event = events.api_gateway_rest(
        "post", "/users/42", {"name": "Ada"}, headers={"x-api-key": "k", "Accept": "text/csv"},
        query={"limit": 5, "tag": ["a", "b"]}, path_parameters={"id": "42"},
        request_id="req-1", stage="dev")
    APIGatewayProxyEventModel.model_validate(event)
    proxy = APIGatewayProxyEvent(event)
    assert proxy.http_method == "POST"
    assert proxy.json_body == {"name": "Ada"}
    assert proxy.headers["Content-Type"] == "application/json"
    assert proxy.headers["x-api-key"] == "k"
    assert event["headers"]["Accept"] == "text/csv" and "accept" not in event["headers"]
    assert proxy.query_string_parameters == {"limit": "5", "tag": "b"}
    assert proxy.multi_value_query_string_parameters == {"limit": ["5"], "tag": ["a", "b"]}
    assert proxy.path_parameters == {"id": "42"}
    assert event["resource"] == "/users/{id}" == event["requestContext"]["resourcePath"]
    assert proxy.request_context.request_id == "req-1"
    assert event["requestContext"]["path"] == "/dev/users/42"


def test_rest_query_in_path_and_explicit_resource() -> None:
    event = events.api_gateway_rest("GET", "/files/a/b.txt?download=1",
                                    path_parameters={"proxy": "a/b.txt"})
    assert event["path"] == "/files/a/b.txt"
    assert event["queryStringParameters"] == {"download": "1"}
    assert event["resource"] == "/files/{proxy+}"
    assert events.api_gateway_rest(resource="/{proxy+}")["resource"] == "/{proxy+}"


@pytest.mark.parametrize("body", ["plain text", b"\x89PNG\r\n\x1a\n\x00binary", {"a": [1, 2]}])
def test_rest_base64_round_trip(body: object) -> None:
    event = events.api_gateway_rest("POST", "/upload", body, base64=True)
    APIGatewayProxyEventModel.model_validate(event)
    assert event["isBase64Encoded"] is True
    decoded = base64.b64decode(event["body"])
    expected = json.dumps(body).encode() if isinstance(body, dict) else (
        body if isinstance(body, bytes) else body.encode())
    assert decoded == expected
    if not isinstance(body, bytes):  # Powertools' decoded_body assumes UTF-8 text
        assert APIGatewayProxyEvent(event).decoded_body == decoded.decode()


def test_binary_body_without_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="base64=True"):
        events.api_gateway_rest("POST", "/", b"\xff\xfe")


# --- API Gateway HTTP API (payload 2.0) ------------------------------------------------------


def test_http_api_get_leaves_absent_parts_out() -> None:
    event = events.api_gateway_http()
    model = APIGatewayProxyEventV2Model.model_validate(event)
    assert model.version == "2.0" and model.rawPath == "/" and model.rawQueryString == ""
    for absent in ("body", "queryStringParameters", "pathParameters", "cookies",
                   "stageVariables"):
        assert absent not in event
    assert event["isBase64Encoded"] is False
    assert event["routeKey"] == "GET /" == event["requestContext"]["routeKey"]
    assert all(name == name.lower() for name in event["headers"])


def test_http_api_overrides_and_data_class() -> None:
    event = events.api_gateway_http(
        "PUT", "/users/7", {"name": "Grace"}, query={"tag": ["x", "y"], "v": 2},
        path_parameters={"user_id": 7}, cookies={"session": "abc"}, headers={"X-Trace": "t"},
        request_id="rid", stage="dev")
    APIGatewayProxyEventV2Model.model_validate(event)
    v2 = APIGatewayProxyEventV2(event)
    assert v2.request_context.http.method == "PUT"
    assert v2.request_context.http.source_ip == events.SOURCE_IP
    assert v2.raw_path == "/dev/users/7" == v2.request_context.http.path
    assert event["rawQueryString"] == "tag=x&tag=y&v=2"
    assert v2.query_string_parameters == {"tag": "x,y", "v": "2"}
    assert v2.path_parameters == {"user_id": "7"}
    assert v2.cookies == ["session=abc"]
    assert v2.json_body == {"name": "Grace"}
    assert event["headers"]["x-trace"] == "t"
    assert event["headers"]["content-type"] == "application/json"
    assert event["routeKey"] == "PUT /users/{user_id}"
    assert event["requestContext"]["requestId"] == "rid"


def test_http_api_base64() -> None:
    event = events.api_gateway_http("POST", "/img", b"\x00\x01\x02", base64=True)
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01\x02"
    assert event["headers"]["content-length"] == "3"


# --- SQS -------------------------------------------------------------------------------------


def test_sqs_records() -> None:
    event = events.sqs({"order_id": 1}, "plain", queue="orders")
    model = SqsModel.model_validate(event)
    assert len(model.Records) == 2
    first, second = event["Records"]
    assert first["body"] == '{"order_id": 1}' and second["body"] == "plain"
    assert first["md5OfBody"] == hashlib.md5(first["body"].encode()).hexdigest()
    assert first["eventSource"] == "aws:sqs" and first["awsRegion"] == REGION
    assert first["eventSourceARN"] == f"arn:aws:sqs:{REGION}:123456789012:orders"
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert first["messageAttributes"] == {} and "md5OfMessageAttributes" not in first
    assert first["messageId"] != second["messageId"]
    records = list(SQSEvent(event).records)
    assert records[0].json_body == {"order_id": 1}
    assert records[0].queue_url.endswith("/123456789012/orders")


def test_sqs_default_fifo_and_attributes() -> None:
    assert len(events.sqs()["Records"]) == 1
    event = events.sqs("a", queue="jobs.fifo", group_id="g1", receive_count=3,
                       message_attributes={"source": "web", "priority": 2, "blob": b"\x01"})
    SqsModel.model_validate(event)
    record = event["Records"][0]
    assert record["attributes"]["MessageGroupId"] == "g1"
    assert record["attributes"]["ApproximateReceiveCount"] == "3"
    assert len(record["attributes"]["SequenceNumber"]) == 20
    assert record["messageAttributes"]["priority"]["dataType"] == "Number"
    assert record["messageAttributes"]["blob"]["dataType"] == "Binary"
    assert SQSEvent(event).records.__next__().message_attributes["source"].string_value == "web"


def test_sqs_md5_of_attributes_matches_moto() -> None:
    attributes = {"source": "web", "priority": 2, "blob": b"\x01\x02"}
    ours = events.sqs("hello", message_attributes=attributes)["Records"][0]
    with mock_aws():
        client = boto3.client("sqs", region_name=REGION)
        url = client.create_queue(QueueName="orders")["QueueUrl"]
        sent = client.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes={
            "source": {"DataType": "String", "StringValue": "web"},
            "priority": {"DataType": "Number", "StringValue": "2"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        })
    assert ours["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert ours["md5OfBody"] == sent["MD5OfMessageBody"]


# --- S3 --------------------------------------------------------------------------------------


def test_s3_put_parses_and_encodes_the_key() -> None:
    event = events.s3_put("uploads/my file+1.csv", size=2048)
    S3Model.model_validate(event)
    record = event["Records"][0]
    raw_key = record["s3"]["object"]["key"]
    assert raw_key == "uploads/my+file%2B1.csv"
    assert unquote_plus(raw_key) == "uploads/my file+1.csv"
    assert S3Event(event).object_key == "uploads/my file+1.csv"
    assert record["eventName"] == "ObjectCreated:Put" and record["eventSource"] == "aws:s3"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::course-uploads"
    assert record["s3"]["object"]["size"] == 2048 and len(record["s3"]["object"]["eTag"]) == 32
    for name in ("userIdentity", "requestParameters", "responseElements"):
        assert record[name]
    assert record["s3"]["s3SchemaVersion"] == "1.0" and record["s3"]["configurationId"]


def test_s3_several_keys_and_delete() -> None:
    event = events.s3_put(keys=["a.csv", "dir/ü é.csv"], bucket="b", version_id="v1")
    S3Model.model_validate(event)
    keys = [r["s3"]["object"]["key"] for r in event["Records"]]
    assert keys == ["a.csv", "dir/%C3%BC+%C3%A9.csv"]
    sequencers = [r["s3"]["object"]["sequencer"] for r in event["Records"]]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 2
    assert event["Records"][0]["s3"]["object"]["versionId"] == "v1"
    deleted = events.s3_put("x.csv", event_name="ObjectRemoved:Delete")
    S3Model.model_validate(deleted)
    assert "size" not in deleted["Records"][0]["s3"]["object"]


# --- DynamoDB Streams ------------------------------------------------------------------------


def test_dynamodb_stream_changes() -> None:
    event = events.dynamodb_stream(
        ("INSERT", {"id": "u1", "name": "Ada", "age": 36}),
        ("MODIFY", {"id": "u1", "name": "Ada"}, {"id": "u1", "name": "Ada L.", "score": 4.5}),
        ("REMOVE", {"id": "u1", "name": "Ada L."}),
        table="users", removed_by_ttl=True)
    model = DynamoDBStreamModel.model_validate(event)
    assert [r.eventName for r in model.Records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = event["Records"]
    assert insert["dynamodb"]["Keys"] == {"id": {"S": "u1"}}
    assert insert["dynamodb"]["NewImage"]["age"] == {"N": "36"}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["NewImage"]["score"] == {"N": "4.5"}
    assert modify["dynamodb"]["OldImage"]["name"] == {"S": "Ada"}
    assert "NewImage" not in remove["dynamodb"]
    assert remove["userIdentity"]["principalId"] == "dynamodb.amazonaws.com"
    assert insert["eventSourceARN"].startswith(
        f"arn:aws:dynamodb:{REGION}:123456789012:table/users/stream/")
    assert insert["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
    assert numbers == sorted(numbers)
    assert model.Records[1].dynamodb.NewImage["score"] == Decimal("4.5")
    records = list(DynamoDBStreamEvent(event).records)
    assert records[0].dynamodb.new_image == {"id": "u1", "name": "Ada", "age": Decimal("36")}


def test_dynamodb_stream_keys_views_and_errors() -> None:
    event = events.dynamodb_stream(("INSERT", {"pk": "a", "sk": 1, "x": {1, 2}}),
                                   key=("pk", "sk"), view_type="KEYS_ONLY")
    DynamoDBStreamModel.model_validate(event)
    data = event["Records"][0]["dynamodb"]
    assert data["Keys"] == {"pk": {"S": "a"}, "sk": {"N": "1"}} and "NewImage" not in data
    assert len(events.dynamodb_stream()["Records"]) == 1
    with pytest.raises(ValueError, match="MODIFY"):
        events.dynamodb_stream(("MODIFY", {"id": "1"}))
    with pytest.raises(ValueError, match="key attribute"):
        events.dynamodb_stream(("INSERT", {"name": "no id"}))


# --- EventBridge -----------------------------------------------------------------------------


def test_eventbridge_scheduled() -> None:
    event = events.eventbridge_scheduled("nightly-report", time="2025-03-01T02:00:00Z")
    model = EventBridgeModel.model_validate(event)
    assert model.detail_type == "Scheduled Event" and model.source == "aws.events"
    assert event["resources"] == [f"arn:aws:events:{REGION}:123456789012:rule/nightly-report"]
    assert event["detail"] == {} and event["time"] == "2025-03-01T02:00:00Z"
    assert EventBridgeEvent(event).detail_type == "Scheduled Event"


def test_eventbridge_custom() -> None:
    event = events.eventbridge({"order_id": "o1"}, source="shop.orders", detail_type="Placed")
    EventBridgeModel.model_validate(event)
    assert EventBridgeEvent(event).detail == {"order_id": "o1"}
    assert event["detail-type"] == "Placed" and event["source"] == "shop.orders"


# --- every factory -----------------------------------------------------------------------------

FACTORIES = [events.api_gateway_rest, events.api_gateway_http, events.sqs, events.s3_put,
             events.dynamodb_stream, events.eventbridge_scheduled, events.eventbridge]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_fresh_independent_json_copies(factory) -> None:
    first, second = factory(), factory()
    assert first is not second
    json.dumps(first)  # plain JSON, as Lambda delivers it
    first.setdefault("Records", [{}])[0]["mutated"] = True
    first["extra"] = 1
    assert "extra" not in second and "mutated" not in json.dumps(second)
    assert "extra" not in factory()


def test_inputs_are_not_shared_with_the_event() -> None:
    headers = {"X-Custom": "1"}
    event = events.api_gateway_rest(headers=headers)
    event["headers"]["X-Custom"] = "changed"
    assert headers == {"X-Custom": "1"}
    detail = {"nested": {"a": 1}}
    bridged = events.eventbridge(detail)
    bridged["detail"]["nested"]["a"] = 2
    assert detail == {"nested": {"a": 1}}
    sqs_event = events.sqs("a", "b", message_attributes={"k": "v"})
    sqs_event["Records"][0]["messageAttributes"]["k"]["stringValue"] = "changed"
    assert sqs_event["Records"][1]["messageAttributes"]["k"]["stringValue"] == "v"


def test_module_documents_every_factory() -> None:
    for factory in FACTORIES:
        assert factory.__doc__ and factory.__name__ in events.__doc__
