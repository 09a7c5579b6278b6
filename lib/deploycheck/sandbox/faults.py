"""Injected faults: what the sandbox servers do instead of (or before) answering.

A fault matches requests by service, an optional path regex (``re.search`` on the
path) and an optional method. It can delay (``latency_ms``), answer a status with an
optional raw ``body`` and ``Retry-After`` header, hang until cleared, drop the
connection (``drop``: no response; a WebSocket upgrade is accepted, then cut), or (worker only)
make ``/health`` report ``degraded``/``unhealthy``. ``ack`` answers the vendor's success
shape without applying the request ("acknowledged but not applied": Cloudflare's
``{"success": true, "result": null}``, GitHub's empty 204, Convex's ``{}``), the way a
platform that loses a write looks to its client. ``count`` limits how many requests it
applies to before it removes itself.

Two keys aim a fault at a share of the traffic (:mod:`deploycheck.sandbox.split`):
``version`` (worker only) applies it only to requests served by that Worker version during a
split deployment, so one version can be made unhealthy, slow or failing while the other
serves normally; ``rate`` (0 < rate <= 1) applies it to that fraction of the matching
requests, evenly spaced (a rate of 0.25 hits the 4th, 8th, ... request), so an error rate
is reproducible.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deploycheck.sandbox.core import spec_problems

__all__ = ["SERVICES", "Fault", "FaultRegistry", "parse_fault"]

#: services a fault may name
SERVICES = ("cloudflare", "github", "convex", "pages", "worker")
HEALTH_STATES = ("degraded", "unhealthy")
#: a hanging request gives up after this many seconds even if nobody clears it
HANG_LIMIT_S = 120.0

_KNOWN_KEYS = {
    "service",
    "path",
    "method",
    "status",
    "latency_ms",
    "retry_after",
    "hang",
    "drop",
    "body",
    "health",
    "count",
    "ack",
    "version",
    "rate",
}


@dataclass
class Fault:
    """One injected fault; see the module docstring for the fields."""

    id: str
    service: str
    path: str | None = None
    method: str | None = None
    status: int | None = None
    latency_ms: int = 0
    retry_after: float | None = None
    hang: bool = False
    drop: bool = False
    body: str | None = None
    health: str | None = None
    count: int | None = None
    ack: bool = False
    version: str | None = None
    rate: float | None = None
    #: matching requests seen, for ``rate``
    seen: int = 0
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def matches(self, service: str, method: str, path: str, version: str | None = None) -> bool:
        """Whether this fault applies to a request (served by ``version``, when known)."""
        if self.version is not None and self.version != version:
            return False
        if service != self.service:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    @property
    def is_health_only(self) -> bool:
        """A fault that only changes the worker's reported health, not the HTTP exchange."""
        return (
            self.health is not None
            and self.status is None
            and not self.hang
            and not self.drop
            and self.body is None
            and not self.latency_ms
        )

    def as_dict(self) -> dict[str, Any]:
        """The fault as the admin API shows it."""
        return {
            "id": self.id,
            "service": self.service,
            "path": self.path,
            "method": self.method,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "retry_after": self.retry_after,
            "hang": self.hang,
            "drop": self.drop,
            "body": self.body,
            "health": self.health,
            "count": self.count,
            "ack": self.ack,
            "version": self.version,
            "rate": self.rate,
        }

    def hits(self) -> bool:
        """Count one matching request; True when ``rate`` selects it (always without a rate)."""
        if self.rate is None:
            return True
        before = int(self.seen * self.rate)
        self.seen += 1
        return int(self.seen * self.rate) > before


def _aim_problems(spec: Mapping[str, Any]) -> list[str]:
    """What is wrong with the ``version`` and ``rate`` of a fault."""
    problems = []
    version = spec.get("version")
    if version is not None:
        if not isinstance(version, str) or not version:
            problems.append(f"version must be a Worker version id, got {version!r}")
        if spec.get("service") != "worker":
            problems.append("version faults apply to the worker service only")
        if spec.get("hang") or spec.get("drop"):
            problems.append("a version fault cannot hang or drop: the version is chosen after the connection")
    rate = spec.get("rate")
    number = isinstance(rate, int | float) and not isinstance(rate, bool)
    if rate is not None and (not number or not 0 < rate <= 1):
        problems.append(f"rate must be a number in (0, 1], got {rate!r}")
    return problems


def parse_fault(spec: Mapping[str, Any], fault_id: str) -> Fault:  # noqa: PLR0912 - one check per field
    """Build a fault from its admin-API JSON; raise ValueError naming every problem."""
    problems = spec_problems(spec, _KNOWN_KEYS, SERVICES)
    service = spec.get("service")
    path = spec.get("path")
    if path is not None:
        try:
            re.compile(str(path))
        except re.error as exc:
            problems.append(f"path is not a valid regex: {exc}")
    method = spec.get("method")
    status = spec.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        problems.append(f"status must be an HTTP status code, got {status!r}")
    latency = spec.get("latency_ms", 0) or 0
    if not isinstance(latency, int | float) or latency < 0:
        problems.append(f"latency_ms must be a non-negative number, got {latency!r}")
    retry_after = spec.get("retry_after")
    if retry_after is not None and (not isinstance(retry_after, int | float) or retry_after < 0):
        problems.append(f"retry_after must be a non-negative number of seconds, got {retry_after!r}")
    body = spec.get("body")
    if body is not None and not isinstance(body, str):
        problems.append("body must be a string (sent verbatim)")
    health = spec.get("health")
    if health is not None:
        if health not in HEALTH_STATES:
            problems.append(f"health must be one of {list(HEALTH_STATES)}, got {health!r}")
        if service != "worker":
            problems.append("health faults apply to the worker service only")
    count = spec.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        problems.append(f"count must be a positive integer, got {count!r}")
    ack = spec.get("ack", False)
    if not isinstance(ack, bool):
        problems.append(f"ack must be true or false, got {ack!r}")
    elif ack and (status is not None or body is not None or spec.get("hang")):
        problems.append("ack answers the vendor's own success shape: it takes no status, body or hang")
    problems += _aim_problems(spec)
    version, rate = spec.get("version"), spec.get("rate")
    if problems:
        raise ValueError("; ".join(problems))
    return Fault(
        id=fault_id,
        service=str(service),
        path=None if path is None else str(path),
        method=None if method is None else str(method).upper(),
        status=status,
        latency_ms=int(latency),
        retry_after=retry_after,
        hang=bool(spec.get("hang", False)),
        drop=bool(spec.get("drop", False)),
        body=body,
        health=health,
        count=count,
        ack=ack,
        version=version,
        rate=None if rate is None else float(rate),
    )


class FaultRegistry:
    """The faults in force, shared by every sandbox server; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        # used-up faults whose hanging requests a later clear() must still release
        self._retired: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Validate and add a fault (raises ValueError); returns it."""
        with self._lock:
            fault = parse_fault(spec, f"fault-{next(self._ids)}")
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault and release the requests hanging on them."""
        with self._lock:
            faults, self._faults = self._faults + self._retired, []
            self._retired = []
        for fault in faults:
            fault.released.set()

    def active(self) -> list[Fault]:
        """The faults in force, oldest first."""
        with self._lock:
            return list(self._faults)

    def take(self, service: str, method: str, path: str) -> Fault | None:
        """The first fault applying to a request, counting it as applied once.

        Version faults are left out: the Worker data plane applies them once it has chosen
        the version (:meth:`take_version`)."""
        with self._lock:
            for fault in self._faults:
                if (
                    fault.version is None
                    and not fault.is_health_only
                    and fault.matches(service, method, path)
                    and fault.hits()
                ):
                    self._consume(fault)
                    return fault
        return None

    def take_version(self, service: str, method: str, path: str, version: str) -> Fault | None:
        """The first version fault applying to a request served by ``version``, counted as applied."""
        with self._lock:
            for fault in self._faults:
                if (
                    fault.version is not None
                    and not fault.is_health_only
                    and fault.matches(service, method, path, version)
                    and fault.hits()
                ):
                    self._consume(fault)
                    return fault
        return None

    def health(self, version: str | None = None) -> str | None:
        """The worker health a fault imposes on ``version`` (``degraded``/``unhealthy``), counted."""
        with self._lock:
            for fault in self._faults:
                if (
                    fault.health is not None
                    and fault.service == "worker"
                    and fault.version in (None, version)
                    and fault.hits()
                ):
                    self._consume(fault)
                    return fault.health
        return None

    def _consume(self, fault: Fault) -> None:
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)
                if fault.hang or fault.latency_ms:
                    self._retired.append(fault)
