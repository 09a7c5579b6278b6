"""Validation of Convex environment-variable changes, applied as one transaction.

Every change of a batch is checked before any is applied; the first problem rejects the
whole batch with the backend's error code (``EnvironmentVariableNameInvalid``, ...).
Limits follow the backend's code: names up to 256 bytes, values up to 8 KiB, 512
variables, 512 KiB in total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_NAME_BYTES",
    "MAX_TOTAL_BYTES",
    "MAX_VALUE_BYTES",
    "MAX_VARIABLES",
    "SYSTEM_NAMES",
    "Change",
    "ChangeError",
    "apply_changes",
    "parse_changes",
]

MAX_NAME_BYTES = 256
MAX_VALUE_BYTES = 8 * 1024
MAX_VARIABLES = 512
MAX_TOTAL_BYTES = 512 * 1024
SYSTEM_NAMES = frozenset({"CONVEX_CLOUD_URL", "CONVEX_SITE_URL"})
_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class Change:
    """Set ``name`` to ``value``, or delete it when ``value`` is ``None``."""

    name: str
    value: str | None


class ChangeError(Exception):
    """A rejected batch: the backend's error ``code`` and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_changes(body: Any) -> list[Change]:
    """The changes of an ``update_environment_variables`` body; raises ChangeError if malformed."""
    prefix = "Failed to deserialize the JSON body into the target type"
    if not isinstance(body, dict) or "changes" not in body:
        raise ChangeError("BadJsonBody", f"{prefix}: missing field `changes`")
    if not isinstance(body["changes"], list):
        raise ChangeError("BadJsonBody", f"{prefix}: changes: invalid type, expected a sequence")
    changes = []
    for index, item in enumerate(body["changes"]):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ChangeError("BadJsonBody", f"{prefix}: changes[{index}]: missing field `name`")
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            raise ChangeError(
                "BadJsonBody", f"{prefix}: changes[{index}].value: invalid type, expected a string"
            )
        changes.append(Change(item["name"], value))
    return changes


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name):
        message = (
            f"The environment variable name {name} is invalid. Environment variable names must begin "
            "with a letter and may only include characters a-z, A-Z, 0-9, and underscores."
        )
        raise ChangeError("EnvironmentVariableNameInvalid", message)
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        message = (
            f"The environment variable name {name} is too long. "
            f"Environment variable names must be less than {MAX_NAME_BYTES}."
        )
        raise ChangeError("EnvironmentVariableNameTooLong", message)
    if name in SYSTEM_NAMES:
        message = f'Environment variable with name "{name}" is built-in and cannot be overridden'
        raise ChangeError("EnvVarNameForbidden", message)


def _check_value(value: str) -> None:
    size = len(value.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        message = f"The environment variable value is {size} bytes, which is too large. "
        message += f"(max size: {MAX_VALUE_BYTES})"
        raise ChangeError("EnvironmentVariableValueTooLarge", message)


def apply_changes(current: dict[str, str], changes: list[Change]) -> dict[str, str]:
    """The variables after ``changes``, or ChangeError with nothing applied.

    ``current`` is not modified; the caller swaps in the result, so a rejected batch
    leaves no trace.
    """
    seen: set[str] = set()
    for change in changes:
        _check_name(change.name)
        if change.value is not None:
            _check_value(change.value)
        if change.name in seen:
            message = f'An environment variable with name "{change.name}" appears twice in one update'
            raise ChangeError("EnvVarNameNotUnique", message)
        seen.add(change.name)
    result = dict(current)
    for change in sorted(changes, key=lambda c: c.name):
        if change.value is None:
            result.pop(change.name, None)
        else:
            result[change.name] = change.value
    if len(result) > MAX_VARIABLES:
        raise ChangeError("EnvVarLimitMet", f"The environment variable limit ({MAX_VARIABLES}) has been met.")
    total = sum(len(name.encode("utf-8")) + len(value.encode("utf-8")) for name, value in result.items())
    if total > MAX_TOTAL_BYTES:
        message = f"The total size of environment variables ({total} bytes) exceeds the limit "
        message += f"({MAX_TOTAL_BYTES} bytes)."
        raise ChangeError("EnvVarTotalSizeLimitMet", message)
    return result
