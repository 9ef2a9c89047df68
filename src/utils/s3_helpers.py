"""S3 helpers."""


def list_keys(s3_client, bucket: str, prefix: str = "") -> list[str]:
    """Every key in `bucket` under `prefix`, however many pages the listing takes."""
    paginator = s3_client.get_paginator("list_objects_v2")
    keys = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys
