"""The Pages asset upload protocol of `wrangler pages deploy`, learnt from wrangler's ``pages/upload.ts``.

1. ``GET /accounts/{id}/pages/projects/{name}/upload-token`` (API token): ``{jwt}``, an
   HS256 JWT for that project, valid :data:`TOKEN_TTL_S` seconds, whose payload carries
   ``exp`` and ``max_file_count_allowed`` (wrangler reads both without verifying).
2. ``POST /pages/assets/check-missing`` (``Authorization: Bearer <jwt>``) with
   ``{hashes}``: the hashes the account's asset store lacks.
3. ``POST /pages/assets/upload`` (JWT): ``[{key, value, metadata: {contentType}, base64}]``,
   each value stored under its hash key.
4. ``POST /pages/assets/upsert-hashes`` (JWT) with ``{hashes}``: every one must be stored.
5. ``POST .../deployments`` (API token) with a ``manifest`` of path -> hash, resolved from
   the store (see :mod:`deploycheck.sandbox.cloudflare.pages`).

A missing, malformed, forged or expired JWT is 401 with code 8000013, the code wrangler
answers by fetching a new token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploycheck.sandbox.cloudflare.envelope import ApiError, ok
from deploycheck.sandbox.core import Request, Response

__all__ = ["ASSETS_PREFIX", "TOKEN_TTL_S", "Asset", "AssetStore"]

ASSETS_PREFIX = "/pages/assets/"
TOKEN_TTL_S = 300
MAX_FILE_COUNT = 20_000
UNAUTHORIZED = 8000013
BAD_REQUEST = 8000000
_Handler = Callable[[Request, dict[str, Any]], Response]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Asset:
    """One uploaded file: its bytes and the content type wrangler sent."""

    content: bytes
    content_type: str


class AssetStore:
    """The account's uploaded Pages assets by hash, and the upload tokens that guard them."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.lock = threading.RLock()
        self._key = secrets.token_bytes(32)
        self.assets: dict[str, Asset] = {}

    def reset(self) -> None:
        """Forget every asset (tokens already issued stay valid until they expire)."""
        with self.lock:
            self.assets.clear()

    def issue_token(self, project: str) -> str:
        """A signed upload JWT for ``project``."""
        issued = int(time.time())
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "sub": project,
            "account_id": self.account_id,
            "iat": issued,
            "exp": issued + TOKEN_TTL_S,
            "max_file_count_allowed": MAX_FILE_COUNT,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def verify_token(self, token: str) -> dict[str, Any]:
        """The claims of a valid, unexpired token of this store, or a 401 API error."""
        parts = token.split(".")
        if len(parts) != 3:
            raise ApiError(401, UNAUTHORIZED, "Unauthorized: the upload token is not a JWT")
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        expected = hmac.new(self._key, signing_input, hashlib.sha256).digest()
        try:
            signature = _unb64url(parts[2])
            claims = json.loads(_unb64url(parts[1]))
        except (binascii.Error, ValueError) as exc:
            raise ApiError(401, UNAUTHORIZED, "Unauthorized: the upload token is malformed") from exc
        if not hmac.compare_digest(signature, expected) or not isinstance(claims, dict):
            raise ApiError(401, UNAUTHORIZED, "Unauthorized: the upload token's signature is invalid")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise ApiError(401, UNAUTHORIZED, "Unauthorized: the upload token has expired")
        return claims

    def missing(self, hashes: list[str]) -> list[str]:
        """The hashes not stored, in the order given."""
        with self.lock:
            return [h for h in hashes if h not in self.assets]

    # -- HTTP ------------------------------------------------------------------

    def handle(self, request: Request, path: str) -> Response:
        """Answer one ``/pages/assets/*`` request (``path`` without the API prefix)."""
        routes: dict[str, _Handler] = {
            "check-missing": self._check_missing,
            "upload": self._upload,
            "upsert-hashes": self._upsert_hashes,
        }
        handler = routes.get(path[len(ASSETS_PREFIX) :])
        if handler is None:
            raise ApiError(404, 7003, "No route for the URI")
        if request.method != "POST":
            raise ApiError(405, 10405, f"Method {request.method} not allowed; use POST")
        scheme, _, token = request.header("authorization").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, UNAUTHORIZED, "Unauthorized: send the upload token as a Bearer token")
        claims = self.verify_token(token.strip())
        return handler(request, claims)

    def _hashes(self, request: Request) -> list[str]:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, BAD_REQUEST, f"Could not parse request body: {exc}") from exc
        hashes = body.get("hashes") if isinstance(body, dict) else None
        if not isinstance(hashes, list) or not all(isinstance(h, str) and h for h in hashes):
            raise ApiError(400, BAD_REQUEST, "hashes must be a list of non-empty strings")
        return hashes

    def _check_missing(self, request: Request, claims: dict[str, Any]) -> Response:
        return ok(self.missing(self._hashes(request)))

    def _upload(self, request: Request, claims: dict[str, Any]) -> Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, BAD_REQUEST, f"Could not parse request body: {exc}") from exc
        if not isinstance(body, list):
            raise ApiError(
                400, BAD_REQUEST, "The upload body must be a list of {key, value, metadata, base64}"
            )
        received: dict[str, Asset] = {}
        for index, item in enumerate(body):
            if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
                raise ApiError(400, BAD_REQUEST, f"item {index}: key must be a non-empty string")
            value = item.get("value")
            if not isinstance(value, str):
                raise ApiError(400, BAD_REQUEST, f"item {index}: value must be a string")
            metadata = item.get("metadata")
            metadata = metadata if isinstance(metadata, dict) else {}
            content_type = str(metadata.get("contentType") or "application/octet-stream")
            if item.get("base64") is True:
                try:
                    content = base64.b64decode(value, validate=True)
                except binascii.Error as exc:
                    raise ApiError(400, BAD_REQUEST, f"item {index}: value is not base64: {exc}") from exc
            else:
                content = value.encode()
            received[item["key"]] = Asset(content=content, content_type=content_type)
        if len(received) > MAX_FILE_COUNT:
            raise ApiError(400, BAD_REQUEST, f"At most {MAX_FILE_COUNT} files per upload")
        with self.lock:
            self.assets.update(received)
        return ok(None)

    def _upsert_hashes(self, request: Request, claims: dict[str, Any]) -> Response:
        missing = self.missing(self._hashes(request))
        if missing:
            raise ApiError(400, BAD_REQUEST, f"Hashes were never uploaded: {', '.join(missing[:5])}")
        return ok(None)
