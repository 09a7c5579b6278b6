"""The comparison rules of drift detection for one target (see :mod:`deploycheck.drift.model`).

:func:`compare_target` turns a target's state, the SoT's keys for it and the sync
ledger into one :class:`~deploycheck.drift.model.Finding` per key (plus ``unexpected`` ones for
keys only the platform holds) and target-level notes. Pure: no I/O, no clock.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deploycheck.drift.model import (
    DriftState,
    ExpectedVar,
    Finding,
    LedgerRecord,
    LedgerView,
    Note,
    TargetReading,
)
from deploycheck.platforms import get_spec
from deploycheck.redact import fingerprint, mask_value

if TYPE_CHECKING:
    from deploycheck.platforms.base import RemoteVar

__all__ = ["compare_target", "newest_marker", "remove_command", "sync_command"]



def sync_command(mode: str, env: str, key: str, target: str) -> str:
    """The exact command that writes ``key`` of ``target`` from the SoT, runnable as printed
    (``--yes`` where the mode asks for confirmation)."""
    return shlex.join(
        ["deploycheck", "sync-env", f"--mode={mode}", "--env", env, "--only", key, "--target", target,
         *_confirmed(mode)]
    )  # fmt: skip


def _confirmed(mode: str) -> list[str]:
    """``--yes`` for the modes sync-env refuses to apply without it off a terminal."""
    return ["--yes"] if mode == "deploy-prod" else []


def remove_command(mode: str, env: str, key: str, target: str) -> str:
    """The exact command that deletes ``key``, which the SoT does not assign to ``target``, from
    the target (whoever created it), runnable as printed (``--yes`` where the mode asks for it)."""
    return shlex.join(
        ["deploycheck", "sync-env", f"--mode={mode}", "--env", env, "--target", target, "--remove", key,
         *_confirmed(mode)]
    )  # fmt: skip


def _vendor_remove(platform: str, resource: str, key: str, remote: RemoteVar) -> str | None:
    """The vendor CLI's command that removes ``key`` from the platform, where one runs as printed."""
    return get_spec(platform).how_to_remove(resource, key, remote.secret)


@dataclass(frozen=True)
class _Context:
    env: str
    mode: str
    reading: TargetReading
    ledger: LedgerView | None
    fingerprint: Callable[[str], str]

    def finding(  # noqa: PLR0917 - internal constructor shorthand
        self,
        var: ExpectedVar,
        state: DriftState,
        expected: str,
        actual: str,
        detail: str = "",
        action: str = "",
        command: str | None = None,
    ) -> Finding:
        r = self.reading
        return Finding(
            env=self.env,
            target=r.target,
            platform=r.platform,
            resource=r.resource,
            key=var.key,
            state=state,
            secret=var.secret,
            expected=expected,
            actual=actual,
            detail=detail,
            action=action,
            command=command,
        )

    def show(self, value: str | None, secret: bool) -> str:
        """A value for output: secrets as their fingerprint under the ledger's key."""
        if value is None or not secret:
            return mask_value(value, secret=False)
        return self.fingerprint(value)

    def fix(self, var: ExpectedVar) -> str:
        return sync_command(self.mode, self.env, var.key, self.reading.target)


def _compare_readable(
    ctx: _Context, var: ExpectedVar, remote: RemoteVar, record: LedgerRecord | None
) -> Finding:
    assert remote.value is not None
    # untyped platforms (Convex, .env files) mark unknown names secret to be safe; the SoT decides
    secret = var.secret or (remote.secret and get_spec(ctx.reading.platform).typed_stores)
    expected_fp = ctx.fingerprint(var.value)
    actual_fp = ctx.fingerprint(remote.value)
    shown = (ctx.show(var.value, secret), ctx.show(remote.value, secret))
    if actual_fp == expected_fp:
        return ctx.finding(var, "in_sync", *shown)
    command = ctx.fix(var)
    if record is not None and record.fingerprint == actual_fp:
        return ctx.finding(
            var,
            "pending",
            *shown,
            detail=f"the SoT ({var.where}) changed since the last sync ({record.written_at}); "
            "the platform still holds the value written then.",
            action=f"sync it: {command}",
            command=command,
        )
    if record is not None and record.fingerprint == expected_fp:
        detail = f"changed on the platform after the last sync ({record.written_at})."
    elif record is None:
        detail = "the platform's value is not the SoT's; no sync of this key is recorded."
    else:
        detail = "the platform's value is neither the SoT's nor the one last synced."
    return ctx.finding(
        var,
        "value_differs",
        *shown,
        detail=detail,
        action=f"write the SoT's value: {command} (or update the SoT if the platform is right)",
        command=command,
    )


def _compare_write_only(
    ctx: _Context, var: ExpectedVar, remote: RemoteVar, record: LedgerRecord | None
) -> Finding:
    expected = ctx.show(var.value, True)
    command = ctx.fix(var)
    if record is None:
        return ctx.finding(
            var,
            "unverifiable",
            expected=expected,
            actual="(write-only, present)",
            detail="a write-only secret with no ledger entry: its value cannot be read or compared.",
            action=f"run a sync once to record its fingerprint: {command}",
            command=command,
        )
    actual = f"{record.fingerprint} (last synced {record.written_at})"
    if record.fingerprint != ctx.fingerprint(var.value):
        return ctx.finding(
            var,
            "pending",
            expected=expected,
            actual=actual,
            detail=f"the SoT ({var.where}) changed since the last sync ({record.written_at}).",
            action=f"sync it: {command}",
            command=command,
        )
    r = ctx.reading
    oob: str | None = None
    moved = _marker_moved(r)
    if remote.marker is not None and record.marker is not None and remote.marker != record.marker:
        oob = f"its change marker is {remote.marker}; the last sync recorded {record.marker}."
    elif getattr(record, "untrusted", False):
        oob = "changed out of band (cannot tell which): its target changed through another action after "
        oob += "the last sync wrote it, and the value cannot be read."
    elif moved:
        oob = (
            f"changed out of band (cannot tell which): {r.resource} is at version {r.state.marker}, the "
            f"last sync left {r.recorded_marker}, and secret values cannot be read."
        )
        if r.recorded_bindings is not None and r.active_bindings is not None:
            before, now = r.recorded_bindings.get(var.key), r.active_bindings.get(var.key)
            if before != now:
                oob += f" Its binding changed: {before or 'absent'} -> {now or 'absent'}."
    if oob is not None:
        return ctx.finding(
            var,
            "changed_out_of_band",
            expected=expected,
            actual=f"changed after {record.written_at}",
            detail=f"changed on the platform after the last sync: {oob}",
            action=f"overwrite it with the SoT's value: {command} (or update the SoT first)",
            command=command,
        )
    return ctx.finding(var, "in_sync", expected=expected, actual=actual)


def _missing(ctx: _Context, var: ExpectedVar, record: LedgerRecord | None) -> Finding:
    command = ctx.fix(var)
    synced = f" It was last synced {record.written_at}." if record is not None else ""
    return ctx.finding(
        var,
        "missing",
        expected=ctx.show(var.value, var.secret),
        actual="(absent)",
        detail=f"{ctx.reading.resource} does not hold this key.{synced}",
        action=f"write it: {command}",
        command=command,
    )


def _kind_differs(ctx: _Context, var: ExpectedVar, remote: RemoteVar) -> Finding:
    kinds = ("plain", "secret")
    command = ctx.fix(var)
    return ctx.finding(
        var,
        "value_differs",
        expected=f"{kinds[var.secret]}: {ctx.show(var.value, var.secret)}",
        actual=f"{kinds[remote.secret]}: "
        + ("(write-only)" if remote.value is None else ctx.show(remote.value, True)),
        detail=f"stored as {kinds[remote.secret]}, the SoT says {kinds[var.secret]}.",
        action=f"rewrite it with the SoT's type and value: {command}",
        command=command,
    )


def _unexpected(ctx: _Context, remote: RemoteVar, record: LedgerRecord | None) -> Finding:
    r = ctx.reading
    command = remove_command(ctx.mode, ctx.env, remote.name, r.target)
    vendor = _vendor_remove(r.platform, r.resource, remote.name, remote)
    also = f" (or with the vendor's CLI: {vendor})" if vendor else ""
    created = "deploycheck created it: " if record is not None and getattr(record, "created", False) else ""
    action = f"{created}remove it with {command}{also}, or add it to the SoT for {r.target}"
    return Finding(
        env=ctx.env,
        target=r.target,
        platform=r.platform,
        resource=r.resource,
        key=remote.name,
        state="unexpected",
        secret=remote.secret,
        expected="(not in the SoT)",
        actual="(write-only, present)" if remote.value is None else ctx.show(remote.value, remote.secret),
        detail="on the platform but not assigned to this target in the SoT.",
        action=action,
        command=command,
        vendor_command=vendor,
    )


def _marker_moved(reading: TargetReading) -> bool:
    """Whether the target-wide marker, which every configuration write moves, moved since the last sync."""
    marker, recorded = reading.state.marker, reading.recorded_marker
    tracks = reading.state.config_marker or get_spec(reading.platform).config_marker
    return tracks and marker is not None and recorded is not None and marker != recorded


def _target_note(reading: TargetReading) -> Note | None:
    if not _marker_moved(reading):
        return None
    return Note(
        target=reading.target,
        platform=reading.platform,
        message=f"{reading.resource} changed since the last sync: marker {reading.recorded_marker} then, "
        f"{reading.state.marker} now (any write or deploy changes it). Secret values cannot be read, so "
        "every secret of the target is reported changed out of band; a sync rewrites them.",
    )


def compare_target(
    env: str,
    reading: TargetReading,
    expected: Sequence[ExpectedVar],
    ledger: LedgerView | None,
    *,
    mode: str,
    fingerprint_fn: Callable[[str], str] = fingerprint,
) -> tuple[list[Finding], list[Note]]:
    """Compare one target's state with the SoT's keys for it; return findings and notes.

    ``mode`` is the sync mode the remediation commands use (``deploy-prod``, ``local``, ...);
    ``fingerprint_fn`` must be the function the ledger used (keyed with the ledger key).
    """
    ctx = _Context(env, mode, reading, ledger, fingerprint_fn)
    fold = get_spec(reading.platform).fold
    remote_vars = {fold(name): var for name, var in reading.state.vars.items()}
    wanted = {fold(v.key) for v in expected}
    results: list[Finding] = []
    for var in expected:
        remote = remote_vars.get(fold(var.key))
        record = ledger.entry(env, reading.target, var.key) if ledger is not None else None
        if remote is None:
            results.append(_missing(ctx, var, record))
        elif get_spec(reading.platform).typed_stores and remote.secret != var.secret:
            results.append(_kind_differs(ctx, var, remote))
        elif remote.value is None:
            results.append(_compare_write_only(ctx, var, remote, record))
        else:
            results.append(_compare_readable(ctx, var, remote, record))
    for name in sorted(remote_vars):
        if name not in wanted:
            remote = remote_vars[name]
            record = ledger.entry(env, reading.target, remote.name) if ledger is not None else None
            results.append(_unexpected(ctx, remote, record))
    note = _target_note(reading)
    return results, [note] if note is not None else []


def newest_marker(records: Iterable[LedgerRecord | None]) -> str | None:
    """The marker of the most recently written record (the target-wide state after the last sync)."""
    best: LedgerRecord | None = None
    for record in records:
        if record is None or record.marker is None:
            continue
        if best is None or record.written_at > best.written_at:
            best = record
    return best.marker if best is not None else None
