"""The checks' fixtures: the run, its targets, the session's shared platform reads, and judging.

Platform state is read once per session and concurrently: when the first check sets up,
the autouse session fixture opens the platforms (the embedded sandbox starts then, never
at collection) and starts every read and request chain the selected checks will need
(:mod:`.prefetch`); each fixture then waits for its own result. Checks never repeat a
request.

Fixtures (see docs/writing-checks.md): ``dc_config``, ``dc_env``, ``dc_settings``,
``target``, ``dc_state``, ``dc_checks``, ``dc_sot``, ``expected``, ``judge``, ``dc_poll``,
``target_checks``, ``pages``, ``worker_health``, ``worker_api``, ``worker_deployments``,
``convex``, ``config_read``, ``platform_config``, ``chain``, ``chain_vars``,
``chain_verdict``, ``log_roundtrip``; the drift fixtures are in :mod:`.drift`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from deploycheck.config import Environment, ProjectConfig, Settings
from deploycheck.errors import DeploycheckError
from deploycheck.platforms import get_spec, platform_names
from deploycheck.pytest_plugin.prefetch import (
    NotRun,
    chain_task,
    chain_variables,
    log_roundtrip_task,
    start_session,
)
from deploycheck.pytest_plugin.session import get_run, open_run, require_run, verification_state
from deploycheck.redact import redact
from deploycheck.verify import (
    Chain,
    ChecksSettings,
    CheckTarget,
    ConvexView,
    Fetched,
    HealthResult,
    PagesView,
    Polled,
    Verdict,
    VerificationState,
    WorkerApiView,
    check_url,
    convex_target,
    convex_view,
    pages_view,
    poll,
    worker_api_view,
)
from deploycheck.warnings import warn

__all__ = ["Expectations", "apply_verdict"]

T = TypeVar("T")


@pytest.fixture(scope="session", autouse=True)
def _deploycheck_session(request: pytest.FixtureRequest) -> None:
    """Open the platforms and start every read the session's checks need, when the first check sets up."""
    config = request.config
    run = get_run(config)
    if run is None:
        return
    state = verification_state(config)
    # under xdist a chain starts in the worker that runs its check, when the check sets up
    start_session(state, run, request.session.items, chains=not hasattr(config, "workerinput"))


@pytest.fixture(scope="session")
def dc_config(pytestconfig: pytest.Config) -> ProjectConfig:
    """The validated deploycheck.yaml of the run."""
    return require_run(pytestconfig).config


@pytest.fixture(scope="session")
def dc_env(pytestconfig: pytest.Config) -> Environment:
    """The environment under verification."""
    return require_run(pytestconfig).env


@pytest.fixture(scope="session")
def dc_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved settings of the environment, each with its source (the sandbox's URLs included)."""
    return open_run(pytestconfig).settings


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest) -> CheckTarget:
    """The target this instance of the check verifies (parametrized at collection, see :mod:`.collection`)."""
    value: CheckTarget = request.param
    return value


@pytest.fixture(scope="session")
def dc_state(pytestconfig: pytest.Config) -> VerificationState:
    """The session's VerificationState: every platform read, made once, shared by every check."""
    return verification_state(pytestconfig)


@pytest.fixture(scope="session")
def dc_checks(dc_config: ProjectConfig) -> ChecksSettings:
    """The ``checks:`` section of deploycheck.yaml, typed, with defaults."""
    return ChecksSettings.from_config(dc_config)


@pytest.fixture(scope="session")
def dc_sot(dc_state: VerificationState) -> Any:
    """The source-of-truth table of the environment; skips when the file does not exist here."""
    from deploycheck.sot import load_sot

    path = dc_state.config.sot_path(dc_state.env, os.environ.get("DEPLOYCHECK_SOT"))
    if not path.is_file():
        pytest.skip(f"no source-of-truth table at {path} on this machine (set DEPLOYCHECK_SOT or --sot)")
    try:
        return load_sot(path, dc_state.config, columns=(dc_state.config.environment(dc_state.env).values,))
    except DeploycheckError as exc:
        pytest.fail(redact(str(exc)), pytrace=False)


@dataclass(frozen=True)
class Expectations:
    """What the run was told to expect (``--expect-*`` options; the commit also from GITHUB_SHA)."""

    commit: str | None = None
    pages_deployment: str | None = None
    worker_version: str | None = None


@pytest.fixture(scope="session")
def expected(pytestconfig: pytest.Config) -> Expectations:
    """What --expect-commit (or GITHUB_SHA), --expect-pages-deployment, --expect-worker-version ask."""
    return Expectations(
        commit=pytestconfig.getoption("dc_expect_commit") or os.environ.get("GITHUB_SHA") or None,
        pages_deployment=pytestconfig.getoption("dc_expect_pages_deployment"),
        worker_version=pytestconfig.getoption("dc_expect_worker_version"),
    )


def apply_verdict(verdict: Verdict) -> None:
    """PASS returns, WARN records a warning, FAIL fails and SKIP skips the running check, with the message."""
    __tracebackhide__ = True
    message = redact(verdict.message)
    if verdict.outcome == "warn":
        warn(message)
    elif verdict.outcome == "fail":
        pytest.fail(message, pytrace=False)
    elif verdict.outcome == "skip":
        pytest.skip(message)


@pytest.fixture
def judge() -> Callable[[Verdict], None]:
    """A function applying a :class:`~deploycheck.verify.checkers.Verdict` to the running check."""
    return apply_verdict


@pytest.fixture(scope="session")
def dc_poll(dc_checks: ChecksSettings) -> Callable[[Callable[[], T], Callable[[T], bool]], Polled]:
    """``dc_poll(probe, satisfied)``: retry within ``checks.poll``; see :func:`checkers.polled`."""

    def bounded(probe: Callable[[], T], satisfied: Callable[[T], bool]) -> Polled:
        return poll(
            probe, satisfied, deadline_s=dc_checks.poll.deadline_s, interval_s=dc_checks.poll.interval_s
        )

    return bounded


# -- per-target fixtures ---------------------------------------------------------------------


def _require(target: CheckTarget | None, platform: str, fixture: str) -> CheckTarget:
    if target is None or target.platform != platform:
        got = target.platform if target is not None else "no target"
        pytest.fail(f"the {fixture} fixture needs a {platform} target (got {got}); mark the check "
                    f'@pytest.mark.platform("{platform}")', pytrace=False)  # fmt: skip
    return target


def _setting_url(call: Callable[[], T]) -> T:
    try:
        return call()
    except DeploycheckError as exc:
        pytest.fail(redact(str(exc)), pytrace=False)


def _readable(read: Fetched, what: str) -> Any:
    """The value of an API read; SKIP when credentials are absent, FAIL on any other error."""
    reason = read.unavailable
    if reason is not None:
        pytest.skip(f"{what} not checked: {reason}")
    if read.error is not None:
        pytest.fail(f"{what}: {redact(read.message)}", pytrace=False)
    return read.value


def _section(target: CheckTarget, checks: ChecksSettings, section: str) -> Any:
    chosen = checks.for_target(target.target, section)
    if chosen is None:
        default = getattr(checks, section).target
        pytest.skip(f"target {target.name} is not checks.{section}.target ({default}) and has no "
                    f"checks: block of its own (targets.{target.name}.checks)")  # fmt: skip
    return chosen


@pytest.fixture
def target_checks(target: CheckTarget, dc_checks: ChecksSettings) -> Any:
    """The check parameters of ``target``: ``checks.<section>`` with the target's own ``checks:``.

    Skips when the shipped data-plane checks do not cover the target (see
    :meth:`~deploycheck.verify.ChecksSettings.for_target`).
    """
    section = get_spec(target.platform).checks_section if target.platform in platform_names() else None
    if section is None:
        pytest.skip(f"{target.platform} has no checks: section")
    return _section(target, dc_checks, section)


@pytest.fixture
def pages(target: CheckTarget, dc_state: VerificationState, dc_checks: ChecksSettings) -> PagesView:
    """The Pages app of a cloudflare-pages ``target``: its page (its own parameters) and active deployment."""
    chosen = _require(target, "cloudflare-pages", "pages")
    section = _section(chosen, dc_checks, "pages")
    return _setting_url(lambda: pages_view(dc_state, chosen.target, section))


@pytest.fixture
def worker_health(
    request: pytest.FixtureRequest, dc_state: VerificationState, dc_checks: ChecksSettings
) -> HealthResult:
    """The Worker's ``/health`` answer at its URL setting (never raises; may carry an error).

    For a check parametrized by a Worker ``target``, that target's own parameters;
    otherwise those of ``checks.worker``.
    """
    target = request.getfixturevalue("target") if "target" in request.fixturenames else None
    worker = dc_checks.worker
    if isinstance(target, CheckTarget) and get_spec(target.platform).checks_section == "worker":
        worker = _section(target, dc_checks, "worker")
    url = _setting_url(lambda: check_url(dc_state, worker.url_setting))
    return dc_state.health(url, worker.health_path)


@pytest.fixture
def worker_deployments(target: CheckTarget, dc_state: VerificationState) -> WorkerApiView:
    """The Worker target's deployments and newest version from the API; skips without credentials."""
    chosen = _require(target, "cloudflare-worker", "worker_deployments")
    view, read = worker_api_view(dc_state, chosen.target)
    if view is None:
        _readable(read, f"{chosen.platform} {chosen.resource} deployments")
    assert view is not None
    return view


@pytest.fixture
def worker_api(target: CheckTarget, dc_state: VerificationState) -> tuple[WorkerApiView | None, Fetched]:
    """(view, read) of the Worker target's deployments; the view is None when the API was not readable."""
    chosen = _require(target, "cloudflare-worker", "worker_api")
    return worker_api_view(dc_state, chosen.target)


@pytest.fixture
def convex(target: CheckTarget, dc_state: VerificationState, dc_checks: ChecksSettings) -> ConvexView:
    """The Convex deployment under check (the target's, else checks.convex.target's) and its answers."""
    chosen = convex_target(dc_state, target.target if target is not None else None, dc_checks)
    return _setting_url(lambda: convex_view(dc_state, chosen))


@pytest.fixture
def config_read(target: CheckTarget, dc_state: VerificationState) -> Fetched:
    """The read of the target's variables (Fetched: ``.value`` a ConfigState, or ``.error``); never skips."""
    return dc_state.fetch("config", target.target)


@pytest.fixture
def platform_config(target: CheckTarget, config_read: Fetched) -> Any:
    """The target's variables as its platform holds them (a ConfigState); skips without credentials."""
    return _readable(config_read, f"{target.platform} {target.resource} configuration")


@pytest.fixture
def chain_vars(dc_state: VerificationState) -> Iterator[dict[str, str]]:
    """The variables an integration chain starts with: every resolved setting."""
    yield chain_variables(dc_state)


@pytest.fixture
def chain_verdict(
    chain: Chain, chain_vars: dict[str, str], dc_state: VerificationState, dc_checks: ChecksSettings
) -> Verdict:
    """The verdict of ``chain``, run concurrently with the other chains and the session's reads."""
    return dc_state.task(("chain", chain.name), chain_task(dc_state, dc_checks, chain, chain_vars))


@pytest.fixture
def log_roundtrip(target: CheckTarget, dc_state: VerificationState, dc_checks: ChecksSettings) -> Verdict:
    """The verdict of the Worker log round trip from the app's origin (CORS preflight, POST, GET /logs).

    Started with the session's reads. Skips for a Worker target other than
    ``checks.worker.target``; fails when the Worker or app URL setting has no value.
    """
    task = log_roundtrip_task(dc_state, dc_checks, _require(target, "cloudflare-worker", "log_roundtrip"))
    if isinstance(task, NotRun):
        if task.outcome == "skip":
            pytest.skip(task.reason)
        pytest.fail(redact(task.reason), pytrace=False)
    return dc_state.task(("log_roundtrip", target.name), task)
