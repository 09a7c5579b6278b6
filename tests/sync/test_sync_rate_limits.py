"""A sync of 200 GitHub secrets keeps to GitHub's secondary rate limit and finishes.

The sandbox emulates the limit (admin ``POST /rate-limits``) at a small scale: 80
content-creating requests per 4 s window instead of per minute, so each test is bounded
to a few windows. The table holds 100 secrets for the ``production`` environment and 100
for the repository (two GitHub targets). Without pacing, the sandbox answers the 81st
write with 403 "You have exceeded a secondary rate limit" and a wait; the client honours
it and retries. With ``DEPLOYCHECK_HTTP_PACE`` at the emulated rate, the client spaces
its writes and is never refused. Either way the sync completes and the progress line
shows the wait.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.sync.conftest import REPO

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

WINDOW_S = 4
LIMIT = 80
PER_TARGET = 100
HEADER = "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n"


def _project(root: Path) -> Path:
    """deploycheck.yaml with two GitHub targets (environment and repository) and a 200-secret table."""
    data: dict[str, Any] = yaml.safe_load((REPO / "deploycheck.yaml").read_text(encoding="utf-8"))
    github = data["targets"]["GITHUB"]
    repository = {
        "platform": "github-actions",
        "description": "repository-level Actions secrets",
        "environments": {"sandbox": {"repository": "example/app"}},
    }
    data["targets"] = {"GITHUB": github, "GITHUB_REPO": repository}
    data["checks"] = {}
    sot = root / "app.env"
    rows = [HEADER]
    for target in ("GITHUB", "GITHUB_REPO"):
        for n in range(PER_TARGET):
            rows.append(
                f"| {target} | Bulk | BULK_{n:03d}_API_TOKEN | dev-{n} | prod-{target}-{n:03d}-{'s' * 16} |\n"
            )
    sot.write_text("".join(rows), encoding="utf-8")
    data["sot"] = str(sot)
    data["environments"]["sandbox"]["sot"] = str(sot)
    path = root / "deploycheck.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _sync(config: Path, state: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable, "-m", "deploycheck", "sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes",
        "--config", str(config), "--state-dir", str(state),
    ]  # fmt: skip
    env = {**os.environ, **environ}
    for name in ("DEPLOYCHECK_SOT", "DEPLOYCHECK_STATE_DIR", "DEPLOYCHECK_HTTP_PACE"):
        env.pop(name, None)
    env.update(environ)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


def _secret_names(state: dict[str, Any]) -> int:
    text = yaml.safe_dump(state)
    return sum(text.count(f"BULK_{n:03d}_API_TOKEN") for n in range(PER_TARGET))


@pytest.fixture
def limited(sandbox_admin, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The sandbox with GitHub's secondary limit on at 80 writes per 4 s, and the 200-secret project."""
    sandbox_admin.rate_limit(service="github", limit=LIMIT, window_s=WINDOW_S)
    return _project(tmp_path)


def test_sync_honours_secondary_limit_answers_and_finishes(
    limited, sandbox_env, sandbox_admin, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Unpaced, the writes past 80 are refused with a wait; each is retried after it and all 200 land."""
    done = _sync(limited, tmp_path / "state", {**sandbox_env, "DEPLOYCHECK_HTTP_PACE": "off"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    refused = [e for e in sandbox_admin.requests("github") if e["status"] == 403]
    assert refused, "the emulated limit never refused a write: the test proves nothing"
    assert sandbox_admin.rate_limits()[0]["refused"] == len(refused)
    puts = [e for e in sandbox_admin.writes("github") if e["method"] == "PUT" and e["status"] in (201, 204)]
    assert len(puts) == 2 * PER_TARGET
    assert "Still waiting for github-actions" in done.stderr
    assert "next try in" in done.stderr
    assert _secret_names(sandbox_admin.state()["github"]) >= 2 * PER_TARGET


def test_paced_sync_is_never_refused(limited, sandbox_env, sandbox_admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Paced at the emulated rate, no write is refused, the wait shows as pacing, and all 200 land."""
    done = _sync(limited, tmp_path / "state", {**sandbox_env, "DEPLOYCHECK_HTTP_PACE": f"{LIMIT}/{WINDOW_S}"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert [e for e in sandbox_admin.requests("github") if e["status"] == 403] == []
    puts = [e for e in sandbox_admin.writes("github") if e["method"] == "PUT"]
    assert len(puts) == 2 * PER_TARGET
    assert f"paced to {LIMIT} requests per {WINDOW_S} s (DEPLOYCHECK_HTTP_PACE)" in done.stderr
    assert _secret_names(sandbox_admin.state()["github"]) >= 2 * PER_TARGET
