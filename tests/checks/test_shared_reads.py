"""One read per platform per run: the config checks, the drift checks and the rest share every API read."""

from __future__ import annotations

from collections import Counter

API_SERVICES = ("cloudflare", "github", "convex")


def _reads(sandbox_admin) -> Counter[tuple[str, str]]:
    return Counter(
        (e["service"], e["path"].split("?")[0])
        for e in sandbox_admin.requests()
        if e["service"] in API_SERVICES and e["method"] == "GET"
    )


def test_each_platform_endpoint_is_read_once(run_checks, sandbox_admin) -> None:
    """A whole run of the checks reads every platform API endpoint exactly once (the sandbox's request log)."""
    sandbox_admin.clear_requests()
    run = run_checks()
    assert run.returncode == 0, run.output
    reads = _reads(sandbox_admin)
    assert reads, "no platform was read"
    assert {endpoint: n for endpoint, n in reads.items() if n > 1} == {}
    for service, path_part in (("cloudflare", "/pages/projects/app-web"), ("cloudflare", "/log-ingestion/settings"),
                               ("github", "/variables"), ("convex", "/list_environment_variables")):  # fmt: skip
        assert any(s == service and path.endswith(path_part) for s, path in reads), (service, path_part, reads)


def test_a_failing_platform_is_retried_once_per_run_not_per_reader(run_checks, sandbox_admin) -> None:
    """With GitHub answering 500, its variables are asked 1 + 3 retries times in the run, not once per check kind."""
    sandbox_admin.fault(service="github", status=500)
    sandbox_admin.clear_requests()
    run = run_checks("-k", "GITHUB or example-app")
    assert run.returncode == 1, run.output
    variables = [n for (s, path), n in _reads(sandbox_admin).items() if s == "github" and path.endswith("/variables")]
    assert variables == [4], _reads(sandbox_admin)
