"""VerificationState: each platform read once per session, concurrently, errors memoised, absent credentials named."""

from __future__ import annotations

import threading
from pathlib import Path

from deploycheck.config import Settings, load_config
from deploycheck.sandbox import SandboxInfo
from deploycheck.verify import (
    ChecksSettings,
    VerificationState,
    convex_view,
    pages_view,
    start_reads,
    worker_api_view,
)

REPO = Path(__file__).resolve().parents[1]


def _state(environ: dict[str, str], env: str = "sandbox") -> VerificationState:
    config = load_config(REPO / "deploycheck.yaml")
    settings = Settings.from_config(config, env, environ=environ)
    return VerificationState(config, env, settings, environ)


def test_each_source_is_read_once(sandbox: SandboxInfo, sandbox_env: dict[str, str], sandbox_admin) -> None:
    """Many checks asking the same questions cause one request per source (the Pages project read once)."""
    state = _state(sandbox_env)
    config = state.config
    checks = ChecksSettings.from_config(config)
    pages, worker, convex = (config.targets[n] for n in ("NEXTJS", "CLOUDFLARE_WORKER", "CONVEX"))
    sandbox_admin.clear_requests()
    try:
        for _ in range(3):
            view = pages_view(state, pages, checks.for_target(pages))
            assert view.page.is_ok
            assert view.active is not None
            state.config_state(pages)
            api, _read = worker_api_view(state, worker)
            assert api is not None
            state.config_state(worker)
            assert convex_view(state, convex).instance_name == "prod-graceful-shrimp-355"
            state.health(sandbox.worker_url)
    finally:
        state.close()
    paths = [(r["service"], r["method"], r["path"].split("?")[0]) for r in sandbox_admin.requests()]
    assert len(paths) == len(set(paths)), sorted(paths)
    assert any(p[0] == "pages" for p in paths)
    assert any(p[2].endswith("/pages/projects/app-web") for p in paths)


def test_prefetch_starts_reads_concurrently(sandbox_env: dict[str, str], sandbox_admin) -> None:
    """start_reads returns at once; reads delayed by the sandbox overlap rather than queue."""
    state = _state(sandbox_env)
    checks = ChecksSettings.from_config(state.config)
    sandbox_admin.fault(service="cloudflare", latency_ms=300)
    sandbox_admin.fault(service="convex", latency_ms=300)
    running: list[int] = []
    peak = [0]
    lock = threading.Lock()
    original = state._guarded

    def counting(read):  # type: ignore[no-untyped-def]
        with lock:
            running.append(1)
            peak[0] = max(peak[0], len(running))
        try:
            return original(read)
        finally:
            with lock:
                running.pop()

    state._guarded = counting  # type: ignore[method-assign]
    try:
        for name in ("pages", "worker_api", "convex", "config_read"):
            for target in state.config.targets_for("sandbox"):
                start_reads(state, name, target, checks)
        assert len(state.reads) >= 8
        for future in list(state._futures.values()):
            future.result()
    finally:
        state.close()
    assert peak[0] >= 4


def test_absent_credentials_fail_a_remote_environment(sandbox_env: dict[str, str]) -> None:
    """Verifying a remote environment without its credentials is a failure naming the variable, not a skip."""
    environ = {k: v for k, v in sandbox_env.items() if k != "CLOUDFLARE_API_TOKEN"}
    state = _state(environ)
    try:
        read = state.fetch("deployments", state.config.targets["CLOUDFLARE_WORKER"])
        assert read.unavailable is None
        assert read.error is not None
        assert "CLOUDFLARE_API_TOKEN" in read.message
    finally:
        state.close()


def test_absent_credentials_make_reads_unavailable(sandbox_env: dict[str, str]) -> None:
    """In a local environment, without CLOUDFLARE_API_TOKEN a Worker read is unavailable (skip), naming the variable."""
    environ = {k: v for k, v in sandbox_env.items() if k != "CLOUDFLARE_API_TOKEN"}
    state = _state(environ, env="development")
    try:
        worker = state.config.targets["CLOUDFLARE_WORKER"]
        view, read = worker_api_view(state, worker)
        assert view is None
        assert read.unavailable is not None
        assert "CLOUDFLARE_API_TOKEN" in read.unavailable
        assert state.fetch("deployments", worker) is state.fetch("deployments", worker)
    finally:
        state.close()


def test_platform_error_is_not_unavailable(sandbox_env: dict[str, str], sandbox_admin) -> None:
    """A platform answering 500 is a read error (the check fails), not a missing credential (skip)."""
    sandbox_admin.fault(service="convex", path="deployment_info", status=500)
    state = _state({**sandbox_env, "DEPLOYCHECK_HTTP_RETRIES": "0"})
    try:
        read = state.fetch("convex_info", state.config.targets["CONVEX"])
        assert read.error is not None
        assert read.unavailable is None
        assert "convex" in read.message
    finally:
        state.close()


def test_prefetch_compat_reads_pages(sandbox: SandboxInfo, sandbox_env: dict[str, str]) -> None:
    """prefetch(platforms, urls=...) starts page reads that page() then answers from memory."""
    state = _state(sandbox_env)
    try:
        url = sandbox.pages_url.rstrip("/") + "/"
        state.prefetch(["cloudflare-pages"], pages_url=url)
        assert state.page(url).is_ok
        assert ("page", url) in state.reads
    finally:
        state.close()
