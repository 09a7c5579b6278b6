"""The sandbox's Convex sync protocol over a real WebSocket (``websockets`` client)."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from deploycheck.errors import AuthError
from deploycheck.platforms.convex import ConvexPlatform
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

pytestmark = pytest.mark.sandbox

ENV_LIST = "_system/cli/queryEnvironmentVariables"


def sync_url(sandbox: SandboxInfo, version: str = "1.48.0") -> str:
    """The sync endpoint URL for client ``version``."""
    return sandbox.convex_url.replace("http://", "ws://") + f"/api/{version}/sync"


def admin_key(sandbox: SandboxInfo) -> str:
    """The self-hosted admin key of the sandbox deployment."""
    return sandbox.environ()["CONVEX_SELF_HOSTED_ADMIN_KEY"]


def recv(ws: ClientConnection, kind: str | None = None) -> dict[str, Any]:
    """The next server message (skipping pings), optionally of type ``kind``."""
    while True:
        message = json.loads(ws.recv(timeout=5))
        if message["type"] == "Ping":
            continue
        if kind is not None:
            assert message["type"] == kind, message
        return message


def start(ws: ClientConnection, key: str) -> dict[str, Any]:
    """Connect and authenticate as admin; returns the identity transition."""
    ws.send(
        json.dumps(
            {
                "type": "Connect",
                "sessionId": "s1",
                "connectionCount": 0,
                "lastCloseReason": None,
                "clientTs": int(time.time() * 1000),
            }
        )
    )
    ws.send(json.dumps({"type": "Authenticate", "tokenType": "Admin", "value": key, "baseVersion": 0}))
    return recv(ws, "Transition")


@pytest.fixture
def ws(sandbox: SandboxInfo) -> Iterator[ClientConnection]:
    """A sync connection authenticated with the admin key."""
    with connect(sync_url(sandbox)) as connection:
        start(connection, admin_key(sandbox))
        yield connection


def add_query(ws: ClientConnection, base: int, query_id: int, path: str, args: dict[str, Any]) -> None:
    """Send a ModifyQuerySet adding one query."""
    ws.send(
        json.dumps(
            {
                "type": "ModifyQuerySet",
                "baseVersion": base,
                "newVersion": base + 1,
                "modifications": [{"type": "Add", "queryId": query_id, "udfPath": path, "args": [args]}],
            }
        )
    )


def test_subscription_receives_a_transition_when_data_changes(
    sandbox: SandboxInfo, ws: ClientConnection
) -> None:
    """A subscribed query gets its value, then a new transition continuing from the last version when it changes."""
    add_query(ws, 0, 0, ENV_LIST, {})
    first = recv(ws, "Transition")
    assert first["endVersion"]["querySet"] == 1 and first["endVersion"]["identity"] == 1
    assert first["modifications"] == [
        {"type": "QueryUpdated", "queryId": 0, "value": [], "logLines": [], "journal": None}
    ]
    assert len(base64.b64decode(first["endVersion"]["ts"])) == 8
    response = requests.post(
        f"{sandbox.convex_url}/api/update_environment_variables",
        headers={"Authorization": f"Convex {admin_key(sandbox)}"},
        json={"changes": [{"name": "FEATURE", "value": "on"}]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    second = recv(ws, "Transition")
    assert second["startVersion"] == first["endVersion"]
    assert second["modifications"][0]["value"] == [{"name": "FEATURE", "value": "on"}]
    ts_before = int.from_bytes(base64.b64decode(first["endVersion"]["ts"]), "little")
    assert int.from_bytes(base64.b64decode(second["endVersion"]["ts"]), "little") > ts_before


def test_failed_mutation_reports_the_error_and_the_session_goes_on(ws: ClientConnection) -> None:
    """A mutation of a missing function, or of a query, fails with the backend's message; queries still work."""
    ws.send(json.dumps({"type": "Mutation", "requestId": 0, "udfPath": "messages:nope", "args": [{}]}))
    failed = recv(ws, "MutationResponse")
    assert failed == {
        "type": "MutationResponse",
        "requestId": 0,
        "logLines": [],
        "success": False,
        "result": "Could not find public function for 'messages:nope'.",
        "ts": None,
    }
    ws.send(json.dumps({"type": "Mutation", "requestId": 1, "udfPath": "messages:list", "args": [{}]}))
    wrong_kind = recv(ws, "MutationResponse")
    assert wrong_kind["result"] == "Trying to execute messages:list as Mutation, but it is defined as Query."
    add_query(ws, 0, 0, "_system/cli/convexUrl:cloudUrl", {})
    assert recv(ws, "Transition")["modifications"][0]["type"] == "QueryUpdated"


def test_query_of_a_missing_function_fails_only_that_query(ws: ClientConnection) -> None:
    """QueryFailed carries the backend's message for an unknown function."""
    add_query(ws, 0, 7, "nothing:here", {})
    modification = recv(ws, "Transition")["modifications"][0]
    assert modification["type"] == "QueryFailed" and modification["queryId"] == 7
    assert modification["errorMessage"] == "Could not find public function for 'nothing:here'."


def test_bad_admin_key_is_refused_with_the_backends_message(sandbox: SandboxInfo) -> None:
    """Authenticate with a wrong key gets AuthError, then a close frame without a code."""
    with connect(sync_url(sandbox)) as ws:
        ws.send(
            json.dumps(
                {"type": "Authenticate", "tokenType": "Admin", "value": "prod-x|wrong", "baseVersion": 0}
            )
        )
        assert recv(ws, "AuthError") == {
            "type": "AuthError",
            "error": "The provided admin key was invalid for this instance",
            "baseVersion": 0,
            "authUpdateAttempted": True,
        }
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1005


def test_system_queries_need_the_admin_key(sandbox: SandboxInfo) -> None:
    """Without admin authentication a _system query is not found, as on the backend."""
    with connect(sync_url(sandbox)) as ws:
        add_query(ws, 0, 0, ENV_LIST, {})
        modification = recv(ws, "Transition")["modifications"][0]
        assert modification["errorMessage"] == f"Could not find public function for '{ENV_LIST}'."


@pytest.mark.parametrize(
    ("version", "code", "message"),
    [
        (
            "0.19.0",
            "ClientVersionUnsupported",
            "The Convex npm package at version 0.19.0 is no longer supported.",
        ),
        ("latest", "InvalidClientVersion", "Failed to parse client version"),
    ],
)
def test_client_version_the_sandbox_does_not_speak(
    sandbox: SandboxInfo, version: str, code: str, message: str
) -> None:
    """An unsupported or unparsable client version is refused with HTTP 400 before the upgrade."""
    with pytest.raises(InvalidStatus) as info:
        connect(sync_url(sandbox, version))
    assert info.value.response.status_code == 400
    body = json.loads(info.value.response.body)
    assert body["code"] == code and body["message"].startswith(message)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("{not json", "Received Invalid JSON on websocket: "),
        ('{"type": "Subscribe"}', "Received Invalid JSON on websocket: unknown variant `Subscribe`"),
        (
            '{"type": "ModifyQuerySet", "baseVersion": 5, "newVersion": 6, "modifications": []}',
            "Base version 5 passed up doesn't match the current version 0",
        ),
    ],
)
def test_bad_messages_end_the_session_with_a_fatal_error(
    sandbox: SandboxInfo, frame: str, error: str
) -> None:
    """Malformed JSON, an unknown message type or a wrong base version: FatalError, then close."""
    with connect(sync_url(sandbox)) as ws:
        ws.send(frame)
        fatal = recv(ws, "FatalError")
        assert fatal["error"].startswith(error)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with connect(sync_url(sandbox)) as again:  # the sandbox serves the next client
        start(again, admin_key(sandbox))


def test_binary_and_truncated_frames_never_crash_the_sandbox(sandbox: SandboxInfo) -> None:
    """A binary frame closes with 1011; a half-sent frame just ends that connection."""
    with connect(sync_url(sandbox)) as ws:
        ws.send(b"\x00\x01")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1011
    host, port = sandbox.convex_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            b"GET /api/1.48.0/sync HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert raw.recv(1024).startswith(b"HTTP/1.1 101")
        raw.sendall(b"\x81\xfe\x10\x00\x01\x02")  # a 4 KiB masked text frame, cut off after the header
    with connect(sync_url(sandbox)) as again:
        assert start(again, admin_key(sandbox))["endVersion"]["identity"] == 1


def test_fault_api_applies_to_the_sync_endpoint(sandbox: SandboxInfo, sandbox_admin: AdminClient) -> None:
    """A refusal fails the handshake, a dropped connection closes abnormally, latency delays; then it works."""
    sandbox_admin.fault(service="convex", path="/sync$", status=503, count=1)
    with pytest.raises(InvalidStatus) as info:
        connect(sync_url(sandbox))
    assert info.value.response.status_code == 503
    sandbox_admin.fault(service="convex", path="/sync$", drop=True, count=1)
    with connect(sync_url(sandbox)) as ws, pytest.raises(ConnectionClosed):
        ws.send(
            json.dumps({"type": "Connect", "sessionId": "s", "connectionCount": 0, "lastCloseReason": None})
        )
        ws.recv(timeout=5)
    sandbox_admin.fault(service="convex", path="/sync$", latency_ms=300, count=1)
    began = time.monotonic()
    with connect(sync_url(sandbox)) as ws:
        start(ws, admin_key(sandbox))
    assert time.monotonic() - began >= 0.3
    statuses = [e["status"] for e in sandbox_admin.requests("convex") if e["path"].endswith("/sync")]
    assert statuses == [503, 101, 101]


def test_adapter_reads_the_function_spec_over_sync(sandbox: SandboxInfo, sandbox_admin: AdminClient) -> None:
    """ConvexPlatform.function_spec subscribes like the CLI; a wrong key is an AuthError with the backend's text."""
    environ = {
        "CONVEX_SELF_HOSTED_URL": sandbox.convex_url,
        "CONVEX_SELF_HOSTED_ADMIN_KEY": admin_key(sandbox),
    }
    convex = ConvexPlatform.from_environ(environ=environ, deployment="prod-graceful-shrimp-355")
    assert "messages.js:list" in convex.function_spec()
    assert any(e["path"] == "/api/1.48.0/sync" for e in sandbox_admin.requests("convex"))
    wrong = {**environ, "CONVEX_SELF_HOSTED_ADMIN_KEY": "prod-graceful-shrimp-355|wrong"}
    with pytest.raises(AuthError, match="The provided admin key was invalid for this instance"):
        ConvexPlatform.from_environ(environ=wrong, deployment="prod-graceful-shrimp-355").function_spec()
