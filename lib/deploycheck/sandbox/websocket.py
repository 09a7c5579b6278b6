"""WebSocket transport for the sandbox servers, built on the ``websockets`` library.

The stdlib HTTP server parses the upgrade request; :func:`serve_websocket` completes the
opening handshake with ``websockets``' sans-I/O ``ServerProtocol`` on the same socket and
then runs a :class:`Session` (framing, masking, ping/pong and close handshakes are the
library's, so a malformed or truncated frame ends only that connection). A session is
a plain object fed text frames, like emulators are fed requests, so it is testable
without a socket.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsRequest
from websockets.server import ServerProtocol
from websockets.sync.connection import Connection

from deploycheck.sandbox.core import Request

__all__ = ["MAX_MESSAGE_BYTES", "Session", "is_upgrade", "serve_websocket"]

#: frames above this size close the connection with 1009 (message too big)
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
_POLL_S = 0.1


class Session(Protocol):
    """The server side of one WebSocket conversation."""

    close: tuple[int | None, str] | None

    def receive(self, text: str) -> list[dict[str, Any]]:
        """Messages to send in answer to one text frame; may set ``close``."""

    def refresh(self) -> list[dict[str, Any]]:
        """Messages to send unprompted (updates, heartbeats), polled while idle."""


def is_upgrade(request: Request) -> bool:
    """Whether ``request`` asks to switch to the WebSocket protocol."""
    return request.method == "GET" and request.header("upgrade").lower() == "websocket"


def serve_websocket(
    sock: socket.socket,
    request: Request,
    session: Session,
    stopping: threading.Event,
    *,
    drop: bool = False,
    on_handshake: Callable[[int], None] | None = None,
) -> int:
    """Complete the handshake on ``sock`` and run ``session`` until either side closes.

    Returns the HTTP status of the handshake (101, or 400 for a bad upgrade request);
    ``on_handshake`` is called with 101 as soon as the connection is open.
    ``drop`` accepts the upgrade and then cuts the TCP connection without a close frame,
    as a failing load balancer would.
    """
    protocol = ServerProtocol(max_size=MAX_MESSAGE_BYTES)
    # the stdlib server consumed the request; replay it so the protocol's parser moves on to frames
    lines = [f"GET {request.path} HTTP/1.1", *(f"{k}: {v}" for k, v in request.headers.items())]
    protocol.receive_data(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    events = protocol.events_received()
    if not events or not isinstance(events[0], WsRequest):
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        return 400
    response = protocol.accept(events[0])
    protocol.send_response(response)
    sock.settimeout(None)
    sock.sendall(b"".join(protocol.data_to_send()))
    if response.status_code != 101:
        return response.status_code
    if on_handshake is not None:
        on_handshake(101)
    if drop:
        sock.shutdown(socket.SHUT_RDWR)
        return 101
    connection = Connection(sock, protocol)
    try:
        _run(connection, session, stopping)
    finally:
        connection.close()
    return 101


def _run(connection: Connection, session: Session, stopping: threading.Event) -> None:
    while not stopping.is_set() and session.close is None:
        try:
            frame = connection.recv(timeout=_POLL_S)
        except TimeoutError:
            outgoing = session.refresh()
        except ConnectionClosed:
            return
        else:
            if isinstance(frame, bytes):
                # subs/mod.rs bails on anything but text: a server error, no final message
                connection.close(1011, "InternalServerError")
                return
            outgoing = session.receive(frame)
        try:
            for message in outgoing:
                connection.send(_dumps(message))
        except ConnectionClosed:
            return
    if session.close is not None:
        code, reason = session.close
        # no code sends an empty close frame, as the backend does after FatalError/AuthError
        connection.close(code, reason)  # type: ignore[arg-type]


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))
