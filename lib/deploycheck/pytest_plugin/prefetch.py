"""One round of latency: every read and chain the selected checks need, started when the first one runs.

When the first check sets up (the session fixture ``dc_platforms``), the platforms open and
every platform read the collected checks' fixtures will ask for starts at once, in the
session's reader threads: the Pages project, the Worker's deployments, versions, settings
and secrets, Convex's variables and deployment info, GitHub's secrets and variables, the
app page, ``/health``. Each is read once and shared by the config checks, the drift checks
(whose comparison starts here too, on the same reads) and any check a user adds through
the documented fixtures. The independent request chains (``log_roundtrip``: OPTIONS, POST,
GET of the Worker's logs; each ``chain_verdict`` of ``checks.integration``) start here as
well, so they run concurrently with each other and with the reads; only the steps inside
one chain wait for each other.

Under xdist each worker does this for its own session: every worker reads what the
collected checks need (reads are idempotent GETs), while a chain, which writes, starts
only in the worker that runs its check, when that check sets up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from deploycheck.errors import DeploycheckError
from deploycheck.pytest_plugin.collection import item_target
from deploycheck.pytest_plugin.drift import DRIFT_FIXTURES, start_drift
from deploycheck.verify import (
    Chain,
    ChecksSettings,
    CheckTarget,
    Run,
    Verdict,
    VerificationState,
    check_url,
    log_roundtrip_chain,
    run_chain,
    start_reads,
)

__all__ = ["PREFETCHED", "NotRun", "chain_task", "chain_variables", "log_roundtrip_task", "start_session"]

#: fixtures whose platform reads are started with the first check
PREFETCHED = ("pages", "worker_health", "worker_api", "worker_deployments", "convex", "config_read")


def chain_variables(state: VerificationState) -> dict[str, str]:
    """The settings a chain may substitute, by name."""
    return {setting.name: setting.value for setting in state.settings}


def chain_task(
    state: VerificationState, checks: ChecksSettings, chain: Chain, variables: dict[str, str]
) -> Callable[[], Verdict]:
    """The work of one configured chain (run once per session under its name)."""
    return lambda: run_chain(chain, variables, checks.poll)


@dataclass(frozen=True)
class NotRun:
    """Why a chain does not run: ``skip`` (not this target's check) or ``fail`` (a setting is missing)."""

    outcome: Literal["skip", "fail"]
    reason: str


def log_roundtrip_task(
    state: VerificationState, checks: ChecksSettings, target: CheckTarget
) -> Callable[[], Verdict] | NotRun:
    """The work of the Worker log round trip of ``target``, or why it does not run.

    Only ``checks.worker.target`` takes the app's logs; a URL setting without a value is an error.
    """
    if target.name != checks.worker.target:
        return NotRun("skip", f"target {target.name} is not checks.worker.target ({checks.worker.target})")
    try:
        worker_url = check_url(state, checks.worker.url_setting)
        app_url = check_url(state, checks.pages.url_setting)
    except DeploycheckError as exc:  # a missing setting is reported, not raised
        return NotRun("fail", str(exc))
    chain = log_roundtrip_chain(worker_url, app_url)
    where = f"{target.platform} {target.resource}: logs from {app_url}"
    return lambda: run_chain(chain, {}, checks.poll, where=where)


def _skipped(item: pytest.Item) -> bool:
    """Whether a skip or true skipif marker keeps the check from running."""
    if item.get_closest_marker("skip") is not None:
        return True
    from _pytest.skipping import evaluate_skip_marks

    try:
        return evaluate_skip_marks(item) is not None
    except Exception:  # a broken condition is reported when the check runs
        return False


def _own_fixture(item: pytest.Item, name: str) -> bool:
    """True when ``name`` is the plugin's fixture for this check (not one a conftest overrides)."""
    info = getattr(item, "_fixtureinfo", None)
    defs: Any = info.name2fixturedefs.get(name) if info is not None else None
    return bool(defs) and defs[-1].baseid == ""


def start_session(state: VerificationState, run: Run, items: Iterable[pytest.Item], *, chains: bool) -> None:
    """Start every read (and, with ``chains``, every chain) the checks in ``items`` need; returns at once."""
    checks = ChecksSettings.from_config(state.config)
    drift = False
    for item in items:
        names: Any = getattr(item, "fixturenames", ())
        if not names or _skipped(item):
            continue
        target = item_target(item)
        for name in names:
            if name in PREFETCHED:
                start_reads(state, name, target.target if target is not None else None, checks)
        drift = drift or any(name in DRIFT_FIXTURES for name in names)
        if chains:
            _start_chains(state, checks, item, names, target)
    if drift:
        start_drift(state, run)


def _start_chains(
    state: VerificationState,
    checks: ChecksSettings,
    item: pytest.Item,
    names: Any,
    target: CheckTarget | None,
) -> None:
    if "log_roundtrip" in names and target is not None and _own_fixture(item, "log_roundtrip"):
        task = log_roundtrip_task(state, checks, target)
        if not isinstance(task, NotRun):
            state.start_task(("log_roundtrip", target.name), task)
    callspec = getattr(item, "callspec", None)
    chain = callspec.params.get("chain") if callspec is not None else None
    if (
        "chain_verdict" in names
        and isinstance(chain, Chain)
        and _own_fixture(item, "chain_verdict")
        and _own_fixture(item, "chain_vars")
    ):
        state.start_task(("chain", chain.name), chain_task(state, checks, chain, chain_variables(state)))
