"""Repo-local fixtures of the deployment checks.

Drift: ``drift_report`` shares the session's platform reads (``dc_state``: one read per
platform per session, per xdist worker, with the config checks) and compares them with the
source of truth; ``checks/test_drift.py`` turns each (target, key) result into one test.
"""

from __future__ import annotations

from typing import Any

import pytest

from deploycheck.config import Environment, ProjectConfig
from deploycheck.drift import DriftReport


@pytest.fixture(scope="session")
def drift_report(
    dc_config: ProjectConfig, dc_env: Environment, dc_state: Any, pytestconfig: pytest.Config
) -> DriftReport:
    """The drift report of the environment under verification, from the session's platform reads."""
    from deploycheck.drift import plan_targets, run_drift
    from deploycheck.platforms import resolve_alias

    platforms = tuple(resolve_alias(p) for p in pytestconfig.getoption("--platform") or ())
    targets = [
        p.name for p in plan_targets(dc_config, dc_env.name) if not platforms or p.platform in platforms
    ]
    return run_drift(dc_config, dc_env.name, targets=targets, opener=dc_state.drift_opener())
