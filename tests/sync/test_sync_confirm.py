"""A write counts only when the platform shows it, and markers move only on the writes that produce them.

The Syncer against in-memory platforms that misbehave the ways real ones do: a write
acknowledged but not applied, another value stored, a delete that leaves the key, a
write-only secret whose change marker did not move, a read-back that fails, an adapter
that itself reports a write unconfirmed. Each asserts what the user is told (the
outcome's status, the keys "applied, not confirmed" and why) and what the ledger keeps
(fingerprints only of confirmed writes, the target marker only after one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deploycheck.config import ProjectConfig, Target, load_config
from deploycheck.errors import PlatformUnavailable
from deploycheck.platforms.base import ApplyResult, ConfigState, RemoteVar, VarChange
from deploycheck.redact import fingerprint
from deploycheck.sot import SourceOfTruth, load_sot
from deploycheck.state import Ledger, LedgerEntry
from deploycheck.sync import Syncer, SyncReport, SyncRequest

from .conftest import EXAMPLE_SOT, REPO

ENV = "sandbox"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@dataclass
class Faulty:
    """A ConfigPlatform in memory whose writes can be acknowledged and not (or wrongly) applied.

    Secrets are write-only (no value on read) unless ``readable``; with ``per_key`` each key
    carries a change marker that moves on every real write (like GitHub's ``updated_at``).
    """

    platform: str
    readable: bool = True
    per_key: bool = False
    values: dict[str, tuple[str, bool]] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)
    version: int = 0
    ignore: set[str] = field(default_factory=set)  # acknowledged, not applied
    garble: set[str] = field(default_factory=set)  # applied with another value
    result_markers: dict[str, str] = field(default_factory=dict)  # per-key markers the write answers
    reported: dict[str, str] = field(default_factory=dict)  # the adapter's own "unconfirmed" reasons
    read_fails: bool = False
    marker_on_read: bool = True
    refuse: dict[str, str] = field(default_factory=dict)  # names the platform answers as failed
    request_fails: bool = False
    drop_markers: bool = False  # the read-back after a write shows no per-key markers
    answer_marker: str | None = None  # the target marker the write answers (default: the new version)
    config_marker: bool = False  # the target marker moves with every change, whoever makes it (Worker versions)

    @property
    def resource(self) -> str:
        return f"memory-{self.platform}"

    def read_config(self) -> ConfigState:
        """Every key held: write-only secrets without their value, per-key markers when kept."""
        if self.read_fails:
            raise PlatformUnavailable("read refused", platform=self.platform, operation="read back", status=503)
        found = {
            name: RemoteVar(name, value if self.readable or not secret else None, secret, self.markers.get(name))
            for name, (value, secret) in self.values.items()
        }
        marker = f"v{self.version}" if self.marker_on_read else None
        return ConfigState(self.platform, self.resource, found, marker, config_marker=self.config_marker)

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Acknowledge every change not refused; apply those not ignored (garbled ones with another value)."""
        if self.request_fails:
            raise PlatformUnavailable("write refused", platform=self.platform, operation="write", status=503)
        for change in changes:
            if change.name in self.ignore or change.name in self.refuse:
                continue
            if change.action == "remove":
                self.values.pop(change.name, None)
                continue
            assert change.value is not None
            value = "not-what-was-sent" if change.name in self.garble else change.value
            self.values[change.name] = (value, change.secret)
            if self.per_key:
                self.markers[change.name] = f"u{self.version + 1}"
        self.version += 1
        if self.drop_markers:
            self.markers.clear()
        return ApplyResult(
            applied=tuple(c.name for c in changes if c.name not in self.refuse), failed=self.refuse,
            markers=self.result_markers, marker=self.answer_marker or f"v{self.version}", unconfirmed=self.reported,
        )  # fmt: skip


@pytest.fixture
def config() -> ProjectConfig:
    """The repository's deploycheck.yaml."""
    return load_config(REPO / "deploycheck.yaml")


@pytest.fixture
def sot(config: ProjectConfig) -> SourceOfTruth:
    """The example table."""
    return load_sot(EXAMPLE_SOT, config)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """An empty ledger file."""
    yield Ledger(tmp_path / "ledger.json")


def sync(config: ProjectConfig, sot: SourceOfTruth, target: str, platform: Faulty, ledger: Ledger,
         **request: Any) -> SyncReport:  # fmt: skip
    """Plan and apply one deploy-prod sync of ``target`` over ``platform``."""

    def opener(_target: Target, _env: str) -> Faulty:
        return platform

    run = Syncer(config, sot, SyncRequest(mode="deploy-prod", env=ENV, targets=(target,), **request),
                 ledger=ledger, key_fp=fingerprint, opener=opener)  # fmt: skip
    return run.apply(run.plan())


def prod(sot: SourceOfTruth, key: str) -> str:
    return next(e.prod or "" for e in sot.entries if e.key == key)


@pytest.mark.parametrize(
    ("fault", "key", "why"),
    [
        ({"ignore": {"APP_ENV"}}, "APP_ENV", "absent after the write"),
        ({"garble": {"APP_ENV"}}, "APP_ENV", "the platform holds another value"),
        ({"reported": {"APP_ENV": "no new version carries it"}}, "APP_ENV", "no new version carries it"),
    ],
    ids=["acknowledged, not applied", "another value stored", "the adapter's own reason"],
)
def test_a_write_the_platform_does_not_show_is_not_confirmed(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger, fault: dict[str, Any], key: str, why: str
) -> None:
    """A value the read-back does not show as written is "applied, not confirmed" with the reason; the
    outcome is partial (not ok), the key stays not applied, and the ledger records only the confirmed keys."""
    platform = Faulty("convex", **fault)
    outcome = sync(config, sot, "CONVEX", platform, ledger).outcomes[0]
    assert outcome.unconfirmed == [key]
    assert outcome.unconfirmed_reasons == {key: why}
    assert outcome.readback == "applied, not confirmed"
    assert (outcome.status, outcome.ok, outcome.not_applied) == ("partial", False, [key])
    recorded = ledger.entries(ENV, "CONVEX")
    assert key not in recorded
    assert {k: e.fingerprint for k, e in recorded.items()} == {
        e.key: fingerprint(e.prod or "") for e in sot.for_target("CONVEX") if e.key != key
    }
    assert ledger.target_marker(ENV, "CONVEX") == "v1"


def test_every_write_shown_is_confirmed(config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger) -> None:
    """When the read-back shows every value written, the target is applied and confirmed, the ledger holds
    each key's fingerprint and the target marker is the one read back after the write."""
    platform = Faulty("convex")
    outcome = sync(config, sot, "CONVEX", platform, ledger).outcomes[0]
    assert (outcome.status, outcome.readback, outcome.unconfirmed, outcome.unconfirmed_reasons) == (
        "applied", "confirmed", [], {}
    )
    assert sorted(ledger.entries(ENV, "CONVEX")) == sorted(e.key for e in sot.for_target("CONVEX"))
    assert ledger.target_marker(ENV, "CONVEX") == "v1"


def test_nothing_confirmed_moves_no_marker(config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger) -> None:
    """A write of which the platform shows nothing records no fingerprint and leaves the target marker unset,
    so the next drift still sees the target as never written."""
    keys = {e.key for e in sot.for_target("CONVEX")}
    outcome = sync(config, sot, "CONVEX", Faulty("convex", ignore=keys), ledger).outcomes[0]
    assert sorted(outcome.unconfirmed) == sorted(keys)
    assert set(outcome.unconfirmed_reasons.values()) == {"absent after the write"}
    assert ledger.entries(ENV, "CONVEX") == {}
    assert ledger.target_marker(ENV, "CONVEX") is None


def test_a_failed_read_back_confirms_nothing(config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger) -> None:
    """When the read-back itself fails, every applied key is unconfirmed, the read-back names the error, and
    nothing is recorded as written."""
    platform = Faulty("convex", read_fails=False)
    report = Syncer(config, sot, SyncRequest(mode="deploy-prod", env=ENV, targets=("CONVEX",)), ledger=ledger,
                    key_fp=fingerprint, opener=lambda _t, _e: platform)  # fmt: skip
    planned = report.plan()
    platform.read_fails = True
    outcome = report.apply(planned).outcomes[0]
    assert sorted(outcome.unconfirmed) == sorted(e.key for e in sot.for_target("CONVEX"))
    assert outcome.readback == "failed: PlatformUnavailable: convex: read back failed: read refused (HTTP 503)"
    assert outcome.status == "partial"
    assert ledger.entries(ENV, "CONVEX") == {}
    assert ledger.target_marker(ENV, "CONVEX") is None


def _rotate(ledger: Ledger, key: str, marker: str) -> None:
    """The ledger remembers ``key`` written with an older value, the platform's per-key marker then."""
    ledger.record(ENV, "GITHUB", key, LedgerEntry(fingerprint("old"), "2026-01-01T00:00:00Z", marker, secret=True))
    ledger.set_target_marker(ENV, "GITHUB", "v0")


def test_write_only_secret_whose_marker_did_not_move(config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger) -> None:
    """Rotating a write-only secret that already exists counts only when its change marker moved: a platform
    that acknowledges and keeps the old value leaves the marker, and the key is unconfirmed, saying so."""
    key = "SLACK_WEBHOOK_URL"
    platform = Faulty("github-actions", readable=False, per_key=True, values={key: ("old", True)},
                      markers={key: "u0"}, ignore={key})  # fmt: skip
    _rotate(ledger, key, "u0")
    outcome = sync(config, sot, "GITHUB", platform, ledger, only=(key,)).outcomes[0]
    assert outcome.unconfirmed_reasons == {
        key: "its change marker did not move (u0): the platform shows no new value"
    }
    entry = ledger.entry(ENV, "GITHUB", key)
    assert entry is not None and entry.fingerprint == fingerprint("old")
    assert ledger.target_marker(ENV, "GITHUB") == "v0"


def test_write_only_secret_whose_marker_moved(config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger) -> None:
    """A rotated write-only secret whose marker moved is confirmed: the ledger takes the new fingerprint with
    the marker read back, and the target marker moves to the one after the write."""
    key = "SLACK_WEBHOOK_URL"
    platform = Faulty("github-actions", readable=False, per_key=True, values={key: ("old", True)},
                      markers={key: "u0"})  # fmt: skip
    _rotate(ledger, key, "u0")
    outcome = sync(config, sot, "GITHUB", platform, ledger, only=(key,)).outcomes[0]
    assert (outcome.status, outcome.readback) == ("applied", "confirmed")
    entry = ledger.entry(ENV, "GITHUB", key)
    assert entry is not None and (entry.fingerprint, entry.marker) == (fingerprint(prod(sot, key)), "u1")
    assert ledger.target_marker(ENV, "GITHUB") == "v1"


def test_marker_the_write_answered_is_kept_when_the_read_back_has_none(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger
) -> None:
    """When the read-back shows no per-key marker but the write answered one, the ledger keeps the write's
    marker for the key, so the next drift can tell a later out-of-band change."""
    key = "SLACK_WEBHOOK_URL"
    platform = Faulty("github-actions", readable=False, values={key: ("old", True)}, result_markers={key: "w1"})
    ledger.record(ENV, "GITHUB", key, LedgerEntry(fingerprint("old"), "2026-01-01T00:00:00Z", None, secret=True))
    outcome = sync(config, sot, "GITHUB", platform, ledger, only=(key,)).outcomes[0]
    assert outcome.readback == "confirmed"
    entry = ledger.entry(ENV, "GITHUB", key)
    assert entry is not None and entry.marker == "w1"


def test_target_marker_falls_back_to_the_write_when_the_read_back_has_none(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger
) -> None:
    """A platform whose read-back carries no target marker still gets one recorded: the marker the write
    answered."""
    platform = Faulty("convex", marker_on_read=False)
    assert sync(config, sot, "CONVEX", platform, ledger).outcomes[0].ok
    assert ledger.target_marker(ENV, "CONVEX") == "v1"


def test_a_delete_that_leaves_the_key_is_not_confirmed(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger
) -> None:
    """With --prune a key deploycheck created and the table dropped is deleted; a platform that keeps it is
    "still present after the delete", and the ledger keeps the key; a delete the platform shows forgets it."""
    stale = LedgerEntry(fingerprint("x"), "2026-01-01T00:00:00Z", None, created=True)
    for ignore, expected in (({"OLD_KEY"}, {"OLD_KEY": "still present after the delete"}), (set(), {})):
        ledger.record(ENV, "CONVEX", "OLD_KEY", stale)
        platform = Faulty("convex", values={"OLD_KEY": ("x", False)}, ignore=ignore)
        outcome = sync(config, sot, "CONVEX", platform, ledger, prune=True).outcomes[0]
        assert outcome.unconfirmed_reasons == expected
        assert ("OLD_KEY" in ledger.entries(ENV, "CONVEX")) == bool(expected)


def test_a_key_already_right_is_adopted_without_a_write(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger
) -> None:
    """A readable key that already holds the table's value is not written, but the ledger learns its
    fingerprint (not created by deploycheck); a sync that writes nothing leaves the target marker alone."""
    values = {e.key: (e.prod or "", e.secret) for e in sot.for_target("CONVEX")}
    report = sync(config, sot, "CONVEX", Faulty("convex", values=values), ledger)
    assert report.writes == 0
    entry = ledger.entry(ENV, "CONVEX", "APP_ENV")
    assert entry is not None and entry.fingerprint == fingerprint(prod(sot, "APP_ENV")) and not entry.created
    assert ledger.target_marker(ENV, "CONVEX") is None


@pytest.mark.parametrize("confirmed", [True, False], ids=["rewrite confirmed", "rewrite not confirmed"])
def test_a_target_changed_by_someone_else_untrusts_the_secrets_not_rewritten(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger, confirmed: bool
) -> None:
    """When the target-wide marker moved through someone else's action (a Worker version deploycheck did not
    make), a sync of one secret rewrites it and marks every other recorded secret untrusted, so the next
    sync rewrites them too; plain keys stay trusted, and the rewritten secret only when its write was
    confirmed."""
    token, url = "UPSTASH_REDIS_REST_TOKEN", "UPSTASH_REDIS_REST_URL"
    other = "OLD_SECRET"
    platform = Faulty("cloudflare-worker", readable=False, config_marker=True, version=5,
                      values={token: ("t", True), url: (prod(sot, url), False), other: ("o", True)},
                      reported={} if confirmed else {token: "no new version carries it"})  # fmt: skip
    written = "2026-01-01T00:00:00Z"
    ledger.record(ENV, "CLOUDFLARE_WORKER", token, LedgerEntry(fingerprint("t"), written, None, secret=True))
    ledger.record(ENV, "CLOUDFLARE_WORKER", other, LedgerEntry(fingerprint("o"), written, None, secret=True))
    ledger.record(ENV, "CLOUDFLARE_WORKER", url, LedgerEntry(fingerprint(prod(sot, url)), written, None))
    ledger.set_target_marker(ENV, "CLOUDFLARE_WORKER", "v2")
    report = sync(config, sot, "CLOUDFLARE_WORKER", platform, ledger, only=(token,))
    assert report.outcomes[0].plan is not None and report.outcomes[0].plan.marker_moved
    entries = ledger.entries(ENV, "CLOUDFLARE_WORKER")
    assert {k: e.untrusted for k, e in entries.items()} == {token: not confirmed, other: True, url: False}
    assert ledger.target_marker(ENV, "CLOUDFLARE_WORKER") == ("v6" if confirmed else "v2")


def test_keys_the_platform_refused_are_failed_and_the_rest_still_checked(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger
) -> None:
    """A write the platform answers as failed for one key leaves that key failed with the platform's reason
    (the target partial), and the keys after it are still checked against the read-back."""
    first = sot.for_target("CONVEX")[0].key
    platform = Faulty("convex", refuse={first: "value too long"}, ignore={"APP_ENV"})
    outcome = sync(config, sot, "CONVEX", platform, ledger).outcomes[0]
    assert outcome.failed == {first: "value too long"}
    assert outcome.unconfirmed_reasons == {"APP_ENV": "absent after the write"}
    assert outcome.status == "partial"
    assert sorted(outcome.not_applied) == sorted([first, "APP_ENV"])


def test_a_failed_write_request_fails_every_key(config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger) -> None:
    """When the write request itself fails, every planned key is failed as "not applied: the request failed",
    the error names the platform's answer, and nothing is recorded."""
    outcome = sync(config, sot, "CONVEX", Faulty("convex", request_fails=True), ledger).outcomes[0]
    keys = [e.key for e in sot.for_target("CONVEX")]
    assert outcome.failed == dict.fromkeys(keys, "not applied: the request failed")
    assert outcome.error == "PlatformUnavailable: convex: write failed: write refused (HTTP 503)"
    assert (outcome.status, outcome.applied) == ("failed", [])
    assert ledger.entries(ENV, "CONVEX") == {}


def test_a_marker_only_the_write_answered_decides_confirmation(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger
) -> None:
    """When the read-back shows no per-key marker, the one the write answered stands in for it: a rotation
    answered with the marker the secret already had is unconfirmed."""
    key = "SLACK_WEBHOOK_URL"
    platform = Faulty("github-actions", readable=False, per_key=True, values={key: ("old", True)},
                      markers={key: "u0"}, drop_markers=True, result_markers={key: "u0"})  # fmt: skip
    _rotate(ledger, key, "u0")
    outcome = sync(config, sot, "GITHUB", platform, ledger, only=(key,)).outcomes[0]
    assert outcome.unconfirmed_reasons == {
        key: "its change marker did not move (u0): the platform shows no new value"
    }


def test_the_target_marker_recorded_is_the_one_read_back(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger
) -> None:
    """The target marker the ledger keeps is the one the read-back shows after the write (what the next drift
    compares with), not an older one the write answered; each written key gets a UTC timestamp."""
    platform = Faulty("convex", answer_marker="v0-stale")
    assert sync(config, sot, "CONVEX", platform, ledger).outcomes[0].ok
    assert ledger.target_marker(ENV, "CONVEX") == "v1"
    entry = ledger.entry(ENV, "CONVEX", "APP_ENV")
    assert entry is not None and TIMESTAMP.fullmatch(entry.written_at)


def test_an_adopted_key_is_recorded_whole_and_a_known_one_kept(
    config: ProjectConfig, sot: SourceOfTruth, ledger: Ledger
) -> None:
    """A key already right on the platform and unknown to the ledger is adopted: its fingerprint, a UTC
    timestamp, the platform's marker for it, whether it is a secret, and not created by deploycheck. A key the
    ledger already knows keeps its record (deploycheck's ownership is not lost)."""
    values = {e.key: (e.prod or "", e.secret) for e in sot.for_target("CONVEX")}
    owned = LedgerEntry(fingerprint(prod(sot, "APP_ENV")), "2026-01-01T00:00:00Z", "m1", created=True)
    ledger.record(ENV, "CONVEX", "APP_ENV", owned)
    platform = Faulty("convex", values=values, markers={"CLERK_SECRET_KEY": "m7"})
    assert sync(config, sot, "CONVEX", platform, ledger).writes == 0
    adopted = ledger.entry(ENV, "CONVEX", "CLERK_SECRET_KEY")
    assert adopted is not None and TIMESTAMP.fullmatch(adopted.written_at)
    assert adopted == LedgerEntry(fingerprint(prod(sot, "CLERK_SECRET_KEY")), adopted.written_at, "m7",
                                  created=False, secret=True)  # fmt: skip
    assert ledger.entry(ENV, "CONVEX", "APP_ENV") == owned
