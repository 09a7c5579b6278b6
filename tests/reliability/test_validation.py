"""Validation and redaction gaps: loopback addresses, a BOM, Pages sizes, platform counts, short and
escaped secrets. Each bad table is refused with exit 2 naming file and line, before any write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deploycheck.redact import Redactor
from deploycheck.sandbox.admin import AdminClient

from .conftest import Workspace

pytestmark = pytest.mark.sandbox
SYNC = ["sync-env", "--mode=deploy-prod", "--env", "sandbox", "--yes"]


def tag(request: pytest.FixtureRequest, row: str) -> None:
    """Count this test in the "validation" table."""
    request.node.user_properties.append(("reliability-cell", f"validation|{row}|sync-env"))


def set_prod(ws: Workspace, key: str, value: str) -> int:
    """Give ``key`` the PROD value ``value`` in the workspace table; return its line number."""
    lines = ws.sot.read_text("utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        cells = line.split("|")
        if len(cells) > 5 and cells[3].strip() == key:
            cells[5] = f" {value} "
            lines[number - 1] = "|".join(cells)
            ws.sot.write_text("\n".join(lines) + "\n", "utf-8")
            return number
    raise AssertionError(key)


def add_rows(ws: Workspace, rows: list[str]) -> None:
    """Append table rows to the workspace table."""
    ws.sot.write_text(ws.sot.read_text("utf-8") + "".join(r + "\n" for r in rows), "utf-8")


@pytest.mark.parametrize("host", ["127.0.0.2", "127.1.2.3", "[::1]"])
def test_any_loopback_address_is_refused_in_production(
    host: str, request: pytest.FixtureRequest, workspace: Workspace, admin: AdminClient, run_cli: Any
) -> None:
    """A PROD value pointing at any address of 127.0.0.0/8 or ::1 is refused (exit 2, file:line)."""
    tag(request, f"PROD value at {host}")
    line = set_prod(workspace, "NEXT_PUBLIC_LOG_INGEST_URL", f"http://{host}:8080/logs")
    done = run_cli(SYNC)
    assert done.code == 2, done.text
    assert f"{workspace.sot}:{line}" in done.err
    assert admin.writes() == []


def test_table_saved_with_a_bom_reads_like_without(
    request: pytest.FixtureRequest, workspace: Workspace, run_cli: Any
) -> None:
    """A table saved as UTF-8 with a byte-order mark syncs like the same table without it."""
    tag(request, "UTF-8 BOM")
    workspace.sot.write_bytes(b"\xef\xbb\xbf" + workspace.sot.read_bytes())
    done = run_cli(SYNC)
    assert done.code == 0, done.text


def test_pages_value_over_its_size_limit_is_refused(
    request: pytest.FixtureRequest, workspace: Workspace, admin: AdminClient, run_cli: Any
) -> None:
    """A Pages value over 5 KB is refused before any write, naming the limit."""
    tag(request, "Pages value > 5 KB")
    line = set_prod(workspace, "NEXT_PUBLIC_LOG_INGEST_URL", "https://logs.example.com/" + "x" * 6000)
    done = run_cli(SYNC)
    assert done.code == 2, done.text
    assert f"{workspace.sot}:{line}" in done.err and "Cloudflare Pages" in done.err
    assert admin.writes() == []


@pytest.mark.parametrize(
    ("target", "count", "secret", "limit"),
    [("GITHUB", 101, True, "100"), ("CLOUDFLARE_WORKER", 124, False, "128")],
)
def test_platform_count_limits_are_checked_before_any_write(
    target: str, count: int, secret: bool, limit: str,
    request: pytest.FixtureRequest, workspace: Workspace, admin: AdminClient, run_cli: Any,
) -> None:  # fmt: skip
    """More secrets than GitHub's 100, or more Worker variables and secrets than 128, are refused
    (exit 2) and nothing is written to any platform."""
    tag(request, f"{target} over {limit}")
    name = "EXTRA_SECRET" if secret else "EXTRA_VAR"
    add_rows(
        workspace,
        [f"| {target} | Extra | {name}_{i} | dev-value-{i:04d} | prod-value-{i:04d} |" for i in range(count)],
    )
    done = run_cli(SYNC)
    assert done.code == 2, done.text
    assert f"at most {limit}" in done.err
    assert admin.writes() == []


def test_count_includes_what_the_platform_already_holds(
    request: pytest.FixtureRequest, workspace: Workspace, admin: AdminClient, run_cli: Any, sandbox: Any
) -> None:
    """Keys the Worker already holds (not in the table, kept) count too: a sync that would push the
    Worker past 128 is refused before any write, though the table alone is under the limit."""
    tag(request, "Worker over 128 with existing keys")
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sandbox.cloudflare_api_token}"
    base = f"{sandbox.cloudflare_api_base_url}/accounts/{sandbox.cloudflare_account_id}/workers/scripts/log-ingestion"
    secrets = {
        f"OLD_{i}": {"name": f"OLD_{i}", "text": "old-value", "type": "secret_text"} for i in range(100)
    }
    response = session.patch(
        f"{base}/secrets-bulk",
        data=json.dumps({"secrets": secrets}),
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    add_rows(
        workspace,
        [f"| CLOUDFLARE_WORKER | Extra | EXTRA_VAR_{i} | dev-{i:04d} | prod-{i:04d} |" for i in range(30)],
    )
    admin.clear_requests()
    done = run_cli(SYNC)
    assert done.code == 2, done.text
    assert "at most 128" in done.err and "the keys it holds" in done.err
    assert admin.writes() == []


def test_short_secret_is_masked_inside_words(request: pytest.FixtureRequest) -> None:
    """A 4-7 character secret never shows, even glued into an identifier (id_<secret>_x)."""
    tag(request, "short secret inside a word")
    redactor = Redactor()
    redactor.add("Zq9!x")
    assert "Zq9!x" not in redactor.redact("id_Zq9!x_x and Zq9!x")


def test_tiny_secret_is_refused_by_the_table(
    request: pytest.FixtureRequest, workspace: Workspace, admin: AdminClient, run_cli: Any
) -> None:
    """A secret of fewer than 4 characters cannot be masked, so the table refuses it (exit 2)."""
    tag(request, "1-3 character secret")
    line = set_prod(workspace, "SLACK_WEBHOOK_URL", "ab1")
    done = run_cli(SYNC)
    assert done.code == 2, done.text
    assert f"{workspace.sot}:{line}" in done.err and "shorter than 4" in done.err
    assert admin.writes() == []


def test_pytest_l_locals_do_not_show_a_secret(
    pytester: pytest.Pytester, request: pytest.FixtureRequest
) -> None:
    """With pytest -l, a failing check's locals (shown with repr, which escapes \\ and ') hide the
    secret and every 8-character piece of it."""
    tag(request, "pytest -l repr of a secret")
    secret = "Qw\\rT\\zX\\pL\\mN\\kB"  # a backslash every 3 characters: no 8-character piece survives repr
    pytester.makepyfile(
        test_leak=f"""
        from deploycheck.redact import register_secret

        def test_leak():
            value = {secret!r}
            register_secret(value)
            assert value == "something else"
        """
    )
    result = pytester.runpytest_subprocess("-l", "-p", "no:cacheprovider", "--no-reports")
    output = result.stdout.str() + result.stderr.str()
    shown = repr(secret)[1:-1]
    assert "test_leak" in output
    assert not any(shown[i : i + 8] in output for i in range(len(shown) - 7)), output
