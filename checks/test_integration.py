"""Integration across platforms: the app talks to the Convex deployment checked, the Worker takes its logs.

Built-in checks plus one test per chain of ``checks.integration`` (ids
``test_integration_chain[production-worker-log-roundtrip]``); a chain step with
``poll: true`` retries within ``checks.poll`` and a chain passing only after retries WARNs.
The chains (``log_roundtrip``, each ``chain_verdict``) start with the session's first
check and run concurrently with each other and with the platform reads.
"""

from __future__ import annotations

import pytest

from deploycheck.verify import app_convex_url


@pytest.mark.platform("cloudflare-pages")
def test_app_uses_checked_convex(target, config_read, convex, dc_config, dc_checks, request, judge) -> None:
    """The app's NEXT_PUBLIC_CONVEX_URL (on Pages, else in the SoT) names the Convex deployment checked."""
    if target.name != dc_checks.pages.target:
        pytest.skip(f"target {target.name} is not checks.pages.target ({dc_checks.pages.target})")
    setting = dc_config.settings.get("CONVEX_URL")
    names = setting.names[1:] if setting is not None else ("NEXT_PUBLIC_CONVEX_URL",)
    url, source = None, ""
    if config_read.error is None:
        for name in names:
            var = config_read.value.vars.get(name)
            if var is not None and var.value:
                url, source = var.value, f"{name} on {target.platform} {target.resource}"
                break
    if url is None:
        try:
            sot = request.getfixturevalue("dc_sot")
        except pytest.skip.Exception:
            sot = None
        column = request.getfixturevalue("dc_env").values
        for entry in sot.for_target(target.name) if sot is not None else ():
            if entry.key in names and entry.value(column):
                url, source = entry.value(column), f"{entry.key} in the source of truth"
                break
    if not source:
        why = config_read.unavailable or config_read.message or "unset"
        source = f"not on {target.platform} ({why}) nor in the SoT"
    judge(app_convex_url(url, source, convex.instance_name, convex.instance_error))


@pytest.mark.platform("cloudflare-worker")
@pytest.mark.destructive
def test_worker_accepts_app_logs(log_roundtrip, judge) -> None:
    """The Worker accepts a log from the app's origin (CORS preflight, POST) and lists it (GET /logs)."""
    judge(log_roundtrip)


def test_integration_chain(chain_verdict, judge) -> None:
    """The configured chain of HTTP steps meets every step's expectations."""
    judge(chain_verdict)
