"""Fixtures of the deploy tests: a throw-away project whose deploy commands are small Python
scripts, and a state reader that reads what those scripts "deployed"."""

from __future__ import annotations

import io
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploycheck.config import ProjectConfig, load_config
from deploycheck.deploy import DeployOptions, Snapshot, Verification
from deploycheck.platforms.base import Deployment
from deploycheck.workerd import find_wrangler, install_command

#: a deploy command: ``fake_deploy.py PLATFORM MODE``; modes: ok, fail, noop, partial, sleep, secret
FAKE_DEPLOY = """
import os, sys, time, uuid
from pathlib import Path

platform, mode = sys.argv[1], sys.argv[2]
# the state folder sits beside this script: deploy commands get no variables but their platform's
ledger = Path(__file__).resolve().parent / "state" / f"{platform}.txt"
print(f"deploying {platform}", flush=True)
if mode == "sleep":
    time.sleep(60)
if mode == "secret":
    print("using token " + os.environ.get("CONVEX_DEPLOY_KEY", "(not passed)"), flush=True)
if mode in ("ok", "secret", "partial"):
    with ledger.open("a") as handle:
        handle.write(uuid.uuid4().hex + "\\n")
    print(f"created deployment for {platform}", flush=True)
if mode in ("fail", "partial"):
    print("Error: upload rejected (HTTP 500)", file=sys.stderr, flush=True)
    sys.exit(1)
"""


class FileStateReader:
    """Reads the ids the fake deploy command appended, as the platform adapters would report them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.reads: list[str] = []

    def read(self, platform: str, target: str, *, since_ms: int | None = None) -> Snapshot:
        """The snapshot of ``platform``: the last id is live, every id is a known deployment."""
        self.reads.append(platform)
        path = self.folder / f"{platform}.txt"
        ids = ["seed", *(path.read_text().split() if path.is_file() else [])]
        if platform == "convex":
            return Snapshot(platform, str(1000 * len(ids)))
        details = {
            i: Deployment(id=i, created_on=f"{n:04d}", active=i == ids[-1], versions=((f"v-{i}", 100.0),))
            for n, i in enumerate(ids)
        }
        active = f"v-{ids[-1]}" if platform == "cloudflare-worker" else ids[-1]
        return Snapshot(platform, active, ids[-1], frozenset(ids), details)


class Project:
    """A temporary project: deploycheck.yaml with one target per deployable platform."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "state"
        self.state.mkdir()
        (root / "fake_deploy.py").write_text(FAKE_DEPLOY)
        self.reader = FileStateReader(self.state)
        self.out = io.StringIO()
        self.verified: list[tuple[list[str], dict[str, str]]] = []
        self.failing_checks: tuple[str, ...] = ()

    def command(self, platform: str, mode: str) -> str:
        """The deploy command running the fake deploy for ``platform`` in ``mode``."""
        return shlex.join([sys.executable, "fake_deploy.py", platform, mode])

    def write(
        self,
        modes: dict[str, str] | None = None,
        *,
        order: list[str] | None = None,
        stop_on_failure: bool = False,
        timeout: float | None = None,
        extra: str = "",
    ) -> ProjectConfig:
        """Write deploycheck.yaml (``modes``: platform -> fake deploy mode) and load it."""
        modes = {"convex": "ok", "cloudflare-worker": "ok", "cloudflare-pages": "ok", **(modes or {})}
        resources = {
            "convex": ("CONVEX", "deployment: dep-1"),
            "cloudflare-worker": ("WORKER", "script: api"),
            "cloudflare-pages": ("WEB", "project: web"),
        }
        lines = [
            "project: demo",
            "default_env: staging",
            "environments:",
            "  staging:",
            "    remote: false",
            "targets:",
        ]
        for platform, (name, param) in resources.items():
            command = self.command(platform, modes[platform]).replace("'", "''")
            lines += [
                f"  {name}:",
                f"    platform: {platform}",
                "    environments:",
                "      staging:",
                f"        {param}",
                f"        deploy_command: '{command}'",
            ]
            if timeout is not None:
                lines.append(f"        deploy_timeout: {timeout}")
        lines += [
            "deploy:",
            f"  order: {order or ['convex', 'cloudflare-worker', 'cloudflare-pages']}",
            f"  stop_on_failure: {str(stop_on_failure).lower()}",
        ]
        (self.root / "deploycheck.yaml").write_text("\n".join(lines) + "\n" + extra)
        return load_config(self.root / "deploycheck.yaml")

    def options(self, **overrides: Any) -> DeployOptions:
        """Deploy options for the staging environment, the fake state in the environment."""
        environ = {"PATH": "/usr/bin:/bin", "FAKE_STATE": str(self.state), "FAKE_TOKEN": "unused"}
        environ.update(overrides.pop("environ", {}))
        values: dict[str, Any] = {
            "env": "staging",
            "state_dir": self.root / "dc-state",
            "environ": environ,
            "settle_s": 0.0,
            "poll_s": 0.01,
            "yes": True,
        }
        values.update(overrides)
        return DeployOptions(**values)

    def verifier(self, platforms: list[str], expect: dict[str, str]) -> Verification:
        """Record the verification request; fail the platforms in ``failing_checks``."""
        self.verified.append((platforms, expect))
        failing = tuple(p for p in platforms if p in self.failing_checks)
        verdict = "FAILED" if failing else "PASSED"
        return Verification(True, not failing, 1 if failing else 0, verdict, failing, {"pass": 3})

    def deployed(self, platform: str) -> int:
        """How many deployments the fake command created on ``platform``."""
        path = self.state / f"{platform}.txt"
        return len(path.read_text().split()) if path.is_file() else 0


#: the example Worker, whose node_modules hold the pinned wrangler the sandbox deploy tests run
WORKER_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "example" / "worker"


@pytest.fixture
def wrangler() -> None:
    """Skip (or fail, under DEPLOYCHECK_REQUIRE_WRANGLER=1) when the pinned wrangler is not installed."""
    if find_wrangler(WORKER_DIR) is not None:
        return
    message = f"wrangler is not installed in {WORKER_DIR / 'node_modules'}: run `{install_command(WORKER_DIR)}`"
    if os.environ.get("DEPLOYCHECK_REQUIRE_WRANGLER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A temporary project with a fake deploy command per platform."""
    return Project(tmp_path)


@pytest.fixture(autouse=True)
def _reset_fingerprint_key() -> Iterator[None]:
    """An in-process `sync-env` sets the process-wide fingerprint key: put the default back after each test."""
    from deploycheck.redact import set_fingerprint_key

    yield
    set_fingerprint_key(None)
