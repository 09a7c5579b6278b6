"""Platform state for a verification run, read once and concurrently.

A run of checks asks many questions of few sources: the Pages project, the Worker's
health, the Convex deployment. :class:`VerificationState` answers each question from
one read per source per session, shared by every check, and the ``start_*`` methods
(or :meth:`prefetch`) begin every read the selected checks need at once, in parallel,
so a run takes about as long as its slowest source rather than the sum of them.

Results are memoised with their error: a platform that cannot be read makes each
check that needs it fail with the same clear message, without asking again. A read
that could not start because credentials are absent is *unavailable*
(:attr:`Fetched.unavailable`): API-dependent checks skip with that reason.

What checks see of this state (the per-platform views, :func:`check_url`,
:func:`start_reads`) lives in :mod:`deploycheck.verify.views`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from deploycheck.config import ProjectConfig, Settings, Target
from deploycheck.errors import DeploycheckError
from deploycheck.platforms import get_spec
from deploycheck.platforms.base import ConfigPlatform
from deploycheck.platforms.reads import (
    ActiveDeploymentReads,
    DeploymentReads,
    FunctionReads,
    VersionListReads,
    missing_read,
)
from deploycheck.verify.probes import HealthResult, PageResult, certificate_days_left, fetch_page, read_health
from deploycheck.verify.reads import Fetched

__all__ = ["API_READS", "VerificationState"]

#: the platform API reads a check may ask for, by name (see :meth:`VerificationState.start`)
API_READS = ("config", "deployments", "pages_active", "worker_versions", "convex_info", "functions")
#: the Protocol an adapter offers for each API read but ``config`` (every adapter reads config)
_READS: dict[str, type] = {
    "deployments": DeploymentReads,
    "pages_active": ActiveDeploymentReads,
    "worker_versions": VersionListReads,
    "convex_info": FunctionReads,
    "functions": FunctionReads,
}
T = TypeVar("T")
#: how many Worker versions are read to find the newest one
WORKER_VERSIONS_READ = 5


#: argument-free adapter reads that several reads use (read_config and active_deployment both
#: read the Pages project; read_config and the deployments read both list Worker deployments;
#: the config checks and the drift checks both read_config)
SHARED_READS = ("project_info", "list_deployments", "settings", "list_secrets", "read_config")


def _share_reads(adapter: Any) -> None:
    """Make the adapter's :data:`SHARED_READS` answer from one request per session (thread-safe)."""
    for name in SHARED_READS:
        method = getattr(adapter, name, None)
        if callable(method):
            setattr(adapter, name, _once(method))


def _once(method: Callable[[], Any]) -> Callable[[], Any]:
    lock = threading.Lock()
    memo: list[Any] = []

    def shared() -> Any:
        with lock:  # concurrent callers wait for the one request instead of repeating it
            if not memo:
                try:
                    memo.append((method(), None))
                except DeploycheckError as exc:  # a failed read fails every reader alike, once
                    memo.append((None, exc))
            value, error = memo[0]
            if error is not None:
                raise error
            return value

    return shared


def _certificate(url: str) -> tuple[int | None, str | None]:
    try:
        return certificate_days_left(url), None
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


class VerificationState:
    """Everything checks read from platforms during one session, read at most once each."""

    def __init__(
        self,
        config: ProjectConfig,
        env: str,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
        *,
        max_workers: int = 128,
    ) -> None:
        self.config = config
        self.env = env
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        # verifying a remote environment without its credentials verifies nothing: fail, do not skip
        self.strict = config.environment(env).remote
        self._lock = threading.Lock()
        self._futures: dict[tuple[str, ...], Future[Fetched]] = {}
        self._tasks: dict[tuple[str, ...], Future[Any]] = {}
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="deploycheck-read")
        self._adapters: dict[str, ConfigPlatform] = {}
        self._adapter_lock = threading.Lock()

    def close(self) -> None:
        """Stop the reader threads (waits for reads under way)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def reads(self) -> list[tuple[str, ...]]:
        """The keys of every read started so far (each made once)."""
        with self._lock:
            return list(self._futures)

    # -- memoisation -------------------------------------------------------------------

    def _memo(self, key: tuple[str, ...], read: Callable[[], Any]) -> Future[Fetched]:
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                future = self._pool.submit(self._read_once, read)
                self._futures[key] = future
            return future

    def _read_once(self, read: Callable[[], Any]) -> Fetched:
        fetched = self._guarded(read)
        return replace(fetched, strict=True) if self.strict and fetched.error is not None else fetched

    @staticmethod
    def _guarded(read: Callable[[], Any]) -> Fetched:
        try:
            return Fetched(value=read())
        except DeploycheckError as exc:
            return Fetched(error=exc)

    def _value(self, key: tuple[str, ...], read: Callable[[], Any]) -> Any:
        return self._memo(key, read).result().get()

    # -- background tasks (request chains, the drift comparison) -------------------------

    def start_task(self, key: tuple[str, ...], task: Callable[[], Any]) -> None:
        """Begin ``task`` in the background, once per session under ``key``; returns at once.

        For work that is more than one read (a chain of requests whose steps wait for each
        other, the drift comparison): independent tasks run concurrently with each other
        and with the reads.
        """
        with self._lock:
            if key not in self._tasks:
                self._tasks[key] = self._pool.submit(task)

    def task(self, key: tuple[str, ...], task: Callable[[], T]) -> T:
        """The result of the task ``key`` (started with ``task`` if need be), waited for.

        Raises what the task raised.
        """
        self.start_task(key, task)
        result: T = self._tasks[key].result()
        return result

    # -- adapters ----------------------------------------------------------------------

    def adapter(self, target: Target) -> ConfigPlatform:
        """The platform adapter for ``target`` in this environment (one per target); the reads
        it offers beyond configuration are the Protocols of :mod:`deploycheck.platforms.reads`."""
        from deploycheck.platforms import open_target

        with self._adapter_lock:
            if target.name not in self._adapters:
                adapter = open_target(self.config, target, self.env, self.environ)
                _share_reads(adapter)
                self._adapters[target.name] = adapter
            return self._adapters[target.name]

    # -- platform API reads ------------------------------------------------------------

    def _api_read(self, kind: str, target: Target) -> Callable[[], Any]:
        def read() -> Any:
            adapter = self.adapter(target)
            if kind == "config":
                return adapter.read_config()
            if kind not in API_READS:
                msg = f"unknown read {kind!r}; valid: {', '.join(API_READS)}"
                raise ValueError(msg)
            offered = _READS[kind]
            if not isinstance(adapter, offered):
                raise missing_read(adapter, offered, f"the read {kind!r}")
            if isinstance(adapter, DeploymentReads) and kind == "deployments":
                return adapter.list_deployments()
            if isinstance(adapter, ActiveDeploymentReads) and kind == "pages_active":
                return adapter.active_deployment()
            if isinstance(adapter, VersionListReads) and kind == "worker_versions":
                return adapter.list_versions(limit=WORKER_VERSIONS_READ)
            if isinstance(adapter, FunctionReads) and kind == "convex_info":
                return adapter.deployment_info()
            if isinstance(adapter, FunctionReads) and kind == "functions":
                return list(adapter.function_spec())
            msg = f"unknown read {kind!r}; valid: {', '.join(API_READS)}"
            raise ValueError(msg)

        return read

    def drift_opener(self) -> Callable[[Any], ConfigPlatform]:
        """An opener for :func:`deploycheck.drift.run` sharing this session's adapters,
        so the drift checks and the config checks make one ``read_config`` per target."""
        from deploycheck.drift.run import default_opener

        fallback = default_opener(self.config, self.env, self.environ)

        def opener(planned: Any) -> ConfigPlatform:
            return fallback(planned) if planned.local else self.adapter(planned.target)

        return opener

    def start(self, kind: str, target: Target) -> None:
        """Begin the API read ``kind`` (one of :data:`API_READS`) of ``target``; returns at once."""
        if kind not in API_READS:
            msg = f"unknown read {kind!r}; valid: {', '.join(API_READS)}"
            raise ValueError(msg)
        self._memo((kind, target.name), self._api_read(kind, target))

    def fetch(self, kind: str, target: Target) -> Fetched:
        """The API read ``kind`` of ``target`` (started if need be), waited for; never raises."""
        self.start(kind, target)
        return self._futures[(kind, target.name)].result()

    def config_state(self, target: Target) -> Any:
        """The target's variables as the platform holds them (a ConfigState); raises the read's error."""
        return self.fetch("config", target).get()

    def deployments(self, target: Target) -> Any:
        """The target's deployments, newest first (Pages and Worker targets); raises the read's error."""
        return self.fetch("deployments", target).get()

    def convex_info(self, target: Target) -> dict[str, Any]:
        """What a Convex deployment says about itself (``deployment_info``); raises the read's error."""
        result: dict[str, Any] = self.fetch("convex_info", target).get()
        return result

    def convex_functions(self, target: Target) -> list[str]:
        """The function identifiers in the Convex deployment's function spec; raises the read's error."""
        result: list[str] = self.fetch("functions", target).get()
        return result

    # -- data-plane reads (never raise: the results carry their errors) ----------------

    def start_page(self, url: str) -> None:
        """Begin one GET of ``url``."""
        self._memo(("page", url), lambda: fetch_page(url))

    def page(self, url: str) -> PageResult:
        """One GET of ``url`` (never raises; the result carries any error)."""
        result: PageResult = self._value(("page", url), lambda: fetch_page(url))
        return result

    def start_health(self, base_url: str, path: str = "/health") -> None:
        """Begin the Worker health read at ``base_url``."""
        self._memo(("health", base_url, path), lambda: read_health(base_url, path))

    def health(self, base_url: str, path: str = "/health") -> HealthResult:
        """The Worker's health answer at ``base_url`` (never raises)."""
        result: HealthResult = self._value(("health", base_url, path), lambda: read_health(base_url, path))
        return result

    def start_certificate(self, url: str) -> None:
        """Begin reading the TLS certificate of an https ``url``."""
        self._memo(("certificate", url), lambda: _certificate(url))

    def certificate(self, url: str) -> tuple[int | None, str | None]:
        """(days left, None) for the certificate of ``url``, or (None, the error)."""
        result: tuple[int | None, str | None] = self._value(("certificate", url), lambda: _certificate(url))
        return result

    # -- prefetch ------------------------------------------------------------------------

    def prefetch(
        self,
        platforms: Iterable[str],
        *,
        pages_url: str | None = None,
        worker_url: str | None = None,
        health_path: str = "/health",
        urls: Iterable[str] = (),
    ) -> None:
        """Start the usual reads of the selected platforms' targets, and the given URLs; returns at once."""
        wanted = set(platforms)
        for target in self.config.targets_for(self.env):
            if target.platform not in wanted:
                continue
            self.start("config", target)
            for kind in get_spec(target.platform).prefetch_reads:
                self.start(kind, target)
        sections = {get_spec(platform).checks_section for platform in wanted}
        if pages_url and "pages" in sections:
            self.start_page(pages_url)
        if worker_url and "worker" in sections:
            self.start_health(worker_url, health_path)
        for url in urls:
            self.start_page(url)
