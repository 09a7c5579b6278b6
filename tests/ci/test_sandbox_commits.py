"""The sandbox tracks commits: a Pages deployment made from a git checkout records that checkout's commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ci.actions import REPO
from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.platforms import open_target
from deploycheck.sandbox.upload import upload_pages

pytestmark = pytest.mark.sandbox


def git(folder: Path, *args: str) -> str:
    """Run git in ``folder`` with a fixed identity; its stdout."""
    environ = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(folder), *args], env=environ, capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


@pytest.fixture
def site_repo(tmp_path: Path) -> Path:
    """A git repository with one commit holding a built site in site/."""
    repo = tmp_path / "repo"
    (repo / "site").mkdir(parents=True)
    (repo / "site" / "index.html").write_text('<html><body data-app="app.example.com">hi</body></html>')
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Build the site")
    return repo


def pages_adapter():
    """The Pages adapter of the sandbox environment (reads the vendor API)."""
    config = load_config(REPO / "deploycheck.yaml")
    return open_target(config, config.targets["NEXTJS"], "sandbox")


def test_upload_from_a_checkout_records_its_head(sandbox_env, site_repo, sandbox_admin):
    """Without --commit, the deployment carries git HEAD, its subject and commit_dirty, read back by the API."""
    made = upload_pages("app-web", site_repo / "site", os.environ)
    head = git(site_repo, "rev-parse", "HEAD")
    assert made["commit_hash"] == head
    active = pages_adapter().active_deployment()
    assert active.id == made["deployment_id"] and active.commit == head
    deployments = sandbox_admin.state()["cloudflare"]["pages"]["app-web"]["deployments"]
    assert deployments[-1]["commit_hash"] == head


def test_a_dirty_checkout_is_recorded_as_dirty(sandbox_env, site_repo, sandbox):
    """An uncommitted change makes the deployment's commit_dirty true, as wrangler reports it."""
    import requests

    (site_repo / "site" / "index.html").write_text("<html>changed</html>")
    made = upload_pages("app-web", site_repo / "site", os.environ)
    url = f"{sandbox.cloudflare_api_base_url}/accounts/{sandbox.cloudflare_account_id}/pages/projects/app-web/deployments/{made['deployment_id']}"
    body = requests.get(
        url, headers={"Authorization": f"Bearer {sandbox.cloudflare_api_token}"}, timeout=5
    ).json()
    metadata = body["result"]["deployment_trigger"]["metadata"]
    assert metadata["commit_hash"] == git(site_repo, "rev-parse", "HEAD")
    assert metadata["commit_dirty"] is True
    assert metadata["commit_message"] == "Build the site"


def test_upload_outside_a_checkout_records_no_commit(sandbox_env, tmp_path):
    """Outside a git work tree no commit is invented: the deployment has none."""
    site = tmp_path / "plain"
    site.mkdir()
    (site / "index.html").write_text("<html></html>")
    made = upload_pages("app-web", site, os.environ)
    assert made["commit_hash"] is None
    assert not pages_adapter().active_deployment().commit


def test_deploy_to_the_sandbox_then_expect_commit_head_holds(sandbox_env, tmp_path, head, capsys):
    """After `deploycheck deploy --env sandbox`, the active Pages deployment is the checkout's HEAD."""
    state = tmp_path / "state"
    assert (
        main(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--state-dir", str(state)]) == 0
    )
    code = main(["deploy", "--env", "sandbox", "--yes", "--state-dir", str(state),
                 "--report-dir", str(tmp_path / "reports")])  # fmt: skip
    output = capsys.readouterr().out
    assert code == 0, output
    assert pages_adapter().active_deployment().commit == head
    assert f"--expect-commit {head}" in output or head in output


def test_deploy_checkout_runs_the_sandbox_pages_deploy_command(sandbox_env, head):
    """The embedded sandbox's start-up deploy: the config's sandbox Pages upload, recording HEAD."""
    from deploycheck.verify import deploy_checkout

    [made] = deploy_checkout(load_config(REPO / "deploycheck.yaml"), "sandbox", os.environ)
    assert made["project"] == "app-web" and made["commit_hash"] == head
    assert pages_adapter().active_deployment().id == made["deployment_id"]


def test_deploy_checkout_skips_a_site_folder_that_is_not_there(sandbox_env, tmp_path, capsys):
    """A Pages deploy command naming a folder this checkout lacks: said on stderr, the seed stays active."""
    from deploycheck.verify import deploy_checkout

    before = pages_adapter().active_deployment().id
    text = (REPO / "deploycheck.yaml").read_text().replace("pages deploy ../web ", "pages deploy no/such/site ")
    config = tmp_path / "deploycheck.yaml"
    config.write_text(text)
    assert deploy_checkout(load_config(config), "sandbox", os.environ) == []
    assert (
        f"NEXTJS not deployed from this checkout: {tmp_path / 'fixtures/example/worker/no/such/site'} does not exist"
        in capsys.readouterr().err
    )
    assert pages_adapter().active_deployment().id == before
