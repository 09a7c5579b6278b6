"""Fixtures of the reliability tests: a canary source of truth, tight HTTP bounds, output scans.

Every command runs in-process (``deploycheck.cli.main``) against the one sandbox of this
test process, reset before each test. The source of truth is the example table with every
secret value replaced by a random *canary*; after each command no canary, sandbox token or
8-character piece of one may appear in any output or file the command wrote.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deploycheck.cli import main
from deploycheck.config import load_config
from deploycheck.redact import PIECE, fingerprint, redactor, set_fingerprint_key
from deploycheck.sandbox import SandboxInfo
from deploycheck.sandbox.admin import AdminClient
from deploycheck.sot import load_sot

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploycheck.yaml"
EXAMPLE_SOT = REPO / "fixtures" / "example" / "app.env"
#: the HTTP bounds every command of these tests runs under
HTTP_TIMEOUT = 1.0
HTTP_RETRIES = 2
HTTP_BUDGET = 2.0
#: no command may take longer than this: a few sequential requests, each bounded by the budget
DEADLINE_S = 4 * (HTTP_BUDGET + HTTP_TIMEOUT) + 10
TARGETS = ("NEXTJS", "CONVEX", "CLOUDFLARE_WORKER", "GITHUB")


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def canary() -> str:
    """A random secret value that must never be seen outside the platforms."""
    return f"cnry{secrets.token_hex(14)}"


def write_canary_sot(path: Path) -> dict[str, str]:
    """Write the example table with every secret value replaced by a canary; return key -> PROD canary."""
    config = load_config(CONFIG)
    sot = load_sot(EXAMPLE_SOT, config)
    text = EXAMPLE_SOT.read_text("utf-8")
    prod: dict[str, str] = {}
    for entry in sot.entries:
        if not entry.secret:
            continue
        for column in ("dev", "prod"):
            value = entry.value(column)
            if value:
                fresh = canary()
                text = text.replace(value, fresh)
                if column == "prod":
                    prod[entry.key] = fresh
    path.write_text(text, "utf-8")
    return prod


@dataclass
class Run:
    """One in-process command run: exit code, output, and how long it took."""

    argv: list[str]
    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        """stdout and stderr together."""
        return self.out + "\n" + self.err


@dataclass
class Workspace:
    """Where the commands of one test keep their files, and the secrets they must not leak."""

    root: Path
    sot: Path
    state: Path
    reports: Path
    canaries: dict[str, str]
    tokens: list[str]
    runs: list[Run] = field(default_factory=list)

    def secrets(self) -> list[str]:
        """Every value that must never be shown: canaries (both columns) and sandbox tokens."""
        config = load_config(CONFIG)
        values = list(load_sot(self.sot, config).secret_values())
        return sorted(set(values) | set(self.tokens))

    def files(self) -> dict[str, bytes]:
        """Every file under the state and reports folders, by path."""
        out: dict[str, bytes] = {}
        for folder in (self.state, self.reports):
            if folder.exists():
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        out[str(path)] = path.read_bytes()
        return out


def leaks(text: str, values: list[str]) -> list[str]:
    """Fingerprints of the secrets of which ``text`` holds the whole value or an 8-character piece."""
    found = []
    for value in values:
        pieces = {value[i : i + PIECE] for i in range(max(1, len(value) - PIECE + 1))}
        if any(p in text for p in pieces):
            found.append(fingerprint(value))
    return found


@pytest.fixture(autouse=True)
def _clean_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No registered secrets, the per-process fingerprint key and no stray deploycheck variables."""
    for name in (
        "DEPLOYCHECK_SOT",
        "DEPLOYCHECK_STATE_DIR",
        "DEPLOYCHECK_LOCK_TIMEOUT",
        "GITHUB_STEP_SUMMARY",
    ):
        monkeypatch.delenv(name, raising=False)
    redactor.clear()
    set_fingerprint_key(None)
    yield
    redactor.clear()
    set_fingerprint_key(None)


@pytest.fixture
def tight_env(sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """os.environ pointing at the sandbox with a 1 s read timeout, 2 retries and a 3 s budget."""
    environ = {
        **sandbox.environ(),
        "DEPLOYCHECK_HTTP_TIMEOUT": str(HTTP_TIMEOUT),
        "DEPLOYCHECK_HTTP_RETRIES": str(HTTP_RETRIES),
        "DEPLOYCHECK_HTTP_BUDGET": str(HTTP_BUDGET),
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(REPO)
    return environ


@pytest.fixture
def workspace(
    tmp_path: Path, sandbox: SandboxInfo, tight_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    """A canary SoT (DEPLOYCHECK_SOT), an empty state dir (DEPLOYCHECK_STATE_DIR) and a reports dir."""
    sot = tmp_path / "canary.env"
    canaries = write_canary_sot(sot)
    state = tmp_path / "state"
    monkeypatch.setenv("DEPLOYCHECK_SOT", str(sot))
    monkeypatch.setenv("DEPLOYCHECK_STATE_DIR", str(state))
    tokens = [sandbox.cloudflare_api_token, sandbox.github_token, sandbox.convex_deploy_key.split("|", 1)[1]]
    return Workspace(tmp_path, sot, state, tmp_path / "reports", canaries, tokens)


@pytest.fixture
def admin(sandbox_admin: AdminClient) -> AdminClient:
    """The sandbox admin client (the sandbox is reset before each test)."""
    return sandbox_admin


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``deploycheck.cli.main(argv)`` in-process; return a :class:`Run`."""

    def run(argv: list[str]) -> Run:
        capsys.readouterr()
        start = time.monotonic()
        code = main(argv)
        seconds = time.monotonic() - start
        captured = capsys.readouterr()
        return Run(list(argv), code, captured.out, captured.err, seconds)

    return run


def platform_values(state: dict[str, Any]) -> dict[str, dict[str, str]]:
    """What each sandbox platform holds, by target name of deploycheck.yaml: {target: {key: value}}."""

    def value(item: Any) -> str:
        if isinstance(item, dict):
            return str(item.get("value", item.get("text", "")))
        return str(item)

    worker = state["cloudflare"]["workers"]["log-ingestion"]
    pages = state["cloudflare"]["pages"]["app-web"]["env_vars"]["production"]
    convex = state["convex"]["deployments"]["prod-graceful-shrimp-355"]["environment_variables"]
    github = state["github"]["repositories"]["example/app"]["environments"]["production"]
    return {
        "CLOUDFLARE_WORKER": {
            **{k: value(v) for k, v in worker.get("vars", {}).items()},
            **{k: value(v) for k, v in worker.get("secrets", {}).items()},
        },
        "NEXTJS": {k: value(v) for k, v in pages.items() if v is not None},
        "CONVEX": {k: value(v) for k, v in convex.items()},
        "GITHUB": {
            **{k: value(v) for k, v in github.get("variables", {}).items()},
            **{k: value(v) for k, v in github.get("secrets", {}).items()},
        },
    }


def expected_prod(sot_path: Path) -> dict[str, dict[str, str]]:
    """Fingerprints of the PROD values the table assigns to each target."""
    sot = load_sot(sot_path, load_config(CONFIG))
    return {t: {e.key: fingerprint(e.prod or "") for e in sot.for_target(t)} for t in TARGETS}


def holds(state: dict[str, Any], sot_path: Path) -> dict[str, dict[str, str]]:
    """Fingerprints of the values each target holds, restricted to the keys of the table."""
    values = platform_values(state)
    want = expected_prod(sot_path)
    return {t: {k: fingerprint(v) for k, v in values[t].items() if k in want[t]} for t in TARGETS}


def check_state_files(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Problems with the state files: half-written temp files, unparsable ledger or audit lines."""
    problems = []
    for path, data in after.items():
        name = Path(path).name
        if name.endswith(".tmp"):
            problems.append(f"temporary file left behind: {name}")
        elif name.endswith(".ledger.json"):
            try:
                json.loads(data)
            except ValueError:
                problems.append(f"ledger does not parse: {name}")
        elif name.endswith(".audit.jsonl"):
            old = before.get(path, b"")
            if not data.startswith(old):
                problems.append(f"audit log was rewritten, not appended: {name}")
            for line in data[len(old) :].decode().splitlines():
                try:
                    json.loads(line)
                except ValueError:
                    problems.append(f"audit line does not parse: {name}")
        elif name.endswith(".ledger.key") and len(data) != 32:
            problems.append(f"ledger key is {len(data)} bytes")
    return problems


def ledger_truth(ws: Workspace, state: dict[str, Any]) -> list[str]:
    """Ledger entries whose fingerprint is not what the platform holds: the ledger must not lie."""
    files = list(ws.state.glob("*.ledger.json"))
    if not files:
        return []
    key = next(ws.state.glob("*.ledger.key")).read_bytes()
    ledger = json.loads(files[0].read_text())
    values = platform_values(state)
    wrong = []
    for target, by_resource in ledger.get("entries", {}).get("sandbox", {}).items():
        for keys in by_resource.values():
            for name, entry in keys.items():
                held = values.get(target, {}).get(name)
                if held is None or fingerprint(held, key) != entry["fingerprint"]:
                    wrong.append(f"{target}.{name}")
    return wrong


def non_idempotent(entries: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Count of POST requests per path, except the ones the vendors document as idempotent in effect."""
    idempotent_posts = re.compile(r"/api/v1/update_environment_variables$|/api/query$")
    counts: dict[tuple[str, str], int] = {}
    for e in entries:
        if e["method"] == "POST" and not idempotent_posts.search(e["path"]):
            counts[(e["method"], e["path"])] = counts.get((e["method"], e["path"]), 0) + 1
    return counts
