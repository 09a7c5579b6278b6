"""Output paths of the command line: every byte written goes through the redactor."""

from __future__ import annotations

import io
import sys
import traceback
from typing import TextIO

from deploycheck.errors import DeploycheckError
from deploycheck.redact import redact, register_environment_credentials

__all__ = ["RedactingStream", "install_redacting_streams", "report_error"]


class RedactingStream(io.TextIOBase):
    """A text stream that masks registered secrets before writing to the wrapped stream.

    Lines are buffered until their newline so a secret split across two writes is still
    masked.
    """

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            head, _, self._pending = self._pending.rpartition("\n")
            self.wrapped.write(redact(head + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.wrapped.write(redact(self._pending))
            self._pending = ""
        self.wrapped.flush()

    def isatty(self) -> bool:
        return self.wrapped.isatty()

    def fileno(self) -> int:
        return self.wrapped.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.wrapped, "encoding", "utf-8")


def install_redacting_streams() -> None:
    """Wrap sys.stdout and sys.stderr with redacting streams (once) and register credentials."""
    register_environment_credentials()
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)


def report_error(exc: BaseException) -> int:
    """Print an error the way the CLI shows it and return its exit code.

    deploycheck errors print as ``ErrorName: message``; anything else prints its
    traceback (redacted) since it is a bug worth reporting.
    """
    if isinstance(exc, DeploycheckError):
        print(redact(f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return exc.exit_code
    text = "".join(traceback.format_exception(exc))
    print(redact(text), file=sys.stderr)
    print("deploycheck: internal error; please report it with the output above.", file=sys.stderr)
    return 1
