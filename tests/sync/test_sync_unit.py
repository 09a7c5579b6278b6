"""The Syncer against in-memory platforms: target selection, concurrency, partial failure, ledger."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from deploycheck.config import Target, load_config
from deploycheck.errors import PlatformUnavailable, UsageError
from deploycheck.platforms.base import ApplyResult, ConfigState, RemoteVar, VarChange
from deploycheck.redact import fingerprint
from deploycheck.sot import load_sot
from deploycheck.state import Ledger
from deploycheck.sync import Syncer, SyncRequest

from .conftest import EXAMPLE_SOT, REPO

WRITE_ONLY = {"cloudflare-worker", "cloudflare-pages", "github-actions"}


class MemoryPlatform:
    """A ConfigPlatform in memory: secrets are write-only where the real platform's are."""

    def __init__(self, platform: str, *, fail: bool = False) -> None:
        self.platform = platform
        self.resource = f"memory-{platform}"
        self.values: dict[str, tuple[str, bool]] = {}
        self.applies: list[list[VarChange]] = []
        self.fail = fail
        self.version = 0

    def read_config(self) -> ConfigState:
        """Everything held; write-only secrets without their value."""
        found = {
            name: RemoteVar(name, None if secret and self.platform in WRITE_ONLY else value, secret)
            for name, (value, secret) in self.values.items()
        }
        return ConfigState(self.platform, self.resource, found, marker=f"v{self.version}")

    def apply_config(self, changes: Sequence[VarChange]) -> ApplyResult:
        """Apply every change, or fail the whole batch like a 5xx would."""
        self.applies.append(list(changes))
        if self.fail:
            raise PlatformUnavailable("server error", platform=self.platform, operation="apply", status=500)
        for change in changes:
            if change.action == "remove":
                self.values.pop(change.name, None)
            else:
                assert change.value is not None
                self.values[change.name] = (change.value, change.secret)
        self.version += 1
        return ApplyResult(applied=tuple(c.name for c in changes), marker=f"v{self.version}")


@pytest.fixture
def config():  # type: ignore[no-untyped-def]
    """The repository's deploycheck.yaml."""
    return load_config(REPO / "deploycheck.yaml")


@pytest.fixture
def sot(config):  # type: ignore[no-untyped-def]
    """The example table."""
    return load_sot(EXAMPLE_SOT, config)


def syncer(config, sot, platforms: dict[str, MemoryPlatform], ledger: Ledger, **request) -> Syncer:  # type: ignore[no-untyped-def]
    """A Syncer for deploy-prod to sandbox over the in-memory platforms."""
    request.setdefault("mode", "deploy-prod")
    request.setdefault("env", "sandbox")

    def opener(target: Target, env: str) -> MemoryPlatform:
        return platforms.setdefault(target.name, MemoryPlatform(target.platform))

    return Syncer(config, sot, SyncRequest(**request), ledger=ledger, key_fp=fingerprint, opener=opener)


def test_first_sync_writes_prod_values_and_second_writes_nothing(config, sot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every target receives its PROD values in one batch; a second run applies nothing."""
    platforms: dict[str, MemoryPlatform] = {}
    ledger = Ledger(tmp_path / "ledger.json")
    first = syncer(config, sot, platforms, ledger)
    report = first.apply(first.plan())
    assert report.ok
    for name, platform in platforms.items():
        expected = {e.key: e.prod for e in sot.for_target(name)}
        assert {k: fingerprint(v) for k, (v, _) in platform.values.items()} == {
            k: fingerprint(v or "") for k, v in expected.items()
        }
        assert len(platform.applies) == 1
    second = syncer(config, sot, platforms, Ledger.load(tmp_path / "ledger.json"))
    again = second.apply(second.plan())
    assert again.ok and again.writes == 0
    assert all(len(p.applies) == 1 for p in platforms.values())


def test_ledger_records_fingerprint_marker_and_ownership(config, sot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """After a sync the ledger has one entry per written key, marked created, with the target marker."""
    platforms: dict[str, MemoryPlatform] = {}
    ledger = Ledger(tmp_path / "ledger.json")
    run = syncer(config, sot, platforms, ledger)
    run.apply(run.plan())
    entry = Ledger.load(tmp_path / "ledger.json").entry("sandbox", "CLOUDFLARE_WORKER", "UPSTASH_REDIS_REST_TOKEN")
    token = next(e for e in sot.entries if e.key == "UPSTASH_REDIS_REST_TOKEN")
    assert entry is not None and entry.created and entry.secret
    assert entry.fingerprint == fingerprint(token.prod or "")
    assert ledger.target_marker("sandbox", "CLOUDFLARE_WORKER") == "v1"


def test_one_failing_target_does_not_stop_the_others(config, sot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A 5xx on Convex leaves Convex's keys not applied and unrecorded; every other target completes."""
    platforms = {"CONVEX": MemoryPlatform("convex", fail=True)}
    ledger = Ledger(tmp_path / "ledger.json")
    run = syncer(config, sot, platforms, ledger)
    report = run.apply(run.plan())
    outcomes = {o.target: o for o in report.outcomes}
    assert not report.ok
    assert outcomes["CONVEX"].status == "failed"
    assert sorted(outcomes["CONVEX"].not_applied) == sorted(e.key for e in sot.for_target("CONVEX"))
    assert "PlatformUnavailable" in (outcomes["CONVEX"].error or "")
    assert all(outcomes[t].ok and outcomes[t].status == "applied" for t in ("NEXTJS", "CLOUDFLARE_WORKER", "GITHUB"))
    assert ledger.entries("sandbox", "CONVEX") == {}
    platforms["CONVEX"].fail = False
    rerun = syncer(config, sot, platforms, Ledger.load(tmp_path / "ledger.json"))
    final = rerun.apply(rerun.plan())
    assert final.ok
    assert {o.target: o.status for o in final.outcomes}["CONVEX"] == "applied"
    assert sum(len(o.plan.writes) for o in final.outcomes if o.plan and o.target != "CONVEX") == 0


def test_unreadable_target_is_reported_and_others_planned(config, sot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A target whose adapter cannot be read becomes an 'unreadable' outcome; the rest are planned."""

    class Broken(MemoryPlatform):
        def read_config(self) -> ConfigState:
            raise PlatformUnavailable("refused", platform="github-actions", operation="list secrets")

    platforms: dict[str, MemoryPlatform] = {"GITHUB": Broken("github-actions")}
    run = syncer(config, sot, platforms, Ledger(tmp_path / "l.json"))
    report = run.plan()
    statuses = {o.target: o.status for o in report.outcomes}
    assert statuses == {"NEXTJS": "planned", "CONVEX": "planned", "CLOUDFLARE_WORKER": "planned", "GITHUB": "unreadable"}


def test_target_and_only_narrow_the_run(config, sot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--target keeps the named targets, --only the named keys."""
    run = syncer(config, sot, {}, Ledger(tmp_path / "l.json"), targets=("CONVEX",), only=("APP_ENV",))
    report = run.plan()
    assert [o.target for o in report.outcomes] == ["CONVEX"]
    assert [i.key for i in report.outcomes[0].plan.items] == ["APP_ENV"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({"targets": ("CONVX",)}, "did you mean 'CONVX' -> 'CONVEX'"),
        ({"only": ("APP_EN",)}, "'APP_EN' -> 'APP_ENV'"),
        ({"mode": "deploy-dev", "env": "sandbox"}, "takes PROD values"),
        ({"mode": "deploy-prod", "env": "development"}, "takes DEV values"),
        ({"mode": "local", "targets": ("GITHUB",)}, "have no local_file"),
    ],
)
def test_bad_narrowing_is_a_usage_error(config, sot, tmp_path: Path, request_args, message: str) -> None:  # type: ignore[no-untyped-def]
    """Unknown targets or keys, and a mode writing the wrong column to an environment, exit 2."""
    with pytest.raises(UsageError, match=message) as caught:
        syncer(config, sot, {}, Ledger(tmp_path / "l.json"), **request_args)
    assert caught.value.exit_code == 2
