"""The checks' fixtures and options (a pytest plugin module loaded by the plugin).

Platform state is read once per session and concurrently: when collection ends, the
reads every selected check will need (by the fixtures it requests and its target) all
start at once on the session's :class:`~deploycheck.verify.state.VerificationState`; each
fixture then waits for its own read. Checks never repeat a request.

Fixtures (see docs/writing-checks.md): ``dc_state``, ``dc_checks``, ``dc_sot``,
``expected``, ``judge``, ``dc_poll``, ``pages``, ``worker_health``,
``worker_api``, ``worker_deployments``, ``convex``, ``config_read``, ``platform_config``,
``chain``, ``chain_vars``.
Options: ``--expect-commit``, ``--expect-pages-deployment``, ``--expect-worker-version``.
Markers: one per platform (``cloudflare_pages``, ``cloudflare_worker``, ``convex``,
``github_actions``, ``local_dotenv``) added to every check, so ``-m cloudflare_worker``
selects the Worker checks like ``--platform=cloudflare-worker`` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from deploycheck.errors import DeploycheckError
from deploycheck.platforms import get_spec, platform_names
from deploycheck.pytest_plugin.plugin import run_key
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
    chains,
    check_url,
    convex_target,
    convex_view,
    pages_view,
    poll,
    start_reads,
    worker_api_view,
)
from deploycheck.warnings import warn

state_key = pytest.StashKey[VerificationState]()
T = TypeVar("T")
#: fixtures whose platform reads are started when collection ends
PREFETCHED = ("pages", "worker_health", "worker_api", "worker_deployments", "convex", "config_read")


def platform_marker(platform: str) -> str:
    """The per-platform marker name: ``cloudflare-worker`` -> ``cloudflare_worker``."""
    return platform.replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the expectation options to the deploycheck group."""
    group = parser.getgroup("deploycheck", "deployment verification")
    group.addoption(
        "--expect-commit", dest="dc_expect_commit", default=None, metavar="REF", type=parse_commit,
        help="The commit (or git ref, e.g. HEAD) the active Pages deployment must be built from "
        "(default: GITHUB_SHA)",
    )  # fmt: skip
    group.addoption(
        "--expect-pages-deployment", dest="dc_expect_pages_deployment", default=None, metavar="ID",
        help="The Pages deployment id that must be active",
    )  # fmt: skip
    group.addoption(
        "--expect-worker-version", dest="dc_expect_worker_version", default=None, metavar="ID",
        help="The Worker version id /health must report",
    )  # fmt: skip


def parse_commit(value: str) -> str:
    """``--expect-commit``: a commit hash as given, or the commit a git ref names in this checkout."""
    from pathlib import Path

    from deploycheck.gitrepo import is_commit_hash, resolve_commit

    if is_commit_hash(value):
        return value.lower()
    commit = resolve_commit(value, Path.cwd())
    if commit is None:
        msg = (
            f"--expect-commit {value!r} is neither a commit hash nor a ref git resolves in {Path.cwd()}. "
            "Hint: pass a commit hash, or run from the checkout (e.g. --expect-commit HEAD)"
        )
        raise pytest.UsageError(msg)
    return commit


def pytest_configure(config: pytest.Config) -> None:
    """Register one marker per platform."""
    for platform in platform_names():
        config.addinivalue_line(
            "markers", f"{platform_marker(platform)}: the check verifies a {platform} target"
        )


def _state(config: pytest.Config) -> VerificationState | None:
    state = config.stash.get(state_key, None)
    if state is None:
        run = config.stash.get(run_key, None)
        if run is None:
            return None
        state = VerificationState(run.config, run.env.name, run.settings)
        config.stash[state_key] = state
    return state


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the session's reader threads."""
    state = config.stash.get(state_key, None)
    if state is not None:
        state.close()


def _item_target(item: pytest.Item) -> CheckTarget | None:
    callspec = getattr(item, "callspec", None)
    param = callspec.params.get("target") if callspec is not None else None
    return param if isinstance(param, CheckTarget) else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the per-platform marker to each check (before ``-m`` selects)."""
    for item in items:
        target = _item_target(item)
        marker = item.get_closest_marker("platform")
        names = {target.platform} if target is not None else set(marker.args if marker else ())
        for name in sorted(names):
            if name in platform_names():
                item.add_marker(platform_marker(name))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start every platform read the selected checks need, all at once."""
    state = _state(session.config)
    if state is None or not session.items:
        return
    checks = ChecksSettings.from_config(state.config)
    for item in session.items:
        if item.get_closest_marker("skip") is not None:
            continue
        target = _item_target(item)
        for name in getattr(item, "fixturenames", ()):
            if name in PREFETCHED:
                start_reads(state, name, target.target if target is not None else None, checks)


# -- session fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dc_state(pytestconfig: pytest.Config) -> VerificationState:
    """The session's VerificationState: every platform read, made once, shared by every check."""
    state = _state(pytestconfig)
    if state is None:
        raise pytest.UsageError("deploycheck: no deploycheck.yaml found; pass --deploycheck-config PATH")
    return state


@pytest.fixture(scope="session")
def dc_checks(dc_state: VerificationState) -> ChecksSettings:
    """The ``checks:`` section of deploycheck.yaml, typed, with defaults."""
    return ChecksSettings.from_config(dc_state.config)


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``chain`` over the chains of ``checks.integration`` (ids ``<env>-<chain name>``)."""
    if "chain" not in metafunc.fixturenames:
        return
    run = metafunc.config.stash.get(run_key, None)
    if run is None:
        return
    items = chains(ChecksSettings.from_config(run.config).integration)
    params = []
    for item in items:
        marks = [pytest.mark.platform(*item.platforms)] if item.platforms else []
        if item.destructive:
            marks.append(pytest.mark.destructive)
        params.append(pytest.param(item, id=f"{run.env.name}-{item.name}", marks=marks))
    if not params:
        skip = pytest.mark.skip(reason="no chains configured under checks.integration")
        params = [pytest.param(None, id=f"{run.env.name}-none", marks=skip)]
    metafunc.parametrize("chain", params)


def chain_variables(state: VerificationState) -> dict[str, str]:
    """The settings a chain may substitute, by name."""
    return {setting.name: setting.value for setting in state.settings}


@pytest.fixture
def chain_vars(dc_state: VerificationState) -> Iterator[dict[str, str]]:
    """The variables an integration chain starts with: every resolved setting."""
    yield chain_variables(dc_state)


__all__ = [
    "Chain",
    "Expectations",
    "apply_verdict",
    "platform_marker",
]
