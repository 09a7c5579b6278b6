"""Drift detection end to end: sync the sandbox, change it through the vendors' own APIs, detect it."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import requests
from nacl import encoding, public

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.drift import report_dict, run_drift
from deploycheck.redact import PIECE
from deploycheck.sandbox import SandboxInfo
from deploycheck.sot import load_sot

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploycheck.yaml"
REPOSITORY = "example/app"
GITHUB_ENV = "production"
EXPECTED = {
    ("CONVEX", "APP_ENV", "value_differs"),
    ("NEXTJS", "NEXT_PUBLIC_LOG_INGEST_URL", "value_differs"),
    ("GITHUB", "LEGACY_DEPLOY_FLAG", "unexpected"),
    ("CLOUDFLARE_WORKER", "UPSTASH_REDIS_REST_TOKEN", "missing"),
    ("GITHUB", "CLOUDFLARE_API_TOKEN", "changed_out_of_band"),
}


def _check(response: requests.Response) -> requests.Response:
    assert response.status_code < 300, f"{response.request.method} {response.url}: {response.status_code}"
    return response


class Vendors:
    """The vendors' HTTP APIs of the sandbox, called as a person with a dashboard or CLI would."""

    def __init__(self, info: SandboxInfo) -> None:
        self.info = info
        self.cf = requests.Session()
        self.cf.headers["Authorization"] = f"Bearer {info.cloudflare_api_token}"
        self.gh = requests.Session()
        self.gh.headers.update(
            {"Authorization": f"Bearer {info.github_token}", "Accept": "application/vnd.github+json"}
        )
        self.account = f"{info.cloudflare_api_base_url}/accounts/{info.cloudflare_account_id}"
        self.gh_env = f"{info.github_api_url}/repos/{REPOSITORY}/environments/{GITHUB_ENV}"

    def convex_set(self, name: str, value: str) -> None:
        """``npx convex env set NAME VALUE``."""
        _check(
            requests.post(
                f"{self.info.convex_url}/api/v1/update_environment_variables",
                json={"changes": [{"name": name, "value": value}]},
                headers={"Authorization": f"Convex {self.info.convex_deploy_key}"},
                timeout=5,
            )
        )

    def pages_set_plain(self, project: str, name: str, value: str) -> None:
        """Edit one production variable of a Pages project in the dashboard."""
        body = {
            "deployment_configs": {"production": {"env_vars": {name: {"type": "plain_text", "value": value}}}}
        }
        _check(self.cf.patch(f"{self.account}/pages/projects/{project}", json=body, timeout=5))

    def worker_delete_secret(self, script: str, name: str) -> None:
        """``npx wrangler secret delete NAME``."""
        url = f"{self.account}/workers/scripts/{script}/secrets/{name}"
        _check(self.cf.delete(url, params={"url_encoded": "true"}, timeout=5))

    def github_add_variable(self, name: str, value: str) -> None:
        """``gh variable set NAME --env production``."""
        _check(self.gh.post(f"{self.gh_env}/variables", json={"name": name, "value": value}, timeout=5))

    def github_put_secret(self, name: str, value: str) -> None:
        """``gh secret set NAME --env production``: a PyNaCl sealed box under the environment's key."""
        key = _check(self.gh.get(f"{self.gh_env}/secrets/public-key", timeout=5)).json()
        box = public.SealedBox(public.PublicKey(key["key"].encode(), encoding.Base64Encoder()))
        sealed = base64.b64encode(box.encrypt(value.encode())).decode()
        body = {"encrypted_value": sealed, "key_id": key["key_id"]}
        _check(self.gh.put(f"{self.gh_env}/secrets/{name}", json=body, timeout=5))


def _drift(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["drift", "--env", "sandbox", "--config", str(CONFIG), *extra])
    return code, capsys.readouterr().out


def _secret_values() -> list[str]:
    config = load_config(CONFIG)
    return load_sot(config.sot_path("sandbox"), config).secret_values()


def _leaks(text: str, values: list[str]) -> list[str]:
    return [v[:3] + "…" for v in values for i in range(len(v) - PIECE + 1) if v[i : i + PIECE] in text]


@pytest.mark.sandbox
def test_no_drift_right_after_a_sync(synced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Right after a deploy-prod sync every key is in sync and drift exits 0."""
    code, out = _drift(capsys, "--format", "json")
    data = json.loads(out)
    assert data["findings"] == [], data["findings"]
    assert data["errors"] == []
    assert code == 0
    assert data["summary"]["compared"] == data["summary"]["in_sync"] > 0


@pytest.mark.sandbox
def test_out_of_band_changes_are_each_reported_once(
    synced: Path,
    sandbox: SandboxInfo,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five changes made through the vendor APIs give exactly five findings in the right states,
    exit code 1, and no secret value (nor any 8-character piece of one) in any output."""
    new_secret = "gh-" + secrets.token_urlsafe(24)
    vendors = Vendors(sandbox)
    vendors.convex_set("APP_ENV", "staging")
    vendors.pages_set_plain("app-web", "NEXT_PUBLIC_LOG_INGEST_URL", "https://logs.other.example.dev")
    vendors.github_add_variable("LEGACY_DEPLOY_FLAG", "1")
    vendors.worker_delete_secret("log-ingestion", "UPSTASH_REDIS_REST_TOKEN")
    vendors.github_put_secret("CLOUDFLARE_API_TOKEN", new_secret)

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out = _drift(capsys, "--format", "json")
    data = json.loads(out)
    found = {(f["target"], f["key"], f["state"]) for f in data["findings"]}
    assert found == EXPECTED
    assert len(data["findings"]) == 5
    assert data["errors"] == []
    assert code == 1
    by_key = {f["key"]: f for f in data["findings"]}
    assert by_key["UPSTASH_REDIS_REST_TOKEN"]["command"] == (
        "deploycheck sync-env --mode=deploy-prod --env sandbox --only UPSTASH_REDIS_REST_TOKEN "
        "--target CLOUDFLARE_WORKER --yes"
    )
    assert "add it to the SoT" in by_key["LEGACY_DEPLOY_FLAG"]["action"]
    # the Worker's version moved (the secret deletion): its secrets are untrusted, the target noted
    assert [n["target"] for n in data["notes"]] == ["CLOUDFLARE_WORKER"]
    assert "reported changed out of band" in data["notes"][0]["message"]
    worker = next(t for t in data["targets"] if t["target"] == "CLOUDFLARE_WORKER")
    assert worker["requests"] == 5

    text_code, text = _drift(capsys)
    md_code, markdown = _drift(capsys, "--format", "markdown")
    assert text_code == md_code == 1
    assert "CHANGED OUT OF BAND" in text
    assert "| FAIL | GITHUB |" in markdown
    assert summary.read_text().count("Configuration drift: `sandbox`") == 3  # appended once per run

    # the report itself, before any redaction, holds plain values and fingerprints only
    direct = report_dict(run_drift(load_config(CONFIG), "sandbox"))
    direct_by_key = {f["key"]: f for f in direct["findings"]}
    assert (direct_by_key["APP_ENV"]["expected"], direct_by_key["APP_ENV"]["actual"]) == (
        "production",
        "staging",
    )
    assert direct_by_key["CLOUDFLARE_API_TOKEN"]["expected"].startswith("sha256:")
    unredacted = json.dumps(direct)
    values = [*_secret_values(), new_secret]
    for output in (out, text, markdown, summary.read_text(), unredacted):
        assert _leaks(output, values) == []


@pytest.mark.sandbox
def test_unreadable_platform_exits_three_and_reports_the_rest(
    synced: Path, sandbox_admin: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A platform answering 500 is named with its reason (exit 3); the other targets are still compared."""
    sandbox_admin.fault(service="github", status=500, path="secrets")
    code, out = _drift(capsys, "--format", "json")
    data = json.loads(out)
    assert code == 3
    assert [e["target"] for e in data["errors"]] == ["GITHUB"]
    assert "HTTP 500" in data["errors"][0]["message"]
    assert {t["target"] for t in data["targets"]} == {"NEXTJS", "CONVEX", "CLOUDFLARE_WORKER"}


@pytest.mark.sandbox
def test_baseline_acknowledges_and_expires(
    synced: Path, sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An acknowledged finding does not fail; the same entry expired fails again and says so."""
    Vendors(sandbox).convex_set("APP_ENV", "staging")
    baseline = tmp_path / "baseline.yaml"
    entry = "  - {key: APP_ENV, target: CONVEX, reason: load test, owner: qa, expires: %s}\n"
    baseline.write_text("acknowledged:\n" + entry % "2999-01-01")
    code, out = _drift(capsys, "--format", "json", "--baseline", str(baseline))
    finding = json.loads(out)["findings"][0]
    assert code == 0
    assert finding["acknowledged"]["owner"] == "qa" and not finding["fails"]

    baseline.write_text("acknowledged:\n" + entry % "2001-01-01")
    code, out = _drift(capsys, "--baseline", str(baseline))
    assert code == 1
    assert "FAIL (acknowledgement expired)" in out
    assert "expired 2001-01-01" in out


@pytest.mark.sandbox
def test_malformed_baseline_exits_two_before_reading(
    synced: Path, sandbox_admin: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed baseline is a BaselineError with file:line, exit 2, and no platform is read."""
    sandbox_admin.clear_requests()
    bad = REPO / "fixtures" / "baselines" / "malformed-fields.yaml"
    code = main(["drift", "--env", "sandbox", "--config", str(CONFIG), "--baseline", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"BaselineError: invalid drift baseline in {bad}" in err
    assert f"{bad}:5: acknowledged[0].expires" in err
    assert sandbox_admin.requests() == []


@pytest.mark.sandbox
def test_secrets_without_ledger_are_unverifiable_warnings(
    synced: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the sync ledger, present write-only secrets are unverifiable: reported with how to fix, exit 0."""
    for ledger in synced.glob("*.ledger.json"):
        ledger.unlink()
    code, out = _drift(capsys, "--format", "json")
    data = json.loads(out)
    states = {(f["target"], f["key"]): f["state"] for f in data["findings"]}
    assert states == {
        ("NEXTJS", "CLERK_SECRET_KEY"): "unverifiable",
        ("CLOUDFLARE_WORKER", "UPSTASH_REDIS_REST_TOKEN"): "unverifiable",
        ("GITHUB", "CLOUDFLARE_API_TOKEN"): "unverifiable",
        ("GITHUB", "CONVEX_DEPLOY_KEY"): "unverifiable",
        ("GITHUB", "SLACK_WEBHOOK_URL"): "unverifiable",
    }
    assert all("run a sync once" in f["action"] for f in data["findings"])
    assert code == 0
