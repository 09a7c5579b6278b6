"""A platform added by a separate package: found through the entry-point group, no library edit.

The package is ``tests/platforms/fakekv`` (an adapter, its ``SPEC`` and its own emulator),
made importable the way an installed distribution is: its module on ``sys.path`` beside
a ``*.dist-info`` folder whose ``entry_points.txt`` names it in ``deploycheck.platforms``.
Sync, drift and the shipped configuration checks then run against it in subprocesses,
exactly as a user's commands would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE / "fakekv"))
from fakekv import FakeKvServer  # noqa: E402


@pytest.fixture
def kv() -> Iterator[FakeKvServer]:
    """The fake platform's emulator, on a free loopback port."""
    server = FakeKvServer()
    server.thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def project(tmp_path: Path, kv: FakeKvServer) -> tuple[Path, dict[str, str]]:
    """A project whose one target is on the fake platform, and the environment its commands run with."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(HERE / "fakekv" / "fakekv.py", site / "fakekv.py")
    dist = site / "deploycheck_fakekv-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: deploycheck-fakekv\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[deploycheck.platforms]\nfake-kv = fakekv:SPEC\n")
    root = tmp_path / "app"
    (root / "checks").mkdir(parents=True)
    shutil.copy(REPO / "checks" / "test_config.py", root / "checks" / "test_config.py")
    (root / "deploycheck.yaml").write_text(
        textwrap.dedent(
            """
            project: kv-app
            default_env: staging
            sot: app.env
            environments:
              staging: {remote: true, values: prod}
            targets:
              STORE:
                platform: fake-kv
                required: [SERVICE_URL]
                environments:
                  staging: {namespace: app-staging}
            """
        )
    )
    (root / "app.env").write_text(
        "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n"
        "|---|---|---|---|---|\n"
        "| STORE | App | SERVICE_URL | http://localhost:9000 | https://api.kv-app.example |\n"
        "| STORE | App | LOG_LEVEL | debug | info |\n"
    )
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = checks\naddopts = -p no:cacheprovider\n")
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "FAKEKV_URL": kv.url,
        "DEPLOYCHECK_STATE_DIR": str(tmp_path / "state"),
        "DEPLOYCHECK_HTTP_TIMEOUT": "2",
    }
    return root, environ


def _run(root: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=root, env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def _deploycheck(root: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run(root, environ, sys.executable, "-m", "deploycheck", *args, "--config", str(root / "deploycheck.yaml"))


def test_sync_drift_and_verify_against_a_platform_from_another_package(project, kv) -> None:
    """The fake platform is synced, checked for drift and verified; an out-of-band change turns drift and the check red."""
    root, environ = project
    synced = _deploycheck(root, environ, "sync-env", "--mode=deploy-prod", "--env", "staging", "--yes")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert kv.values("app-staging") == {"SERVICE_URL": "https://api.kv-app.example", "LOG_LEVEL": "info"}
    assert ("PATCH", "/ns/app-staging") in kv.requests

    clean = _deploycheck(root, environ, "drift", "--env", "staging")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    verified = _run(root, environ, sys.executable, "-m", "pytest", "--env=staging", "--no-reports", "-v")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "test_config_matches_sot[staging-app-staging] PASSED" in verified.stdout
    assert "test_config_required_keys[staging-app-staging] PASSED" in verified.stdout

    kv.namespace("app-staging")["LOG_LEVEL"] = "trace"
    drifted = _deploycheck(root, environ, "drift", "--env", "staging", "--format", "json")
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    findings = [f for f in json.loads(drifted.stdout)["findings"] if f["state"] != "in_sync"]
    assert [(f["target"], f["key"], f["state"]) for f in findings] == [("STORE", "LOG_LEVEL", "value_differs")]

    failed = _run(root, environ, sys.executable, "-m", "pytest", "--env=staging", "--no-reports", "-q", "-rf")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "test_config_matches_sot[staging-app-staging]" in failed.stdout


def test_the_registry_lists_the_added_platform_and_its_alias(project) -> None:
    """`--platform kv` (the spec's alias) selects the added platform's target like a built-in one."""
    root, environ = project
    listed = _run(
        root,
        environ,
        sys.executable,
        "-c",
        "from deploycheck.platforms import canonical, platform_names; print(platform_names(), canonical('kv'))",
    )
    assert listed.returncode == 0, listed.stderr
    assert "'fake-kv'" in listed.stdout and listed.stdout.strip().endswith("fake-kv")


def test_a_value_over_the_added_platforms_limit_is_refused_before_any_write(project, kv) -> None:
    """The spec's value limit is enforced by the SoT rules: exit 2, file:line, nothing written."""
    root, environ = project
    table = root / "app.env"
    table.write_text(table.read_text() + "| STORE | App | BIG | x | " + "y" * 80 + " |\n")
    result = _deploycheck(root, environ, "sync-env", "--mode=deploy-prod", "--env", "staging", "--yes")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "app.env:5" in result.stdout + result.stderr and "Fake KV" in result.stdout + result.stderr
    assert kv.values("app-staging") == {}
    assert not [r for r in kv.requests if r[0] == "PATCH"]
