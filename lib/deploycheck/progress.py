"""Say what a long wait is waiting for, the way Terraform's "Still reading... [10s elapsed]" does.

Code that may wait (an HTTP request with its retries) runs inside :func:`activity`,
naming the platform and the operation, and updates the attempt and the backoff sleep as
it goes. A :class:`ProgressMonitor` thread (started by the CLI and the pytest plugin)
prints every activity older than :data:`QUIET_S` seconds, then again every
:data:`EVERY_S` seconds, e.g.::

    Still waiting for github-actions: list variables (retry 2 of 3, next try in 1.5 s) [4s elapsed]

Without a terminal each report is its own line (CI logs); on a terminal one line is
rewritten in place. Every line goes through the redactor.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from deploycheck.redact import redact

__all__ = ["EVERY_S", "QUIET_S", "Activity", "ProgressMonitor", "activities", "activity"]

#: waits shorter than this say nothing
QUIET_S = 2.0
#: how often a continuing wait is reported again
EVERY_S = 5.0

_lock = threading.Lock()
_active: dict[int, Activity] = {}
_ids = itertools.count(1)


@dataclass
class Activity:
    """One wait in progress: who is waited on, for what, which attempt, and when it began."""

    platform: str
    operation: str
    started: float = field(default_factory=time.monotonic)
    #: the retry running now, or the one the backoff sleep waits for (0: the first attempt)
    retry: int = 0
    retries: int = 0
    sleeping_until: float | None = None
    #: the rate a paced request waits for (see deploycheck.http.pace), while it waits
    paced: str = ""

    def retrying(self, retry: int, retries: int) -> None:
        """Record that retry ``retry`` of ``retries`` starts now (0: the first attempt)."""
        self.retry, self.retries, self.sleeping_until = retry, retries, None
        self.paced = ""

    def pacing(self, seconds: float, pace: str) -> None:
        """Record a wait of ``seconds`` before the first attempt, to keep to ``pace``."""
        self.sleeping_until = time.monotonic() + seconds
        self.paced = pace

    def sleeping(self, seconds: float, retry: int, retries: int) -> None:
        """Record a backoff sleep of ``seconds`` before retry ``retry`` of ``retries``."""
        self.retry, self.retries = retry, retries
        self.sleeping_until = time.monotonic() + seconds

    def describe(self, now: float | None = None) -> str:
        """``Still waiting for PLATFORM: OPERATION (retry n of m, next try in s) [Ns elapsed]``."""
        now = time.monotonic() if now is None else now
        parts = [f"retry {self.retry} of {self.retries}"] if self.retry else []
        if self.paced and self.sleeping_until is not None:
            parts.append(f"paced to {self.paced}, sending in {max(0.0, self.sleeping_until - now):.1f} s")
        elif self.sleeping_until is not None:
            parts.append(f"next try in {max(0.0, self.sleeping_until - now):.1f} s")
        detail = f" ({', '.join(parts)})" if parts else ""
        return (
            f"Still waiting for {self.platform}: {self.operation}{detail} [{now - self.started:.0f}s elapsed]"
        )


@contextmanager
def activity(platform: str, operation: str) -> Iterator[Activity]:
    """Register a wait for the monitor for the duration of the block."""
    current = Activity(platform, operation)
    key = next(_ids)
    with _lock:
        _active[key] = current
    try:
        yield current
    finally:
        with _lock:
            _active.pop(key, None)


def activities() -> list[Activity]:
    """The waits in progress now."""
    with _lock:
        return list(_active.values())


class ProgressMonitor:
    """A daemon thread printing the waits older than :data:`QUIET_S`; ``stop()`` ends it."""

    def __init__(
        self, write: Callable[[str], None], *, tty: bool = False, tick_s: float = 0.5,
        quiet_s: float = QUIET_S, every_s: float = EVERY_S,
    ) -> None:  # fmt: skip
        self.write, self.tty, self.tick_s = write, tty, tick_s
        self.quiet_s, self.every_s = quiet_s, every_s
        self._stop = threading.Event()
        self._said: dict[int, float] = {}
        self._line = False
        self._on_stop: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._run, name="deploycheck-progress", daemon=True)

    @classmethod
    def to_fd(cls, fd: int, *, close: bool = False) -> ProgressMonitor:
        """A monitor writing to file descriptor ``fd`` (one updating line when it is a terminal);
        ``close`` closes ``fd`` when the monitor stops."""

        def write(text: str) -> None:
            with contextlib.suppress(OSError):
                os.write(fd, text.encode("utf-8", "replace"))

        monitor = cls(write, tty=os.isatty(fd))
        if close:
            monitor._on_stop.append(lambda: os.close(fd))
        return monitor

    def start(self) -> ProgressMonitor:
        """Start the thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (and end the updating line)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if self._line:
            self.write("\r\x1b[2K")
        for action in self._on_stop:
            with contextlib.suppress(OSError):
                action()
        self._on_stop.clear()

    def tick(self, now: float | None = None) -> list[str]:
        """Print (and return) what is due now; the thread calls this every ``tick_s``."""
        now = time.monotonic() if now is None else now
        due = []
        for current in activities():
            key = id(current)
            if now - current.started < self.quiet_s:
                continue
            last = self._said.get(key)
            if self.tty or last is None or now - last >= self.every_s:
                self._said[key] = now
                due.append(redact(current.describe(now)))
        if not due:
            if self.tty and self._line and not activities():
                self.write("\r\x1b[2K")
                self._line = False
            return []
        if self.tty:
            extra = f" (+{len(due) - 1} more)" if len(due) > 1 else ""
            self.write(f"\r\x1b[2K{due[0]}{extra}")
            self._line = True
        else:
            self.write("".join(f"{line}\n" for line in due))
        return due

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            self.tick()
