import json

from handlers.api_handler import lambda_handler


def test_success():
    response = lambda_handler({"httpMethod": "GET", "path": "/a"}, None)
    assert json.loads(response["body"])["data"] == {"method": "GET", "path": "/a"}


def test_bad():
    assert lambda_handler({}, None)["statusCode"] == 400
