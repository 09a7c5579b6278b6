"""Configuration drift as checks: one test per key and target, one per target for extra keys.

Ids read ``test_no_drift[production-CONVEX-APP_ENV]``. The platforms are read once per
session (the ``drift_report`` fixture in conftest.py); missing, value_differs, pending,
changed_out_of_band and unexpected fail; unverifiable and acknowledged drift warn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import deploycheck
from deploycheck.drift import DriftReport, Finding
from deploycheck.pytest_plugin.dashboard import DRIFT_PROPERTY


class Unloadable(str):
    """The error that kept the config or SoT from loading; the check fails with it."""


def _cases(config: pytest.Config) -> tuple[str, list[Any], list[Any]]:
    """(env, per-key params, per-target params) from the plugin's options and the SoT."""
    from deploycheck.config import load_config
    from deploycheck.drift import drift_cases, plan_targets, resolve_sot_path
    from deploycheck.platforms import resolve_alias
    from deploycheck.sot import load_sot

    config_path = config.getoption("--deploycheck-config")
    project = load_config(Path(config_path) if config_path else None)
    env = config.getoption("--env") or project.default_env
    platforms = tuple(resolve_alias(p) for p in config.getoption("--platform") or ())
    sot_path = resolve_sot_path(project, env)
    if not sot_path.is_file():
        # as dc_sot does for the config checks: no table on this machine is a skip, not an error
        reason = f"no source-of-truth table at {sot_path}: set DEPLOYCHECK_SOT or sot: in deploycheck.yaml"
        skipped = pytest.param(None, id=f"{env}-no-sot", marks=pytest.mark.skip(reason=reason))
        return env, [skipped], [skipped]
    sot = load_sot(sot_path, project)
    keys = [
        pytest.param((t.name, key), id=f"{env}-{t.name}-{key}", marks=_marks(t))
        for t, key in drift_cases(project, env, sot, platforms)
    ]
    targets = [
        pytest.param(t.name, id=f"{env}-{t.name}", marks=_marks(t))
        for t in plan_targets(project, env)
        if not platforms or t.platform in platforms
    ]
    return env, keys, targets


def _marks(target: Any) -> list[Any]:
    return [pytest.mark.platform(target.platform), pytest.mark.target(target.name)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``drift_key`` over every (target, key) the SoT assigns, ``drift_target`` over targets."""
    wanted = [n for n in ("drift_key", "drift_target") if n in metafunc.fixturenames]
    if not wanted:
        return
    try:
        env, keys, targets = _cases(metafunc.config)
    except deploycheck.DeploycheckError as exc:
        # a broken config or SoT is one failing test that says why, not a collection crash
        metafunc.parametrize(wanted[0], [pytest.param(Unloadable(exc), id="source-of-truth")])
        return
    skip = pytest.mark.skip(reason=f"nothing to compare in {env!r}")
    for name, params in (("drift_key", keys), ("drift_target", targets)):
        if name in wanted:
            metafunc.parametrize(name, params or [pytest.param(None, id=f"{env}-none", marks=skip)])


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


def _readable(report: DriftReport, target: str) -> None:
    __tracebackhide__ = True
    error = report.error_for(target)
    if error is not None:
        pytest.fail(f"{target} ({error.platform}) could not be read: {error.message}", pytrace=False)


def test_no_drift(drift_key: Any, drift_report: DriftReport, request: Any) -> None:
    """The platform holds exactly the SoT's value for this key (secrets: per the sync ledger and markers)."""
    if isinstance(drift_key, Unloadable):
        pytest.fail(drift_key, pytrace=False)
    target, key = drift_key
    _readable(drift_report, target)
    finding = drift_report.result(target, key)
    assert finding is not None, f"{key} on {target} was not compared"
    _judge(finding, request)


def test_no_unexpected_keys(drift_target: Any, drift_report: DriftReport, request: Any) -> None:
    """The target holds no key the SoT does not assign to it (acknowledged extras warn)."""
    if isinstance(drift_target, Unloadable):
        pytest.fail(drift_target, pytrace=False)
    _readable(drift_report, drift_target)
    extra = [f for f in drift_report.findings if f.target == drift_target and f.state == "unexpected"]
    for f in extra:
        _record(request, f)
        if not f.fails:
            _judge(f)
    failing = [f for f in extra if f.fails]
    if failing:
        pytest.fail("\n".join(_describe(f) for f in failing), pytrace=False)
