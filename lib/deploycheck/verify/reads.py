"""A memoised platform read (:class:`Fetched`) and what a view asks of the run's state.

:class:`StateReads` is the part of :class:`~deploycheck.verify.state.VerificationState`
the per-platform views use: starting reads, fetching their results, and the run's
configuration and settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from deploycheck.config import ProjectConfig, Settings, Target
from deploycheck.errors import ConfigError, DeploycheckError
from deploycheck.verify.probes import PageResult

__all__ = ["MISSING_CREDENTIALS", "Fetched", "StateReads"]

#: the title of the ConfigError a factory raises when credentials are absent
MISSING_CREDENTIALS = "missing platform credentials"


@dataclass(frozen=True)
class Fetched:
    """A memoised read: its value, or the error that stopped it."""

    value: Any = None
    error: DeploycheckError | None = None
    #: in a remote environment missing credentials are a failure, never a skip
    strict: bool = False

    def get(self) -> Any:
        """The value, or raise the error the read ended with."""
        if self.error is not None:
            raise self.error
        return self.value

    @property
    def unavailable(self) -> str | None:
        """Why the read could not be made at all (credentials absent), else None."""
        error = self.error
        if self.strict:
            return None
        if isinstance(error, ConfigError) and error.title == MISSING_CREDENTIALS:
            names = ", ".join(p.path for p in error.problems if p.path) or "credentials"
            return f"{names} not set: the platform API cannot be read"
        return None

    @property
    def message(self) -> str:
        """The error as one line ("" when the read succeeded)."""
        return " ".join(str(self.error).split()) if self.error is not None else ""


class StateReads(Protocol):
    """The reads and settings of one verification run, as the views use them."""

    @property
    def config(self) -> ProjectConfig: ...
    @property
    def env(self) -> str: ...
    @property
    def environ(self) -> Mapping[str, str]: ...
    @property
    def settings(self) -> Settings: ...

    def start(self, kind: str, target: Target) -> None:
        """Start the platform API read ``kind`` of ``target`` in the background."""

    def fetch(self, kind: str, target: Target) -> Fetched:
        """The result of the read ``kind`` of ``target`` (waiting for it)."""

    def start_page(self, url: str) -> None:
        """Start fetching the page ``url``."""

    def page(self, url: str) -> PageResult:
        """The fetched page ``url``."""

    def start_health(self, base_url: str, path: str = "/health") -> None:
        """Start reading a Worker's health."""

    def start_certificate(self, url: str) -> None:
        """Start reading the certificate of ``url``."""
