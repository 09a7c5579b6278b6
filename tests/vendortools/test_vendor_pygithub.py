"""PyGithub (default, non-lazy) against the sandbox's GitHub API, as an ordinary script uses it.

``Github(lazy=False).get_repo()`` fetches the repository object first and builds every
further URL from it; secrets are sealed by PyGithub itself (PyNaCl) and opened by the
sandbox with the scope's private key.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from deploycheck.cli import main
from deploycheck.redact import fingerprint, register_secret
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploycheck.yaml"


@pytest.fixture
def repo(sandbox: SandboxInfo, pygithub: Any) -> Any:
    """The sandbox repository as PyGithub's default client returns it."""
    client = pygithub.Github(
        auth=pygithub.Auth.Token(sandbox.github_token),
        base_url=sandbox.github_api_url,
        lazy=False,
        retry=None,
    )
    yield client.get_repo(sandbox.github_repository)
    client.close()


def test_repository_environments_secrets_and_variables(
    repo: Any, sandbox: SandboxInfo, sandbox_admin: AdminClient
) -> None:
    """The repository and environment objects, then secrets and variables at both levels."""
    assert repo.full_name == sandbox.github_repository and repo.default_branch == "main"
    assert [e.name for e in repo.get_environments()] == ["production"]
    production = repo.get_environment("production")
    assert production.name == "production" and production.protection_rules == []
    value = "pg-" + secrets.token_urlsafe(20)
    register_secret(value)
    repo.create_secret("PYGITHUB_SECRET", value)
    production.create_secret("PYGITHUB_ENV_SECRET", value)
    assert "PYGITHUB_SECRET" in [s.name for s in repo.get_secrets()]
    assert [s.name for s in production.get_secrets()] == ["PYGITHUB_ENV_SECRET"]
    stored = sandbox_admin.state()["github"]["repositories"][sandbox.github_repository]
    assert fingerprint(stored["secrets"]["PYGITHUB_SECRET"]["value"]) == fingerprint(value)
    assert fingerprint(stored["environments"]["production"]["secrets"]["PYGITHUB_ENV_SECRET"]["value"]) == (
        fingerprint(value)
    )
    repo.create_variable("PYGITHUB_VAR", "one")
    production.create_variable("PYGITHUB_ENV_VAR", "two")
    variable = production.get_variable("PYGITHUB_ENV_VAR")
    assert variable.value == "two"
    variable.edit("three")
    assert production.get_variable("PYGITHUB_ENV_VAR").value == "three"
    assert ("PYGITHUB_VAR", "one") in [(v.name, v.value) for v in repo.get_variables()]
    assert production.delete_secret("PYGITHUB_ENV_SECRET") and repo.delete_variable("PYGITHUB_VAR")
    assert production.get_secrets().totalCount == 0
    assert "PYGITHUB_VAR" not in [v.name for v in repo.get_variables()]


def test_out_of_band_changes_made_with_pygithub_are_reported_by_drift(
    repo: Any, synced: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret re-sealed, a variable edited and one added through PyGithub: drift reports all three."""
    production = repo.get_environment("production")
    new_value = "pg-" + secrets.token_urlsafe(24)
    register_secret(new_value)
    production.create_secret("CONVEX_DEPLOY_KEY", new_value)
    production.get_variable("CLOUDFLARE_ACCOUNT_ID").edit("0" * 32)
    production.create_variable("LEGACY_FLAG", "1")
    capsys.readouterr()
    code = main(["drift", "--env", "sandbox", "--config", str(CONFIG), "--format", "json"])
    output = capsys.readouterr().out
    data = json.loads(output)
    found = {(f["target"], f["key"], f["state"]) for f in data["findings"]}
    assert found == {
        ("GITHUB", "CONVEX_DEPLOY_KEY", "changed_out_of_band"),
        ("GITHUB", "CLOUDFLARE_ACCOUNT_ID", "value_differs"),
        ("GITHUB", "LEGACY_FLAG", "unexpected"),
    }
    assert code == 1
    assert new_value not in output
