"""Least privilege: each deploy command sees only its own platform's credentials.

``deploycheck deploy --env sandbox`` runs each platform's real deploy command (the sandbox
uploads) through a small wrapper that records the environment it was started with, then
runs the command. Convex's command must not see ``CLOUDFLARE_API_TOKEN`` or ``GITHUB_TOKEN``,
the Worker's and Pages' commands must not see ``CONVEX_DEPLOY_KEY`` or ``GITHUB_TOKEN``, and
every command still gets PATH, HOME and the npm and proxy settings.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import CONFIG, REPO, Workspace

pytestmark = pytest.mark.sandbox

WRAPPER = """\
import json, os, subprocess, sys
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump(sorted(os.environ), handle)
sys.exit(subprocess.call(sys.argv[2:]))
"""
#: platform -> (sandbox deploy command as in deploycheck.yaml, variables it must not see, it must see)
COMMANDS: dict[str, tuple[str, set[str], set[str]]] = {
    "convex": (
        "npx --no-install convex deploy --typecheck=disable --yes",
        {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "GITHUB_TOKEN", "UNRELATED_SECRET"},
        {"CONVEX_SELF_HOSTED_URL", "CONVEX_SELF_HOSTED_ADMIN_KEY"},
    ),
    "cloudflare-worker": (
        "npx wrangler deploy --env production --keep-vars",
        {"CONVEX_SELF_HOSTED_ADMIN_KEY", "GITHUB_TOKEN", "UNRELATED_SECRET"},
        {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"},
    ),
    "cloudflare-pages": (
        "npx wrangler pages deploy ../web --project-name app-web --branch main",
        {"CONVEX_SELF_HOSTED_ADMIN_KEY", "GITHUB_TOKEN", "UNRELATED_SECRET"},
        {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"},
    ),
}
ALWAYS = {"PATH", "HOME", "npm_config_registry", "HTTPS_PROXY", "NO_PROXY"}


def tag(request: pytest.FixtureRequest, row: str) -> None:
    """Count this test in the "least privilege" table."""
    request.node.user_properties.append(("reliability-cell", f"least privilege|{row}|deploy"))


@pytest.fixture
def wrapped_config(tmp_path: Path, workspace: Workspace) -> tuple[Path, Path]:
    """deploycheck.yaml whose sandbox deploy commands record their environment; (config, env folder)."""
    wrapper = tmp_path / "record_env.py"
    wrapper.write_text(WRAPPER, "utf-8")
    seen = tmp_path / "seen"
    seen.mkdir()
    text = CONFIG.read_text("utf-8")
    for platform, (command, _, _) in COMMANDS.items():
        # the vendor's own command, run by a wrapper that records the environment it was given
        replaced = f"{sys.executable} {wrapper} {seen / platform}.json {command}"
        assert command in text
        text = text.replace(command, replaced)
    text = text.replace("deploy_cwd: fixtures/", f"deploy_cwd: {REPO}/fixtures/")
    config = tmp_path / "deploycheck.yaml"
    config.write_text(text, "utf-8")
    return config, seen


@pytest.mark.parametrize("platform", sorted(COMMANDS))
def test_deploy_command_sees_only_its_own_credentials(
    platform: str,
    request: pytest.FixtureRequest,
    wrapped_config: tuple[Path, Path],
    workspace: Workspace,
    run_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deploy command of one platform gets its own credentials and the non-secret environment,
    never another vendor's credential or an unrelated secret of the caller."""
    tag(request, platform)
    config, seen = wrapped_config
    monkeypatch.setenv("UNRELATED_SECRET", "not-for-any-deploy-command")
    monkeypatch.setenv("GITHUB_TOKEN", workspace.tokens[1])
    monkeypatch.setenv("npm_config_registry", "https://registry.npmjs.org/")
    monkeypatch.setenv("HTTPS_PROXY", "")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert (
        run_cli(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--config", str(config)]).code
        == 0
    )
    done = run_cli(
        [
            "deploy", "--env", "sandbox", "--yes", "--no-verify", "--platform", platform,
            "--config", str(config), "--report-dir", str(workspace.reports),
        ]
    )  # fmt: skip
    assert done.code == 0, done.text
    names = set(json.loads((seen / f"{platform}.json").read_text("utf-8")))
    _, forbidden, needed = COMMANDS[platform]
    assert names & forbidden == set()
    assert needed <= names
    assert names >= ALWAYS
