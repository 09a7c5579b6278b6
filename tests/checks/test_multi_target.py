"""Every target of a platform is checked: two Workers and two Pages projects, each with its own parameters."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from deploycheck.cli import main
from deploycheck.sandbox import Sandbox
from deploycheck.sandbox.dataplane import WorkerEmulator
from deploycheck.sandbox.server import ServiceServer

REPO = Path(__file__).resolve().parents[2]


def _two_of_each(tmp_path: Path) -> Path:
    """deploycheck.yaml plus a second Worker (email-worker) and a second Pages project (docs-web)."""
    data = yaml.safe_load((REPO / "deploycheck.yaml").read_text())
    data["environments"]["sandbox"]["sot"] = str(REPO / "fixtures" / "example" / "app.env")
    data["targets"]["EMAIL_WORKER"] = {
        "platform": "cloudflare-worker",
        "description": "a second Worker",
        # its own parameters: a warn threshold no answer can meet, so its response-time check warns
        "checks": {
            "url_setting": "EMAIL_WORKER_URL",
            "health_path": "/health",
            "warn_ms": 0,
            "fail_ms": 60000,
        },
        "environments": {"sandbox": {"script": "email-worker"}},
    }
    data["targets"]["DOCS"] = {
        "platform": "cloudflare-pages",
        "description": "a second Pages project",
        "checks": {"url_setting": "APP_URL", "marker": None},
        "environments": {"sandbox": {"project": "docs-web", "stage": "production"}},
    }
    data["settings"]["EMAIL_WORKER_URL"] = {"description": "the second Worker's public URL"}
    path = tmp_path / "deploycheck.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def email_worker_url(sandbox_server: Sandbox) -> Iterator[str]:
    """A second Worker data plane (the sandbox's own emulator class) serving the script email-worker."""
    cloudflare = sandbox_server.emulators["cloudflare"]
    server = ServiceServer("worker", emulator=WorkerEmulator(
        cloudflare, faults=sandbox_server.faults, allowed_origins=[], script="email-worker"  # type: ignore[arg-type]
    ))  # fmt: skip
    server.start()
    yield server.url
    server.stop()


def test_two_workers_and_two_pages_projects_each_get_their_checks(
    run_checks, sandbox_server: Sandbox, synced_sandbox, email_worker_url: str, tmp_path: Path
) -> None:
    """Each target has its own ids and parameters: the second Worker warns on its own threshold, the first passes."""
    config = _two_of_each(tmp_path)
    worker_dir = tmp_path / "email-worker"
    (worker_dir / "src").mkdir(parents=True)
    (worker_dir / "src" / "index.js").write_text(
        "export default { async fetch() { return Response.json({ status: 'healthy' }); } };\n"
    )
    (worker_dir / "wrangler.toml").write_text(
        'name = "email-worker"\nmain = "src/index.js"\ncompatibility_date = "2025-09-01"\n'
    )
    code = main(["sandbox", "upload", "worker", "--script", "email-worker", "--dir", str(worker_dir)])
    assert code == 0
    cloudflare = sandbox_server.emulators["cloudflare"]
    docs = copy.deepcopy(cloudflare.projects["app-web"])  # type: ignore[attr-defined]
    docs.name = "docs-web"
    docs.env_vars = {"production": {}, "preview": {}}  # the SoT assigns DOCS no key
    cloudflare.projects["docs-web"] = docs  # type: ignore[attr-defined]

    run = run_checks(
        "-m",
        "cloudflare_worker or cloudflare_pages",
        f"--deploycheck-config={config}",
        env={"EMAIL_WORKER_URL": email_worker_url},
    )
    assert run.returncode == 0, run.lines("FAILED") + run.lines("ERROR")
    passed = "\n".join(run.lines("PASSED"))
    for name in (
        "test_worker_health[sandbox-log-ingestion]",
        "test_worker_health[sandbox-email-worker]",
        "test_worker_active_deployment[sandbox-email-worker]",
        "test_worker_response_time[sandbox-log-ingestion]",
        "test_pages_answers[sandbox-app-web]",
        "test_pages_answers[sandbox-docs-web]",
        "test_pages_serves_active_deployment[sandbox-docs-web]",
        "test_pages_content_marker[sandbox-app-web]",
    ):
        assert name in passed, (name, run.output)
    warned = [line for line in run.lines("WARN") if "test_worker_response_time[sandbox-email-worker]" in line]
    assert warned, run.lines("WARN")
    assert "warn threshold of 0 ms" in warned[0], warned
    checks = json.loads((run.report_dir / "results.json").read_text())["checks"]
    results = {r["id"].rpartition("::")[2]: r for r in checks}
    marker = results["test_pages_content_marker[sandbox-docs-web]"]
    assert marker["outcome"] == "skip" and "no content marker" in marker["message"], marker


def test_a_target_without_its_own_checks_is_skipped_with_the_reason(
    run_checks, synced_sandbox, tmp_path: Path
) -> None:
    """A second Worker with no checks: block is not probed at the first one's URL: its data-plane checks skip, saying why."""
    config = _two_of_each(tmp_path)
    data = yaml.safe_load(config.read_text())
    del data["targets"]["EMAIL_WORKER"]["checks"]
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    run = run_checks("-m", "cloudflare_worker", "-k", "health", f"--deploycheck-config={config}")
    assert any("test_worker_health[sandbox-log-ingestion]" in line for line in run.lines("PASSED")), (
        run.output
    )
    skipped = [line for line in run.lines("SKIPPED") if "EMAIL_WORKER" in line]
    assert skipped and "is not checks.worker.target" in skipped[0], run.output
