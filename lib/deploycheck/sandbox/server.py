"""The HTTP side of the sandbox: one loopback server per emulated service.

Each :class:`ServiceServer` is a stdlib ``ThreadingHTTPServer`` (daemon threads) bound to
127.0.0.1. It parses a request into :class:`~deploycheck.sandbox.core.Request`, records
it in the shared :class:`RequestLog`, applies the first matching injected fault, and
otherwise hands the request to its emulator.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import sys
import threading
import time
import urllib.parse
from dataclasses import KW_ONLY, InitVar, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from deploycheck.sandbox.core import Emulator, Request, Response
from deploycheck.sandbox.faults import HANG_LIMIT_S, Fault, FaultRegistry
from deploycheck.sandbox.ratelimit import RateLimits
from deploycheck.sandbox.websocket import Session, is_upgrade, serve_websocket

__all__ = ["RequestLog", "ServiceServer", "fault_response"]

#: oldest entries are dropped beyond this many
LOG_LIMIT = 20_000


class RequestLog:
    """Every request the sandbox served: service, method, path, status, time; thread-safe.

    The Worker data plane adds ``version`` (the version that served it) and ``pinned``
    (True when ``Cloudflare-Workers-Version-Overrides`` chose it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def record(
        self, service: str, method: str, path: str, status: int, extra: dict[str, Any] | None = None
    ) -> None:
        """Append one entry (``extra``: fields the emulator adds)."""
        entry = {"service": service, "method": method, "path": path, "status": status, "time": time.time()}
        entry.update(extra or {})
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > LOG_LIMIT:
                del self._entries[: len(self._entries) - LOG_LIMIT]

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the entries, oldest first."""
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


_CLOUDFLARE_CODES = {
    400: (10001, "Bad request"),
    401: (10000, "Authentication error"),
    403: (10000, "Authentication error"),
    404: (7003, "Could not route to the requested resource, perhaps your object identifier is invalid?"),
    429: (971, "Please wait and consider throttling your request speed"),
}


def _acknowledged(service: str) -> Response:
    """The vendor's success answer to a write that is then not applied."""
    if service == "github":
        return Response(status=204, body=None)
    if service == "cloudflare":
        return Response(status=200, body={"success": True, "errors": [], "messages": [], "result": None})
    return Response(status=200, body={})


def fault_response(service: str, fault: Fault) -> Response:
    """The response an injected status fault produces, shaped like the vendor's errors."""
    if fault.ack:
        return _acknowledged(service)
    status = fault.status or (200 if fault.body is not None else 500)
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        seconds = fault.retry_after
        headers["retry-after"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
    if fault.body is not None:
        headers.setdefault("content-type", "application/json")
        return Response(status=status, body=fault.body, headers=headers)
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any]
    if status < 400:
        body = {}
    elif service == "cloudflare":
        code, message = _CLOUDFLARE_CODES.get(status, (10013, "An unknown error has occurred"))
        body = {
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        }
    elif service == "github":
        body = {"message": phrase, "documentation_url": "https://docs.github.com/rest", "status": str(status)}
    elif service == "convex":
        body = {"code": phrase.replace(" ", ""), "message": phrase}
    else:
        return Response(status=status, body=f"{status} {phrase}\n", headers=headers)
    return Response(status=status, body=body, headers=headers)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # headers and body go out as two writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers (~40 ms per answer on a keep-alive connection)
    disable_nagle_algorithm = True
    # idle keep-alive connections end instead of holding a thread forever
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the RequestLog keeps the record."""

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = self.rfile.readline().strip()
                size = int(size_line.split(b";")[0] or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        owner = self.server.owner
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path or "/"
        body = self._read_body()
        request = Request(
            method=self.command,
            path=path,
            query=urllib.parse.parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        fault = owner.faults.take(owner.service, request.method, path) if owner.faults else None
        if fault is not None and fault.latency_ms:
            owner.sleep(fault.latency_ms / 1000.0, fault)
        if fault is not None and fault.hang:
            owner.record(request.method, path, 0)
            owner.hang(fault)
            self.close_connection = True
            return
        if fault is not None and fault.drop and not is_upgrade(request):
            owner.record(request.method, path, 0)
            self.close_connection = True
            return
        if fault is not None and (fault.status is not None or fault.body is not None or fault.ack):
            response = fault_response(owner.service, fault)
        elif is_upgrade(request) and hasattr(owner.emulator, "open_session"):
            self._upgrade(request, drop=fault is not None and fault.drop)
            return
        else:
            refusal = owner.limits.take(owner.service, request.method) if owner.limits else None
            response = refusal if refusal is not None else owner.answer(request)
            if response.delay_s > 0:
                owner.stopping.wait(min(response.delay_s, HANG_LIMIT_S))
        owner.record(request.method, path, response.status, response.log)
        self._write(response)

    def _upgrade(self, request: Request, *, drop: bool) -> None:
        """Hand the socket to a WebSocket session the emulator opens (or write its refusal)."""
        owner = self.server.owner
        opened = owner.open_session(request)
        if isinstance(opened, Response):
            owner.record(request.method, request.path, opened.status)
            self._write(opened)
            return
        self.close_connection = True
        status = serve_websocket(
            self.connection,
            request,
            opened,
            owner.stopping,
            drop=drop,
            on_handshake=lambda code: owner.record(request.method, request.path, code),
        )
        if status != 101:
            owner.record(request.method, request.path, status)

    def _write(self, response: Response) -> None:
        payload, content_type = response.encoded()
        self.send_response(response.status)
        headers = {k.lower(): v for k, v in response.headers.items()}
        headers.setdefault("content-type", content_type)
        for name, value in headers.items():
            if name != "content-length":
                self.send_header(name, value)
        if self.command == "HEAD" or response.status in (204, 304):
            self.send_header("content-length", "0" if response.status != 304 else str(len(payload)))
            self.end_headers()
            return
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog of 5 drops connections when checks connect all at
    # once, and each dropped SYN costs a 1 s retransmit (benchmarks/bench_verify.py showed it)
    request_queue_size = 128
    owner: ServiceServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        # the wake-up pipe exists before binding: a port in use makes the constructor close it
        self._wake_read, self._wake_write = socket.socketpair()
        self._stop_requested = False
        super().__init__(address, handler)

    def serve_until_stopped(self) -> None:
        """Accept requests until :meth:`request_stop`; the loop ends as soon as it is asked.

        ``serve_forever`` polls for its shutdown flag, so each server took up to its poll
        interval to stop (0.39 s for the six of a sandbox); a wake-up socket ends the wait.
        """
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ, "accept")
            selector.register(self._wake_read, selectors.EVENT_READ, "wake")
            while not self._stop_requested:
                for key, _ in selector.select():
                    if key.data == "wake" or self._stop_requested:
                        return
                    self._accept()
                self.service_actions()

    def _accept(self) -> None:
        """Accept one connection and hand it to a thread (socketserver's own steps)."""
        try:
            connection, address = self.get_request()
        except OSError:
            return
        try:
            self.process_request(connection, address)
        except Exception:
            self.handle_error(connection, address)
            self.shutdown_request(connection)

    def request_stop(self) -> None:
        """End :meth:`serve_until_stopped` without waiting for it."""
        self._stop_requested = True
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    def server_close(self) -> None:
        """Close the listening socket and the wake-up pipe."""
        super().server_close()
        self._wake_read.close()
        self._wake_write.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away (timeouts in tests); report anything else."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


@dataclass(eq=False, repr=False)
class ServiceServer:
    """One emulated service on a loopback port (``bind_port``; 0 picks a free one).

    ``emulator`` may be assigned after construction (the port is bound at once so the
    sandbox can hand every emulator every URL). ``faults`` is None for the admin server,
    which is neither faulted nor logged.
    """

    service: str
    bind_port: InitVar[int] = 0
    _: KW_ONLY
    emulator: Emulator | None = None
    faults: FaultRegistry | None = None
    log: RequestLog | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    limits: RateLimits | None = None

    def __post_init__(self, bind_port: int) -> None:
        self._httpd = _Server(("127.0.0.1", bind_port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_until_stopped,
            name=f"sandbox-{self.service}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket; never waits for requests in flight."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def request_stop(self) -> None:
        """Ask the server to stop accepting requests and release its waiting ones; returns at once."""
        self.stopping.set()
        self._httpd.request_stop()

    def answer(self, request: Request) -> Response:
        """Ask the emulator; an exception becomes a 500 rather than a dropped connection."""
        if self.emulator is None:
            return Response(status=503, body="service not ready\n")
        try:
            with self.emulator.lock:
                return self.emulator.handle(request)
        except Exception as exc:  # an emulator bug must still answer
            return Response(status=500, body=f"emulator error: {type(exc).__name__}: {exc}\n")

    def open_session(self, request: Request) -> Session | Response:
        """The emulator's WebSocket session for ``request``, or its refusal; never raises."""
        opener = getattr(self.emulator, "open_session", None)
        if opener is None:
            return Response(status=404, body="no WebSocket endpoint here\n")
        try:
            with self.emulator.lock:  # type: ignore[union-attr]
                result: Session | Response = opener(request)
        except Exception as exc:  # an emulator bug must still answer
            return Response(status=500, body=f"emulator error: {type(exc).__name__}: {exc}\n")
        return result

    def record(self, method: str, path: str, status: int, extra: dict[str, Any] | None = None) -> None:
        """Log one request unless this is the admin server."""
        if self.log is not None:
            self.log.record(self.service, method, path, status, extra)

    def sleep(self, seconds: float, fault: Fault) -> None:
        """Wait ``seconds``, cut short when the fault is cleared or the server stops."""
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set() and not fault.released.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            fault.released.wait(min(left, 0.1))

    def hang(self, fault: Fault) -> None:
        """Wait until the fault is cleared, the server stops, or the hang limit passes."""
        self.sleep(HANG_LIMIT_S, fault)
