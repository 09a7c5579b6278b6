"""Faults x commands: every platform fault against sync-env, drift, verify and rollback.

Each case injects one fault into one platform of the sandbox, runs one command in-process
under tight HTTP bounds, and checks that the command: ends within its deadline, exits
with the documented code, names the platform, the operation and the next step, retries
no non-idempotent write blindly, leaves the ledger and audit log whole and truthful,
leaks no canary, and (for writes) converges on a re-run once the fault clears.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    CONFIG,
    DEADLINE_S,
    Workspace,
    check_state_files,
    closed_port,
    expected_prod,
    holds,
    leaks,
    ledger_truth,
    non_idempotent,
)

pytestmark = pytest.mark.sandbox

#: platform -> (sandbox service, path regex of its API, target name, variable of its base URL)
PLATFORMS: dict[str, tuple[str, str | None, str, str]] = {
    "cloudflare-pages": ("cloudflare", r"/pages/", "NEXTJS", "CLOUDFLARE_API_BASE_URL"),
    "cloudflare-worker": ("cloudflare", r"/workers/", "CLOUDFLARE_WORKER", "CLOUDFLARE_API_BASE_URL"),
    "convex": ("convex", None, "CONVEX", "CONVEX_SELF_HOSTED_URL"),
    "github": ("github", None, "GITHUB", "GITHUB_API_URL"),
}
COMMANDS = ("sync-deploy", "sync-dry-run", "drift", "verify", "rollback")
FAULTS = (
    "500",
    "503-then-ok",
    "429-retry-after",
    "hang",
    "refused",
    "malformed-json",
    "error-envelope",
    "401",
    "403",
    "500-on-write",
)
RECOVERABLE = {"503-then-ok", "429-retry-after"}
#: what each command exits with when a platform cannot be read (or written)
FAILED_EXIT = {"sync-deploy": 1, "sync-dry-run": 1, "drift": 3, "verify": 1, "rollback": 1}
CHECK_PLATFORM = {"github": "github-actions"}
ROLLBACK_PLATFORMS = {"cloudflare-pages", "cloudflare-worker", "convex"}
#: a git repository whose Convex code can be rolled back through the sandbox upload command
CONVEX_APP_CONFIG = """\
project: rollback-matrix
default_env: sandbox
sot: app.env
environments:
  sandbox: {remote: true, values: prod, sandbox: true}
targets:
  CONVEX:
    platform: convex
    environments:
      sandbox:
        deployment: prod-graceful-shrimp-355
        deploy_command: deploycheck sandbox upload convex --dir {dir} --message "rollback {ref}"
rollback:
  order: [convex]
  convex_dir: convex
"""
SCHEMA = """\
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({ author: v.string(), body: v.string() })%s,
});
"""


def convex_app(root: Path, sot: Path) -> Path:
    """A git repository with two compatible commits of a Convex app; returns its deploycheck.yaml.

    Its table holds the CONVEX rows of ``sot`` (the canaries), so their values are secrets of it.
    """
    root.mkdir()
    rows = [
        "| CONVEX |" + line.split("|", 2)[2]
        for line in sot.read_text("utf-8").splitlines()
        if line.startswith("|") and "CONVEX" in line.split("|")[1]
    ]

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "test@example.com")
    git("config", "user.name", "Test")
    (root / "deploycheck.yaml").write_text(CONVEX_APP_CONFIG)
    header = "| TARGET | GROUP | KEY | DEV_VALUE | PROD_VALUE |\n|---|---|---|---|---|\n"
    (root / "app.env").write_text(header + "\n".join(rows) + "\n")
    (root / "convex").mkdir()
    for index in ("", '.index("by_author", ["author"])'):
        (root / "convex" / "schema.ts").write_text(SCHEMA % index)
        git("add", "-A")
        git("commit", "-q", "-m", f"schema{index[:7]}")
    return root / "deploycheck.yaml"


def error_body(service: str, echo: str) -> tuple[int, str]:
    """The vendor's own error shape (Cloudflare: success false on HTTP 200), echoing ``echo``."""
    if service == "cloudflare":
        body = {
            "success": False,
            "errors": [{"code": 10000, "message": f"Authentication error for value {echo}"}],
            "messages": [],
            "result": None,
        }
        return 200, json.dumps(body)
    if service == "github":
        body = {
            "message": f"Validation Failed: {echo}",
            "errors": [{"resource": "Secret", "code": "invalid", "field": "value", "value": echo}],
            "documentation_url": "https://docs.github.com/rest",
            "status": "422",
        }
        return 422, json.dumps(body)
    return 400, json.dumps({"code": "BadRequest", "message": f"invalid value {echo}"})


def inject(admin: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch, platform: str, fault: str) -> None:
    """Put ``fault`` in force for ``platform``."""
    service, path, _, variable = PLATFORMS[platform]
    base: dict[str, Any] = {"service": service}
    if path:
        base["path"] = path
    if fault == "refused":
        monkeypatch.setenv(
            variable, f"http://127.0.0.1:{closed_port()}" + ("/client/v4" if service == "cloudflare" else "")
        )
    elif fault == "500":
        admin.fault(**base, status=500)
    elif fault == "503-then-ok":
        admin.fault(**base, status=503, count=1)
    elif fault == "429-retry-after":
        admin.fault(**base, status=429, retry_after=1, count=1)
    elif fault == "hang":
        admin.fault(**base, hang=True)
    elif fault == "malformed-json":
        admin.fault(**base, status=200, body='{"success": true, "result": [')
    elif fault == "error-envelope":
        echo = next(iter(ws.canaries.values()))
        status, body = error_body(service, echo)
        admin.fault(**base, status=status, body=body)
    elif fault in ("401", "403"):
        admin.fault(**base, status=int(fault))
    elif fault == "500-on-write":
        for method in ("POST", "PATCH", "PUT", "DELETE"):
            admin.fault(**base, method=method, status=500)


def argv(command: str, platform: str, ws: Workspace) -> list[str]:
    """The command line of ``command``."""
    config = ["--config", str(CONFIG)]
    if command == "rollback" and platform == "convex":
        config = ["--config", str(ws.root / "convex-app" / "deploycheck.yaml")]
    if command == "sync-deploy":
        return ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes", *config]
    if command == "sync-dry-run":
        return ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--dry-run", *config]
    if command == "drift":
        return ["drift", "--env", "sandbox", *config]
    if command == "verify":
        reports = ["--report-dir", str(ws.reports)]
        only = [] if platform == "all" else ["--platform", CHECK_PLATFORM.get(platform, platform)]
        # importlib mode: checks/test_*.py must not collide with same-named modules of this session
        pytest_args = ["-q", "-p", "no:cacheprovider", "--import-mode=importlib"]
        return ["verify", "sandbox", *config, *reports, *only, *pytest_args]
    return ["rollback", platform, "--env", "sandbox", "--yes", "--reason", "matrix", "--no-verify", *config]


def expected_exit(command: str, platform: str, fault: str) -> int:
    """The exit code the command documents for the fault (drift runs on an unsynced sandbox: 1, drift)."""
    clean = 1 if command == "drift" else 0
    if fault == "503-then-ok" and command == "rollback" and platform == "convex":
        return FAILED_EXIT[command]  # the push is its only request: a 5xx on a write is never repeated
    if fault in RECOVERABLE:
        return clean
    if fault == "500-on-write" and command in ("sync-dry-run", "drift"):
        return clean  # these only read
    if fault == "500-on-write" and command == "verify":
        return clean  # no check writes: the Convex function spec is read over the sync WebSocket (GET)
    return FAILED_EXIT[command]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_fault(platform, command, fault, workspace, admin, run_cli, monkeypatch, request) -> None:  # type: ignore[no-untyped-def]
    """The command survives the fault: bounded time, right exit code, clear message, whole files, no leak."""
    request.node.user_properties.append(("reliability-cell", f"faults|{platform} x {command}|{fault}"))
    ws = workspace
    if command == "rollback" and platform not in ROLLBACK_PLATFORMS:
        pytest.skip(f"n/a: {platform} has no rollback")
    if command == "verify":
        synced = run_cli(argv("sync-deploy", platform, ws))
        assert synced.code == 0, synced.err
    clean_rollback_to = None
    if command == "rollback" and platform == "convex":
        convex_app(ws.root / "convex-app", ws.sot)
        monkeypatch.delenv("DEPLOYCHECK_SOT")
    if command == "rollback":
        dry = run_cli([*argv("rollback", platform, ws), "--dry-run"])
        assert dry.code == 0, dry.err
        clean_rollback_to = dry.out
    before = ws.files()
    admin.clear_requests()
    inject(admin, ws, monkeypatch, platform, fault)

    run = run_cli(argv(command, platform, ws))
    ws.runs.append(run)
    admin.clear_faults()
    log = admin.requests()

    want = expected_exit(command, platform, fault)
    assert run.seconds < DEADLINE_S, f"took {run.seconds:.1f} s"
    assert run.code == want, f"exit {run.code}, expected {want}\n{run.text[-3000:]}"
    target = PLATFORMS[platform][2]
    if want == FAILED_EXIT[command]:
        text = run.text
        assert platform in text or target in text, text[-2000:]
        assert "failed" in text, text[-2000:]
        assert "Next step" in text or "Re-run" in text or "re-run" in text, text[-2000:]
    if command in ("sync-dry-run", "drift"):
        assert [e for e in log if e["method"] not in ("GET", "HEAD", "OPTIONS")] == []
    if fault in RECOVERABLE and want == 0:
        hit = next(i for i, e in enumerate(log) if e["status"] in (429, 503))
        again = [
            e for e in log[hit + 1 :] if (e["method"], e["path"]) == (log[hit]["method"], log[hit]["path"])
        ]
        assert again and again[0]["status"] < 400, "the refused request was not retried"
    # a non-idempotent write answered 5xx is never sent again
    failed_posts = {(e["method"], e["path"]) for e in log if e["status"] >= 500 and e["method"] == "POST"}
    counts = non_idempotent(log)
    assert all(counts.get(k, 0) == 1 for k in failed_posts if k in counts), counts
    after = ws.files()
    assert check_state_files(before, after) == []
    if command == "sync-dry-run" or command in ("drift", "verify"):
        states = {p: d for p, d in after.items() if str(ws.state) in p}
        assert states == {p: d for p, d in before.items() if str(ws.state) in p}, (
            "a read-only command changed the state dir"
        )
    state = admin.state()
    assert ledger_truth(ws, state) == []
    secrets = ws.secrets()
    assert leaks(run.text, secrets) == []
    for path, data in after.items():
        assert leaks(data.decode("utf-8", "replace"), secrets) == [], path

    if command == "sync-deploy":
        monkeypatch.setenv(PLATFORMS[platform][3], _sandbox_url(request, platform))
        admin.clear_requests()
        again = run_cli(argv("sync-deploy", platform, ws))
        assert again.code == 0, again.text[-3000:]
        assert holds(admin.state(), ws.sot) == expected_prod(ws.sot)
        service = PLATFORMS[platform][0]
        faulted = {p[2] for p in PLATFORMS.values() if p[0] == service} if fault == "refused" else {target}
        untouched = {p[2] for p in PLATFORMS.values()} - faulted
        written = {_service_target(e) for e in admin.writes()}
        assert not (written & untouched), f"re-run wrote again to {written & untouched}"
        admin.clear_requests()
        third = run_cli(argv("sync-deploy", platform, ws))
        assert third.code == 0 and admin.writes() == []
        assert ledger_truth(ws, admin.state()) == []
    if command == "rollback" and want != 0:
        monkeypatch.setenv(PLATFORMS[platform][3], _sandbox_url(request, platform))
        dry = run_cli([*argv("rollback", platform, ws), "--dry-run"])
        admin.clear_requests()
        assert dry.out == clean_rollback_to, "the failed rollback changed what a rollback would do"
        again = run_cli(argv("rollback", platform, ws))
        assert again.code == 0, again.text[-3000:]
        # a Worker code rollback uploads a version of the old code, then deploys it
        posts = 2 if platform == "cloudflare-worker" else 1
        assert len([e for e in admin.writes() if e["method"] == "POST"]) == posts


def _sandbox_url(request: Any, platform: str) -> str:
    info = request.getfixturevalue("sandbox")
    return info.environ()[PLATFORMS[platform][3]]


def _service_target(entry: dict[str, Any]) -> str:
    """The target a logged sandbox request wrote to."""
    if entry["service"] == "convex":
        return "CONVEX"
    if entry["service"] == "github":
        return "GITHUB"
    return "NEXTJS" if "/pages/" in entry["path"] else "CLOUDFLARE_WORKER"


@pytest.mark.parametrize("command", ["sync-deploy", "sync-dry-run", "drift", "verify"])
def test_every_platform_unreachable(command, workspace, admin, run_cli, monkeypatch, request) -> None:  # type: ignore[no-untyped-def]
    """With every vendor API refusing connections, sync and drift exit 3 and verify 1, quickly and whole."""
    request.node.user_properties.append(("reliability-cell", f"faults|all platforms x {command}|refused"))
    for variable in ("CLOUDFLARE_API_BASE_URL", "CONVEX_SELF_HOSTED_URL", "GITHUB_API_URL"):
        monkeypatch.setenv(variable, f"http://127.0.0.1:{closed_port()}")
    before = workspace.files()
    run = run_cli(argv(command, "all", workspace))
    assert run.seconds < DEADLINE_S
    assert run.code == (1 if command == "verify" else 3), run.text[-3000:]
    assert "connection refused" in run.text and "Next step" in run.text
    assert admin.requests() == [] or command == "verify"
    assert check_state_files(before, workspace.files()) == []
    assert leaks(run.text, workspace.secrets()) == []


@pytest.mark.parametrize("fault", ["503-then-ok", "429-retry-after"])
def test_probe_answered_an_error_once_is_retried(fault, workspace, admin, run_cli, request) -> None:  # type: ignore[no-untyped-def]
    """The Convex /instance_name probe answered 503 (or 429 with Retry-After) once asks again, and passes."""
    request.node.user_properties.append(
        ("reliability-cell", f"faults|convex /instance_name probe x verify|{fault}")
    )
    assert run_cli(argv("sync-deploy", "convex", workspace)).code == 0
    status = 503 if fault == "503-then-ok" else 429
    admin.fault(
        service="convex",
        path="/instance_name",
        status=status,
        count=1,
        **({"retry_after": 1} if status == 429 else {}),
    )
    run = run_cli(argv("verify", "convex", workspace))
    assert run.code == 0, run.text[-2000:]
    statuses = [e["status"] for e in admin.requests("convex") if e["path"] == "/instance_name"]
    assert statuses[:2] == [status, 200]
