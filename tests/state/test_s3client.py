"""How the bucket client reports the S3 failures botocore raises: kind, hint, whether it retried."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import pytest

from deploycheck.errors import AuthError, PlatformError, PlatformUnavailable
from deploycheck.http import HttpSettings
from deploycheck.state import BucketClient, make_s3_client

SETTINGS = HttpSettings(connect_timeout=2.0, read_timeout=2.0, retries=2, budget=20.0)


def _client(endpoint: str, bucket: str, sleeps: list[float]) -> BucketClient:
    return BucketClient(make_s3_client(endpoint, None, SETTINGS), bucket, settings=SETTINGS, sleep=sleeps.append)


def test_missing_bucket_is_reported_once_with_the_fix(moto_url: str) -> None:
    """A bucket that does not exist (moto's NoSuchBucket 404) is a PlatformError naming the fix, not retried."""
    sleeps: list[float] = []
    client = _client(moto_url, "deploycheck-no-such-bucket", sleeps)
    with pytest.raises(PlatformError) as failure:
        client.get("ledger.json")
    error = failure.value
    assert type(error) is PlatformError
    assert (error.status, error.code, error.retryable) == (404, "NoSuchBucket", False)
    assert "create the bucket, or fix state.bucket in deploycheck.yaml" in str(error)
    assert "read s3://deploycheck-no-such-bucket/ledger.json" in str(error)
    assert client.requests == 1 and sleeps == []


def test_no_credentials_is_an_auth_error_without_a_request(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no AWS credentials anywhere, botocore's NoCredentialsError becomes an AuthError naming the variables."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # boto3's default session keeps the credentials it found first: start a new one
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    sleeps: list[float] = []
    client = _client(moto_url, bucket, sleeps)
    with pytest.raises(AuthError, match="no S3 credentials") as failure:
        client.get("ledger.json")
    assert "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in str(failure.value)
    assert failure.value.retryable is False and sleeps == []


def test_refused_connection_is_retried_then_reported_unavailable() -> None:
    """An endpoint nobody listens on is retried the configured number of times, then PlatformUnavailable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    client = _client(f"http://127.0.0.1:{port}", "deploycheck-any", sleeps)
    with pytest.raises(PlatformUnavailable, match="cannot connect") as failure:
        client.keys("deploycheck/")
    assert "still failing after 2 retries" in str(failure.value)
    assert "check state.endpoint_url" in str(failure.value)
    assert client.requests == 3 and len(sleeps) == 2
