"""A first handler: greets whoever the query string names."""

from utils.helpers import json_response


def lambda_handler(event: dict, context: object) -> dict:
    params = event.get("queryStringParameters") or {}  # None when there is no query string
    name = params.get("name") or "world"
    return json_response(200, {"message": f"Hello, {name}!"})
