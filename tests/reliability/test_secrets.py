"""Secrets: file modes, no production value on local disk, credentials only to their own vendor.

Canary values stand in for every secret of the table; sandbox tokens are random per run.
Nothing here compares a raw secret in an assertion message: leaks are reported by fingerprint.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import requests

from deploycheck.config import load_config
from deploycheck.errors import ConfigError
from deploycheck.platforms import open_target
from deploycheck.redact import fingerprint
from deploycheck.sot import load_sot
from deploycheck.sync import Syncer

from .conftest import CONFIG, TARGETS, leaks

pytestmark = pytest.mark.sandbox


def tag(request: pytest.FixtureRequest, row: str) -> None:
    """Count this test in the "secrets" table."""
    request.node.user_properties.append(("reliability-cell", f"secrets|{row}|result"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of deploycheck.yaml in a temporary folder, so local files land there."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(CONFIG, root / "deploycheck.yaml")
    return root / "deploycheck.yaml"


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_local_files_are_0600_and_hold_no_production_value(project, workspace, run_cli, request) -> None:  # type: ignore[no-untyped-def]
    """--mode=local writes each .env.local 0600 with DEV values only: no PROD value of any key."""
    tag(request, ".env.local 0600, DEV values only")
    run = run_cli(["sync-env", "--mode=local", "--config", str(project)])
    assert run.code == 0, run.text
    files = [p for p in project.parent.rglob("*") if p.is_file() and p != project]
    local = [p for p in files if p.name in (".env.local", ".dev.vars")]
    assert len(local) == 3
    assert all(mode(p) == 0o600 for p in local)
    sot = load_sot(workspace.sot, load_config(project))
    prod_only = [e.prod for e in sot.entries if e.prod and e.prod != e.dev and e.prod not in (e.dev or "")]
    # the generated header names the table's path, and a tmp path such as pytest-1203 holds
    # "120" (a PROD value): scan the assignments, where a value could be
    text = "".join(
        line for p in files for line in p.read_text().splitlines(keepends=True) if not line.startswith("#")
    )
    assert [fingerprint(v) for v in prod_only if v in text] == []
    assert leaks(run.text, workspace.secrets()) == []


def test_deploy_writes_no_local_file_and_state_files_are_private(
    project, workspace, run_cli, request
) -> None:  # type: ignore[no-untyped-def]
    """deploy-prod writes nothing beside the config; ledger, key, audit and lock are 0600 in a 0700 dir."""
    tag(request, "ledger key 0600, no local file on deploy")
    run = run_cli(["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--config", str(project)])
    assert run.code == 0, run.text
    assert sorted(p.name for p in project.parent.iterdir()) == ["deploycheck.yaml"]
    assert mode(workspace.state) == 0o700
    names = sorted(p.name for p in workspace.state.iterdir())
    assert names == [f"app.example.com.{s}" for s in ("audit.jsonl", "ledger.json", "ledger.key", "lock")]
    assert all(mode(p) == 0o600 for p in workspace.state.iterdir())
    for path in workspace.state.iterdir():
        assert leaks(path.read_bytes().decode("utf-8", "replace"), workspace.secrets()) == [], path.name


@pytest.mark.parametrize("service", ["cloudflare", "github", "convex"])
def test_echoed_credentials_are_masked(service, workspace, admin, run_cli, sandbox, request) -> None:  # type: ignore[no-untyped-def]
    """A platform error that echoes every vendor's token and a table secret shows none of them."""
    tag(request, "vendor error echoing tokens masked")
    echoed = " ".join([*workspace.tokens, *workspace.canaries.values()])
    body = {"message": f"bad credentials: {echoed}"}
    if service == "cloudflare":
        body = {"success": False, "errors": [{"code": 10000, **body}], "messages": [], "result": None}
    admin.fault(service=service, status=401, body=json.dumps(body))
    run = run_cli(
        ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--dry-run", "--config", str(CONFIG)]
    )
    assert run.code == 1, run.text
    assert "bad credentials" in run.text
    assert leaks(run.text, workspace.secrets()) == []


def test_internal_error_traceback_is_redacted(workspace, run_cli, monkeypatch, request) -> None:  # type: ignore[no-untyped-def]
    """An unexpected exception carrying a secret prints a traceback with the secret masked."""
    tag(request, "internal-error traceback redacted")
    secret = next(iter(workspace.canaries.values()))

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"unexpected state near {secret}")

    monkeypatch.setattr(Syncer, "plan", boom)
    run = run_cli(
        ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--dry-run", "--config", str(CONFIG)]
    )
    assert run.code == 1
    assert "Traceback" in run.err and "RuntimeError" in run.err
    assert leaks(run.text, workspace.secrets()) == []


def test_tokens_go_only_to_their_own_vendor(workspace, admin, run_cli, sandbox, monkeypatch, request) -> None:  # type: ignore[no-untyped-def]
    """During a full sync every request carries only its own vendor's credential, to its own base URL."""
    tag(request, "tokens only to their own base URL")
    env = sandbox.environ()
    vendors = {
        "cloudflare": (env["CLOUDFLARE_API_BASE_URL"], sandbox.cloudflare_api_token),
        "github": (env["GITHUB_API_URL"], sandbox.github_token),
        "convex": (env["CONVEX_URL"], sandbox.convex_deploy_key.split("|", 1)[1]),
    }
    sent: list[requests.PreparedRequest] = []
    original = requests.Session.send

    def recording_send(session: requests.Session, prepared: requests.PreparedRequest, **kwargs: Any) -> Any:
        sent.append(prepared)
        return original(session, prepared, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(requests.Session, "send", recording_send)
        run = run_cli(
            ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", "--config", str(CONFIG)]
        )
    calls = [c for c in sent if not str(c.url).startswith(sandbox.admin_url)]
    assert run.code == 0, run.text
    assert len(calls) > 10
    seen = set()
    for call in calls:
        headers = " ".join(f"{k}: {v}" for k, v in call.headers.items())
        owner = [name for name, (base, _) in vendors.items() if str(call.url).startswith(base + "/")]
        assert len(owner) == 1, call.url
        for name, (_, token) in vendors.items():
            if name == owner[0]:
                assert token in headers, f"{call.method} {call.url} lacks its credential"
                seen.add(name)
            else:
                assert token not in headers and token.encode() not in _body(call), (
                    f"{name} token sent to {call.url}"
                )
    assert seen == set(vendors)


@pytest.mark.parametrize("variable", ["CLOUDFLARE_API_BASE_URL", "GITHUB_API_URL", "CONVEX_SELF_HOSTED_URL"])
def test_plain_http_base_url_is_refused_unless_loopback_or_allowed(
    variable, workspace, admin, run_cli, monkeypatch, request
) -> None:  # type: ignore[no-untyped-def]
    """A non-https, non-loopback base URL is a ConfigError (exit 2, no request) unless DEPLOYCHECK_ALLOW_INSECURE=1."""
    tag(request, "http base URL refused unless loopback/allowed")
    monkeypatch.setenv(variable, "http://api.example.test/client/v4")
    run = run_cli(
        ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--dry-run", "--config", str(CONFIG)]
    )
    assert run.code == 2, run.text
    assert variable in run.err and "not https" in run.err
    assert admin.requests() == [] and workspace.files() == {}
    config = load_config(CONFIG)
    environ = dict(__import__("os").environ)
    targets = [config.targets[t] for t in TARGETS]
    mine = [t for t in targets if variable.split("_")[0].lower() in t.platform]
    for target in mine:
        with pytest.raises(ConfigError):
            open_target(config, target, "sandbox", environ)
        adapter = open_target(config, target, "sandbox", {**environ, "DEPLOYCHECK_ALLOW_INSECURE": "1"})
        assert adapter is not None
        loopback = open_target(
            config, target, "sandbox", {**environ, variable: "http://localhost:9/client/v4"}
        )
        assert loopback is not None


def _body(request: requests.PreparedRequest) -> bytes:
    body = request.body or b""
    return body.encode() if isinstance(body, str) else bytes(body)
