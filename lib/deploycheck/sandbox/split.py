"""Traffic splitting of the Worker data plane, and faults aimed at one version of a split.

Cloudflare serves each request of a gradual deployment from a version drawn by the
deployment's percentages (``wrangler versions deploy A@90 B@10``). The sandbox draws from
a golden-ratio (Weyl) sequence instead of a random generator: the draws are uniform on
[0, 1) and evenly spread, so any run of N requests gives each version its percentage of N
within a couple of requests. Tests that count the traffic a bad version served are then
exact rather than probable, and a run is reproducible.

A fault with ``version`` (see :mod:`deploycheck.sandbox.faults`) applies only to the
requests that version serves; :func:`apply_version_fault` turns it into the answer.
"""

from __future__ import annotations

import threading

from deploycheck.sandbox.core import Response
from deploycheck.sandbox.faults import Fault

__all__ = ["GOLDEN", "TrafficSplitter", "apply_version_fault"]

#: the fractional part of the golden ratio: the step of the most evenly spread Weyl sequence
GOLDEN = 0.6180339887498949


class TrafficSplitter:
    """Draws for split serving: ``n * GOLDEN mod 1`` for the n-th unpinned request; thread-safe."""

    def __init__(self, start: int = 0) -> None:
        self._lock = threading.Lock()
        self._start = start
        self._count = start

    def draw(self) -> float:
        """The next draw, uniform on [0, 1)."""
        with self._lock:
            self._count += 1
            return (self._count * GOLDEN) % 1.0

    def reset(self) -> None:
        """Start the sequence again (a reset sandbox splits the same way)."""
        with self._lock:
            self._count = self._start


def apply_version_fault(fault: Fault, answer: Response) -> Response:
    """The answer of a request served by a faulted version: a status instead, or the same later."""
    from deploycheck.sandbox.server import fault_response

    if fault.status is not None or fault.body is not None or fault.ack:
        faulted = fault_response("worker", fault)
        faulted.headers.setdefault("cf-ray", answer.headers.get("cf-ray", ""))
        answer = faulted
    answer.delay_s = max(answer.delay_s, fault.latency_ms / 1000.0)
    return answer
