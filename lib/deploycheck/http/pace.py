"""Client-side pacing: stay under a vendor's documented request rate instead of hitting it.

A :class:`Pacer` admits at most ``limit`` requests in any ``window`` seconds (a sliding
log of send times) and says how long the next one must wait. Limits are per credential,
not per client object, so :func:`shared_pacer` hands every client of one vendor base URL
the same pacer. GitHub allows about 80 content-creating requests a minute; Cloudflare
1,200 requests per 5 minutes. ``DEPLOYCHECK_HTTP_PACE=N/SECONDS`` overrides a
platform's count and window (``off`` switches pacing off).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from deploycheck.errors import Problem

__all__ = ["Pace", "Pacer", "parse_pace", "shared_pacer"]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Pace:
    """A rate to keep: ``limit`` requests of ``methods`` (all when empty) per ``window`` seconds."""

    limit: int
    window: float
    methods: Collection[str] = ()
    #: what the progress line says while waiting, e.g. "80 content-creating requests a minute"
    label: str = ""

    def applies(self, method: str) -> bool:
        """Whether a request of ``method`` is paced."""
        return not self.methods or method.upper() in self.methods

    def describe(self) -> str:
        """``80 requests per 60 s`` (or the label)."""
        return self.label or f"{self.limit} requests per {self.window:g} s"


#: the methods GitHub counts as content-creating
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class Pacer:
    """Admits requests at a :class:`Pace`; thread-safe.

    A request counts from its reserved slot until it finishes, and then from the moment it
    finished: the vendor counts a request when it arrives, which may be later than the
    slot (a queue, a slow network), so measuring the window from the answer keeps a late
    request and the one a window after it from landing in the same vendor window.

    Example::

        pacer = Pacer(Pace(80, 60.0))
        wait, ticket = pacer.reserve()   # 0.0 for the first 80 in a minute
        ...                              # sleep `wait`, send the request
        pacer.finish(ticket)
    """

    def __init__(self, pace: Pace, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.pace = pace
        self.clock = clock
        self._lock = threading.Lock()
        self._times: dict[int, float] = {}
        self._open: set[int] = set()
        self._tickets = itertools.count()
        #: requests that had to wait, and the seconds they waited in all
        self.delayed = 0
        self.waited = 0.0

    def reserve(self) -> tuple[float, int]:
        """Book the next slot: (seconds to wait before sending in it, the ticket to finish)."""
        with self._lock:
            now = self.clock()
            for ticket in [
                t for t, at in self._times.items() if t not in self._open and at <= now - self.pace.window
            ]:
                del self._times[ticket]
            # a request still open has not finished before now
            times = sorted(max(at, now) if t in self._open else at for t, at in self._times.items())
            slot = (
                now
                if len(times) < self.pace.limit
                else times[len(times) - self.pace.limit] + self.pace.window
            )
            ticket = next(self._tickets)
            self._times[ticket] = slot
            self._open.add(ticket)
            wait = max(0.0, slot - now)
            if wait > 0:
                self.delayed += 1
                self.waited += wait
            return wait, ticket

    def finish(self, ticket: int) -> None:
        """The request of ``ticket`` has its answer (or failed): it counts from now."""
        with self._lock:
            if ticket in self._open:
                self._open.discard(ticket)
                self._times[ticket] = max(self._times[ticket], self.clock())


_shared: dict[tuple[str, Pace], Pacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(key: str, pace: Pace) -> Pacer:
    """The process-wide pacer of ``key`` (a vendor base URL) at ``pace``."""
    with _shared_lock:
        pacer = _shared.get((key, pace))
        if pacer is None:
            pacer = _shared[(key, pace)] = Pacer(pace)
        return pacer


def parse_pace(raw: str, name: str, problems: list[Problem]) -> tuple[int, float] | None:
    """``N/SECONDS`` as (N, seconds); ``off`` or ``0`` as (0, 0); a problem and None when malformed."""
    text = raw.strip().lower()
    if text in {"off", "0"}:
        return (0, 0.0)
    count, _, seconds = text.partition("/")
    try:
        limit, window = int(count), float(seconds)
    except ValueError:
        limit, window = 0, 0.0
    if limit < 1 or window <= 0:
        problems.append(
            Problem(
                source="environment",
                path=name,
                message=f"expected N/SECONDS (e.g. 80/60) or off, got {raw!r}.",
            )
        )
        return None
    return (limit, window)
