"""Configuration drift as checks: one test per key and target, one per target for extra keys.

Ids read ``test_no_drift[production-CONVEX-APP_ENV]``: the plugin parametrizes ``drift_key``
and ``drift_target`` from the config and the SoT (no platform is read to collect them), and
its ``drift_finding`` / ``drift_extras`` fixtures compare the session's shared platform
reads with the SoT. Missing, value_differs, pending, changed_out_of_band and unexpected
fail; unverifiable and acknowledged drift warn.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import deploycheck
from deploycheck.drift import Finding
from deploycheck.pytest_plugin import DRIFT_PROPERTY


def _describe(f: Finding) -> str:
    text = f"{f.key} on {f.target} ({f.platform} {f.resource}): {f.state};"
    text += f" expected {f.expected}, actual {f.actual}."
    if f.detail:
        text += f" {f.detail}"
    if f.acknowledged is not None and f.expired:
        a = f.acknowledged
        text += f" The baseline acknowledgement by {a.owner} expired {a.expires.isoformat()} (line {a.line})."
    return f"{text} Action: {f.action}"


def _record(request: Any, finding: Finding) -> None:
    """Give the report's drift section this finding (display strings only: fingerprints for secrets)."""
    outcome = "fail" if finding.fails else "warn"
    row = {
        "target": finding.target, "key": finding.key, "state": finding.state, "outcome": outcome,
        "expected": finding.expected, "actual": finding.actual, "action": finding.command or finding.action,
    }  # fmt: skip
    request.node.user_properties.append((DRIFT_PROPERTY, json.dumps(row)))


def _judge(finding: Finding, request: Any = None) -> None:
    __tracebackhide__ = True
    if not finding.is_drift:
        return
    if request is not None:
        _record(request, finding)
    if finding.is_acknowledged:
        a = finding.acknowledged
        assert a is not None
        until = a.expires.isoformat()
        deploycheck.warn(
            f"acknowledged drift: {_describe(finding)} Owner {a.owner}, until {until}: {a.reason}"
        )
        return
    if not finding.fails:
        deploycheck.warn(_describe(finding))
        return
    pytest.fail(_describe(finding), pytrace=False)


def test_no_drift(drift_finding: Finding, request: Any) -> None:
    """The platform holds exactly the SoT's value for this key (secrets: per the sync ledger and markers)."""
    _judge(drift_finding, request)


def test_no_unexpected_keys(drift_extras: list[Finding], request: Any) -> None:
    """The target holds no key the SoT does not assign to it (acknowledged extras warn)."""
    for f in drift_extras:
        _record(request, f)
        if not f.fails:
            _judge(f)
    failing = [f for f in drift_extras if f.fails]
    if failing:
        pytest.fail("\n".join(_describe(f) for f in failing), pytrace=False)
