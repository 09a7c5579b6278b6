"""The whole deploycheck exception tree.

    DeploycheckError
    ├── InputError                 bad input from the user: exit code 2, nothing written
    │   ├── ConfigError            deploycheck.yaml is malformed or inconsistent
    │   ├── SoTError               the source-of-truth table is malformed
    │   ├── BaselineError          the drift baseline file is malformed
    │   └── UsageError             wrong command-line arguments
    ├── PlatformError              a platform could not be read or written
    │   ├── AuthError              401 / 403: the credential is missing, wrong or lacks a permission
    │   ├── NotFoundError          404: the project, script, deployment or key does not exist
    │   ├── RateLimitedError       429 after the bounded retries
    │   ├── PlatformTimeout        no answer within the connect or read timeout
    │   ├── PlatformUnavailable    connection refused, or 5xx after the bounded retries
    │   └── MalformedResponse      the vendor answered something that is not its documented shape
    ├── LockError                  another deploycheck run holds the project lock
    ├── SyncError                  some changes of a sync were not applied
    ├── RollbackError              a rollback was refused or failed
    │   └── SchemaGuardError       a Convex rollback would cross a breaking schema change
    └── DeployError                a coordinated deploy failed

Every message says what happened, where, and the next step. Messages pass through
the redactor before they are shown anywhere (see :mod:`deploycheck.redact`).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

__all__ = [
    "AuthError",
    "BaselineError",
    "ConfigError",
    "DeployError",
    "DeploycheckError",
    "InputError",
    "LockError",
    "MalformedResponse",
    "NotFoundError",
    "PlatformError",
    "PlatformTimeout",
    "PlatformUnavailable",
    "Problem",
    "RateLimitedError",
    "RollbackError",
    "SchemaGuardError",
    "SoTError",
    "SyncError",
    "UsageError",
]


class DeploycheckError(Exception):
    """Base of every error deploycheck raises on purpose."""

    exit_code: int = 1


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file: where it is, what is wrong, and what to do.

    ``source`` is a file path (or a label such as ``--env``), ``line`` its 1-based line
    when known, ``path`` a key path inside the file such as ``targets.CONVEX.platform``.
    """

    source: str
    message: str
    line: int | None = None
    path: str = ""
    hint: str = ""

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        text = f"{where}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        if self.hint:
            text += f" Hint: {self.hint}"
        return text


class InputError(DeploycheckError):
    """Raised for bad user input; carries every problem found, not only the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | str, *, title: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(source="input", message=problems)]
        self.problems = list(problems)
        self.title = title or self.default_title
        lines = [f"{self.title} ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    default_title = "invalid input"


class ConfigError(InputError):
    """Raised when deploycheck.yaml is malformed, inconsistent, or names something unknown."""

    default_title = "invalid deploycheck configuration"


class SoTError(InputError):
    """Raised when the source-of-truth table is malformed or breaks a platform rule."""

    default_title = "invalid source-of-truth table"


class BaselineError(InputError):
    """Raised when the drift baseline file is malformed."""

    default_title = "invalid drift baseline"


class UsageError(InputError):
    """Raised for wrong command-line arguments."""

    default_title = "invalid arguments"


@dataclass(eq=False, repr=False)
class PlatformError(DeploycheckError):
    """Raised when a platform could not be read or written.

    Carries the platform (``convex``), the operation (``list environment variables``),
    the HTTP status and vendor error code when there was one, and a next-step hint;
    ``detail`` is what happened (the message given), ``retryable`` whether repeating the
    request may succeed.
    """

    detail: str
    _: KW_ONLY
    platform: str
    operation: str
    status: int | None = None
    code: str | int | None = None
    hint: str = ""
    retryable: bool = False

    exit_code = 3

    def __post_init__(self) -> None:
        text = f"{self.platform}: {self.operation} failed: {self.detail}"
        extra = []
        if self.status is not None:
            extra.append(f"HTTP {self.status}")
        if self.code is not None:
            extra.append(f"vendor code {self.code}")
        if extra:
            text += f" ({', '.join(extra)})"
        if self.hint:
            text += f". Next step: {self.hint}"
        super().__init__(text)


class AuthError(PlatformError):
    """Raised on 401 or 403: the credential is missing, wrong, or lacks a permission."""


class NotFoundError(PlatformError):
    """Raised on 404: the project, script, deployment or key does not exist."""


class RateLimitedError(PlatformError):
    """Raised on 429 once the bounded retries are used up."""


class PlatformTimeout(PlatformError):
    """Raised when a platform gave no answer within the connect or read timeout."""


class PlatformUnavailable(PlatformError):
    """Raised on a refused connection, or a 5xx that persisted through the bounded retries."""


class MalformedResponse(PlatformError):
    """Raised when a platform answered with something that is not its documented shape."""


class LockError(DeploycheckError):
    """Raised when another deploycheck run holds the project lock."""

    exit_code = 1


class SyncError(DeploycheckError):
    """Raised when some changes of a sync were not applied; names what was and was not."""


class RollbackError(DeploycheckError):
    """Raised when a rollback is refused or fails."""


class SchemaGuardError(RollbackError):
    """Raised when a Convex rollback would cross a breaking schema change."""


class DeployError(DeploycheckError):
    """Raised when a coordinated deploy cannot start or fails."""
