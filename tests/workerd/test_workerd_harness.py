"""The WranglerDev harness itself, driven by stand-in wrangler executables (no Node needed)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import requests

from deploycheck.redact import fingerprint
from deploycheck.workerd import WranglerDev, WranglerDevError, find_wrangler

SERVING = """
import http.server, json, os, pathlib, sys
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
dev_vars = pathlib.Path(".dev.vars")
state = {
    "args": args,
    "cwd": os.getcwd(),
    "home": os.environ["HOME"],
    "inherited_token": os.environ.get("CLOUDFLARE_API_TOKEN"),
    "metrics": os.environ.get("WRANGLER_SEND_METRICS"),
    "cf_fetch": os.environ.get("CLOUDFLARE_CF_FETCH_ENABLED"),
    "dev_vars": dev_vars.read_text() if dev_vars.exists() else None,
    "pid": os.getpid(),
}
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "healthy", **state}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

FAILING = """
import sys
print("wrangler: cannot start, token s3cr3t-value-for-test-0123")
sys.exit(3)
"""

# Never serves; starts a child (as wrangler starts workerd) and records both pids.
SILENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(os.environ["FAKE_WRANGLER_PIDS"], "w") as handle:
    handle.write(f"{os.getpid()} {child.pid}")
while True:
    time.sleep(1)
"""


def _worker_dir(tmp_path: Path, program: str) -> Path:
    worker = tmp_path / "worker"
    (worker / "src").mkdir(parents=True)
    (worker / "wrangler.toml").write_text('name = "w"\nmain = "src/index.js"\n')
    (worker / "src" / "index.js").write_text("export default {};\n")
    (worker / ".dev.vars").write_text("FROM_REPO=1\n")
    binary = worker / "node_modules" / ".bin" / "wrangler"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!{sys.executable}\n{program}")
    binary.chmod(0o755)
    return worker


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except FileNotFoundError:
        return False
    # a killed process whose new parent has not reaped it yet is a zombie: it no longer runs
    return state not in ("Z", "X")


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended, allowing a few seconds for the kill to land."""
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def test_runs_a_copy_with_dev_vars_and_an_isolated_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Worker runs in a temporary copy with the given vars in .dev.vars, a temporary HOME and no inherited account."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "inherited-token-value")
    worker = _worker_dir(tmp_path, SERVING)
    secret = "upstash-token-0123456789"
    dev = WranglerDev(
        worker, vars={"RATE_LIMIT_PER_MINUTE": "3"}, secrets={"UPSTASH_REDIS_REST_TOKEN": secret}
    )
    with dev:
        state = requests.get(f"{dev.url}/health", timeout=5).json()
        assert dev.is_running
    assert not dev.is_running
    assert _gone(state["pid"])
    assert not Path(state["cwd"]).exists()
    assert not Path(state["cwd"]).is_relative_to(worker)
    assert Path(state["home"]).name == "home"
    assert state["inherited_token"] is None
    assert (state["metrics"], state["cf_fetch"]) == ("false", "false")
    assert {"--ip", "127.0.0.1", "--local", "--persist-to"} <= set(state["args"])
    lines = dict(line.split("=", 1) for line in state["dev_vars"].splitlines())
    assert lines["RATE_LIMIT_PER_MINUTE"] == "'3'"
    assert fingerprint(lines["UPSTASH_REDIS_REST_TOKEN"].strip("'")) == fingerprint(secret)
    assert "FROM_REPO" not in lines


def test_early_exit_is_reported_with_masked_output(tmp_path: Path) -> None:
    """A wrangler that exits before it is ready raises WranglerDevError quoting its output, secrets masked."""
    worker = _worker_dir(tmp_path, FAILING)
    dev = WranglerDev(worker, secrets={"ADMIN_TOKEN": "s3cr3t-value-for-test-0123"})
    with pytest.raises(WranglerDevError, match="exited with code 3") as caught:
        dev.start()
    assert "wrangler: cannot start" in str(caught.value)
    assert "s3cr3t-value-for-test-0123" not in str(caught.value)
    assert not dev.is_running


def test_no_answer_by_the_deadline_stops_the_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrangler that never serves /health is killed, with its child processes, once the start deadline passes."""
    pids = tmp_path / "pids"
    monkeypatch.setenv("FAKE_WRANGLER_PIDS", str(pids))
    worker = _worker_dir(tmp_path, SILENT)
    dev = WranglerDev(worker, start_deadline=2.0)
    with pytest.raises(WranglerDevError, match="did not answer") as caught:
        dev.start()
    assert "within 2 s" in str(caught.value)
    assert not dev.is_running
    leader, child = (int(pid) for pid in pids.read_text().split())
    assert _gone(leader)
    assert _gone(child)
    with pytest.raises(WranglerDevError, match="not running"):
        _ = dev.url


def test_missing_install_names_the_install_command(tmp_path: Path) -> None:
    """Without node_modules/.bin/wrangler, start() raises and names the npm ci command."""
    worker = tmp_path / "worker"
    worker.mkdir()
    (worker / "wrangler.toml").write_text('name = "w"\n')
    assert find_wrangler(worker) is None
    with pytest.raises(WranglerDevError, match="npm ci --prefix"):
        WranglerDev(worker).start()


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("BAD-NAME", "x", "invalid Worker variable name"),
        ("K", "a\nb", "several lines"),
        ("K", "'\"", "quote"),
    ],
)
def test_unwritable_vars_are_refused(tmp_path: Path, key: str, value: str, problem: str) -> None:
    """Names and values that .dev.vars cannot hold are refused before anything starts."""
    worker = _worker_dir(tmp_path, SERVING)
    dev = WranglerDev(worker, vars={key: value})
    with pytest.raises(ValueError, match=problem):
        dev.start()
    assert not dev.is_running


def test_stop_is_idempotent(tmp_path: Path) -> None:
    """stop() may be called on a harness that never started, and twice."""
    dev = WranglerDev(_worker_dir(tmp_path, SERVING))
    dev.stop()
    dev.stop()
    assert not dev.is_running
