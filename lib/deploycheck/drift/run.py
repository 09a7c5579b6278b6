"""Running drift detection: which targets, reading them concurrently, comparing, the baseline.

:func:`detect_drift` takes everything explicitly (config, SoT, ledger, an adapter opener)
and is what tests drive; :func:`run` (given the resolved environment) loads the SoT, the
ledger and the baseline the way the command line and the checks do, and
:func:`run_drift` is the same for an environment's name. Targets are read in a thread pool, one failure
isolated: a target that cannot be read becomes a :class:`~deploycheck.drift.model.TargetError`
and the others are still compared.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploycheck.drift.model import (
    DriftReport,
    ExpectedVar,
    LedgerView,
    TargetError,
    TargetReading,
    TargetSummary,
)
from deploycheck.errors import DeploycheckError, InputError, PlatformError
from deploycheck.platforms import LOCAL_PLATFORM, get_spec
from deploycheck.platforms.base import ConfigPlatform
from deploycheck.platforms.reads import VersionReads
from deploycheck.redact import fingerprint, redact, register_secret

if TYPE_CHECKING:
    from deploycheck.config import Environment, ProjectConfig, Target
    from deploycheck.sot import SourceOfTruth

__all__ = [
    "DriftTarget",
    "detect_drift",
    "drift_cases",
    "expected_vars",
    "open_ledger",
    "plan_targets",
    "read_target",
    "resolve_sot_path",
    "run",
    "run_drift",
    "sync_mode",
]


@dataclass(frozen=True)
class DriftTarget:
    """A target to compare in one environment: remotely, or its local ``.env.local`` file."""

    target: Target
    local: bool
    mode: str

    @property
    def name(self) -> str:
        """The target's name in deploycheck.yaml."""
        return self.target.name

    @property
    def platform(self) -> str:
        """The platform read: the target's, or ``local-dotenv`` for its local file."""
        return LOCAL_PLATFORM if self.local else self.target.platform


Opener = Callable[[DriftTarget], ConfigPlatform]


def sync_mode(config: ProjectConfig, env: str, *, local: bool) -> str:
    """The ``sync-env --mode`` that writes this environment's values (for remediation commands)."""
    if local:
        return "local"
    return "deploy-dev" if config.environment(env).values == "dev" else "deploy-prod"


def plan_targets(
    config: ProjectConfig, env: str, only: Sequence[str] | None = None, *, remote: bool = False
) -> list[DriftTarget]:
    """The targets compared in ``env``.

    A local environment (``remote: false``) compares each target's ``local_file``, what
    ``sync-env --mode=local`` writes, unless ``remote`` asks for its platforms (what
    ``--mode=deploy-dev`` writes). Other environments compare every deployed target.
    """
    from deploycheck.config import unknown_name
    from deploycheck.errors import ConfigError

    environment = config.environment(env)
    for name in only or ():
        if name not in config.targets:
            raise ConfigError([unknown_name("--target", None, "--target", name, config.targets)])
    local = environment.is_local and not remote
    planned: list[DriftTarget] = []
    for target in config.targets.values():
        if only and target.name not in only:
            continue
        if local and target.local_file is not None:
            planned.append(DriftTarget(target, True, sync_mode(config, env, local=True)))
        elif not local and target.deployed_in(env) and get_spec(target.platform).remote:
            planned.append(DriftTarget(target, False, sync_mode(config, env, local=False)))
    return planned


def expected_vars(sot: SourceOfTruth, target: str, column: str) -> list[ExpectedVar]:
    """The keys the SoT assigns to ``target`` with a value in ``column`` (``dev``/``prod``)."""
    out: list[ExpectedVar] = []
    for entry in sot.for_target(target):
        value = entry.value("dev" if column == "dev" else "prod")
        if value is None:
            continue
        out.append(ExpectedVar(entry.key, value, entry.secret, entry.where))
    return out


def drift_cases(
    config: ProjectConfig,
    env: str,
    sot: SourceOfTruth,
    platforms: Sequence[str] = (),
    *,
    remote: bool = False,
) -> list[tuple[DriftTarget, str]]:
    """Every (target, key) pair compared in ``env``, in config and SoT order, optionally only
    targets on ``platforms``: what the drift checks parametrize over."""
    column = config.environment(env).values
    return [
        (planned, var.key)
        for planned in plan_targets(config, env, remote=remote)
        if not platforms or planned.platform in platforms
        for var in expected_vars(sot, planned.name, column)
    ]


def _bindings(version: Any) -> dict[str, str] | None:
    """Binding name -> type of a Worker version (object with ``bindings`` or the raw API dict)."""
    found = getattr(version, "bindings", None)
    if found is None and isinstance(version, Mapping):
        found = (version.get("resources") or {}).get("bindings")
    if found is None:
        return None
    return {str(b.get("name")): str(b.get("type")) for b in found if isinstance(b, Mapping)}


def read_target(planned: DriftTarget, adapter: ConfigPlatform, recorded_marker: str | None) -> TargetReading:
    """Read one target's state; fetch the recorded and the active version's bindings when the
    target-wide marker moved since the last sync and the adapter offers
    :class:`~deploycheck.platforms.reads.VersionReads`."""
    state = adapter.read_config()
    recorded_bindings = active_bindings = None
    if (
        isinstance(adapter, VersionReads)
        and recorded_marker is not None
        and state.marker is not None
        and state.marker != recorded_marker
        and "," not in state.marker  # a split deployment has no single active version
    ):
        try:
            recorded_bindings = _bindings(adapter.get_version(recorded_marker))
            active_bindings = _bindings(adapter.get_version(state.marker))
        except PlatformError:  # e.g. the recorded version no longer exists: fall back to a note
            recorded_bindings = active_bindings = None
    return TargetReading(
        target=planned.name,
        platform=str(getattr(adapter, "platform", state.platform)),
        resource=str(getattr(adapter, "resource", state.resource)),
        state=state,
        requests=int(getattr(adapter, "requests", state.requests)),
        recorded_marker=recorded_marker,
        recorded_bindings=recorded_bindings,
        active_bindings=active_bindings,
    )


def _error(planned: DriftTarget, exc: BaseException) -> TargetError:
    platform = LOCAL_PLATFORM if planned.local else planned.target.platform
    if isinstance(exc, DeploycheckError):
        message, code = str(exc), (2 if isinstance(exc, InputError) else 3)
    else:  # a bug in an adapter must not hide the other targets' results
        message, code = f"unexpected {type(exc).__name__}: {exc}", 3
    resource = str(planned.target.local_file) if planned.local else ""
    return TargetError(planned.name, platform, resource, redact(message), type(exc).__name__, code)


def _recorded_marker(
    ledger: LedgerView | None, env: str, target: str, keys: Sequence[ExpectedVar]
) -> str | None:
    """The target-wide marker after the last sync's own write (ledger ``target_marker``, else
    the marker of the most recently written key)."""
    from deploycheck.drift.compare import newest_marker

    if ledger is None:
        return None
    target_marker = getattr(ledger, "target_marker", None)
    if callable(target_marker):
        found = target_marker(env, target)
        if found is not None:
            return str(found)
    return newest_marker(ledger.entry(env, target, v.key) for v in keys)


def default_opener(config: ProjectConfig, env: str, environ: Mapping[str, str] | None) -> Opener:
    """Open a target's adapter with the platform factory (local files with ``open_local``)."""
    from deploycheck.platforms import open_local, open_target

    def opener(planned: DriftTarget) -> ConfigPlatform:
        if planned.local:
            assert planned.target.local_file is not None
            return open_local(
                config.resolve_path(planned.target.local_file), plain_names=planned.target.plain
            )
        return open_target(config, planned.target, env, environ)

    return opener


def detect_drift(
    config: ProjectConfig,
    env: str,
    sot: SourceOfTruth,
    ledger: LedgerView | None,
    *,
    environ: Mapping[str, str] | None = None,
    targets: Sequence[str] | None = None,
    remote: bool = False,
    opener: Opener | None = None,
    fingerprint_fn: Callable[[str], str] = fingerprint,
    max_workers: int | None = None,
) -> DriftReport:
    """Compare every target of ``env`` with the SoT; read targets concurrently.

    ``remote`` compares a local environment's platforms instead of its local files;
    ``opener`` returns the adapter of a planned target (default: the platform factory);
    ``fingerprint_fn`` must be keyed like the ledger's fingerprints.
    """
    from deploycheck.drift.compare import compare_target

    column = config.environment(env).values
    planned = plan_targets(config, env, targets, remote=remote)
    open_adapter = opener or default_opener(config, env, environ)
    expected = {p.name: expected_vars(sot, p.name, column) for p in planned}
    recorded = {p.name: _recorded_marker(ledger, env, p.name, expected[p.name]) for p in planned}

    def work(p: DriftTarget) -> TargetReading | TargetError:
        try:
            return read_target(p, open_adapter(p), recorded[p.name])
        except Exception as exc:
            return _error(p, exc)

    report = DriftReport(
        env=env, project=config.project, sot=str(sot.path), mode=sync_mode(config, env, local=False)
    )
    if not planned:
        return report
    with ThreadPoolExecutor(max_workers=max_workers or len(planned), thread_name_prefix="drift") as pool:
        outcomes = list(pool.map(work, planned))
    for p, outcome in zip(planned, outcomes, strict=True):
        if isinstance(outcome, TargetError):
            report.errors.append(outcome)
            continue
        for var in expected[p.name]:
            if var.secret:
                register_secret(var.value)
        # what a platform holds under a secret key is a secret too, whatever its value
        secret_keys = {v.key for v in expected[p.name] if v.secret}
        for held in outcome.state.vars.values():
            if held.value is not None and held.name in secret_keys:
                register_secret(held.value)
        results, notes = compare_target(
            env, outcome, expected[p.name], ledger, mode=p.mode, fingerprint_fn=fingerprint_fn
        )
        report.results += results
        report.notes += notes
        report.targets.append(
            TargetSummary(
                target=p.name,
                platform=outcome.platform,
                resource=outcome.resource,
                expected=len(expected[p.name]),
                held=len(outcome.state.vars),
                requests=outcome.requests,
                marker=outcome.state.marker,
            )
        )
    return report


def open_ledger(
    config: ProjectConfig,
    sot_path: Path,
    *,
    state_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[LedgerView, Callable[[str], str]]:
    """The sync ledger and the fingerprint function keyed like it (read-only: no key is created).

    The ledger comes from the configured state backend (:func:`deploycheck.state.backend.open_state`);
    a missing or wrong ledger key raises InputError rather than reading as drift.
    """
    from deploycheck.state import check_ledger_key, open_state, require_shared_key

    store = open_state(config, sot_path, state_dir, environ)
    key = store.key(create=False)
    ledger = store.ledger()
    if store.backend != "local":
        key = require_shared_key(store, key)
    check_ledger_key(ledger, key, store.describe(), required=store.backend != "local")

    def keyed(value: str) -> str:
        return fingerprint(value, key)

    return ledger, keyed if key is not None else fingerprint


def bind_drift_identities(
    config: ProjectConfig,
    env: str,
    ledger: LedgerView,
    *,
    environ: Mapping[str, str] | None = None,
    targets: Sequence[str] | None = None,
    remote: bool = False,
) -> None:
    """Bind each platform target's resource identity in ``ledger`` (adapters that cannot be
    opened are skipped: reading them reports why)."""
    from deploycheck.state import Ledger, bind_identities

    if not isinstance(ledger, Ledger):
        return
    opener = default_opener(config, env, environ)
    adapters = {}
    for planned in plan_targets(config, env, targets, remote=remote):
        if planned.local:
            continue
        try:
            adapters[planned.name] = opener(planned)
        except DeploycheckError:
            continue
    bind_identities(ledger, env, adapters)


def resolve_sot_path(
    config: ProjectConfig, env: str, override: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The SoT of ``env``: ``override`` (--sot), else DEPLOYCHECK_SOT, else the config's."""
    env_vars = os.environ if environ is None else environ
    chosen = str(override) if override else env_vars.get("DEPLOYCHECK_SOT") or None
    return config.sot_path(env, chosen)


def run(
    config: ProjectConfig,
    env: Environment,
    *,
    sot_path: Path | None = None,
    state_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    targets: Sequence[str] | None = None,
    remote: bool = False,
    baseline_path: Path | None = None,
    today: datetime.date | None = None,
    opener: Opener | None = None,
) -> DriftReport:
    """Drift detection of ``env``: load the SoT, the sync ledger and the baseline, then
    :func:`detect_drift`, then apply the baseline.

    ``remote`` compares a local environment's platforms instead of its ``.env.local``
    files. ``baseline_path`` None means the default ``.deploycheck-baseline.yaml`` beside
    deploycheck.yaml when it exists. Raises SoTError / BaselineError / ConfigError for bad
    input before any platform is read. ``opener`` opens each target's adapter (default: the
    platform factory); the checks pass their session's, to share its reads.
    """
    from deploycheck.drift.baseline import default_baseline_path, load_baseline
    from deploycheck.sot import load_sot

    path = resolve_sot_path(config, env.name, sot_path, environ)
    sot = load_sot(path, config, columns=(env.values,), environ=environ)
    sot.register_with_redactor()
    baseline = None
    if baseline_path is not None:
        baseline = load_baseline(baseline_path)
    elif default_baseline_path(config.path).is_file():
        baseline = load_baseline(default_baseline_path(config.path))
    ledger, fingerprint_fn = open_ledger(config, path, state_dir=state_dir, environ=environ)
    bind_drift_identities(config, env.name, ledger, environ=environ, targets=targets, remote=remote)
    report = detect_drift(
        config,
        env.name,
        sot,
        ledger,
        environ=environ,
        targets=targets,
        remote=remote,
        fingerprint_fn=fingerprint_fn,
        opener=opener,
    )
    if baseline is not None:
        report.apply_baseline(baseline, today or datetime.datetime.now(datetime.UTC).date())
    return report


def run_drift(config: ProjectConfig, env: str, **options: Any) -> DriftReport:
    """:func:`run` for the environment called ``env`` (ConfigError when there is none)."""
    return run(config, config.environment(env), **options)
