"""Drift as checks: the cases (from the config and the SoT alone) and the fixtures that judge them.

:func:`drift_params` gives :mod:`.collection` one ``drift_key`` case per (target, key) the
source of truth assigns (ids ``production-CONVEX-APP_ENV``) and one ``drift_target`` case
per target (ids ``production-CONVEX``), each marked with its platform and target. No
platform is read to collect them. A config or SoT that does not load is one case that
fails with the reason; no SoT on this machine is one skipped case.

The fixtures: ``drift_report`` (session) compares the session's shared platform reads with
the SoT (the reads the config checks make, never a second round); ``drift_key`` and
``drift_target`` are the case; ``drift_finding`` is the key's finding and ``drift_extras``
the target's keys the SoT does not assign, each failing when the target could not be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from deploycheck.errors import DeploycheckError
from deploycheck.pytest_plugin.session import require_run, stash_once, verification_state
from deploycheck.verify import Run

if TYPE_CHECKING:
    from deploycheck.drift import DriftReport, Finding
    from deploycheck.verify import VerificationState

__all__ = ["DRIFT_FIXTURES", "Unloadable", "drift_params", "start_drift"]

#: the fixtures that need the session's drift report (its computation starts with the reads)
DRIFT_FIXTURES = ("drift_report", "drift_finding", "drift_extras")


class Unloadable(str):
    """The error that kept the config or SoT from loading; the drift case fails with it."""


def _cases(run: Run) -> tuple[list[Any], list[Any]]:
    """(per-key params, per-target params) of the run's environment, from the config and the SoT."""
    from deploycheck.drift import drift_cases, plan_targets, resolve_sot_path
    from deploycheck.sot import load_sot

    project, env, platforms = run.config, run.env.name, run.platforms
    sot_path = resolve_sot_path(project, env)
    if not sot_path.is_file():
        # as dc_sot does for the config checks: no table on this machine is a skip, not an error
        reason = f"no source-of-truth table at {sot_path}: set DEPLOYCHECK_SOT or sot: in deploycheck.yaml"
        skipped = pytest.param(None, id=f"{env}-no-sot", marks=pytest.mark.skip(reason=reason))
        return [skipped], [skipped]
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
    return keys, targets


def _marks(target: Any) -> list[Any]:
    return [pytest.mark.platform(target.platform), pytest.mark.target(target.name)]


def drift_params(config: pytest.Config, run: Run, wanted: Sequence[str]) -> list[tuple[str, list[Any]]]:
    """(fixture name, params) for each of ``wanted`` (``drift_key``, ``drift_target``), computed once."""

    def compute() -> Any:
        try:
            return _cases(run)
        except DeploycheckError as exc:
            return Unloadable(exc)

    cases = stash_once(config, "drift-cases", compute)
    if isinstance(cases, Unloadable):
        # a broken config or SoT is one failing test that says why, not a collection crash
        return [(wanted[0], [pytest.param(cases, id="source-of-truth")])]
    keys, targets = cases
    skip = pytest.mark.skip(reason=f"nothing to compare in {run.env.name!r}")
    empty = [pytest.param(None, id=f"{run.env.name}-none", marks=skip)]
    chosen = {"drift_key": keys, "drift_target": targets}
    return [(name, chosen[name] or empty) for name in wanted]


def _compare(state: VerificationState, run: Run) -> DriftReport:
    from deploycheck.drift import plan_targets, run_drift

    targets = [
        p.name
        for p in plan_targets(run.config, run.env.name)
        if not run.platforms or p.platform in run.platforms
    ]
    return run_drift(run.config, run.env.name, targets=targets, opener=state.drift_opener())


def start_drift(state: VerificationState, run: Run) -> None:
    """Begin comparing the platforms with the SoT in the background (on the session's shared reads)."""
    state.start_task(("drift",), lambda: _compare(state, run))


def _case(request: pytest.FixtureRequest) -> Any:
    value = getattr(request, "param", None)
    if isinstance(value, Unloadable):
        pytest.fail(value, pytrace=False)
    return value


@pytest.fixture(scope="session")
def drift_report(pytestconfig: pytest.Config) -> DriftReport:
    """The drift report of the environment under verification, from the session's platform reads."""
    state = verification_state(pytestconfig)
    run = require_run(pytestconfig)
    report: DriftReport = state.task(("drift",), lambda: _compare(state, run))
    return report


@pytest.fixture
def drift_key(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The (target, key) this drift check compares (parametrized from the SoT at collection)."""
    value: tuple[str, str] = _case(request)
    return value


@pytest.fixture
def drift_target(request: pytest.FixtureRequest) -> str:
    """The target this drift check looks at for keys the SoT does not assign."""
    value: str = _case(request)
    return value


def _readable(report: DriftReport, target: str) -> None:
    __tracebackhide__ = True
    error = report.error_for(target)
    if error is not None:
        pytest.fail(f"{target} ({error.platform}) could not be read: {error.message}", pytrace=False)


@pytest.fixture
def drift_finding(drift_key: tuple[str, str], drift_report: DriftReport) -> Finding:
    """The finding for ``drift_key``; fails when its target could not be read."""
    target, key = drift_key
    _readable(drift_report, target)
    finding = drift_report.result(target, key)
    if finding is None:
        pytest.fail(f"{key} on {target} was not compared", pytrace=False)
    return finding


@pytest.fixture
def drift_extras(drift_target: str, drift_report: DriftReport) -> list[Finding]:
    """The keys on ``drift_target``'s platform the SoT does not assign; fails when it could not be read."""
    _readable(drift_report, drift_target)
    return [f for f in drift_report.findings if f.target == drift_target and f.state == "unexpected"]
