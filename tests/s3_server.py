"""moto's S3 server for the state backend tests: the server, a bucket per test, and inspection helpers.

Loaded as a plugin from tests/conftest.py, so every test folder has the ``moto_url`` and
``bucket`` fixtures; the helpers are imported as ``from s3_server import ...``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

#: moto accepts any credentials; these stand in for an R2 or S3 token's
AWS = {
    "AWS_ACCESS_KEY_ID": "testing-access-key",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key-for-moto-0123456789",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The base URL of moto's S3 server (its server mode, real HTTP), on 127.0.0.1 on a free port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(moto_url: str) -> str:
    """A new, empty bucket on the moto server."""
    name = f"deploycheck-{secrets.token_hex(6)}"
    s3_client(moto_url).create_bucket(Bucket=name)
    return name


def s3_client(url: str) -> Any:
    """A plain boto3 client of the moto server (what an operator would inspect the bucket with)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
    )


def bucket_objects(url: str, bucket: str) -> dict[str, bytes]:
    """Every object of ``bucket``: key -> body."""
    client = s3_client(url)
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents") or ():
            found[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found
