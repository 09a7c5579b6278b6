"""The S3 calls of the ``s3`` state backend: conditional writes, bounded retries, clear errors.

boto3's own retries are switched off so that one policy, deploycheck's
(:mod:`deploycheck.http.retry`: ``Retry-After`` first, else capped backoff, bounded by
``DEPLOYCHECK_HTTP_RETRIES`` and ``DEPLOYCHECK_HTTP_BUDGET``), covers 500, 502, 503, 504,
429 and timeouts. Every write the backend makes is conditional (``If-None-Match: *`` or
``If-Match``), so a retry can never overwrite someone else's object; when a retried write
answers 412 the caller checks whether the object is its own (a lost response).

A failed precondition is :class:`Conflict`, a missing object :class:`Missing`; everything
else leaves this module as a :class:`deploycheck.errors.PlatformError` naming the bucket,
the object and the operation. No botocore exception escapes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from deploycheck.errors import (
    AuthError,
    ConfigError,
    PlatformError,
    PlatformTimeout,
    PlatformUnavailable,
    Problem,
    RateLimitedError,
)
from deploycheck.http import HttpSettings, backoff_wait, exhausted_error, parse_retry_after

__all__ = ["BucketClient", "Conflict", "Missing", "StoredObject", "make_s3_client"]

PLATFORM = "s3 state bucket"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


class Conflict(Exception):
    """A conditional write's precondition failed (412) or raced another one (409)."""


class Missing(Exception):
    """The object (or the ETag an If-Match named) does not exist."""


@dataclass(frozen=True)
class StoredObject:
    """An object's body and ETag."""

    body: bytes
    etag: str


def make_s3_client(endpoint_url: str | None, region: str | None, settings: HttpSettings) -> Any:
    """A boto3 S3 client with path-style addressing and deploycheck's timeouts, its retries off."""
    try:
        import boto3
        from botocore.config import Config
    except ModuleNotFoundError:  # pragma: no cover - boto3 comes with the s3 extra
        problem = Problem(
            source="deploycheck.yaml",
            path="state.backend",
            message="the s3 state backend needs boto3, which is not installed.",
            hint="pip install 'deploycheck[s3]'",
        )
        raise ConfigError([problem]) from None
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
        # R2 and MinIO reject the newer default checksum headers on some operations
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region or "us-east-1", config=config)


class BucketClient:
    """One bucket: get, conditional put, conditional delete and listing, with bounded retries."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        settings: HttpSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.settings = settings or HttpSettings()
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self.retried = 0

    def get(self, key: str) -> StoredObject | None:
        """The object at ``key``, or None when there is none."""
        try:
            answer = self._call("read", key, self.client.get_object, Bucket=self.bucket, Key=key)
        except Missing:
            return None
        body = answer["Body"].read()
        return StoredObject(body, str(answer["ETag"]))

    def create(self, key: str, body: bytes) -> str:
        """Write ``key`` only if it does not exist (``If-None-Match: *``); its ETag. Conflict if it does."""
        return self._put("create", key, body, IfNoneMatch="*")

    def replace(self, key: str, body: bytes, etag: str) -> str:
        """Write ``key`` only if its ETag is still ``etag`` (``If-Match``); the new ETag. Conflict if not."""
        try:
            return self._put("replace", key, body, IfMatch=etag)
        except Missing:
            raise Conflict(key) from None

    def _put(self, operation: str, key: str, body: bytes, **condition: str) -> str:
        """A conditional JSON object write (``condition``: the If-Match / If-None-Match header); its ETag."""
        answer = self._call(
            operation,
            key,
            self.client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            **condition,
        )
        return str(answer["ETag"])

    def delete(self, key: str, etag: str) -> None:
        """Delete ``key`` only if its ETag is still ``etag``; Conflict if it changed, nothing if gone."""
        try:
            self._call("delete", key, self.client.delete_object, Bucket=self.bucket, Key=key, IfMatch=etag)
        except Missing:
            return

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, sorted."""
        found: list[str] = []
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            answer = self._call(
                "list", prefix, self.client.list_objects_v2, Bucket=self.bucket, Prefix=prefix, **extra
            )
            found += [item["Key"] for item in answer.get("Contents") or ()]
            if not answer.get("IsTruncated"):
                return sorted(found)
            token = answer.get("NextContinuationToken")

    def _call(self, operation: str, key: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"{operation} s3://{self.bucket}/{key}"
        started = self.clock()
        retries = 0
        while True:
            self.requests += 1
            try:
                return method(**kwargs)
            except ClientError as exc:
                failure, retry_after = self._client_failure(exc, where)
            except BotoCoreError as exc:
                failure, retry_after = self._transport_failure(exc, where), None
            if not failure.retryable or retries >= self.settings.retries:
                raise exhausted_error(failure, retries) from None
            remaining = self.settings.budget - (self.clock() - started)
            wait = backoff_wait(failure, retry_after, retries, remaining, self.settings.budget)
            retries += 1
            self.retried += 1
            self.sleep(wait)

    def _client_failure(self, exc: Any, where: str) -> tuple[PlatformError, float | None]:
        response: Mapping[str, Any] = exc.response or {}
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        meta = response.get("ResponseMetadata") or {}
        status = int(meta.get("HTTPStatusCode") or 0)
        headers = meta.get("HTTPHeaders") or {}
        if code in CONFLICT_CODES or status in (409, 412):
            raise Conflict(where) from None
        if code in ("NoSuchKey", "404") or (status == 404 and code != "NoSuchBucket"):
            raise Missing(where) from None
        msg = str(error.get("Message") or code or "the request failed")
        retryable = False
        kind: type[PlatformError]
        if status in (401, 403):
            kind = AuthError
            hint = (
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (an R2 or S3 token with read and write "
                "access to the bucket)"
            )
        elif code == "NoSuchBucket":
            kind, hint = PlatformError, "create the bucket, or fix state.bucket in deploycheck.yaml"
        else:
            retryable = status in RETRY_STATUSES
            kind = PlatformUnavailable if status >= 500 else PlatformError
            if status == 429:
                kind = RateLimitedError
            hint = (
                "the bucket's service failed or throttled; re-run the command (objects are replaced whole or "
                "not at all, so nothing was half-written)"
                if retryable
                else ""
            )
        failure = kind(
            msg, platform=PLATFORM, operation=where, status=status, code=code, hint=hint, retryable=retryable
        )
        return failure, parse_retry_after(headers.get("retry-after")) if retryable else None

    def _transport_failure(self, exc: Exception, where: str) -> PlatformError:
        from botocore.exceptions import (
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        kind: type[PlatformError] = PlatformError
        text, hint, retryable = type(exc).__name__, "", False
        if isinstance(exc, NoCredentialsError):
            kind, text = AuthError, "no S3 credentials"
            hint = (
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for R2: an R2 API token's S3 credentials)"
            )
        elif isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
            kind, text, retryable = PlatformTimeout, f"no answer within the timeout ({text})", True
            hint = "raise DEPLOYCHECK_HTTP_TIMEOUT, or check the endpoint"
        elif isinstance(exc, EndpointConnectionError | ConnectionClosedError):
            kind, text, retryable = PlatformUnavailable, f"cannot connect ({text})", True
            hint = "check state.endpoint_url (or DEPLOYCHECK_S3_ENDPOINT_URL) and the network"
        return kind(text, platform=PLATFORM, operation=where, hint=hint, retryable=retryable)
