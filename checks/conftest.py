"""Repo-local fixtures of the deployment checks.

Drift: ``drift_report`` reads every platform of the environment once per session (per
xdist worker) and compares it with the source of truth; ``checks/test_drift.py`` turns
each (target, key) result into one test.
"""

from __future__ import annotations

import pytest

from deploycheck.config import Environment, ProjectConfig
from deploycheck.drift import DriftReport


@pytest.fixture(scope="session")
def drift_report(dc_config: ProjectConfig, dc_env: Environment, pytestconfig: pytest.Config) -> DriftReport:
    """The drift report of the environment under verification, read once per session."""
    from deploycheck.drift import plan_targets, run_drift

    platforms = tuple(pytestconfig.getoption("--platform") or ())
    targets = [
        p.name for p in plan_targets(dc_config, dc_env.name) if not platforms or p.platform in platforms
    ]
    return run_drift(dc_config, dc_env.name, targets=targets)
