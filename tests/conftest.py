"""Shared fixtures: one sandbox per test process (xdist worker), reset before each test using it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploycheck.sandbox import Sandbox, SandboxInfo
from deploycheck.sandbox.admin import AdminClient

pytest_plugins = ["pytester", "reliability.summary", "s3_server"]


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """The started Sandbox object of this test process (never reset by itself)."""
    server = Sandbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> SandboxInfo:
    """The sandbox's info, every emulator reset to its seed, no faults, an empty request log."""
    sandbox_server.reset()
    assert sandbox_server.info is not None
    return sandbox_server.info


@pytest.fixture
def sandbox_env(sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """os.environ pointing at the sandbox (vendor variables, APP_URL, WORKER_URL), 2 s read timeout."""
    environ = {**sandbox.environ(), "DEPLOYCHECK_HTTP_TIMEOUT": "2"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return environ


@pytest.fixture
def sandbox_admin(sandbox: SandboxInfo) -> AdminClient:
    """A client of the sandbox admin API: requests(), writes(), fault(**kw), clear_faults(), state(), reset()."""
    return AdminClient(sandbox.admin_url)

