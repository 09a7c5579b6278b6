"""What happens around a rollback: the production rule, settings, health checks after it, audit.

Verification runs the same checks as ``pytest --env ENV``, in a subprocess, limited to
the platform just rolled back; a failing check makes the rollback fail.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from typing import Any

from deploycheck.config import Environment, ProjectConfig
from deploycheck.redact import redact
from deploycheck.verify import NO_TESTS, checks_command, checks_folder

__all__ = ["audit", "reason_required", "setting", "verify_platform", "worker_state"]


def reason_required(environment: Environment) -> bool:
    """True for production environments: ``remote: true`` with ``values: prod`` (sandbox included)."""
    return environment.remote and environment.values == "prod"


def setting(
    config: ProjectConfig, env: str, name: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """The value of setting ``name`` (e.g. WORKER_URL) in ``env``, resolved as the checks resolve it."""
    from deploycheck.config import Settings

    return Settings.from_config(config, env, environ=environ).value(name)


def worker_state(url: str | None, version: str | None) -> tuple[str, dict[str, Any]]:
    """Read the Worker's ``/health`` after a rollback: its code version and Durable Object state.

    Returns a line to print and the facts for the audit log. State newer than the code
    expects is reported as a warning: Durable Object state is never rolled back.
    """
    if not url:
        return "not checked: WORKER_URL has no value in this environment", {"checked": False}
    from deploycheck.verify import read_health

    health = read_health(url)
    facts: dict[str, Any] = {
        "checked": True,
        "status": health.status,
        "version": health.version,
        "state_version": health.state_version,
        "expected_state_version": health.expected_state_version,
    }
    if health.error:
        return f"{health.url} did not answer: {health.error}", facts
    state, expected = health.state_version, health.expected_state_version
    line = f"state version {state}, the running code expects {expected} (code version {health.version})"
    if version and health.version and health.version != version:
        line += f"; NOTE: the Worker still reports version {health.version}, not {version}"
    if state is not None and expected is not None and state > expected:
        line += (
            "; WARNING: the state was written by newer code and persists after the rollback: the "
            "older code must handle it (or reset the state through the Worker)"
        )
        facts["newer_state"] = True
    elif state is not None and expected is not None and state < expected:
        line += "; the code will migrate the state forward"
    return line, facts


def verify_platform(config: ProjectConfig, env: str, platform: str, target: str) -> tuple[bool, str]:
    """Run the checks of ``platform`` in ``env`` as ``pytest --env`` does; return (passed, output)."""
    folder = checks_folder(config)
    if not folder.is_dir():
        return False, f"no checks folder {folder}: cannot verify the rollback"
    args = checks_command(config, env, [platform])
    done = subprocess.run(
        args, cwd=config.root, capture_output=True, text=True, timeout=600, check=False, env=dict(os.environ)
    )
    output = redact((done.stdout + done.stderr).strip())
    if done.returncode == NO_TESTS:
        return False, f"no checks of {platform} ({target}) were collected in {folder}\n{output}"
    return done.returncode == 0, output


def audit(config: ProjectConfig, env: str, event: Mapping[str, Any]) -> None:
    """Append ``event`` to the project's audit log (the state dir of :mod:`deploycheck.state.ledger`)."""
    from deploycheck.state import open_state

    sot = config.sot_path(env, os.environ.get("DEPLOYCHECK_SOT"))
    open_state(config, sot).append_audit(event)
