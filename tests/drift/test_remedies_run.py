"""Every remedy deploycheck prints is a complete command that runs as printed and removes the problem.

Each case makes one kind of drift in the sandbox (through the vendors' APIs or an adapter, as a
person with a dashboard would), runs ``deploycheck drift``, takes the remedy it printed, runs it
with ``shlex.split`` and no shell, off a terminal, and runs drift again: the finding is gone. The
cases cover every drift state that prints a remedy, the removal of an unexpected key on every
platform of the registry (secret and plain where the platform keeps them apart), every vendor
CLI alternative the registry prints (wrangler, the Convex CLI), and the sync and removal
commands of the verify checks. :func:`test_the_cases_cover_every_remedy_producer` holds the
cases against the registry, so a platform added without a case fails here.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest
from test_drift_sandbox import Vendors, _leaks, _secret_values

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.drift.model import DriftState
from deploycheck.platforms import all_specs, open_target
from deploycheck.platforms.base import VarChange
from deploycheck.sandbox import SandboxInfo

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploycheck.yaml"
TABLE = REPO / "fixtures" / "example" / "app.env"
WRANGLER = REPO / "fixtures" / "example" / "worker" / "node_modules" / "wrangler" / "package.json"
CONVEX_CLI = REPO / "fixtures" / "example" / "node_modules" / "convex" / "package.json"
TIMEOUT_S = 180

Setup = Callable[["World"], None]


@dataclass
class World:
    """What a case's setup can touch: the sandbox's vendor APIs, adapters, the table and ledger."""

    sandbox: SandboxInfo
    vendors: Vendors
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    state_dir: Path

    def adapter(self, target: str) -> Any:
        """deploycheck's own adapter of ``target`` in the sandbox."""
        config = load_config(CONFIG)
        return open_target(config, config.targets[target], "sandbox")

    def write(self, target: str, key: str, value: str, *, secret: bool) -> None:
        """Set ``key`` on the target's platform, as its API allows."""
        result = self.adapter(target).apply_config([VarChange(key, "add", value, secret)])
        assert result.ok and key in result.applied, result

    def table(self, edit: Callable[[str], str]) -> None:
        """Use an edited copy of the example table from now on (DEPLOYCHECK_SOT, as a person would)."""
        text = TABLE.read_text(encoding="utf-8")
        edited = edit(text)
        assert edited != text
        copy = self.tmp_path / "app.env"
        copy.write_text(edited, encoding="utf-8")
        self.monkeypatch.setenv("DEPLOYCHECK_SOT", str(copy))

    def forget(self, target: str, key: str) -> None:
        """Drop the ledger's record of one key (as if it had never been synced) from its JSON file."""
        [path] = self.state_dir.glob("*ledger*.json")
        data = json.loads(path.read_text(encoding="utf-8"))
        dropped = 0

        def drop(node: Any, under_target: bool) -> None:
            nonlocal dropped
            if isinstance(node, dict):
                if under_target and key in node:
                    del node[key]
                    dropped += 1
                for name, child in node.items():
                    drop(child, under_target or name == target)

        drop(data, False)
        assert dropped == 1, data
        path.write_text(json.dumps(data), encoding="utf-8")


def _replace_cell(key: str, old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        return "\n".join(
            line.replace(old, new) if re.search(rf"\|\s*{re.escape(key)}\s*\|", line) else line
            for line in text.splitlines()
        ) + "\n"

    return edit


def _drop_row(key: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        kept = [line for line in text.splitlines() if not re.search(rf"\|\s*{re.escape(key)}\s*\|", line)]
        return "\n".join(kept) + "\n"

    return edit


@dataclass(frozen=True)
class Case:
    """One drift the sandbox is put in, and which printed remedy removes it.

    ``remedy`` is ``command`` (deploycheck's own, every finding has one) or ``vendor`` (the
    vendor CLI's alternative). ``secret`` is the kind of the key on a typed platform, None where
    the platform keeps no kinds apart.
    """

    id: str
    target: str
    key: str
    state: DriftState
    platform: str
    setup: Setup
    remedy: str = "command"
    secret: bool | None = None


NEW_TOKEN = "rotated-" + secrets.token_urlsafe(18)

DRIFT_CASES = [
    Case("missing-worker-secret", "CLOUDFLARE_WORKER", "UPSTASH_REDIS_REST_TOKEN", "missing", "cloudflare-worker",
         lambda w: w.vendors.worker_delete_secret("log-ingestion", "UPSTASH_REDIS_REST_TOKEN")),
    Case("differs-convex", "CONVEX", "APP_ENV", "value_differs", "convex",
         lambda w: w.vendors.convex_set("APP_ENV", "staging")),
    Case("differs-pages-plain", "NEXTJS", "NEXT_PUBLIC_APP_URL", "value_differs", "cloudflare-pages",
         lambda w: w.vendors.pages_set_plain("app-web", "NEXT_PUBLIC_APP_URL", "https://old.example.com")),
    Case("differs-pages-kind", "NEXTJS", "NEXT_PUBLIC_LOG_INGEST_URL", "value_differs", "cloudflare-pages",
         lambda w: w.write("NEXTJS", "NEXT_PUBLIC_LOG_INGEST_URL", "https://logs.example.dev", secret=True)),
    Case("differs-worker-plain", "CLOUDFLARE_WORKER", "LOG_LEVEL", "value_differs", "cloudflare-worker",
         lambda w: w.write("CLOUDFLARE_WORKER", "LOG_LEVEL", "debug", secret=False)),
    Case("pending-readable", "CONVEX", "APP_ENV", "pending", "convex",
         lambda w: w.table(_replace_cell("APP_ENV", "| production ", "| production-eu ")), secret=None),
    Case("pending-write-only", "GITHUB", "CLOUDFLARE_API_TOKEN", "pending", "github-actions",
         lambda w: w.table(_replace_cell("CLOUDFLARE_API_TOKEN", "ojG7n78dbHLd9js0tkRoEKn7HL1vw0tqcgUpSpJJ",
                                         NEW_TOKEN))),
    Case("out-of-band-github", "GITHUB", "CLOUDFLARE_API_TOKEN", "changed_out_of_band", "github-actions",
         lambda w: w.vendors.github_put_secret("CLOUDFLARE_API_TOKEN", NEW_TOKEN)),
    Case("unverifiable-github", "GITHUB", "SLACK_WEBHOOK_URL", "unverifiable", "github-actions",
         lambda w: w.forget("GITHUB", "SLACK_WEBHOOK_URL")),
    # an unexpected key on every platform, secret and plain where the platform keeps them apart
    Case("unexpected-github-secret", "GITHUB", "LEFTOVER_TOKEN", "unexpected", "github-actions",
         lambda w: w.vendors.github_put_secret("LEFTOVER_TOKEN", NEW_TOKEN), secret=True),
    Case("unexpected-github-variable", "GITHUB", "LEGACY_DEPLOY_FLAG", "unexpected", "github-actions",
         lambda w: w.vendors.github_add_variable("LEGACY_DEPLOY_FLAG", "1"), secret=False),
    Case("unexpected-pages-secret", "NEXTJS", "LEFTOVER_TOKEN", "unexpected", "cloudflare-pages",
         lambda w: w.write("NEXTJS", "LEFTOVER_TOKEN", NEW_TOKEN, secret=True), secret=True),
    Case("unexpected-pages-plain", "NEXTJS", "LEGACY_FLAG", "unexpected", "cloudflare-pages",
         lambda w: w.vendors.pages_set_plain("app-web", "LEGACY_FLAG", "1"), secret=False),
    Case("unexpected-worker-secret", "CLOUDFLARE_WORKER", "LEFTOVER_TOKEN", "unexpected", "cloudflare-worker",
         lambda w: w.write("CLOUDFLARE_WORKER", "LEFTOVER_TOKEN", NEW_TOKEN, secret=True), secret=True),
    Case("unexpected-worker-plain", "CLOUDFLARE_WORKER", "LEGACY_FLAG", "unexpected", "cloudflare-worker",
         lambda w: w.write("CLOUDFLARE_WORKER", "LEGACY_FLAG", "1", secret=False), secret=False),
    Case("unexpected-convex", "CONVEX", "LEGACY_FLAG", "unexpected", "convex",
         lambda w: w.vendors.convex_set("LEGACY_FLAG", "1")),
    Case("unexpected-row-deleted", "CLOUDFLARE_WORKER", "CODE_VERSION", "unexpected", "cloudflare-worker",
         lambda w: w.table(_drop_row("CODE_VERSION")), secret=False),
    # the vendor CLIs' alternatives, where the registry prints one
    Case("vendor-worker-secret", "CLOUDFLARE_WORKER", "LEFTOVER_TOKEN", "unexpected", "cloudflare-worker",
         lambda w: w.write("CLOUDFLARE_WORKER", "LEFTOVER_TOKEN", NEW_TOKEN, secret=True), "vendor", True),
    Case("vendor-pages-secret", "NEXTJS", "LEFTOVER_TOKEN", "unexpected", "cloudflare-pages",
         lambda w: w.write("NEXTJS", "LEFTOVER_TOKEN", NEW_TOKEN, secret=True), "vendor", True),
    Case("vendor-convex", "CONVEX", "LEGACY_FLAG", "unexpected", "convex",
         lambda w: w.vendors.convex_set("LEGACY_FLAG", "1"), "vendor"),
]  # fmt: skip


def _environ() -> dict[str, str]:
    """This process's environment (the sandbox's variables, the state dir, the table), with this
    environment's ``deploycheck`` first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def _vendor_environ(tmp_path: Path) -> dict[str, str]:
    """The environment of a vendor CLI: the sandbox's variables, no login, no metrics, a fresh HOME."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**_environ(), "HOME": str(home), "CI": "1", "NO_COLOR": "1", "WRANGLER_SEND_METRICS": "false",
            "CLOUDFLARE_CF_FETCH_ENABLED": "false", "WRANGLER_CACHE_DIR": str(tmp_path / "wrangler-cache")}  # fmt: skip


def run_as_printed(command: str, *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a printed remedy as its words (``shlex.split``, no shell), off a terminal."""
    return subprocess.run(
        shlex.split(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["drift", *args])
    return code, capsys.readouterr().out


def _findings(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    code, out = _drift(capsys, *args, "--format", "json")
    data = json.loads(out)
    assert data["errors"] == [], data["errors"]
    assert code == (1 if any(f["fails"] for f in data["findings"]) else 0)
    return list(data["findings"])


def _require(path: Path, variable: str, install: str) -> None:
    if path.is_file() and shutil.which("npx") is not None:
        return
    msg = f"{path.parent.name} is not installed: {install}"
    if os.environ.get(variable) == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def _vendor_cwd(target: str) -> Path:
    """Where the vendor CLI of ``target`` is installed: the folder its sandbox deploy command runs in."""
    params = load_config(CONFIG).targets[target].params("sandbox") or {}
    return REPO / str(params["deploy_cwd"])


@pytest.mark.sandbox
@pytest.mark.parametrize("case", DRIFT_CASES, ids=[c.id for c in DRIFT_CASES])
def test_the_printed_remedy_runs_and_the_finding_is_gone(
    case: Case, synced: Path, sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The drift's finding carries a remedy, printed in the text report too, that runs as its words off a
    terminal with exit 0, names no secret, and leaves drift without that finding."""
    case.setup(World(sandbox, Vendors(sandbox), tmp_path, monkeypatch, synced))
    args = ("--env", "sandbox", "--config", str(CONFIG))
    found = [f for f in _findings(capsys, *args) if (f["target"], f["key"]) == (case.target, case.key)]
    assert [(f["state"], f["platform"]) for f in found] == [(case.state, case.platform)], found
    finding = found[0]
    if case.secret is not None:
        assert finding["secret"] is case.secret
    command = finding["command"] if case.remedy == "command" else finding["vendor_command"]
    assert command, finding
    _, text = _drift(capsys, *args)
    assert command in text
    assert _leaks(f"{command} {finding['action']}", [*_secret_values(), NEW_TOKEN]) == []
    if case.remedy == "command":
        assert shlex.split(command)[:2] == ["deploycheck", "sync-env"], command
        done = run_as_printed(command, cwd=REPO, env=_environ())
    else:
        words = shlex.split(command)
        assert words[:2] == ["npx", "convex" if case.platform == "convex" else "wrangler"], command
        if words[1] == "convex":
            _require(CONVEX_CLI, "DEPLOYCHECK_REQUIRE_CONVEX_CLI", "npm ci --prefix fixtures/example")
        else:
            _require(WRANGLER, "DEPLOYCHECK_REQUIRE_WRANGLER", "npm ci --prefix fixtures/example/worker")
        done = run_as_printed(command, cwd=_vendor_cwd(case.target), env=_vendor_environ(tmp_path))
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    after = [f for f in _findings(capsys, *args) if (f["target"], f["key"]) == (case.target, case.key)]
    assert after == [], after


LOCAL_CONFIG = """\
project: remedies.example
default_env: development
sot: app.env
environments:
  development: {remote: false, values: dev}
targets:
  WEB:
    platform: cloudflare-pages
    local_file: web/.env.local
    environments:
      development: {project: web, stage: preview}
"""
LOCAL_TABLE = """\
| TARGET | GROUP | KEY                 | DEV_VALUE             | PROD_VALUE              |
|--------|-------|---------------------|-----------------------|-------------------------|
| WEB    | App   | NEXT_PUBLIC_APP_URL | http://localhost:3000 | https://web.example.com |
"""


def test_the_local_file_remedy_runs_and_the_finding_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line in a generated .env.local the table does not have: the printed sync-env --mode=local --remove
    runs as printed in the project folder and drift of the local files is clean again."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "deploycheck.yaml").write_text(LOCAL_CONFIG, encoding="utf-8")
    (project / "app.env").write_text(LOCAL_TABLE, encoding="utf-8")
    monkeypatch.chdir(project)
    monkeypatch.delenv("DEPLOYCHECK_SOT", raising=False)
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(tmp_path / "state"))
    assert main(["sync-env", "--mode=local"]) == 0
    local_file = project / "web" / ".env.local"
    with local_file.open("a", encoding="utf-8") as handle:
        handle.write("LEGACY_FLAG=1\n")
    [finding] = _findings(capsys, "--env", "development")
    assert (finding["state"], finding["platform"], finding["key"]) == ("unexpected", "local-dotenv", "LEGACY_FLAG")
    command = finding["command"]
    assert command == "deploycheck sync-env --mode=local --env development --target WEB --remove LEGACY_FLAG"
    assert command in _drift(capsys, "--env", "development")[1]
    done = run_as_printed(command, cwd=project, env=_environ())
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert _findings(capsys, "--env", "development") == []
    assert "NEXT_PUBLIC_APP_URL=" in local_file.read_text(encoding="utf-8")


@pytest.mark.sandbox
def test_the_verify_checks_remedies_run_and_the_check_passes(
    synced: Path, sandbox: SandboxInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config checks' "Next step" commands (sync the SoT's keys; remove a development value the SoT
    does not have) run as printed and the checks pass afterwards."""
    from deploycheck.sot import load_sot
    from deploycheck.verify.config_checks import ConfigSubject, config_matches_sot, dev_markers, no_dev_values

    config = load_config(CONFIG)
    entries = load_sot(config.sot_path("sandbox"), config).for_target("CONVEX")
    world = World(sandbox, Vendors(sandbox), tmp_path, monkeypatch, synced)
    subject = ConfigSubject(config.environment("sandbox"), config.targets["CONVEX"], "prod-graceful-shrimp-355")

    def verdicts() -> tuple[Any, Any]:
        state = world.adapter("CONVEX").read_config()
        return config_matches_sot(subject, entries, state), no_dev_values(
            subject, entries, state, dev_markers(config)
        )

    world.vendors.convex_set("APP_ENV", "staging")
    world.vendors.convex_set("DEBUG_CALLBACK_URL", "http://localhost:9999/hook")
    matches, no_dev = verdicts()
    assert (matches.outcome, no_dev.outcome) == ("fail", "fail"), (matches, no_dev)
    sync = re.search(r"Next step: run (.+)$", matches.message)
    remove = re.search(r"\(not in the source of truth for CONVEX\): (.+?), or add them", no_dev.message)
    assert sync and remove, (matches.message, no_dev.message)
    assert remove.group(1).endswith("--remove DEBUG_CALLBACK_URL --yes")
    for command in (sync.group(1), remove.group(1)):
        done = run_as_printed(command, cwd=REPO, env=_environ())
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    matches, no_dev = verdicts()
    assert (matches.outcome, no_dev.outcome) == ("pass", "pass"), (matches, no_dev)


def _kinds(spec: Any) -> tuple[bool | None, ...]:
    return (True, False) if spec.typed_stores else (None,)


def test_the_cases_cover_every_remedy_producer() -> None:
    """Every drift state with a remedy, the removal on every registered platform (each kind on typed
    platforms), and every vendor command the registry prints has a case above that runs it."""
    states = {c.state for c in DRIFT_CASES}
    assert states == set(get_args(DriftState)) - {"in_sync"}
    removed = {(c.platform, c.secret) for c in DRIFT_CASES if c.state == "unexpected" and c.remedy == "command"}
    removed.add(("local-dotenv", None))  # test_the_local_file_remedy_runs_and_the_finding_is_gone
    vendor = {(c.platform, c.secret) for c in DRIFT_CASES if c.remedy == "vendor"}
    for spec in all_specs():
        for kind in _kinds(spec):
            assert (spec.name, kind) in removed, f"no case removes a {kind} key from {spec.name}"
            printed = spec.how_to_remove("name/production", "KEY", bool(kind))
            assert ((spec.name, kind) in vendor) == (printed is not None), (spec.name, kind, printed)


@pytest.mark.sandbox
def test_the_deploy_gate_points_at_commands_that_clear_it(
    synced: Path, sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key the table lacks stops the deploy gate; its output names sync-env --remove for it (never a
    sync-env that would keep it), which runs as printed, and the gate then passes."""
    Vendors(sandbox).github_add_variable("LEGACY_DEPLOY_FLAG", "1")
    dry_run = ["deploy", "--env", "sandbox", "--dry-run", "--config", str(CONFIG)]
    capsys.readouterr()
    assert main(dry_run) == 1
    out = capsys.readouterr().out
    assert "Deploy stopped by the drift gate" in out
    command = "deploycheck sync-env --mode=deploy-prod --env sandbox --target GITHUB --remove LEGACY_DEPLOY_FLAG --yes"
    assert command in out
    assert "--only LEGACY_DEPLOY_FLAG" not in out
    done = run_as_printed(command, cwd=REPO, env=_environ())
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert main(dry_run) == 0
    assert "Gate (drift check of sandbox): no drift" in capsys.readouterr().out


@pytest.mark.sandbox
def test_remove_refuses_a_key_the_table_assigns(
    synced: Path, sandbox: SandboxInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """sync-env --remove of a key the table assigns to the target exits 2 naming the table's row, and
    deletes nothing (a sync would write it back)."""
    capsys.readouterr()
    argv = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--target", "CONVEX", "--remove", "APP_ENV",
            "--yes", "--config", str(CONFIG)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{TABLE}:" in err and "--remove APP_ENV: the table assigns APP_ENV to CONVEX" in err, err
    config = load_config(CONFIG)
    held = open_target(config, config.targets["CONVEX"], "sandbox").read_config()
    assert held.vars["APP_ENV"].value == "production"
