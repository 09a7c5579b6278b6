"""A fault-injecting HTTP proxy in front of moto's S3 server, for the bucket rows of the matrix.

deploycheck talks to the proxy as its S3 endpoint; the proxy forwards each request to
moto unchanged (path-style addressing, so the bucket is in the path) unless a rule
matches it first. A rule answers a status (with an S3 XML error and an optional
``Retry-After``), sleeps before forwarding (a timeout when longer than the client's read
timeout), or runs a callable first (another writer changing the object, an operator
breaking the lock). Every rule applies to ``count`` requests, then removes itself.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Rule:
    """One fault: which requests (method, path regex, header present) and what happens to them."""

    method: str
    path: str
    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    before: Callable[[], None] | None = None
    header: str | None = None
    count: int = 1

    def matches(self, method: str, path: str, headers: dict[str, str]) -> bool:
        """Whether the rule applies to this request."""
        if self.count <= 0 or method != self.method or not re.search(self.path, path):
            return False
        return self.header is None or self.header.lower() in headers


class S3FaultProxy:
    """The proxy server; ``rules`` are consulted in order, ``log`` holds (method, path, status)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, int]] = []
        self._guard = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 so that botocore's "Expect: 100-continue" on PUT is answered at once
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                proxy.handle(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> S3FaultProxy:
        """Serve in a thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def add(self, rule: Rule) -> None:
        """Add a rule."""
        with self._guard:
            self.rules.append(rule)

    def _take(self, method: str, path: str, headers: dict[str, str]) -> Rule | None:
        with self._guard:
            for rule in self.rules:
                if rule.matches(method, path, headers):
                    rule.count -= 1
                    return rule
        return None

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Apply the first matching rule, then (unless it answered) forward to moto."""
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        rule = self._take(handler.command, handler.path, headers)
        if rule is not None and rule.delay:
            time.sleep(rule.delay)
        if rule is not None and rule.before is not None:
            rule.before()
        if rule is not None and rule.status is not None:
            code = {429: "SlowDown", 500: "InternalError", 503: "ServiceUnavailable"}.get(rule.status, "Error")
            text = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected</Message></Error>'
            data = text.encode()
            handler.send_response(rule.status)
            handler.send_header("Content-Type", "application/xml")
            handler.send_header("Content-Length", str(len(data)))
            if rule.retry_after is not None:
                handler.send_header("Retry-After", rule.retry_after)
            handler.end_headers()
            handler.wfile.write(data)
            self.log.append((handler.command, handler.path, rule.status))
            return
        forward = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        answer = requests.request(
            handler.command, self.upstream + handler.path, headers=forward, data=body, timeout=30
        )
        self.log.append((handler.command, handler.path, answer.status_code))
        handler.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in HOP_BY_HOP:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(answer.content)


@contextmanager
def fault_proxy(upstream: str) -> Iterator[S3FaultProxy]:
    """A started proxy in front of ``upstream``, stopped afterwards."""
    proxy = S3FaultProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
