"""The DynamoDB table behind Powertools' idempotency utility (lessons 05 and 06).

DynamoDBPersistenceLayer keeps one item per idempotency key: the key in "id" (a string), its
expiry time in "expiration" (epoch seconds), which DynamoDB's time to live deletes once passed.
In production Terraform creates the table (lesson 08); tests and notebooks create it here.
"""

from __future__ import annotations

from typing import Any


def create_idempotency_table(resource: Any, name: str = "idempotency") -> Any:
    """Create the table (partition key "id", a string; on-demand), wait until it exists, and turn
    on its time to live on "expiration". Returns the boto3 Table."""
    table = resource.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    resource.meta.client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
    )
    return table
