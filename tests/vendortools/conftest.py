"""Fixtures of the vendor-client tests: wrangler, the official ``cloudflare`` SDK and PyGithub
driving the sandbox exactly as a user's scripts drive the real platforms.

wrangler is the one pinned by fixtures/example/worker (``npm ci`` there installs it), or
the one ``DEPLOYCHECK_WRANGLER`` names (the tox env runs the current release under Node 22
that way). A missing tool skips its tests with the install command, unless
``DEPLOYCHECK_REQUIRE_VENDOR_TOOLS=1`` (the ``vendortools`` tox env sets it), which turns a
missing tool into a failure.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploycheck.cli import main
from deploycheck.sandbox import SandboxInfo
from deploycheck.workerd import find_wrangler, install_command

REPO = Path(__file__).resolve().parents[2]
WORKER_DIR = REPO / "fixtures" / "example" / "worker"
WEB_DIR = REPO / "fixtures" / "example" / "web"
CONFIG = REPO / "deploycheck.yaml"
WranglerRun = Callable[..., subprocess.CompletedProcess[str]]


def _missing(what: str, install: str) -> None:
    message = f"{what} is not installed: run `{install}`"
    if os.environ.get("DEPLOYCHECK_REQUIRE_VENDOR_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _vendor_module(name: str, install: str) -> Any:
    """Import a vendor SDK, or skip/fail with the install command."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"the Python package {name!r}", install)
        raise


@pytest.fixture
def cloudflare_sdk() -> Any:
    """The official ``cloudflare`` package."""
    return _vendor_module("cloudflare", "pip install cloudflare==5.9.0")


@pytest.fixture
def pygithub() -> Any:
    """The ``github`` package of PyGithub."""
    return _vendor_module("github", "pip install PyGithub==2.10.0")


@pytest.fixture
def wrangler_bin() -> str:
    """The wrangler executable: DEPLOYCHECK_WRANGLER, else the pinned one of the example Worker."""
    chosen = os.environ.get("DEPLOYCHECK_WRANGLER")
    if chosen:
        if shutil.which(chosen) is None and not Path(chosen).is_file():
            pytest.fail(f"DEPLOYCHECK_WRANGLER={chosen} is not an executable")
        return chosen
    found = find_wrangler(WORKER_DIR)
    if found is None:
        _missing(f"wrangler (in {WORKER_DIR / 'node_modules'})", install_command(WORKER_DIR))
        raise AssertionError  # unreachable: _missing skips or fails
    return str(found)


@pytest.fixture
def worker_copy(tmp_path: Path) -> Path:
    """A copy of the example Worker (node_modules linked, never copied or written)."""
    copy = tmp_path / "worker"
    shutil.copytree(
        WORKER_DIR, copy, ignore=shutil.ignore_patterns("node_modules", ".wrangler", ".dev.vars*", ".env*")
    )
    if (WORKER_DIR / "node_modules").is_dir():
        (copy / "node_modules").symlink_to(WORKER_DIR / "node_modules", target_is_directory=True)
    return copy


@pytest.fixture
def wrangler_env(sandbox: SandboxInfo, tmp_path: Path) -> dict[str, str]:
    """The environment of a wrangler run against the sandbox: no login, no metrics, temporary HOME."""
    home = tmp_path / "home"
    home.mkdir()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "CF_", "WRANGLER_"))}
    return {
        **inherited,
        **sandbox.environ(),
        "CLOUDFLARE_CF_FETCH_ENABLED": "false",
        "WRANGLER_HIDE_BANNER": "true",
        "WRANGLER_CACHE_DIR": str(tmp_path / "wrangler-cache"),
        "HOME": str(home),
        "CI": "1",
        "NO_COLOR": "1",
    }


@pytest.fixture
def wrangler(wrangler_bin: str, worker_copy: Path, wrangler_env: dict[str, str]) -> WranglerRun:
    """Run ``wrangler ARGS`` in the Worker copy against the sandbox; ``stdin`` feeds secret values."""

    def run(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [wrangler_bin, *args],
            cwd=cwd or worker_copy,
            env=wrangler_env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    return run


@pytest.fixture
def synced(sandbox_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sandbox after `deploycheck sync-env --mode=deploy-prod`, its ledger in a temporary state dir."""
    state = tmp_path / "state"
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(state))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("DEPLOYCHECK_SOT", raising=False)
    argv = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--state-dir", str(state)]
    assert main([*argv, "--config", str(CONFIG)]) == 0
    return state
