"""Platform state for a verification run, read once and concurrently.

A run of checks asks many questions of few sources: the Pages project, the Worker's
health, the Convex deployment. :class:`VerificationState` answers each question from
one read per source per session, shared by every check, and :meth:`prefetch` reads
every source the selected checks need at once, in parallel, so a run takes about as
long as its slowest source rather than the sum of them.

Results are memoised with their error: a platform that cannot be read makes each
check that needs it fail with the same clear message, without asking again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from deploycheck.config import ProjectConfig, Target
from deploycheck.errors import DeploycheckError
from deploycheck.probes import HealthResult, PageResult, fetch_page, read_health
from deploycheck.settings import Settings

__all__ = ["Fetched", "VerificationState"]

T = TypeVar("T")


@dataclass(frozen=True)
class Fetched:
    """A memoised read: its value, or the error that stopped it."""

    value: Any = None
    error: DeploycheckError | None = None

    def get(self) -> Any:
        """The value, or raise the error the read ended with."""
        if self.error is not None:
            raise self.error
        return self.value


class VerificationState:
    """Everything checks read from platforms during one session, read at most once each."""

    def __init__(
        self,
        config: ProjectConfig,
        env: str,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
        *,
        max_workers: int = 32,
    ) -> None:
        self.config = config
        self.env = env
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        self._lock = threading.Lock()
        self._futures: dict[tuple[str, ...], Future[Fetched]] = {}
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="deploycheck-read")
        self._adapters: dict[str, Any] = {}
        self._adapter_lock = threading.Lock()

    def close(self) -> None:
        """Stop the reader threads (waits for reads under way)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- memoisation -------------------------------------------------------------------

    def _memo(self, key: tuple[str, ...], read: Callable[[], Any]) -> Future[Fetched]:
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                future = self._pool.submit(self._guarded, read)
                self._futures[key] = future
            return future

    @staticmethod
    def _guarded(read: Callable[[], Any]) -> Fetched:
        try:
            return Fetched(value=read())
        except DeploycheckError as exc:
            return Fetched(error=exc)

    def _value(self, key: tuple[str, ...], read: Callable[[], Any]) -> Any:
        return self._memo(key, read).result().get()

    # -- adapters ----------------------------------------------------------------------

    def adapter(self, target: Target) -> Any:
        """The platform adapter for ``target`` in this environment (one per target)."""
        from deploycheck.platforms import open_target

        with self._adapter_lock:
            if target.name not in self._adapters:
                self._adapters[target.name] = open_target(self.config, target, self.env, self.environ)
            return self._adapters[target.name]

    # -- reads ---------------------------------------------------------------------------

    def config_state(self, target: Target) -> Any:
        """The target's variables as the platform holds them (a ConfigState)."""
        return self._value(("config", target.name), lambda: self.adapter(target).read_config())

    def deployments(self, target: Target) -> Any:
        """The target's deployments, newest first (Pages and Worker targets)."""
        return self._value(("deployments", target.name), lambda: self.adapter(target).list_deployments())

    def convex_info(self, target: Target) -> dict[str, Any]:
        """What a Convex deployment says about itself: instance name, deployment info, functions."""

        def read() -> dict[str, Any]:
            adapter = self.adapter(target)
            return {
                "instance_name": adapter.instance_name(),
                "deployment_info": adapter.deployment_info(),
            }

        result: dict[str, Any] = self._value(("convex", target.name), read)
        return result

    def convex_functions(self, target: Target) -> list[str]:
        """The function identifiers in the Convex deployment's function spec."""
        result: list[str] = self._value(("functions", target.name), lambda: list(self.adapter(target).function_spec()))
        return result

    def page(self, url: str) -> PageResult:
        """One GET of ``url`` (never raises; the result carries any error)."""
        result: PageResult = self._value(("page", url), lambda: fetch_page(url))
        return result

    def health(self, base_url: str, path: str = "/health") -> HealthResult:
        """The Worker's health answer at ``base_url`` (never raises)."""
        result: HealthResult = self._value(("health", base_url, path), lambda: read_health(base_url, path))
        return result

    # -- prefetch ------------------------------------------------------------------------

    def prefetch(self, platforms: Iterable[str], *, pages_url: str | None = None, worker_url: str | None = None,
                 health_path: str = "/health", urls: Iterable[str] = ()) -> None:
        """Start every read the selected platforms' checks need, concurrently; returns at once."""
        wanted = set(platforms)
        for target in self.config.targets_for(self.env):
            if target.platform not in wanted:
                continue
            if target.platform in ("cloudflare-pages", "cloudflare-worker", "convex", "github-actions"):
                self._memo(("config", target.name), lambda t=target: self.adapter(t).read_config())  # type: ignore[misc]
            if target.platform in ("cloudflare-pages", "cloudflare-worker"):
                self._memo(("deployments", target.name), lambda t=target: self.adapter(t).list_deployments())  # type: ignore[misc]
            if target.platform == "convex":
                self.convex_future(target)
        if pages_url and "cloudflare-pages" in wanted:
            self._memo(("page", pages_url), lambda: fetch_page(pages_url))
        if worker_url and "cloudflare-worker" in wanted:
            self._memo(("health", worker_url, health_path), lambda: read_health(worker_url, health_path))
        for url in urls:
            self._memo(("page", url), lambda u=url: fetch_page(u))  # type: ignore[misc]

    def convex_future(self, target: Target) -> None:
        """Start the Convex reads for ``target`` without waiting."""

        def read() -> dict[str, Any]:
            adapter = self.adapter(target)
            return {"instance_name": adapter.instance_name(), "deployment_info": adapter.deployment_info()}

        self._memo(("convex", target.name), read)
        self._memo(("functions", target.name), lambda: list(self.adapter(target).function_spec()))
