"""Root causes: the failures of a run that share one cause, under one headline.

A stopped sandbox fails every check at once; a Pages 503 fails the page check and every
check that reads the page. :func:`group_causes` reads each failed check's message for
the cause it names (an endpoint that refused the connection or timed out, a credential
that is not set, a 5xx answer of one service) and folds the checks sharing one into a
:class:`Cause`, worst first. A failure naming no shared cause is a cause of its own.
Nothing here imports pytest: the terminal summary, the HTML dashboard and ``verify``
share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from deploycheck.report.results import CheckRecord

__all__ = ["Cause", "CauseKind", "group_causes", "render_causes"]

CauseKind = Literal["unreachable", "credentials", "server-error", "drift", "check"]
#: worst first: nothing can be verified, then nothing of one platform, then one service, then one check
_ORDER: dict[str, int] = {"unreachable": 0, "credentials": 1, "server-error": 2, "drift": 3, "check": 4}
_FAILING = ("fail", "error")

_HOST_PORT = re.compile(r"connection refused \((?P<host>[\w.\-\[\]:]+?:\d+)\)")
_URL_FAILED = re.compile(
    r"(?:[A-Z]+ |from |at )?(?P<url>https?://[^\s,;)]+)[^;]*?(?:failed|no answer)[^;]*?"
    r"(?P<what>connection refused|connection reset|timed out|timeout|name resolution|unreachable)",
    re.IGNORECASE,
)
_NO_ANSWER = re.compile(r"no answer from (?P<url>https?://[^\s:,;]+(?::\d+)?[^\s,;:]*)")
_BARE_UNREACHABLE = re.compile(r"connection refused|connection reset|timed out|no answer", re.IGNORECASE)
_NOT_SET = re.compile(r"\b(?P<name>[A-Z][A-Z0-9_]{2,}) is not set\b|(?P<names>[A-Z][A-Z0-9_, ]+) not set:")
_SERVER_ERROR = re.compile(r"HTTP (?P<status>5\d\d)\b")
#: "APP_ENV on CONVEX (...): value_differs" (drift checks), "(CONVEX): APP_ENV differs" (config checks)
_DRIFT = re.compile(
    r"\b(?P<key>[A-Z][A-Z0-9_]+) on (?P<target>[A-Z][A-Z0-9_]+) \([^)]*\): (?P<state>[a-z_]+);"
    r"|\((?P<target2>[A-Z][A-Z0-9_]+)\): (?P<key2>[A-Z][A-Z0-9_]+) differs"
)
_ACTION = re.compile(r"Action: [^(]*?(?P<command>deploycheck [^(]+?)(?: \(|$)")
_OPERATION = re.compile(r"(?P<platform>[a-z][a-z\-]+): (?P<op>[a-z][\w ]+?) failed")


@dataclass
class Cause:
    """One root cause: a headline, what it is, and the checks it took down (first: the one that found it)."""

    kind: CauseKind
    key: str
    headline: str
    hint: str = ""
    checks: list[CheckRecord] = field(default_factory=list)
    #: the host:port endpoints that did not answer (unreachable causes)
    endpoints: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many checks this cause failed."""
        return len(self.checks)

    @property
    def platforms(self) -> list[str]:
        """The platforms of the checks it took down, in order of appearance."""
        return list(dict.fromkeys(c.platform for c in self.checks if c.platform))


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _is_loopback(endpoint: str) -> bool:
    host = endpoint.rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def _signature(record: CheckRecord) -> tuple[CauseKind, str, str]:  # noqa: PLR0911 (a return per kind)
    """(kind, key, detail) of the cause a failure message names."""
    message = record.message
    found = _HOST_PORT.search(message)
    if found:
        return "unreachable", found["host"], "connection refused"
    found = _URL_FAILED.search(message) or _NO_ANSWER.search(message)
    if found:
        what = found.groupdict().get("what") or "no answer"
        return "unreachable", _endpoint(found["url"]), what.lower()
    names = [m["name"] for m in _NOT_SET.finditer(message) if m["name"]]
    for m in _NOT_SET.finditer(message):
        if m["names"]:
            names += [n.strip() for n in m["names"].split(",") if n.strip()]
    if names:
        return "credentials", ", ".join(dict.fromkeys(names)), ""
    found = _SERVER_ERROR.search(message)
    if found:
        operation = _OPERATION.search(message)
        where = f"{record.platform} {record.resource}".strip() or "a service"
        return "server-error", f"{where}|{found['status']}", operation["op"] if operation else ""
    found = _DRIFT.search(message)
    if found:
        key, target = found["key"] or found["key2"], found["target"] or found["target2"]
        action = _ACTION.search(message)
        return "drift", f"{key} on {target}", action["command"].strip() if action else ""
    if _BARE_UNREACHABLE.search(message):
        return "unreachable", f"platform:{record.platform}", "no answer"
    return "check", record.id, ""


def group_causes(records: Iterable[CheckRecord], *, sandbox_hint: str | None = None) -> list[Cause]:
    """The failed and errored checks of ``records`` grouped by root cause, worst first.

    ``sandbox_hint`` (the admin URL or ports of the run's sandbox) turns unreachable
    loopback endpoints into one "sandbox unreachable at ..." cause.
    """
    failing = [r for r in records if r.outcome in _FAILING]
    causes: dict[tuple[str, str], Cause] = {}
    unreachable_platform: dict[str, Cause] = {}
    pending: list[tuple[CheckRecord, str]] = []
    for record in failing:
        kind, key, detail = _signature(record)
        if kind == "unreachable" and key.startswith("platform:"):
            pending.append((record, key.removeprefix("platform:")))
            continue
        if kind == "unreachable" and sandbox_hint is not None and _is_loopback(key):
            key = "sandbox"
        cause = causes.get((kind, key))
        if cause is None:
            cause = causes[(kind, key)] = _new_cause(kind, key, detail, record, sandbox_hint)
        cause.checks.append(record)
        if kind == "drift" and detail and not cause.hint:
            cause.hint = _HINTS["drift"].format(command=detail)
        if kind == "unreachable":
            original = _signature(record)[1]
            if original not in cause.endpoints:
                cause.endpoints.append(original)
            unreachable_platform.setdefault(record.platform, cause)
    for record, platform in pending:
        # "connection refused" with no address: the platform's endpoint already named, else its own
        cause = unreachable_platform.get(platform) or causes.get(("unreachable", "sandbox"))
        if cause is None:
            cause = causes.setdefault(
                ("unreachable", platform),
                Cause(
                    "unreachable",
                    platform,
                    f"{platform or 'a platform'} does not answer",
                    hint="Check the platform's URL and status page, then run again.",
                ),
            )
        cause.checks.append(record)
    sandbox = causes.get(("unreachable", "sandbox"))
    if sandbox is not None:
        sandbox.headline = f"sandbox unreachable at {_span(sandbox.endpoints) or sandbox_hint}"
    return sorted(causes.values(), key=lambda c: (_ORDER[c.kind], -c.count))


def _span(endpoints: Iterable[str]) -> str:
    """``127.0.0.1:8760``, ``127.0.0.1:8761`` -> ``127.0.0.1:8760-8761``; ports that are not
    consecutive are listed (``127.0.0.1:8760, 9001``)."""
    by_host: dict[str, list[int]] = {}
    for endpoint in endpoints:
        host, _, port = endpoint.rpartition(":")
        if port.isdigit():
            by_host.setdefault(host, []).append(int(port))
    parts = []
    for host, ports in by_host.items():
        ordered = sorted(set(ports))
        low, high = ordered[0], ordered[-1]
        if low == high:
            parts.append(f"{host}:{low}")
        elif high - low + 1 == len(ordered):
            parts.append(f"{host}:{low}-{high}")
        else:
            parts.append(f"{host}:{', '.join(map(str, ordered))}")
    return ", ".join(parts)


_HINTS: dict[str, str] = {
    "sandbox": "Start it (deploycheck sandbox) or unset DEPLOYCHECK_SANDBOX_ADMIN_URL "
    "so the run starts its own.",
    "unreachable": "Check the network and the base URL; the platform may be down.",
    "credentials": "Export {name} (see README, Configuration) and run again.",
    "server-error": "The service is failing: check its status page and logs, then run again.",
    "drift": "Run {command} (or update the SoT if the platform is right).",
}


def _new_cause(kind: CauseKind, key: str, detail: str, record: CheckRecord, sandbox: str | None) -> Cause:
    headline, hint = "", ""
    if kind == "unreachable" and key == "sandbox":
        headline, hint = f"sandbox unreachable at {sandbox}", _HINTS["sandbox"]
    elif kind == "unreachable":
        headline = f"{record.platform or 'a platform'} unreachable at {key} ({detail})"
        hint = _HINTS["unreachable"]
    elif kind == "credentials":
        headline = f"credentials missing: {key} not set"
        hint = _HINTS["credentials"].format(name=key.split(", ", maxsplit=1)[0])
    elif kind == "server-error":
        where, status = key.rsplit("|", 1)
        headline = f"{where} answered HTTP {status}{f' to {detail}' if detail else ''}"
        hint = _HINTS["server-error"]
    elif kind == "drift":
        headline = f"{key} drifted from the source of truth"
        hint = _HINTS["drift"].format(command=detail) if detail else ""
    else:
        first = (record.message.strip().splitlines() or [""])[0]
        text = first.split(". Next step:")[0] or short_id(record.id)
        headline = text if len(text) <= 200 else text[:199] + "…"
    return Cause(kind, key, headline, hint=hint)


def short_id(check_id: str) -> str:
    """``checks/test_pages.py::test_x[sandbox-app-web]`` -> ``test_x[sandbox-app-web]``."""
    return check_id.rsplit("::", 1)[-1]


def render_causes(causes: Sequence[Cause], *, limit: int = 12) -> list[str]:
    """The terminal lines of the root-cause summary: one headline per cause, then its checks."""
    if not causes:
        return []
    total = sum(c.count for c in causes)
    plural = "s" if len(causes) != 1 else ""
    lines = [f"{len(causes)} root cause{plural} of {total} failed check{'s' if total != 1 else ''}:"]
    for number, cause in enumerate(causes, 1):
        lines.append(f"{number}. {cause.headline} ({cause.count} check{'s' if cause.count != 1 else ''})")
        if cause.hint:
            lines.append(f"   next step: {cause.hint}")
        shown = cause.checks[:limit]
        for record in shown:
            lines.append(f"   - {short_id(record.id)}")
        if len(cause.checks) > limit:
            lines.append(f"   - ... and {len(cause.checks) - limit} more")
    return lines
