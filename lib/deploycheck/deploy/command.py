"""Running one deploy command: no shell, output streamed line by line, redacted, bounded in time.

The command runs in its own process group (``start_new_session``) so that a timeout
stops everything it started (``npx`` spawns node, node spawns workerd or esbuild):
SIGTERM to the group, then SIGKILL after a grace period. Every line the command prints
goes through :func:`deploycheck.redact.redact` before it is written, prefixed with the
platform, and the last lines are kept for the summary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from deploycheck.redact import redact

__all__ = ["TAIL_LINES", "CommandResult", "run_command"]

#: lines of a command's output kept for the summary
TAIL_LINES = 12
#: seconds between SIGTERM and SIGKILL of a timed-out command's process group
KILL_GRACE = 3.0


@dataclass(frozen=True)
class CommandResult:
    """How a deploy command ended: exit code (None when it never started), timeout, last lines."""

    exit_code: int | None
    timed_out: bool
    tail: tuple[str, ...]
    duration: float
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the command ran to completion and exited 0."""
        return self.exit_code == 0 and not self.timed_out and not self.error

    def describe(self) -> str:
        """One phrase: ``exited 1``, ``timed out after 600 s``, or why it did not start."""
        if self.error:
            return self.error
        if self.timed_out:
            return f"timed out after {self.duration:.0f} s (process group killed)"
        return f"exited {self.exit_code}"


def _pump(stream: IO[str], prefix: str, out: TextIO, tail: deque[str], lock: threading.Lock) -> None:
    for raw in stream:
        line = redact(raw.rstrip("\r\n"))
        tail.append(line)
        with lock:
            out.write(f"{prefix}{line}\n")
            out.flush()
    stream.close()


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    environ: Mapping[str, str],
    timeout: float,
    out: TextIO,
    prefix: str = "",
    lock: threading.Lock | None = None,
) -> CommandResult:
    """Run ``argv`` in ``cwd`` with ``environ``, streaming its redacted output to ``out``.

    Standard error is merged into standard output so lines keep their order. After
    ``timeout`` seconds the whole process group is terminated. Never raises for a
    command that fails or cannot start: the result says what happened.
    """
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return CommandResult(None, False, (), 0.0, error=f"could not start {argv[0]!r}: {reason}")
    assert process.stdout is not None
    reader = threading.Thread(
        target=_pump,
        args=(process.stdout, prefix, out, tail, lock or threading.Lock()),
        name="deploy-output",
        daemon=True,
    )
    reader.start()
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
    except BaseException:  # Ctrl-C: never leave a deploy running behind our back
        _kill_group(process)
        raise
    # a grandchild that left the group may keep the pipe open: do not wait for it forever
    reader.join(timeout=KILL_GRACE)
    return CommandResult(process.returncode, timed_out, tuple(tail), time.monotonic() - started)
