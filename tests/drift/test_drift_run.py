"""Running drift detection over several targets with in-memory adapters: planning, isolation, versions."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from deploycheck.config import ProjectConfig, load_config
from deploycheck.drift import DriftTarget, detect_drift, plan_targets
from deploycheck.errors import AuthError, ConfigError, NotFoundError
from deploycheck.platforms.base import ConfigState, RemoteVar
from deploycheck.redact import fingerprint
from deploycheck.sot import SourceOfTruth, load_sot
from deploycheck.state import Ledger, LedgerEntry

CONFIG = """\
project: drift-test
default_env: development
environments:
  development: {remote: false, values: dev}
  production: {remote: true, values: prod}
targets:
  CONVEX:
    platform: convex
    local_file: apps/convex/.env.local
    environments:
      development: {deployment: dev-one}
      production: {deployment: prod-one}
  CLOUDFLARE_WORKER:
    platform: cloudflare-worker
    environments:
      production: {script: log-ingestion}
  GITHUB:
    platform: github-actions
    environments:
      development: {repository: example/app, environment: development}
      production: {repository: example/app, environment: production}
"""

SOT = """\
| TARGET            | GROUP | KEY          | DEV_VALUE | PROD_VALUE |
|-------------------|-------|--------------|-----------|------------|
| CONVEX            | App   | APP_ENV      | dev       | prod       |
| CLOUDFLARE_WORKER | Redis | REDIS_TOKEN  | dtok-0001 | ptok-secret-0001 |
| CLOUDFLARE_WORKER | Logs  | LOG_LEVEL    | debug     | info       |
| GITHUB            | CI    | DEPLOY_TOKEN |           | gh-secret-value-0001 |
"""


class FakeAdapter:
    """An adapter serving a fixed ConfigState; counts reads; may raise; may serve versions."""

    def __init__(
        self,
        platform: str,
        resource: str,
        vars_: dict[str, RemoteVar],
        *,
        marker: str | None = None,
        error: Exception | None = None,
        versions: dict[str, list[dict[str, str]]] | None = None,
        barrier: threading.Barrier | None = None,
    ) -> None:
        self.platform = platform
        self.resource = resource
        self.vars = vars_
        self.marker = marker
        self.error = error
        self.requests = 0
        self.barrier = barrier
        self.versions = versions
        if versions is not None:
            self.get_version = self._get_version

    def read_config(self) -> ConfigState:
        if self.barrier is not None:
            self.barrier.wait(timeout=10)
        self.requests += 1
        if self.error is not None:
            raise self.error
        return ConfigState(self.platform, self.resource, self.vars, marker=self.marker, requests=1)

    def _get_version(self, version_id: str) -> dict[str, Any]:
        self.requests += 1
        assert self.versions is not None
        if version_id not in self.versions:
            raise NotFoundError("no such version", platform=self.platform, operation="read worker version")
        return {"id": version_id, "resources": {"bindings": self.versions[version_id]}}


@pytest.fixture
def project(tmp_path: Path) -> tuple[ProjectConfig, SourceOfTruth]:
    (tmp_path / "deploycheck.yaml").write_text(CONFIG)
    (tmp_path / "app.env").write_text(SOT)
    config = load_config(tmp_path / "deploycheck.yaml")
    return config, load_sot(tmp_path / "app.env", config)


def in_sync_adapters(**overrides: FakeAdapter) -> dict[str, FakeAdapter]:
    adapters = {
        "CONVEX": FakeAdapter("convex", "prod-one", {"APP_ENV": RemoteVar("APP_ENV", "prod", secret=False)}),
        "CLOUDFLARE_WORKER": FakeAdapter(
            "cloudflare-worker",
            "log-ingestion",
            {
                "REDIS_TOKEN": RemoteVar("REDIS_TOKEN", None, secret=True),
                "LOG_LEVEL": RemoteVar("LOG_LEVEL", "info", secret=False),
            },
            marker="v1",
        ),
        "GITHUB": FakeAdapter(
            "github-actions",
            "example/app:production",
            {"DEPLOY_TOKEN": RemoteVar("DEPLOY_TOKEN", None, secret=True, marker="2026-01-01T00:00:00Z")},
        ),
    }
    adapters.update(overrides)
    return adapters


def synced_ledger() -> Ledger:
    ledger = Ledger(Path("/nonexistent/ledger.json"))
    written = "2026-01-01T00:00:00Z"
    ledger.record(
        "production",
        "CLOUDFLARE_WORKER",
        "REDIS_TOKEN",
        LedgerEntry(fingerprint("ptok-secret-0001"), written),
    )
    ledger.record("production", "CLOUDFLARE_WORKER", "LOG_LEVEL", LedgerEntry(fingerprint("info"), written))
    ledger.set_target_marker("production", "CLOUDFLARE_WORKER", "v1")
    ledger.record(
        "production",
        "GITHUB",
        "DEPLOY_TOKEN",
        LedgerEntry(fingerprint("gh-secret-value-0001"), written, written),
    )
    return ledger


def run(
    project: tuple[ProjectConfig, SourceOfTruth],
    adapters: dict[str, FakeAdapter],
    ledger: Ledger | None = None,
) -> Any:
    config, sot = project

    def opener(planned: DriftTarget) -> FakeAdapter:
        return adapters[planned.name]

    return detect_drift(
        config, "production", sot, ledger if ledger is not None else synced_ledger(), opener=opener
    )


def test_everything_in_sync_exits_zero(project: tuple[ProjectConfig, SourceOfTruth]) -> None:
    """When every platform holds the SoT's values and the ledger agrees, there are no findings."""
    report = run(project, in_sync_adapters())
    assert report.findings == []
    assert len(report.results) == 4
    assert report.exit_code == 0
    assert [t.requests for t in report.targets] == [1, 1, 1]


def test_one_unreadable_target_is_isolated(project: tuple[ProjectConfig, SourceOfTruth]) -> None:
    """A target that cannot be read is an error naming it (exit 3); the others are still compared."""
    broken = FakeAdapter(
        "github-actions",
        "example/app:production",
        {},
        error=AuthError("bad credentials", platform="github-actions", operation="list secrets", status=401),
    )
    adapters = in_sync_adapters(GITHUB=broken)
    adapters["CONVEX"] = FakeAdapter(
        "convex", "prod-one", {"APP_ENV": RemoteVar("APP_ENV", "staging", secret=False)}
    )
    report = run(project, adapters)
    assert report.exit_code == 3
    assert [(e.target, e.kind) for e in report.errors] == [("GITHUB", "AuthError")]
    assert "HTTP 401" in report.errors[0].message
    assert [(f.target, f.key, f.state) for f in report.findings] == [("CONVEX", "APP_ENV", "value_differs")]


def test_configuration_error_while_opening_exits_two(project: tuple[ProjectConfig, SourceOfTruth]) -> None:
    """A missing credential (ConfigError from the factory) is reported for that target with exit code 2."""
    config, sot = project
    adapters = in_sync_adapters()

    def opener(planned: DriftTarget) -> FakeAdapter:
        if planned.name == "CONVEX":
            raise ConfigError("CONVEX_DEPLOY_KEY is not set")
        return adapters[planned.name]

    report = detect_drift(config, "production", sot, synced_ledger(), opener=opener)
    assert report.exit_code == 2
    assert report.errors[0].target == "CONVEX"


def test_targets_are_read_concurrently(project: tuple[ProjectConfig, SourceOfTruth]) -> None:
    """All targets are read at the same time: a barrier of three only opens if all reads overlap."""
    barrier = threading.Barrier(3)
    adapters = in_sync_adapters()
    for adapter in adapters.values():
        adapter.barrier = barrier
    report = run(project, adapters)
    assert report.errors == []
    assert report.exit_code == 0


def test_worker_version_change_compares_bindings(project: tuple[ProjectConfig, SourceOfTruth]) -> None:
    """A new Worker version since the sync fetches both versions' bindings (two requests); its secret
    is changed out of band (cannot tell which) even with unchanged bindings, with one target note."""
    bindings = [{"name": "REDIS_TOKEN", "type": "secret_text"}, {"name": "LOG_LEVEL", "type": "plain_text"}]
    worker = in_sync_adapters()["CLOUDFLARE_WORKER"]
    worker.marker = "v2"
    worker.versions = {"v1": bindings, "v2": bindings}
    worker.get_version = worker._get_version
    report = run(project, in_sync_adapters(CLOUDFLARE_WORKER=worker))
    assert [(f.key, f.state) for f in report.findings] == [("REDIS_TOKEN", "changed_out_of_band")]
    assert worker.requests == 3
    assert len(report.notes) == 1 and report.notes[0].target == "CLOUDFLARE_WORKER"
    assert report.exit_code == 1


def test_worker_recorded_version_gone_falls_back_to_a_note(
    project: tuple[ProjectConfig, SourceOfTruth],
) -> None:
    """When the recorded version cannot be fetched, the secrets are still changed out of band."""
    worker = in_sync_adapters()["CLOUDFLARE_WORKER"]
    worker.marker = "v9"
    worker.versions = {"v9": []}
    worker.get_version = worker._get_version
    report = run(project, in_sync_adapters(CLOUDFLARE_WORKER=worker))
    assert [(f.key, f.state) for f in report.findings] == [("REDIS_TOKEN", "changed_out_of_band")]
    assert "cannot tell which" in report.findings[0].detail


def test_secret_with_binding_type_change_is_out_of_band(project: tuple[ProjectConfig, SourceOfTruth]) -> None:
    """A secret whose binding appeared since the recorded version is changed_out_of_band."""
    worker = in_sync_adapters()["CLOUDFLARE_WORKER"]
    worker.marker = "v2"
    worker.versions = {
        "v1": [{"name": "LOG_LEVEL", "type": "plain_text"}],
        "v2": [{"name": "REDIS_TOKEN", "type": "secret_text"}, {"name": "LOG_LEVEL", "type": "plain_text"}],
    }
    worker.get_version = worker._get_version
    report = run(project, in_sync_adapters(CLOUDFLARE_WORKER=worker))
    assert [(f.key, f.state) for f in report.findings] == [("REDIS_TOKEN", "changed_out_of_band")]


def test_local_environment_reads_local_files(
    project: tuple[ProjectConfig, SourceOfTruth], tmp_path: Path
) -> None:
    """A local environment compares each target's local_file (or, with remote, its platforms);
    an empty DEV value is not expected anywhere."""
    config, sot = project
    assert [(p.name, p.local, p.mode) for p in plan_targets(config, "development")] == [
        ("CONVEX", True, "local")
    ]
    assert [(p.name, p.local, p.mode) for p in plan_targets(config, "development", remote=True)] == [
        ("CONVEX", False, "deploy-dev"),
        ("GITHUB", False, "deploy-dev"),
    ]
    convex_file = tmp_path / "apps" / "convex" / ".env.local"
    convex_file.parent.mkdir(parents=True)
    convex_file.write_text("APP_ENV=dev\nSTRAY=1\n")
    report = detect_drift(config, "development", sot, None)
    assert [(f.target, f.key, f.state) for f in report.findings] == [("CONVEX", "STRAY", "unexpected")]
    assert report.findings[0].platform == "local-dotenv"
    github = FakeAdapter("github-actions", "example/app:development", {})
    convex = FakeAdapter("convex", "dev-one", {"APP_ENV": RemoteVar("APP_ENV", "dev", secret=True)})
    adapters = {"GITHUB": github, "CONVEX": convex}
    remote = detect_drift(config, "development", sot, None, remote=True, opener=lambda p: adapters[p.name])
    assert remote.findings == []
    assert [r.key for r in remote.results] == ["APP_ENV"]


def test_unknown_target_is_a_config_error(project: tuple[ProjectConfig, SourceOfTruth]) -> None:
    """--target with an unknown name is rejected listing the valid ones."""
    config, _ = project
    with pytest.raises(ConfigError, match="CONVEX"):
        plan_targets(config, "production", ["CONVEKS"])
