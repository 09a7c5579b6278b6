"""Code rollbacks against the sandbox: the previous release's code with today's configuration.

Each scenario is what an incident looks like: a sync from the table, a new code release,
a secret rotation (a table change and a sync), then ``deploycheck rollback``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import requests

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.platforms import open_target
from deploycheck.sandbox.upload import upload_pages, upload_worker

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploycheck.yaml"
TABLE = ROOT / "fixtures" / "example" / "app.env"
WORKER_DIR = ROOT / "fixtures" / "example" / "worker"
WEB_DIR = ROOT / "fixtures" / "example" / "web"
ROTATED = "AXp4rotatedRotatedRotated0123456789abcdefghijklmnopqrstuvWX="


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example table as the SoT, and a temporary state dir for the ledger and audit."""
    copy = tmp_path / "app.env"
    shutil.copy(TABLE, copy)
    monkeypatch.setenv("DEPLOYCHECK_SOT", str(copy))
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(tmp_path / "state"))
    return copy


def cli(*args: str) -> int:
    """Run deploycheck with the repository's config."""
    return main([*args, "--config", str(CONFIG)])


def sync(*extra: str) -> None:
    """``sync-env --mode=deploy-prod`` of the sandbox from the table."""
    assert cli("sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", *extra) == 0


def set_prod(table: Path, key: str, value: str) -> None:
    """Change the PROD_VALUE of ``key`` in the table."""
    lines = []
    for line in table.read_text().splitlines():
        cells = line.split("|")
        if len(cells) > 5 and cells[3].strip() == key:
            cells[5] = f" {value} "
        lines.append("|".join(cells))
    table.write_text("\n".join(lines) + "\n")


def worker():  # type: ignore[no-untyped-def]
    """The sandbox adapter of the Worker target."""
    config = load_config(CONFIG)
    return open_target(config, config.targets["CLOUDFLARE_WORKER"], "sandbox")


def release(tmp_path: Path, environ: dict[str, str]) -> dict[str, str]:
    """Upload new Worker code (a state migration to version 3) the way ``wrangler deploy`` does."""
    source = tmp_path / "worker"
    shutil.copytree(WORKER_DIR / "src", source / "src")
    shutil.copy(WORKER_DIR / "wrangler.toml", source / "wrangler.toml")
    code = (
        (source / "src" / "index.js")
        .read_text()
        .replace("EXPECTED_STATE_VERSION = 2", "EXPECTED_STATE_VERSION = 3")
    )
    (source / "src" / "index.js").write_text(code + "\n// release with a state migration\n")
    return upload_worker("log-ingestion", source, environ)


def served(sandbox_admin) -> dict:  # type: ignore[no-untyped-def]
    """What the sandbox's Worker serves now: active version, vars, secrets, state."""
    return sandbox_admin.state()["cloudflare"]["workers"]["log-ingestion"]


def etag_of(sandbox_admin, version_id: str) -> str:  # type: ignore[no-untyped-def]
    """The script etag of a version, as the API reports it."""
    return worker().get_version(version_id).extra["etag"]


def incident(tmp_path, table, sandbox_env) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Sync, a release, a rotation; return (etag of the code before the release, the release's etag)."""
    sync()
    before = worker().get_version(worker().active_version()).extra["etag"]
    made = release(tmp_path, sandbox_env)
    set_prod(table, "UPSTASH_REDIS_REST_TOKEN", ROTATED)
    set_prod(table, "LOG_LEVEL", "warn")
    sync("--target", "CLOUDFLARE_WORKER")
    return before, made["etag"]


def test_worker_code_rollback_keeps_the_rotated_secret(
    tmp_path, table, sandbox_env, sandbox_admin, capsys
) -> None:  # type: ignore[no-untyped-def]
    """After a sync, a release and a rotation, the rollback serves the previous code with today's
    secret and vars, the checks (drift against the SoT included) pass, and the report says both."""
    previous, released = incident(tmp_path, table, sandbox_env)
    capsys.readouterr()
    assert cli("rollback", "cloudflare-worker", "--env", "sandbox", "--yes", "--reason", "bad release") == 0
    out = capsys.readouterr().out
    now = served(sandbox_admin)
    assert etag_of(sandbox_admin, now["active_version_id"]) == previous != released
    assert now["secrets"]["UPSTASH_REDIS_REST_TOKEN"] == ROTATED
    assert now["vars"]["LOG_LEVEL"] == "warn"
    health = requests.get(sandbox_env["WORKER_URL"] + "/health", timeout=5).json()
    assert health["version"] == now["active_version_id"]
    assert f"code: {released[:12]} -> {previous[:12]}" in out
    assert "configuration: kept, key by key:" in out
    assert "UPSTASH_REDIS_REST_TOKEN (secret): kept" in out and "LOG_LEVEL (var): kept" in out
    assert "against the source of truth: in sync" in out and "checks: passed" in out
    assert "data: NOT reverted" in out and "stored state version 3" in out
    assert "10220" not in out


def test_worker_code_rollback_sends_no_secret(tmp_path, table, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """The new version is built from the old version's modules and today's bindings by reference:
    two writes (the version upload and its deployment), no secret write, no forced deployment."""
    incident(tmp_path, table, sandbox_env)
    sandbox_admin.clear_requests()
    assert cli("rollback", "worker", "--env", "sandbox", "--yes", "--reason", "r", "--no-verify") == 0
    writes = sandbox_admin.writes("cloudflare")
    assert [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in writes] == [
        ("POST", "versions"),
        ("POST", "deployments"),
    ]
    assert all("force" not in w["path"] for w in writes)


def test_second_code_rollback_goes_one_release_further(tmp_path, table, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """A second rollback goes to the release before, not back to the code the first one left."""
    incident(tmp_path, table, sandbox_env)
    seeded = [v for v in worker().list_versions() if v.message and v.message.startswith("release")]
    assert cli("rollback", "worker", "--env", "sandbox", "--yes", "--reason", "r", "--no-verify") == 0
    assert cli("rollback", "worker", "--env", "sandbox", "--yes", "--reason", "r", "--no-verify") == 0
    release_2 = next(v for v in seeded if v.message == "release 2")
    assert etag_of(sandbox_admin, served(sandbox_admin)["active_version_id"]) == release_2.extra["etag"]
    assert served(sandbox_admin)["secrets"]["UPSTASH_REDIS_REST_TOKEN"] == ROTATED


def test_with_config_restores_the_old_bindings_and_says_so(
    tmp_path, table, sandbox_env, sandbox_admin, capsys
) -> None:  # type: ignore[no-untyped-def]
    """``--with-config`` deploys the previous release's version as it was (10220 first, then
    ``--force``), reports the reverted keys, and the printed command brings today's config back."""
    previous, _ = incident(tmp_path, table, sandbox_env)
    capsys.readouterr()
    args = ("rollback", "worker", "--env", "sandbox", "--yes", "--with-config", "--reason", "config too")
    assert cli(*args, "--no-verify") == 1
    assert "UPSTASH_REDIS_REST_TOKEN" in capsys.readouterr().err
    assert cli(*args, "--force") == 1  # the checks fail: the SoT's values are not served
    out = capsys.readouterr().out
    now = served(sandbox_admin)
    assert etag_of(sandbox_admin, now["active_version_id"]) == previous
    assert now["secrets"]["UPSTASH_REDIS_REST_TOKEN"] != ROTATED and now["vars"]["LOG_LEVEL"] == "info"
    assert "code AND configuration (--with-config)" in out
    assert "LOG_LEVEL (var): reverted" in out and "UPSTASH_REDIS_REST_TOKEN (secret): reverted" in out
    fix = next(line for line in out.splitlines() if "fix it with:" in line).split("fix it with: ", 1)[1]
    words = __import__("shlex").split(fix)
    assert words[:2] == ["deploycheck", "rollback"]
    capsys.readouterr()
    assert cli(*words[1:]) == 0
    out = capsys.readouterr().out
    now = served(sandbox_admin)
    assert now["secrets"]["UPSTASH_REDIS_REST_TOKEN"] == ROTATED and now["vars"]["LOG_LEVEL"] == "warn"
    assert etag_of(sandbox_admin, now["active_version_id"]) == previous
    assert "against the source of truth: in sync" in out and "checks: passed" in out
    assert cli("drift", "--env", "sandbox") == 0


def test_list_shows_code_and_config_changes_apart(tmp_path, table, sandbox_env, capsys) -> None:  # type: ignore[no-untyped-def]
    """``rollback list`` marks the release as a code change, the rotation and the sync's writes as
    config changes, the active version and the default code target, in text and JSON."""
    previous, released = incident(tmp_path, table, sandbox_env)
    capsys.readouterr()
    assert cli("rollback", "list", "worker", "--env", "sandbox", "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    revisions = document["revisions"]
    newest = revisions[0]
    assert newest["active"] and newest["changes"] == ["config"] and newest["triggered_by"] == "secret"
    assert newest["code"] == released
    upload = next(r for r in revisions if r["code"] == released and r["triggered_by"] == "upload")
    assert "code" in upload["changes"]
    settings = [r for r in revisions if r["triggered_by"] == "version_settings"]
    assert all(r["changes"] == ["config"] for r in settings)
    assert settings[0]["config_changes"] == ["~LOG_LEVEL"] and "+LOG_LEVEL" in settings[-1]["config_changes"]
    target = next(r for r in revisions if r["id"] == document["code_rollback_target"])
    assert target["code"] == previous and target["author"] and target["source"]
    assert cli("rollback", "list", "worker", "--env", "sandbox") == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if newest["id"] in line)
    assert row.lstrip().startswith("*") and " config " in row and "secret" in row
    assert next(line for line in text.splitlines() if target["id"] in line).lstrip().startswith(">")


def test_pages_rolls_back_to_the_last_deployment_of_another_commit(
    tmp_path, table, sandbox_env, sandbox_admin, capsys
) -> None:  # type: ignore[no-untyped-def]
    """Three deployments of two commits: the rollback skips the redeploy of the running commit and
    activates the last deployment of the commit before; env vars stay; the checks pass."""
    sync()
    first = upload_pages("app-web", WEB_DIR, sandbox_env, commit="a" * 40)
    upload_pages("app-web", WEB_DIR, sandbox_env, commit="b" * 40)
    upload_pages("app-web", WEB_DIR, sandbox_env, commit="b" * 40)
    capsys.readouterr()
    assert cli("rollback", "list", "pages", "--env", "sandbox", "--format", "json") == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["code_rollback_target"] == first["deployment_id"]
    assert [r["changes"] for r in listing["revisions"][:2]] == [[], ["code"]]
    assert cli("rollback", "pages", "--env", "sandbox", "--yes", "--reason", "bad build") == 0
    out = capsys.readouterr().out
    config = load_config(CONFIG)
    pages = open_target(config, config.targets["NEXTJS"], "sandbox")
    active = pages.active_deployment()
    assert active.id == first["deployment_id"] and active.commit == "a" * 40
    assert f"code: {'b' * 12} -> {'a' * 12}" in out
    assert "configuration: kept" in out and "checks: passed" in out


def test_to_names_a_version_by_number_or_deployment(tmp_path, table, sandbox_env, sandbox_admin) -> None:  # type: ignore[no-untyped-def]
    """``--to`` takes a version number or a deployment that sent it all traffic; the code is that version's."""
    incident(tmp_path, table, sandbox_env)
    release_1 = next(v for v in worker().list_versions() if v.message == "release 1")
    assert cli("rollback", "worker", "--env", "sandbox", "--to", str(release_1.number), "--yes",
               "--reason", "r", "--no-verify") == 0  # fmt: skip
    assert etag_of(sandbox_admin, served(sandbox_admin)["active_version_id"]) == release_1.extra["etag"]
    assert served(sandbox_admin)["secrets"]["UPSTASH_REDIS_REST_TOKEN"] == ROTATED


def test_unknown_to_is_a_usage_error(table, sandbox_env, sandbox_admin, capsys) -> None:  # type: ignore[no-untyped-def]
    """An unknown ``--to`` exits 2 naming recent revisions and the list command; nothing is written."""
    assert cli("rollback", "worker", "--env", "sandbox", "--to", "nope", "--yes", "--reason", "r") == 2
    err = capsys.readouterr().err
    assert "no version, deployment or commit 'nope'" in err and "rollback list" in err
    assert sandbox_admin.writes() == []


WRANGLER = WORKER_DIR / "node_modules" / "wrangler" / "bin" / "wrangler.js"


@pytest.fixture
def wrangler(sandbox_env, tmp_path):  # type: ignore[no-untyped-def]
    """Run the example Worker's pinned wrangler against the sandbox (skipped, or failed under
    DEPLOYCHECK_REQUIRE_WRANGLER=1, when it is not installed)."""
    import os
    import subprocess

    if not WRANGLER.is_file() or shutil.which("node") is None:
        message = "wrangler is not installed: run `npm ci --prefix fixtures/example/worker`"
        if os.environ.get("DEPLOYCHECK_REQUIRE_WRANGLER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CLOUDFLARE_CF_FETCH_ENABLED": "false",
           "CI": "1", "HOME": str(home), "NO_COLOR": "1"}  # fmt: skip

    def run(*args: str, cwd: Path = home, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["node", str(WRANGLER), *args], env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=180, check=False, input=stdin)  # fmt: skip

    return run


@pytest.mark.slow
def test_release_by_wrangler_deploy_then_code_rollback_as_wrangler_reads_it(tmp_path, table, sandbox_env, sandbox_admin, wrangler) -> None:  # type: ignore[no-untyped-def]
    """A release by ``wrangler deploy --env production --keep-vars`` and a rotation are rolled back
    to the previous code; wrangler then sees a version carrying today's secret and vars, deployed
    at 100%, and can put a secret on it (no 10215: the latest version is the one deployed)."""
    sync()
    previous = worker().get_version(worker().active_version()).extra["etag"]
    source = tmp_path / "worker"
    shutil.copytree(WORKER_DIR, source, ignore=shutil.ignore_patterns("node_modules"))
    code = (source / "src" / "index.js").read_text()
    (source / "src" / "index.js").write_text(code + "\n// a release deployed by wrangler\n")
    deployed = wrangler("deploy", "--env", "production", "--keep-vars", cwd=source)
    assert deployed.returncode == 0, deployed.stderr
    released = worker().get_version(worker().active_version()).extra["etag"]
    assert released != previous
    set_prod(table, "UPSTASH_REDIS_REST_TOKEN", ROTATED)
    sync("--target", "CLOUDFLARE_WORKER")
    assert cli("rollback", "worker", "--env", "sandbox", "--yes", "--reason", "bad release") == 0
    active = worker().active_version()
    assert etag_of(sandbox_admin, active) == previous
    viewed = wrangler("versions", "view", active, "--name", "log-ingestion", "--json")
    assert viewed.returncode == 0, viewed.stderr
    bindings = {b["name"]: b["type"] for b in json.loads(viewed.stdout)["resources"]["bindings"]}
    assert bindings["UPSTASH_REDIS_REST_TOKEN"] == "secret_text" and bindings["LOG_LEVEL"] == "plain_text"
    assert served(sandbox_admin)["secrets"]["UPSTASH_REDIS_REST_TOKEN"] == ROTATED
    put = wrangler("secret", "put", "AFTER_ROLLBACK", "--name", "log-ingestion", stdin="after-1234\n")
    assert put.returncode == 0, put.stderr
