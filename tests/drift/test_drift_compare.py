"""The per-key state rules of drift detection, on constructed platform states and a real ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.drift import ExpectedVar, Finding, TargetReading, compare_target, newest_marker, sync_command
from deploycheck.platforms.base import ConfigState, RemoteVar
from deploycheck.redact import fingerprint
from deploycheck.state import Ledger, LedgerEntry

KEY = b"k" * 32
SECRET = "s3cr3t-value-0123456789abcdef"
NEW_SECRET = "n3w-s3cr3t-value-9876543210fedcba"


def fp(value: str) -> str:
    return fingerprint(value, KEY)


def reading(
    vars_: dict[str, RemoteVar],
    *,
    platform: str = "convex",
    marker: str | None = None,
    recorded_marker: str | None = None,
    recorded_bindings: dict[str, str] | None = None,
    active_bindings: dict[str, str] | None = None,
    target: str = "T",
) -> TargetReading:
    return TargetReading(
        target=target,
        platform=platform,
        resource="res",
        state=ConfigState(platform, "res", vars_, marker=marker),
        recorded_marker=recorded_marker,
        recorded_bindings=recorded_bindings,
        active_bindings=active_bindings,
    )


def ledger_with(*records: tuple[str, str, str | None], target: str = "T") -> Ledger:
    ledger = Ledger(Path("/nonexistent/ledger.json"))
    for index, (key, value, marker) in enumerate(records):
        ledger.record("prod", target, key, LedgerEntry(fp(value), f"2026-01-01T00:00:0{index}Z", marker))
    return ledger


def compare(r: TargetReading, expected: list[ExpectedVar], ledger: Ledger | None) -> list[Finding]:
    findings, _ = compare_target("prod", r, expected, ledger, mode="deploy-prod", fingerprint_fn=fp)
    return findings


def one(findings: list[Finding], key: str) -> Finding:
    matches = [f for f in findings if f.key == key]
    assert len(matches) == 1, findings
    return matches[0]


def test_readable_equal_value_is_in_sync() -> None:
    """A readable value with the SoT's fingerprint is in sync, with or without a ledger entry."""
    r = reading({"A": RemoteVar("A", "1", secret=False)})
    assert one(compare(r, [ExpectedVar("A", "1", False)], None), "A").state == "in_sync"


def test_readable_changed_on_platform_is_value_differs() -> None:
    """A readable value changed after the sync recorded the SoT's value is value_differs with a sync command."""
    r = reading({"A": RemoteVar("A", "other", secret=False)})
    f = one(compare(r, [ExpectedVar("A", "1", False)], ledger_with(("A", "1", None))), "A")
    assert f.state == "value_differs"
    assert f.expected == "1"
    assert f.actual == "other"
    assert f.command == "deploycheck sync-env --mode=deploy-prod --env prod --only A --target T --yes"
    assert "after the last sync" in f.detail


def test_readable_still_last_synced_value_is_pending() -> None:
    """A readable value equal to what the ledger says was written, while the SoT moved on, is pending."""
    r = reading({"A": RemoteVar("A", "old", secret=False)})
    f = one(compare(r, [ExpectedVar("A", "new", False)], ledger_with(("A", "old", None))), "A")
    assert f.state == "pending"


def test_readable_secret_is_shown_as_fingerprint() -> None:
    """A readable value of a secret key (Convex) is shown by fingerprint on both sides."""
    r = reading({"S": RemoteVar("S", NEW_SECRET, secret=False)})
    f = one(compare(r, [ExpectedVar("S", SECRET, True)], None), "S")
    assert f.state == "value_differs"
    assert f.expected == fp(SECRET)
    assert f.actual == fp(NEW_SECRET)


def test_absent_key_is_missing() -> None:
    """A key the platform does not hold is missing, secret or not."""
    r = reading({}, platform="cloudflare-worker")
    findings = compare(r, [ExpectedVar("A", "1", False), ExpectedVar("S", SECRET, True)], None)
    assert [f.state for f in findings] == ["missing", "missing"]
    assert findings[1].expected == fp(SECRET)


def test_write_only_without_ledger_is_unverifiable_and_does_not_fail() -> None:
    """A present write-only secret never synced is unverifiable: a warning saying to sync once."""
    r = reading({"S": RemoteVar("S", None, secret=True)}, platform="github-actions")
    f = one(compare(r, [ExpectedVar("S", SECRET, True)], None), "S")
    assert f.state == "unverifiable"
    assert not f.fails
    assert "sync once" in f.action


def test_write_only_ledger_matches_is_in_sync() -> None:
    """A present secret whose ledger fingerprint and marker match is in sync."""
    r = reading({"S": RemoteVar("S", None, secret=True, marker="t1")}, platform="github-actions")
    f = one(compare(r, [ExpectedVar("S", SECRET, True)], ledger_with(("S", SECRET, "t1"))), "S")
    assert f.state == "in_sync"


def test_write_only_sot_changed_is_pending() -> None:
    """A secret whose SoT value is not the one last written is pending."""
    r = reading({"S": RemoteVar("S", None, secret=True, marker="t1")}, platform="github-actions")
    f = one(compare(r, [ExpectedVar("S", NEW_SECRET, True)], ledger_with(("S", SECRET, "t1"))), "S")
    assert f.state == "pending"
    assert f.fails


def test_per_key_marker_moved_is_changed_out_of_band() -> None:
    """A GitHub secret whose updated_at moved since the sync is changed_out_of_band."""
    r = reading({"S": RemoteVar("S", None, secret=True, marker="t2")}, platform="github-actions")
    f = one(compare(r, [ExpectedVar("S", SECRET, True)], ledger_with(("S", SECRET, "t1"))), "S")
    assert f.state == "changed_out_of_band"
    assert "t2" in f.detail and "t1" in f.detail


def test_worker_version_change_makes_every_secret_untrusted() -> None:
    """A new Worker version not made by deploycheck makes every write-only secret changed out of band
    (cannot tell which), with one target note."""
    r = reading(
        {"S1": RemoteVar("S1", None, secret=True), "S2": RemoteVar("S2", None, secret=True)},
        platform="cloudflare-worker",
        marker="v2",
        recorded_marker="v1",
    )
    ledger = ledger_with(("S1", SECRET, "v1"), ("S2", NEW_SECRET, "v1"))
    findings, notes = compare_target(
        "prod",
        r,
        [ExpectedVar("S1", SECRET, True), ExpectedVar("S2", NEW_SECRET, True)],
        ledger,
        mode="deploy-prod",
        fingerprint_fn=fp,
    )
    assert [f.state for f in findings] == ["changed_out_of_band", "changed_out_of_band"]
    assert all("cannot tell which" in f.detail for f in findings)
    assert len(notes) == 1
    assert "v1" in notes[0].message and "v2" in notes[0].message


def test_worker_binding_change_is_named_in_the_detail() -> None:
    """With version bindings, every secret is changed_out_of_band and the changed binding is named."""
    r = reading(
        {"S1": RemoteVar("S1", None, secret=True), "S2": RemoteVar("S2", None, secret=True)},
        platform="cloudflare-worker",
        marker="v2",
        recorded_marker="v1",
        recorded_bindings={"S1": "secret_text", "S2": "plain_text"},
        active_bindings={"S1": "secret_text", "S2": "secret_text"},
    )
    ledger = ledger_with(("S1", SECRET, "v1"), ("S2", NEW_SECRET, "v1"))
    findings = compare(r, [ExpectedVar("S1", SECRET, True), ExpectedVar("S2", NEW_SECRET, True)], ledger)
    assert one(findings, "S1").state == "changed_out_of_band"
    assert one(findings, "S2").state == "changed_out_of_band"
    assert "plain_text -> secret_text" in one(findings, "S2").detail
    assert "binding changed" not in one(findings, "S1").detail


def test_pages_deployment_marker_change_is_not_reported() -> None:
    """The Pages active deployment changes on code deploys; it yields neither notes nor findings."""
    r = reading(
        {"S": RemoteVar("S", None, secret=True)},
        platform="cloudflare-pages",
        marker="d2",
        recorded_marker="d1",
    )
    findings, notes = compare_target(
        "prod",
        r,
        [ExpectedVar("S", SECRET, True)],
        ledger_with(("S", SECRET, "d1")),
        mode="deploy-prod",
        fingerprint_fn=fp,
    )
    assert [f.state for f in findings] == ["in_sync"]
    assert notes == []


def test_platform_only_key_is_unexpected_with_a_removal_hint() -> None:
    """A key only the platform holds is unexpected, with how to remove it or add it to the SoT."""
    r = reading({"EXTRA": RemoteVar("EXTRA", None, secret=True)}, platform="github-actions", target="GITHUB")
    r = TargetReading(
        target="GITHUB", platform="github-actions", resource="example/app:production", state=r.state
    )
    f = one(compare(r, [], None), "EXTRA")
    assert f.state == "unexpected"
    assert f.command == "deploycheck sync-env --mode=deploy-prod --env prod --target GITHUB --remove EXTRA --yes"
    assert f.vendor_command is None
    assert "add it to the SoT" in f.action


def test_github_names_compare_case_insensitively() -> None:
    """GitHub stores names upper case; a lower-case SoT key still matches and nothing is unexpected."""
    r = reading({"MY_VAR": RemoteVar("MY_VAR", "x", secret=False)}, platform="github-actions")
    findings = compare(r, [ExpectedVar("my_var", "x", False)], None)
    assert [(f.key, f.state) for f in findings] == [("my_var", "in_sync")]


@pytest.mark.parametrize(
    "state", ["missing", "value_differs", "pending", "changed_out_of_band", "unexpected"]
)
def test_drift_states_fail_unless_acknowledged(state: str) -> None:
    """Every drift state but unverifiable fails the run."""
    f = Finding("prod", "T", "convex", "r", "K", state, False, "a", "b")  # type: ignore[arg-type]
    assert f.fails


def test_sync_command_quotes_arguments() -> None:
    """The remediation command is shell-quoted."""
    assert sync_command("local", "dev env", "K", "T") == (
        "deploycheck sync-env --mode=local --env 'dev env' --only K --target T"
    )


def test_newest_marker_picks_the_latest_write() -> None:
    """The recorded target-wide marker is the one of the most recent write."""
    a = LedgerEntry("sha256:1", "2026-01-01T00:00:00Z", "v1")
    b = LedgerEntry("sha256:2", "2026-01-02T00:00:00Z", "v2")
    assert newest_marker([a, None, b]) == "v2"
    assert newest_marker([None]) is None


def test_type_mismatch_on_typed_platform_is_value_differs() -> None:
    """A key the SoT says is secret but the Worker holds as a plain var is value_differs, shown by fingerprint."""
    r = reading({"S": RemoteVar("S", SECRET, secret=False)}, platform="cloudflare-worker")
    f = one(compare(r, [ExpectedVar("S", SECRET, True)], None), "S")
    assert f.state == "value_differs"
    assert "stored as plain, the SoT says secret" in f.detail
    assert SECRET not in f"{f.expected} {f.actual}"


def test_untyped_platform_secret_flag_does_not_hide_plain_values() -> None:
    """Convex marks unknown names secret; a key the SoT says is plain is still shown as its value."""
    r = reading({"A": RemoteVar("A", "staging", secret=True)}, platform="convex")
    f = one(compare(r, [ExpectedVar("A", "production", False)], None), "A")
    assert (f.expected, f.actual) == ("production", "staging")


def test_extra_key_created_by_deploycheck_is_removed_by_name() -> None:
    """An unexpected key the ledger says deploycheck created is removed with sync-env --remove KEY."""
    ledger = Ledger(Path("/nonexistent/ledger.json"))
    ledger.record("prod", "T", "OLD", LedgerEntry(fp("x"), "2026-01-01T00:00:00Z", created=True))
    r = reading({"OLD": RemoteVar("OLD", "x", secret=False)})
    f = one(compare(r, [], ledger), "OLD")
    assert f.state == "unexpected"
    assert f.command == "deploycheck sync-env --mode=deploy-prod --env prod --target T --remove OLD --yes"
