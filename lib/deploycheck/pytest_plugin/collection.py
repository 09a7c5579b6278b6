"""Collection: which checks exist, for which targets, chains and drift cases, with which markers.

Everything here comes from deploycheck.yaml and the source-of-truth table alone: collection
(``--collect-only`` included) asks no platform anything and starts no sandbox.

- ``target`` is parametrized over the environment's targets, filtered by ``--platform`` and
  the check's ``platform`` marker (ids ``test_worker_health[production-log-ingestion]``);
- ``chain`` over the chains of ``checks.integration`` (ids ``<env>-<chain name>``);
- ``drift_key`` over every (target, key) the SoT assigns and ``drift_target`` over the
  targets (ids ``test_no_drift[production-CONVEX-APP_ENV]``), see :mod:`.drift`;
- each check gets the per-platform marker (``-m cloudflare_worker``), its env, platform and
  target properties, and a skip when it is destructive where that is not allowed.
"""

from __future__ import annotations

from typing import Any

import pytest

from deploycheck.errors import DeploycheckError
from deploycheck.platforms import platform_names
from deploycheck.pytest_plugin.dashboard import target_properties
from deploycheck.pytest_plugin.destructive import destructive_skip_reason
from deploycheck.pytest_plugin.drift import drift_params
from deploycheck.pytest_plugin.options import platform_marker
from deploycheck.pytest_plugin.session import get_run, require_run
from deploycheck.redact import redact
from deploycheck.report import holds_secret
from deploycheck.report import results as reporting
from deploycheck.verify import ChecksSettings, CheckTarget, Run, chains, check_platforms, select_targets

__all__ = ["item_target", "wanted_platforms"]


def wanted_platforms(node: Any) -> tuple[str, ...]:
    """The platforms of a node's closest ``platform`` marker (none: every platform)."""
    marker = node.get_closest_marker("platform")
    return tuple(marker.args) if marker is not None else ()


def item_target(item: pytest.Item) -> CheckTarget | None:
    """The ``target`` parameter of a collected check, if it has one."""
    callspec = getattr(item, "callspec", None)
    param = callspec.params.get("target") if callspec is not None else None
    return param if isinstance(param, CheckTarget) else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``target``, ``chain``, ``drift_key`` and ``drift_target`` from the config and SoT."""
    names = metafunc.fixturenames
    if "target" in names and not _target_is_own(metafunc):
        _parametrize_target(metafunc, require_run(metafunc.config))
    run = get_run(metafunc.config)
    if run is None:
        return
    if "chain" in names:
        _parametrize_chain(metafunc, run)
    wanted = [n for n in ("drift_key", "drift_target") if n in names]
    if wanted:
        for name, params in drift_params(metafunc.config, run, wanted):
            metafunc.parametrize(name, params, indirect=True)


def _parametrize_target(metafunc: pytest.Metafunc, run: Run) -> None:
    try:
        wanted = check_platforms(wanted_platforms(metafunc.definition), "@pytest.mark.platform")
    except DeploycheckError as exc:
        pytest.fail(str(exc), pytrace=False)
    targets = select_targets(run.config, run.env.name, run.platforms, wanted)
    if targets:
        params = [pytest.param(t, id=t.id) for t in targets]
    else:
        what = " or ".join(wanted or run.platforms) or "any platform"
        reason = f"no target on {what} in environment {run.env.name!r}"
        params = [pytest.param(None, id=f"{run.env.name}-none", marks=pytest.mark.skip(reason=reason))]
    metafunc.parametrize("target", params, indirect=True)


def _parametrize_chain(metafunc: pytest.Metafunc, run: Run) -> None:
    params = []
    for item in chains(ChecksSettings.from_config(run.config).integration):
        marks = [pytest.mark.platform(*item.platforms)] if item.platforms else []
        if item.destructive:
            marks.append(pytest.mark.destructive)
        params.append(pytest.param(item, id=f"{run.env.name}-{item.name}", marks=marks))
    if not params:
        skip = pytest.mark.skip(reason="no chains configured under checks.integration")
        params = [pytest.param(None, id=f"{run.env.name}-none", marks=skip)]
    metafunc.parametrize("chain", params)


def _target_is_own(metafunc: pytest.Metafunc) -> bool:
    """True when the test parametrizes or defines its own ``target`` (a library test, not a check)."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if "target" in ([n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)):
            return True
    # a plugin's fixtures have an empty baseid; a conftest's or module's own have theirs
    defs = metafunc._arg2fixturedefs.get("target") or ()
    return bool(defs) and defs[-1].baseid != ""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each check with its platform (before ``-m`` selects), deselect checks for platforms
    outside --platform, skip destructive checks where not allowed, tag env, platform and target."""
    _add_platform_markers(items)
    run = get_run(config)
    if run is None:
        return
    kept, dropped = [], []
    destructive = destructive_skip_reason(run.env, asked=bool(config.getoption("dc_destructive")))
    for item in items:
        if destructive is not None and item.get_closest_marker("destructive") is not None:
            item.add_marker(pytest.mark.skip(reason=destructive))
        param = item_target(item)
        wanted = wanted_platforms(item)
        platform = param.platform if param is not None else (wanted[0] if wanted else "")
        if run.platforms and wanted and not set(wanted) & set(run.platforms):
            dropped.append(item)
            continue
        item.user_properties += [
            (reporting.ENV_PROPERTY, run.env.name),
            (reporting.PLATFORM_PROPERTY, platform),
            *target_properties(run, item),
        ]
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _add_platform_markers(items: list[pytest.Item]) -> None:
    """Add the per-platform marker to each check (``-m cloudflare_worker`` selects the Worker checks)."""
    known = platform_names()
    for item in items:
        target = item_target(item)
        names = {target.platform} if target is not None else set(wanted_platforms(item))
        for name in sorted(names):
            if name in known:
                item.add_marker(platform_marker(name))


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Never put a secret in a test id: a parameter holding one shows masked."""
    if isinstance(val, str) and holds_secret(val):
        return f"{argname}-{redact(val)}"
    return None
