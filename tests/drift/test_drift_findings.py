"""Every drift finding as the report shows it: each field of each state, remediation commands and hints included."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from deploycheck.drift import ExpectedVar, Finding, Note, TargetReading, compare_target
from deploycheck.errors import ConfigError
from deploycheck.platforms.base import ConfigState, RemoteVar
from deploycheck.redact import fingerprint
from deploycheck.state import Ledger, LedgerEntry

KEY = b"f" * 32
SECRET = "s3cr3t-value-0123456789abcdef"
OTHER = "0ther-s3cr3t-value-fedcba9876"
WHEN = "2026-02-03T04:05:06Z"


def fp(value: str) -> str:
    return fingerprint(value, KEY)


def reading(
    vars_: dict[str, RemoteVar],
    platform: str = "convex",
    resource: str = "happy-otter-123",
    **extra: object,
) -> TargetReading:
    marker = extra.pop("marker", None)
    return TargetReading(
        target="BACKEND",
        platform=platform,
        resource=resource,
        state=ConfigState(platform, resource, vars_, marker=marker),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def ledger(key: str, value: str, marker: str | None = None, created: bool = False) -> Ledger:
    book = Ledger(Path("/nonexistent/ledger.json"))
    book.record("production", "BACKEND", key, LedgerEntry(fp(value), WHEN, marker, created=created))
    return book


def only(r: TargetReading, expected: list[ExpectedVar], book: Ledger | None = None) -> Finding:
    findings, _ = compare_target("production", r, expected, book, mode="deploy-prod", fingerprint_fn=fp)
    assert len(findings) == 1, findings
    return findings[0]


def finding(r: TargetReading, key: str, **fields: object) -> Finding:
    return Finding(
        env="production", target="BACKEND", platform=r.platform, resource=r.resource, key=key,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def fix(key: str) -> str:
    """The remedy as printed: deploy-prod asks for confirmation off a terminal, so it carries ``--yes``."""
    return f"deploycheck sync-env --mode=deploy-prod --env production --only {key} --target BACKEND --yes"


def test_readable_value_never_synced_differs() -> None:
    """A readable value unlike the SoT's, with no sync recorded, is value_differs saying so, with the fix."""
    r = reading({"API_URL": RemoteVar("API_URL", "https://old.example", secret=False)})
    f = only(r, [ExpectedVar("API_URL", "https://new.example", False, "app.env:4")])
    assert f == finding(
        r, "API_URL", state="value_differs", secret=False,
        expected="https://new.example", actual="https://old.example",
        detail="the platform's value is not the SoT's; no sync of this key is recorded.",
        action=f"write the SoT's value: {fix('API_URL')} (or update the SoT if the platform is right)",
        command=fix("API_URL"),
    )  # fmt: skip


def test_readable_value_neither_sot_nor_synced() -> None:
    """A readable value that is neither the SoT's nor the last synced one says exactly that."""
    r = reading({"API_URL": RemoteVar("API_URL", "https://third.example", secret=False)})
    f = only(r, [ExpectedVar("API_URL", "https://new.example", False)], ledger("API_URL", "https://old.example"))
    assert f.state == "value_differs"
    assert f.detail == "the platform's value is neither the SoT's nor the one last synced."
    assert f.command == fix("API_URL")


def test_readable_value_changed_after_sync() -> None:
    """A readable value changed after the sync wrote the SoT's value names the time of that sync."""
    r = reading({"API_URL": RemoteVar("API_URL", "https://third.example", secret=False)})
    f = only(r, [ExpectedVar("API_URL", "https://new.example", False)], ledger("API_URL", "https://new.example"))
    assert f.detail == f"changed on the platform after the last sync ({WHEN})."


def test_readable_pending_finding() -> None:
    """A platform still holding the last synced value while the SoT moved on is pending, with where the SoT changed."""
    r = reading({"API_URL": RemoteVar("API_URL", "https://old.example", secret=False)})
    f = only(
        r, [ExpectedVar("API_URL", "https://new.example", False, "app.env:4")], ledger("API_URL", "https://old.example")
    )
    assert f == finding(
        r, "API_URL", state="pending", secret=False,
        expected="https://new.example", actual="https://old.example",
        detail=f"the SoT (app.env:4) changed since the last sync ({WHEN}); the platform still holds the value written then.",
        action=f"sync it: {fix('API_URL')}", command=fix("API_URL"),
    )  # fmt: skip


def test_readable_in_sync_plain_value_is_shown_as_is() -> None:
    """An in-sync plain value shows the value itself on both sides and no remediation."""
    r = reading({"MODE": RemoteVar("MODE", "live", secret=False)})
    f = only(r, [ExpectedVar("MODE", "live", False)])
    assert f == finding(r, "MODE", state="in_sync", secret=False, expected="live", actual="live")


def test_write_only_secret_never_synced_is_unverifiable() -> None:
    """A write-only secret with no ledger entry is unverifiable: fingerprint expected, "(write-only, present)" found."""
    r = reading({"TOKEN": RemoteVar("TOKEN", None, secret=True)}, platform="cloudflare-worker", resource="api")
    f = only(r, [ExpectedVar("TOKEN", SECRET, True)])
    assert f == finding(
        r, "TOKEN", state="unverifiable", secret=True, expected=fp(SECRET), actual="(write-only, present)",
        detail="a write-only secret with no ledger entry: its value cannot be read or compared.",
        action=f"run a sync once to record its fingerprint: {fix('TOKEN')}", command=fix("TOKEN"),
    )  # fmt: skip


def test_write_only_secret_pending() -> None:
    """A write-only secret whose SoT value is not the one last written is pending, showing the last sync."""
    r = reading({"TOKEN": RemoteVar("TOKEN", None, secret=True)}, platform="cloudflare-worker", resource="api")
    f = only(r, [ExpectedVar("TOKEN", SECRET, True, "app.env:9")], ledger("TOKEN", OTHER))
    assert f == finding(
        r, "TOKEN", state="pending", secret=True, expected=fp(SECRET),
        actual=f"{fp(OTHER)} (last synced {WHEN})",
        detail=f"the SoT (app.env:9) changed since the last sync ({WHEN}).",
        action=f"sync it: {fix('TOKEN')}", command=fix("TOKEN"),
    )  # fmt: skip


def test_write_only_secret_in_sync_shows_the_last_sync() -> None:
    """An in-sync write-only secret shows its fingerprint and the ledger's record, no remediation."""
    r = reading({"TOKEN": RemoteVar("TOKEN", None, secret=True)}, platform="cloudflare-worker", resource="api")
    f = only(r, [ExpectedVar("TOKEN", SECRET, True)], ledger("TOKEN", SECRET))
    assert f == finding(
        r, "TOKEN", state="in_sync", secret=True, expected=fp(SECRET), actual=f"{fp(SECRET)} (last synced {WHEN})"
    )


def test_write_only_secret_marker_moved() -> None:
    """A secret whose per-key marker moved since the sync is changed_out_of_band, naming both markers."""
    r = reading(
        {"TOKEN": RemoteVar("TOKEN", None, secret=True, marker="2026-03-01")},
        platform="github-actions", resource="example/app:production",
    )  # fmt: skip
    f = only(r, [ExpectedVar("TOKEN", SECRET, True)], ledger("TOKEN", SECRET, marker="2026-02-03"))
    assert f == finding(
        r, "TOKEN", state="changed_out_of_band", secret=True, expected=fp(SECRET), actual=f"changed after {WHEN}",
        detail="changed on the platform after the last sync: its change marker is 2026-03-01; "
        "the last sync recorded 2026-02-03.",
        action=f"overwrite it with the SoT's value: {fix('TOKEN')} (or update the SoT first)",
        command=fix("TOKEN"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("before", "now", "shown"),
    [
        ({"TOKEN": "secret_text"}, {}, "secret_text -> absent"),
        ({}, {"TOKEN": "secret_text"}, "absent -> secret_text"),
    ],
)
def test_write_only_secret_binding_changed(before: dict[str, str], now: dict[str, str], shown: str) -> None:
    """An out-of-band Worker version change untrusts its secrets; one whose binding appeared or vanished between
    the versions also says which way, "absent" for none."""
    r = reading(
        {"TOKEN": RemoteVar("TOKEN", None, secret=True)}, platform="cloudflare-worker", resource="api",
        marker="v2", recorded_marker="v1", recorded_bindings=before, active_bindings=now,
    )  # fmt: skip
    findings, _ = compare_target(
        "production", r, [ExpectedVar("TOKEN", SECRET, True)], ledger("TOKEN", SECRET), mode="deploy-prod",
        fingerprint_fn=fp,
    )  # fmt: skip
    assert findings[0].state == "changed_out_of_band"
    assert findings[0].detail == (
        "changed on the platform after the last sync: changed out of band (cannot tell which): api is at version "
        f"v2, the last sync left v1, and secret values cannot be read. Its binding changed: {shown}."
    )


@pytest.mark.parametrize("side", ["recorded_bindings", "active_bindings"])
def test_one_side_of_the_bindings_unknown_is_not_a_change(side: str) -> None:
    """When only one version's bindings are known, the version change still untrusts the secret (its value
    cannot be read), but no binding change is claimed."""
    r = reading(
        {"TOKEN": RemoteVar("TOKEN", None, secret=True)}, platform="cloudflare-worker", resource="api",
        marker="v2", recorded_marker="v1", **{side: {"TOKEN": "secret_text"}},
    )  # fmt: skip
    findings, _ = compare_target(
        "production", r, [ExpectedVar("TOKEN", SECRET, True)], ledger("TOKEN", SECRET), mode="deploy-prod",
        fingerprint_fn=fp,
    )  # fmt: skip
    assert findings[0].state == "changed_out_of_band"
    assert findings[0].detail == (
        "changed on the platform after the last sync: changed out of band (cannot tell which): api is at version "
        "v2, the last sync left v1, and secret values cannot be read."
    )


def test_same_worker_version_keeps_a_synced_secret_in_sync() -> None:
    """A Worker secret whose version is the one the last sync left, with the same binding, stays in sync."""
    r = reading(
        {"TOKEN": RemoteVar("TOKEN", None, secret=True)}, platform="cloudflare-worker", resource="api",
        marker="v1", recorded_marker="v1", recorded_bindings={"TOKEN": "secret_text"},
        active_bindings={"TOKEN": "secret_text"},
    )  # fmt: skip
    findings, notes_ = compare_target(
        "production", r, [ExpectedVar("TOKEN", SECRET, True)], ledger("TOKEN", SECRET), mode="deploy-prod",
        fingerprint_fn=fp,
    )  # fmt: skip
    assert findings[0].state == "in_sync"
    assert notes_ == []


def test_missing_key_finding() -> None:
    """A key the platform lacks is missing: "(absent)", the resource named, the write command."""
    r = reading({})
    f = only(r, [ExpectedVar("MODE", "live", False)])
    assert f == finding(
        r, "MODE", state="missing", secret=False, expected="live", actual="(absent)",
        detail="happy-otter-123 does not hold this key.", action=f"write it: {fix('MODE')}", command=fix("MODE"),
    )  # fmt: skip


def test_missing_key_that_was_synced_says_when() -> None:
    """A missing key the ledger says was written says when it was last synced; a secret shows its fingerprint."""
    r = reading({})
    f = only(r, [ExpectedVar("TOKEN", SECRET, True)], ledger("TOKEN", SECRET))
    assert f.expected == fp(SECRET)
    assert f.secret is True
    assert f.detail == f"happy-otter-123 does not hold this key. It was last synced {WHEN}."


def test_secret_stored_as_plain_var_shows_both_kinds() -> None:
    """A SoT secret stored as a plain var: value_differs, expected "secret: <fp>", actual "plain: <fp of the var>"."""
    r = reading({"TOKEN": RemoteVar("TOKEN", OTHER, secret=False)}, platform="cloudflare-worker", resource="api")
    f = only(r, [ExpectedVar("TOKEN", SECRET, True)])
    assert f == finding(
        r, "TOKEN", state="value_differs", secret=True, expected=f"secret: {fp(SECRET)}", actual=f"plain: {fp(OTHER)}",
        detail="stored as plain, the SoT says secret.",
        action=f"rewrite it with the SoT's type and value: {fix('TOKEN')}", command=fix("TOKEN"),
    )  # fmt: skip
    assert OTHER not in repr(f)


def test_plain_value_stored_as_secret_shows_write_only() -> None:
    """A SoT plain value stored as a write-only secret: expected "plain: <value>", actual "secret: (write-only)"."""
    r = reading({"MODE": RemoteVar("MODE", None, secret=True)}, platform="cloudflare-pages", resource="site")
    f = only(r, [ExpectedVar("MODE", "live", False)])
    assert (f.state, f.expected, f.actual) == ("value_differs", "plain: live", "secret: (write-only)")
    assert f.detail == "stored as secret, the SoT says plain."


def _unexpected(platform: str, resource: str, secret: bool, value: str | None = "x") -> Finding:
    r = reading({"EXTRA": RemoteVar("EXTRA", value, secret=secret)}, platform=platform, resource=resource)
    return only(r, [])


REMOVE = "deploycheck sync-env --mode=deploy-prod --env production --target BACKEND --remove EXTRA --yes"


@pytest.mark.parametrize(
    ("platform", "resource", "secret", "vendor"),
    [
        ("convex", "happy-otter-123", True, "npx convex env remove EXTRA"),
        ("cloudflare-worker", "my api", True, "npx wrangler secret delete EXTRA --name 'my api'"),
        ("cloudflare-worker", "api", False, None),
        ("cloudflare-pages", "my site/production", True,
         "npx wrangler pages secret delete EXTRA --project-name 'my site' --env production"),
        ("cloudflare-pages", "site/preview", True,
         "npx wrangler pages secret delete EXTRA --project-name site --env preview"),
        ("cloudflare-pages", "site/production", False, None),
        ("local-dotenv", "web/.env.local", False, None),
        ("github-actions", "example/app:production", True, None),
        ("github-actions", "example/app", False, None),
    ],
)  # fmt: skip
def test_unexpected_key_removal_commands(platform: str, resource: str, secret: bool, vendor: str | None) -> None:
    """Every unexpected key's command is sync-env --remove of exactly that key; the vendor's CLI is named
    as an alternative only where its command runs as printed."""
    f = _unexpected(platform, resource, secret)
    assert f.command == REMOVE
    assert f.vendor_command == vendor
    also = f" (or with the vendor's CLI: {vendor})" if vendor else ""
    assert f.action == f"remove it with {REMOVE}{also}, or add it to the SoT for BACKEND"


def test_unexpected_key_on_an_unknown_platform_is_refused() -> None:
    """A platform the registry does not know gets no made-up hint: the comparison refuses with the valid names."""
    with pytest.raises(ConfigError, match="unknown platform 'fly-io'"):
        _unexpected("fly-io", "app", False)


def test_unexpected_key_finding_fields() -> None:
    """An unexpected key: "(not in the SoT)" expected, the value found (write-only shown as present)."""
    f = _unexpected("cloudflare-worker", "api", False, value="on")
    r = reading({}, platform="cloudflare-worker", resource="api")
    assert f == finding(
        r, "EXTRA", state="unexpected", secret=False, expected="(not in the SoT)", actual="on",
        detail="on the platform but not assigned to this target in the SoT.",
        action=f"remove it with {REMOVE}, or add it to the SoT for BACKEND", command=REMOVE,
    )  # fmt: skip
    hidden = _unexpected("cloudflare-worker", "api", True, value=None)
    assert (hidden.actual, hidden.secret) == ("(write-only, present)", True)
    readable_secret = _unexpected("convex", "happy-otter-123", True, value=SECRET)
    assert readable_secret.actual == fp(SECRET)


def test_unexpected_key_synced_but_not_created_is_not_called_created() -> None:
    """A platform-only key the ledger knows but deploycheck did not create is removed by name, not called ours."""
    r = reading({"EXTRA": RemoteVar("EXTRA", "x", secret=False)})
    f = only(r, [], ledger("EXTRA", "x", created=False))
    assert f.command == REMOVE
    assert not f.action.startswith("deploycheck created it")


def test_unexpected_key_created_by_deploycheck_says_so() -> None:
    """A platform-only key deploycheck created says so; the command removes exactly that key."""
    r = reading({"EXTRA": RemoteVar("EXTRA", "x", secret=False)})
    f = only(r, [], ledger("EXTRA", "x", created=True))
    assert f.command == REMOVE
    assert f.action == (
        f"deploycheck created it: remove it with {REMOVE} (or with the vendor's CLI: npx convex env remove EXTRA), "
        "or add it to the SoT for BACKEND"
    )


# -- target notes and key matching -------------------------------------------------------------


def notes(r: TargetReading) -> list[Note]:
    return compare_target("production", r, [], None, mode="deploy-prod", fingerprint_fn=fp)[1]


NOTE = (
    "api changed since the last sync: marker v1 then, v2 now (any write or deploy changes it). Secret values "
    "cannot be read, so every secret of the target is reported changed out of band; a sync rewrites them."
)


def test_worker_version_change_note_without_bindings() -> None:
    """A new Worker version gives one note: both markers, and that every secret is reported changed out of band."""
    r = reading({}, platform="cloudflare-worker", resource="api", marker="v2", recorded_marker="v1")
    assert notes(r) == [Note(target="BACKEND", platform="cloudflare-worker", message=NOTE)]


def test_worker_version_change_note_with_bindings() -> None:
    """Binding lists, on both sides or one, do not soften the note: the secrets are untrusted all the same."""
    both = reading(
        {}, platform="cloudflare-worker", resource="api", marker="v2", recorded_marker="v1",
        recorded_bindings={}, active_bindings={},
    )  # fmt: skip
    assert [n.message for n in notes(both)] == [NOTE]
    for side in ("recorded_bindings", "active_bindings"):
        one_side = reading(
            {}, platform="cloudflare-worker", resource="api", marker="v2", recorded_marker="v1", **{side: {}}
        )
        assert [n.message for n in notes(one_side)] == [NOTE]


@pytest.mark.parametrize(
    ("marker", "recorded", "platform"),
    [("v2", None, "cloudflare-worker"), (None, "v1", "cloudflare-worker"), ("v1", "v1", "cloudflare-worker"),
     ("d2", "d1", "cloudflare-pages")],
)  # fmt: skip
def test_no_note_without_a_known_config_marker_change(marker: str | None, recorded: str | None, platform: str) -> None:
    """No note when either marker is unknown, when they are equal, or for a marker that only code deploys move."""
    assert notes(reading({}, platform=platform, resource="api", marker=marker, recorded_marker=recorded)) == []


def test_names_are_case_sensitive_outside_github() -> None:
    """On Convex ``api_url`` and ``API_URL`` are different keys: one missing, one unexpected."""
    r = reading({"API_URL": RemoteVar("API_URL", "x", secret=False), "MODE": RemoteVar("MODE", "live", secret=False)})
    findings, _ = compare_target(
        "production", r, [ExpectedVar("api_url", "x", False), ExpectedVar("MODE", "live", False)], None,
        mode="deploy-prod", fingerprint_fn=fp,
    )  # fmt: skip
    assert sorted((f.key, f.state) for f in findings) == [("API_URL", "unexpected"), ("MODE", "in_sync"), ("api_url", "missing")]


class _Record(NamedTuple):
    """A ledger record as the LedgerRecord protocol describes it: no ``created`` attribute."""

    fingerprint: str
    written_at: str
    marker: str | None


class _View:
    def entry(self, env: str, target: str, key: str) -> _Record | None:
        return _Record(fp("x"), WHEN, None)


def test_ledger_records_without_created_flag_are_not_pruned() -> None:
    """A LedgerView whose records carry only the protocol's fields is not taken as "deploycheck created it"."""
    r = reading({"EXTRA": RemoteVar("EXTRA", "x", secret=False)})
    findings, _ = compare_target("production", r, [], _View(), mode="deploy-prod", fingerprint_fn=fp)
    assert findings[0].command == REMOVE
    assert not findings[0].action.startswith("deploycheck created it")


def test_write_only_secret_with_a_protocol_only_record_stays_in_sync() -> None:
    """A ledger record without the ``untrusted`` field (the LedgerRecord protocol's fields only) is trusted: a
    write-only secret whose fingerprint matches and whose target did not move is in sync."""
    r = reading({"TOKEN": RemoteVar("TOKEN", None, secret=True)}, platform="cloudflare-pages", resource="site")
    findings, _ = compare_target("production", r, [ExpectedVar("TOKEN", "x", True)], _View(), mode="deploy-prod",
                                 fingerprint_fn=fp)  # fmt: skip
    assert [(f.state, f.actual) for f in findings] == [("in_sync", f"{fp('x')} (last synced {WHEN})")]


def test_write_only_secret_untrusted_by_the_ledger_is_changed_out_of_band() -> None:
    """A write-only secret the ledger marks untrusted (its target changed through another action after the
    sync wrote it) is changed out of band even though its fingerprint and markers match, saying why."""
    r = reading({"TOKEN": RemoteVar("TOKEN", None, secret=True)}, platform="cloudflare-pages", resource="site")
    book = Ledger(Path("/nonexistent/ledger.json"))
    book.record("production", "BACKEND", "TOKEN", LedgerEntry(fp(SECRET), WHEN, None, untrusted=True))
    f = only(r, [ExpectedVar("TOKEN", SECRET, True)], book)
    assert (f.state, f.actual) == ("changed_out_of_band", f"changed after {WHEN}")
    assert f.detail == (
        "changed on the platform after the last sync: changed out of band (cannot tell which): its target "
        "changed through another action after the last sync wrote it, and the value cannot be read."
    )
