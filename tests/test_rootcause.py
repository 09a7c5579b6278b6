"""Root causes: failures sharing an endpoint, a credential, a 5xx or a drifted key fold into one headline."""

from __future__ import annotations

from deploycheck.report import CheckRecord, group_causes, render_causes


def record(name: str, message: str, *, outcome: str = "fail", platform: str = "cloudflare-pages",
           resource: str = "app-web") -> CheckRecord:  # fmt: skip
    return CheckRecord(id=f"checks/test_x.py::{name}", env="sandbox", platform=platform, outcome=outcome,  # type: ignore[arg-type]
                       duration=0.0, message=message, resource=resource)  # fmt: skip


REFUSED = "cloudflare-pages: read pages project failed: connection refused (127.0.0.1:8760) (still failing after 3 retries)."


def test_a_stopped_sandbox_is_one_cause_naming_its_address() -> None:
    """Connection refusals on several loopback ports of the sandbox become one "sandbox unreachable at" cause."""
    records = [
        record("a", REFUSED),
        record("b", "convex: list environment variables failed: connection refused (127.0.0.1:8762)", platform="convex"),
        record("c", "GET http://127.0.0.1:8763/ failed: connection refused or reset; expected HTTP 200"),
        record("d", "cloudflare-worker log-ingestion: connection refused or reset", platform="cloudflare-worker"),
        record("e", "fine", outcome="pass"),
    ]
    causes = group_causes(records, sandbox_hint="http://127.0.0.1:8765")
    assert len(causes) == 1
    assert causes[0].headline == "sandbox unreachable at 127.0.0.1:8760, 8762, 8763"
    assert [c.id.rsplit("::")[-1] for c in causes[0].checks] == ["a", "b", "c", "d"]


def test_without_a_sandbox_each_unreachable_endpoint_is_its_own_cause() -> None:
    """Outside the sandbox, two unreachable endpoints are two causes, each naming platform and endpoint."""
    causes = group_causes([
        record("a", "cloudflare-pages: read failed: connection refused (api.cloudflare.com:443)"),
        record("b", "github-actions: list failed: connection refused (api.github.com:443)", platform="github-actions"),
    ])
    assert [c.headline for c in causes] == [
        "cloudflare-pages unreachable at api.cloudflare.com:443 (connection refused)",
        "github-actions unreachable at api.github.com:443 (connection refused)",
    ]


def test_a_5xx_takes_its_dependent_checks_under_one_headline_worst_first() -> None:
    """A Pages 503 groups the page check and the marker check; an unreachable platform sorts before it."""
    records = [
        record("answers", "cloudflare-pages app-web: GET http://x/ answered HTTP 503 in 5 ms; expected HTTP 200"),
        record("marker", "cloudflare-pages app-web: GET http://x/ answered HTTP 503 in 5 ms; cannot look for the marker"),
        record("own", "the Worker reports version v1, expected v2", platform="cloudflare-worker", resource="w"),
        record("gh", "github-actions: list variables failed: connection refused (api.github.com:443)",
               platform="github-actions", resource="example-app"),
    ]
    causes = group_causes(records)
    assert [c.kind for c in causes] == ["unreachable", "server-error", "check"]
    assert causes[1].headline == "cloudflare-pages app-web answered HTTP 503"
    assert [c.id.rsplit("::")[-1] for c in causes[1].checks] == ["answers", "marker"]
    lines = render_causes(causes)
    assert lines[0] == "3 root causes of 4 failed checks:"
    assert "2. cloudflare-pages app-web answered HTTP 503 (2 checks)" in lines


def test_missing_credentials_and_drift_are_named() -> None:
    """Unset credentials name the variable; a drifted key groups its config and drift checks with the remedy."""
    causes = group_causes([
        record("c1", "missing platform credentials (1 problem): - environment: GITHUB_TOKEN: GITHUB_TOKEN is not set."),
        record("c2", "missing platform credentials (1 problem): - environment: GITHUB_TOKEN: GITHUB_TOKEN is not set."),
        record("d1", "convex prod (CONVEX): APP_ENV differs (platform sha256:1, source of truth sha256:2)"),
        record("d2", "APP_ENV on CONVEX (convex prod): value_differs; expected a, actual b. Action: write the SoT's "
                     "value: deploycheck sync-env --mode=deploy-prod --env sandbox --only APP_ENV --target CONVEX "
                     "(or update the SoT if the platform is right)"),
    ])
    assert [(c.kind, c.headline, c.count) for c in causes] == [
        ("credentials", "credentials missing: GITHUB_TOKEN not set", 2),
        ("drift", "APP_ENV on CONVEX drifted from the source of truth", 2),
    ]
    assert "deploycheck sync-env --mode=deploy-prod --env sandbox --only APP_ENV --target CONVEX" in causes[1].hint


def test_warnings_and_passes_are_no_cause() -> None:
    """Only failed and errored checks have root causes."""
    assert group_causes([record("w", "slow", outcome="warn"), record("p", "", outcome="pass")]) == []
    assert render_causes([]) == []


def test_ports_that_are_not_consecutive_are_listed() -> None:
    """Free ports of a --port 0 sandbox are listed, not shown as a range they do not fill."""
    causes = group_causes(
        [
            record("a", "x: read failed: connection refused (127.0.0.1:34385)"),
            record("b", "y: read failed: connection refused (127.0.0.1:46089)"),
        ],
        sandbox_hint="http://127.0.0.1:40000",
    )
    assert causes[0].headline == "sandbox unreachable at 127.0.0.1:34385, 46089"
