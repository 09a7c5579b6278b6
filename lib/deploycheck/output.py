"""Output paths of the command line: every byte written goes through the redactor."""

from __future__ import annotations

import io
import sys
import traceback
from typing import TextIO

from deploycheck.errors import DeploycheckError
from deploycheck.redact import redact, register_environment_credentials

__all__ = ["FORMAT_VERSION", "RedactingStream", "ascii_fallback", "install_redacting_streams", "report_error"]

#: the version of every command's ``--format json`` document: bumped when a field changes
#: meaning or goes away (new fields do not bump it)
FORMAT_VERSION = 1


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
            self._emit(redact(head + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._emit(redact(self._pending))
            self._pending = ""
        self.wrapped.flush()

    def _emit(self, text: str) -> None:
        try:
            self.wrapped.write(text)
        except UnicodeEncodeError:
            # a terminal or pipe that cannot show the symbols (PYTHONIOENCODING=ascii, LANG=C)
            self.wrapped.write(ascii_fallback(text, self.encoding))

    def isatty(self) -> bool:
        return self.wrapped.isatty()

    def fileno(self) -> int:
        return self.wrapped.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.wrapped, "encoding", "utf-8")


#: the symbols the output uses, in words for streams that cannot encode them
_SYMBOLS = {
    "\u2705": "[ok]", "\u26a0\ufe0f": "[warn]", "\u26a0": "[warn]", "\u274c": "[fail]", "\u2026": "...",
    "\u2192": "->", "\u00d7": "x", "\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'",
    "\u201c": '"', "\u201d": '"',
}  # fmt: skip


def ascii_fallback(text: str, encoding: str) -> str:
    """``text`` with the output's symbols in words and anything else ``encoding`` lacks as ``?``."""
    for symbol, words in _SYMBOLS.items():
        text = text.replace(symbol, words)
    return text.encode(encoding or "ascii", "replace").decode(encoding or "ascii")


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
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        # an optional dependency (an extra) that is not installed: say which and how to get it
        print(
            f"MissingDependency: the Python package {exc.name!r} is not installed. "
            f"Next step: pip install {exc.name.split('.')[0]} (or pip install -e '.[test]' in a checkout)",
            file=sys.stderr,
        )
        return 2
    if isinstance(exc, FileNotFoundError) and exc.filename:
        # a program the command runs (git, npx) or a file it opens is not there
        print(
            redact(
                f"NotFound: {exc.filename}: no such program or file. Next step: install it "
                "(a program must be on PATH) or check the path"
            ),
            file=sys.stderr,
        )
        return 2
    text = "".join(traceback.format_exception(exc))
    print(redact(text), file=sys.stderr)
    print("deploycheck: internal error; please report it with the output above.", file=sys.stderr)
    return 1
