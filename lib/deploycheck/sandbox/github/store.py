"""Storage of the GitHub Actions emulator: scopes holding secrets and variables.

A :class:`Scope` is one place secrets and variables live (a repository or one of its
environments). Each scope owns a Curve25519 keypair, as on GitHub, so clients must
encrypt each secret with the public key of the scope they write to.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets as _secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

__all__ = [
    "MAX_VALUE_BYTES",
    "Entry",
    "LogicalClock",
    "Scope",
    "link_header",
    "name_problem",
    "page_slice",
]

#: GitHub's size limit for one secret or variable value ("48 KB")
MAX_VALUE_BYTES = 48 * 1024
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: the strict base64 pattern of ``encrypted_value`` in GitHub's OpenAPI description
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
_BASE64_RE = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")


class LogicalClock:
    """Whole-second UTC timestamps, ISO 8601 with a ``Z`` suffix, as GitHub reports them.

    GitHub reports ``updated_at`` to the second; two writes of one secret in the same
    second would look identical to a client comparing timestamps, so :meth:`tick`
    never repeats or goes behind the timestamp it is given.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now

    def tick(self, after: str | None = None) -> str:
        """The current time, or one second past ``after`` when that is not earlier."""
        stamp = int(self._now())
        if after is not None:
            previous = int(datetime.strptime(after, _STAMP).replace(tzinfo=UTC).timestamp())
            stamp = max(stamp, previous + 1)
        return datetime.fromtimestamp(stamp, UTC).strftime(_STAMP)


@dataclass
class Entry:
    """One stored secret (value decrypted) or variable."""

    name: str
    value: str
    created_at: str
    updated_at: str

    def as_secret(self) -> dict[str, str]:
        """The secret as GitHub shows it: never the value."""
        return {"name": self.name, "created_at": self.created_at, "updated_at": self.updated_at}

    def as_variable(self) -> dict[str, str]:
        """The variable as GitHub shows it."""
        return {
            "name": self.name,
            "value": self.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class Scope:
    """A repository or environment: its keypair, secrets and variables."""

    secret_limit: int
    variable_limit: int
    private_key: PrivateKey = field(default_factory=PrivateKey.generate)
    key_id: str = field(default_factory=lambda: str(_secrets.randbelow(9 * 10**17) + 10**17))
    secrets: dict[str, Entry] = field(default_factory=dict)
    variables: dict[str, Entry] = field(default_factory=dict)

    @property
    def public_key(self) -> str:
        """The base64 public key clients encrypt secrets with."""
        return base64.b64encode(bytes(self.private_key.public_key)).decode("ascii")

    def decrypt(self, encrypted_value: str) -> str | None:
        """Open a base64 sealed box addressed to this scope; ``None`` when it does not open."""
        if not _BASE64_RE.match(encrypted_value):
            return None
        try:
            sealed = base64.b64decode(encrypted_value, validate=True)
            return SealedBox(self.private_key).decrypt(sealed).decode("utf-8")
        except (binascii.Error, CryptoError, UnicodeDecodeError):
            return None

    def clear(self) -> None:
        """Forget every secret and variable; the keypair stays, as GitHub's does."""
        self.secrets.clear()
        self.variables.clear()

    def snapshot(self) -> dict[str, dict[str, dict[str, str]]]:
        """Every stored value of the scope, secrets decrypted."""
        return {
            "secrets": {name: _snap(entry) for name, entry in sorted(self.secrets.items())},
            "variables": {name: _snap(entry) for name, entry in sorted(self.variables.items())},
        }


def _snap(entry: Entry) -> dict[str, str]:
    return {"value": entry.value, "created_at": entry.created_at, "updated_at": entry.updated_at}


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid secret or variable name, or ``None`` when it is."""
    if not name:
        return "Name cannot be empty."
    if not _NAME_RE.match(name):
        if name[0].isdigit():
            return "Name must not start with a number."
        return "Name can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_)."
    if name.upper().startswith("GITHUB_"):
        return "Name must not start with the GITHUB_ prefix."
    return None


def page_slice(page_arg: str | None, per_page_arg: str | None, default: int, maximum: int) -> tuple[int, int]:
    """Parse ``page`` and ``per_page`` the way GitHub does: bad values fall back, big ones are capped."""
    page = _positive_int(page_arg) or 1
    per_page = min(_positive_int(per_page_arg) or default, maximum)
    return page, per_page


def _positive_int(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    number = int(value)
    return number if number > 0 else None


def link_header(
    base_url: str, page: int, per_page: int, total: int, query: Mapping[str, str] | None = None
) -> str | None:
    """The ``Link`` header of one page of ``total`` items, or ``None`` when one page holds them all;
    each link keeps the request's other ``query`` parameters."""
    last = max(1, -(-total // per_page))
    if last == 1 and page == 1:
        return None

    def url(number: int) -> str:
        return f"{base_url}?{urlencode({**(query or {}), 'per_page': per_page, 'page': number})}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    return ", ".join(links)
