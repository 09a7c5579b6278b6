"""The Convex backend: it answers, it is this environment's deployment, its functions exist.

Ids read ``test_convex_identity[production-prod-graceful-shrimp-355]``. A production
check must never be talking to a dev deployment.
"""

from __future__ import annotations

import pytest

from deploycheck.verify import checkers

pytestmark = pytest.mark.platform("convex")


def _where(target) -> str:
    return f"{target.platform} {target.resource}"


def test_convex_answers(target, convex, judge) -> None:
    """The deployment answers GET /instance_name."""
    judge(checkers.convex_reachable(convex.instance_name, convex.instance_error, _where(target)))


def test_convex_identity(target, convex, dc_env, judge) -> None:
    """instance_name and deployment_info name the target's deployment; never a dev one in a remote env."""
    info = _read(convex.info_read, target, "deployment info")
    verdict = checkers.convex_identity(
        convex.instance_name,
        info,
        expected=target.params.get("deployment"),
        remote=dc_env.remote,
        where=_where(target),
    )
    judge(verdict)


def test_convex_functions(target, convex, target_checks, judge) -> None:
    """Every function in checks.convex.functions is in the deployment's function spec."""
    functions = _read(convex.functions_read, target, "function spec")
    judge(checkers.convex_functions(functions, target_checks.functions, _where(target)))


def _read(read, target, what):
    """The value of an API read; skip without credentials, fail on any other error."""
    if read.unavailable is not None:
        pytest.skip(f"{what} not checked: {read.unavailable}")
    if read.error is not None:
        pytest.fail(f"{_where(target)}: {read.message}", pytrace=False)
    return read.value
