"""Plans computed against fake platform states: add, change, unchanged, remove, extra."""

from __future__ import annotations

from pathlib import Path

from deploycheck.platforms.base import ConfigState, RemoteVar
from deploycheck.redact import fingerprint
from deploycheck.sot import Entry
from deploycheck.state import Ledger, LedgerEntry
from deploycheck.sync import plan_target

SOURCE = Path("/tmp/app.env")
SECRET = "AXq8Lx2vN5bR7tY1wE4uI6oP3aZkQ2xvdWRm"


def entry(key: str, dev: str | None, prod: str | None, *, secret: bool = False, targets: tuple[str, ...] = ("T",)) -> Entry:
    """An entry of target T."""
    return Entry(targets=targets, group="g", key=key, dev=dev, prod=prod, secret=secret, line=1, source=SOURCE)


def state(*remote: RemoteVar, platform: str = "cloudflare-worker") -> ConfigState:
    """A platform state holding ``remote``."""
    return ConfigState(platform=platform, resource="res", vars={v.name: v for v in remote}, marker="m0")


def plan(entries: list[Entry], current: ConfigState, ledger: Ledger | None = None, **kw):  # type: ignore[no-untyped-def]
    """Plan target T in env production with the PROD column unless told otherwise."""
    kw.setdefault("column", "prod")
    return plan_target(
        target="T", entries=entries, state=current, ledger=ledger or Ledger(Path("/nonexistent")), env="production",
        key_fp=fingerprint, **kw,
    )


def actions(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """key -> action of a plan."""
    return {i.key: i.action for i in result.items}


def test_missing_keys_are_added_and_equal_plain_values_unchanged() -> None:
    """A missing key is an add (created), an equal readable value is unchanged, a different one a change."""
    result = plan(
        [entry("A", "d", "1"), entry("B", "d", "2"), entry("C", "d", "3")],
        state(RemoteVar("B", "2", False), RemoteVar("C", "old", False)),
    )
    assert actions(result) == {"A": "add", "B": "unchanged", "C": "change"}
    assert result.item("A").created is True
    assert result.item("C").old == "old" and result.item("C").new == "3"
    assert [c.name for c in result.changes()] == ["A", "C"]


def test_column_picks_the_values() -> None:
    """The dev column compares DEV_VALUEs; an empty DEV_VALUE is not planned at all."""
    result = plan([entry("A", "d", "p"), entry("B", None, "p")], state(RemoteVar("A", "d", False)), column="dev")
    assert actions(result) == {"A": "unchanged"}


def test_write_only_secret_without_ledger_is_not_verifiable() -> None:
    """A present secret the ledger never saw is rewritten once, with that reason."""
    result = plan([entry("S", "d", SECRET, secret=True)], state(RemoteVar("S", None, True)))
    item = result.item("S")
    assert item.action == "change" and "not verifiable" in item.reason


def test_write_only_secret_matching_the_ledger_is_unchanged() -> None:
    """Same fingerprint and same marker in the ledger: unchanged, no write."""
    ledger = Ledger(Path("/nonexistent"))
    ledger.record("production", "T", "S", LedgerEntry(fingerprint(SECRET), "t", marker="u1", created=True))
    result = plan([entry("S", "d", SECRET, secret=True)], state(RemoteVar("S", None, True, marker="u1")), ledger)
    assert actions(result) == {"S": "unchanged"} and result.changes() == []


def test_write_only_secret_with_new_table_value_changes() -> None:
    """A table value whose fingerprint differs from the ledger's is a change."""
    ledger = Ledger(Path("/nonexistent"))
    ledger.record("production", "T", "S", LedgerEntry(fingerprint("old-secret-value"), "t"))
    result = plan([entry("S", "d", SECRET, secret=True)], state(RemoteVar("S", None, True)), ledger)
    assert result.item("S").action == "change" and "table's value changed" in result.item("S").reason


def test_write_only_secret_changed_on_the_platform_is_rewritten() -> None:
    """A moved platform marker (GitHub updated_at) means someone else wrote it: change."""
    ledger = Ledger(Path("/nonexistent"))
    ledger.record("production", "T", "S", LedgerEntry(fingerprint(SECRET), "t", marker="2026-01-01T00:00:00Z"))
    current = state(RemoteVar("S", None, True, marker="2026-02-02T00:00:00Z"))
    item = plan([entry("S", "d", SECRET, secret=True)], current, ledger).item("S")
    assert item.action == "change" and "changed on the platform" in item.reason


def test_type_switch_is_a_change_on_typed_platforms_only() -> None:
    """A plain var the table calls secret changes on Workers, but not on Convex (no types there)."""
    typed = plan([entry("S", "d", "v", secret=True)], state(RemoteVar("S", "v", False)))
    assert typed.item("S").action == "change" and "stored as plain" in typed.item("S").reason
    untyped = plan([entry("S", "d", "v", secret=True)], state(RemoteVar("S", "v", False), platform="convex"))
    assert untyped.item("S").action == "unchanged"


def test_extra_keys_are_reported_never_removed_by_default() -> None:
    """Keys absent from the table stay on the platform and appear as extra."""
    ledger = Ledger(Path("/nonexistent"))
    ledger.record("production", "T", "OWNED", LedgerEntry("sha256:x", "t", created=True))
    result = plan([], state(RemoteVar("OWNED", "1", False), RemoteVar("THEIRS", "2", False)), ledger)
    assert actions(result) == {"OWNED": "extra", "THEIRS": "extra"}
    assert "--prune deletes it" in result.item("OWNED").reason
    assert "not created by deploycheck" in result.item("THEIRS").reason
    assert result.changes() == []


def test_prune_removes_only_keys_deploycheck_created() -> None:
    """With prune, a key the ledger marks as created is removed; others stay extra."""
    ledger = Ledger(Path("/nonexistent"))
    ledger.record("production", "T", "OWNED", LedgerEntry("sha256:x", "t", created=True))
    ledger.record("production", "T", "ADOPTED", LedgerEntry("sha256:y", "t", created=False))
    current = state(RemoteVar("OWNED", "1", False), RemoteVar("ADOPTED", "2", False), RemoteVar("THEIRS", "3", False))
    result = plan([], current, ledger, prune=True)
    assert actions(result) == {"ADOPTED": "extra", "OWNED": "remove", "THEIRS": "extra"}
    assert [(c.name, c.action, c.value) for c in result.changes()] == [("OWNED", "remove", None)]


def test_only_narrows_planned_and_extra_keys() -> None:
    """--only keeps the named keys and hides other extras."""
    result = plan(
        [entry("A", "d", "1"), entry("B", "d", "2")],
        state(RemoteVar("Z", "9", False)),
        only=("B",),
    )
    assert actions(result) == {"B": "add"}


def test_github_names_compare_without_case() -> None:
    """GitHub stores names upper-cased: a lower-case table key matches the stored name."""
    current = state(RemoteVar("API_URL", "https://x", False), platform="github-actions")
    result = plan([entry("api_url", "d", "https://x")], current)
    assert actions(result) == {"api_url": "unchanged"}


def test_plans_never_show_secret_values() -> None:
    """Secrets appear by fingerprint in display fields, reprs and dicts, never by value."""
    result = plan(
        [entry("S", "d", SECRET, secret=True)],
        state(RemoteVar("S", "AnOldSecretValueQ2xvdWRm", True), platform="convex"),
    )
    item = result.item("S")
    assert item.new == fingerprint(SECRET)
    assert item.old == fingerprint("AnOldSecretValueQ2xvdWRm")
    text = repr(result) + str(result.to_dict())
    assert SECRET not in text and "AnOldSecret" not in text
    assert result.changes()[0].value == SECRET
