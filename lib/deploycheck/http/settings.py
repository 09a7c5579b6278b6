"""Settings and guards of :class:`deploycheck.http.client.HttpClient`, read at its edge.

:class:`HttpSettings` (timeouts and retry bounds from the environment), the https-only
base URL check (loopback excepted) and the one-error-for-every-unset-credential check.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from deploycheck.errors import ConfigError, Problem

__all__ = [
    "HttpSettings",
    "check_base_url",
    "is_loopback",
    "require_credentials",
]


def _env_number(environ: Mapping[str, str], name: str, default: float, problems: list[Problem]) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        problems.append(
            Problem(source="environment", path=name, message=f"expected a non-negative number, got {raw!r}.")
        )
        return default
    return value


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retry bounds shared by every request of a client."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    retries: int = 3
    budget: float = 30.0
    allow_insecure: bool = False
    #: a response body larger than this is refused (``DEPLOYCHECK_HTTP_MAX_BYTES``)
    max_bytes: int = 16 * 1024 * 1024
    #: (count, seconds) replacing a platform's own pace, (0, 0) for none (``DEPLOYCHECK_HTTP_PACE``)
    pace: tuple[int, float] | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> HttpSettings:
        """Read ``DEPLOYCHECK_HTTP_TIMEOUT`` (read timeout, s), ``DEPLOYCHECK_HTTP_RETRIES``,
        ``DEPLOYCHECK_HTTP_BUDGET`` (total s), ``DEPLOYCHECK_HTTP_MAX_BYTES`` (largest response
        body), ``DEPLOYCHECK_ALLOW_INSECURE``, ``DEPLOYCHECK_HTTP_PACE`` (``N/SECONDS`` or ``off``)."""
        from deploycheck.http.pace import parse_pace

        problems: list[Problem] = []
        raw_pace = environ.get("DEPLOYCHECK_HTTP_PACE")
        pace = parse_pace(raw_pace, "DEPLOYCHECK_HTTP_PACE", problems) if raw_pace else None
        read = _env_number(environ, "DEPLOYCHECK_HTTP_TIMEOUT", cls.read_timeout, problems)
        retries = _env_number(environ, "DEPLOYCHECK_HTTP_RETRIES", cls.retries, problems)
        budget = _env_number(environ, "DEPLOYCHECK_HTTP_BUDGET", cls.budget, problems)
        max_bytes = _env_number(environ, "DEPLOYCHECK_HTTP_MAX_BYTES", cls.max_bytes, problems)
        if problems:
            raise ConfigError(problems)
        return cls(
            connect_timeout=min(cls.connect_timeout, read) if read > 0 else cls.connect_timeout,
            read_timeout=read,
            retries=int(retries),
            budget=budget,
            allow_insecure=environ.get("DEPLOYCHECK_ALLOW_INSECURE", "") in {"1", "true", "yes"},
            max_bytes=int(max_bytes),
            pace=pace,
        )


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, variable: str, *, allow_insecure: bool = False) -> str:
    """Return ``url`` without a trailing slash, or raise ConfigError naming ``variable``.

    Credentials are sent to this URL, so it must be https unless it is loopback or
    ``allow_insecure`` is set.
    """
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problem = f"{url!r} is not an http(s) URL."
        hint = "Set it to the vendor's API base URL, e.g. https://api.cloudflare.com/client/v4."
    elif parts.scheme == "http" and not (allow_insecure or is_loopback(parts.hostname)):
        problem = f"{url!r} is not https; credentials would travel in clear text."
        hint = "Use an https URL (http is allowed for loopback hosts or with DEPLOYCHECK_ALLOW_INSECURE=1)."
    if problem is not None:
        raise ConfigError([Problem(source="environment", path=variable, message=problem, hint=hint)])
    return url.rstrip("/")


def require_credentials(environ: Mapping[str, str], needed: Mapping[str, str]) -> dict[str, str]:
    """Return the values of ``needed`` (variable -> what it is for); raise one ConfigError
    naming every unset variable."""
    problems = [
        Problem(
            source="environment",
            path=name,
            message=f"{name} is not set.",
            hint=f"Export {name} ({purpose}).",
        )
        for name, purpose in needed.items()
        if not environ.get(name)
    ]
    if problems:
        raise ConfigError(problems, title="missing platform credentials")
    from deploycheck.redact import register_environment_credentials

    # credentials are masked in every message from here on, even if a vendor echoes them
    register_environment_credentials({name: environ[name] for name in needed})
    return {name: environ[name] for name in needed}
