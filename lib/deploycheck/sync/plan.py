"""Sync plans: what a target holds now versus what the source of truth says it should hold.

:func:`plan_target` compares one target's :class:`~deploycheck.platforms.base.ConfigState`
with the table's entries for that target and the ledger, and returns a
:class:`TargetPlan` of items, each one of:

- ``add``        the key is missing on the platform;
- ``change``     the value differs, the type (secret/plain) differs, or a write-only
                 secret cannot be verified (no ledger record, the ledger's fingerprint
                 differs, the platform's change marker moved since deploycheck wrote it,
                 or the target-wide marker moved through someone else's action, which
                 makes every write-only secret of the target untrusted);
- ``unchanged``  readable and equal, or a write-only secret whose ledger fingerprint and
                 marker match;
- ``remove``     with ``prune``: a key absent from the table that the ledger says
                 deploycheck created; with ``remove``: a key absent from the table that
                 was asked for by name, whoever created it;
- ``extra``      a key on the platform absent from the table: reported, never deleted.

Secrets are shown by fingerprint, plain values as they are; a plan never prints a
secret's value (:attr:`PlanItem.value` is the value to write and stays out of ``repr``
and :meth:`PlanItem.to_dict`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from deploycheck.platforms import get_spec
from deploycheck.platforms.base import ConfigState, RemoteVar, VarChange
from deploycheck.redact import mask_value

if TYPE_CHECKING:
    from deploycheck.sot import Column, Entry
    from deploycheck.state import Ledger, LedgerEntry

__all__ = ["Action", "PlanItem", "TargetPlan", "plan_target"]

Action = Literal["add", "change", "remove", "unchanged", "extra"]
SYMBOLS: dict[str, str] = {"add": "+", "change": "~", "remove": "-", "unchanged": "=", "extra": "?"}


@dataclass(frozen=True)
class PlanItem:
    """One key of one target in a plan; ``old`` / ``new`` are display strings, never secrets."""

    key: str
    action: Action
    secret: bool
    reason: str = ""
    old: str | None = None
    new: str | None = None
    fingerprint: str | None = None
    created: bool = False
    remote_name: str | None = None
    remote_marker: str | None = None
    value: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_write(self) -> bool:
        """True for add, change and remove: items that write to the platform."""
        return self.action in ("add", "change", "remove")

    def change(self) -> VarChange:
        """The VarChange that applies this item."""
        if self.action == "remove":
            return VarChange(self.remote_name or self.key, "remove", None, self.secret)
        action: Literal["add", "change"] = "add" if self.action == "add" else "change"
        return VarChange(self.key, action, self.value, self.secret)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no value)."""
        return {
            "key": self.key,
            "action": self.action,
            "secret": self.secret,
            "reason": self.reason,
            "old": self.old,
            "new": self.new,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class TargetPlan:
    """The plan for one target in one environment."""

    target: str
    platform: str
    resource: str
    env: str
    column: Column
    items: tuple[PlanItem, ...]
    marker: str | None = None
    read_requests: int = 0
    #: the target-wide marker moved through someone else's action since deploycheck's last write
    marker_moved: bool = False

    @property
    def writes(self) -> list[PlanItem]:
        """The items that write (add, change, remove)."""
        return [i for i in self.items if i.is_write]

    def changes(self) -> list[VarChange]:
        """The VarChanges to send to the adapter."""
        return [i.change() for i in self.writes]

    def counts(self) -> dict[str, int]:
        """How many items of each action."""
        out = dict.fromkeys(SYMBOLS, 0)
        for item in self.items:
            out[item.action] += 1
        return out

    def item(self, key: str) -> PlanItem | None:
        """The item for ``key``, if any."""
        return next((i for i in self.items if i.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no values of secrets)."""
        return {
            "target": self.target,
            "platform": self.platform,
            "resource": self.resource,
            "env": self.env,
            "column": self.column,
            "counts": self.counts(),
            "items": [i.to_dict() for i in self.items],
        }


def _show(value: str | None, secret: bool, key_fp: Callable[[str], str]) -> str | None:
    if value is None:
        return None
    return key_fp(value) if secret else mask_value(value, secret=False)


def _plan_entry(
    entry: Entry,
    value: str,
    remote: RemoteVar | None,
    *,
    platform: str,
    ledger_entry: LedgerEntry | None,
    key_fp: Callable[[str], str],
    moved: str | None = None,
) -> PlanItem:
    fp = key_fp(value)
    new = _show(value, entry.secret, key_fp)
    base: dict[str, Any] = {"key": entry.key, "secret": entry.secret, "new": new, "fingerprint": fp}
    base["value"] = value
    if remote is None:
        return PlanItem(action="add", reason="missing on the platform", created=True, **base)
    base["remote_name"] = remote.name
    base["remote_marker"] = remote.marker
    base["created"] = ledger_entry.created if ledger_entry is not None else False
    if get_spec(platform).typed_stores and remote.secret != entry.secret:
        kinds = ("plain", "secret")
        reason = f"stored as {kinds[remote.secret]}, the table says {kinds[entry.secret]}"
        old = "(write-only)" if remote.value is None else _show(remote.value, remote.secret, key_fp)
        return PlanItem(action="change", reason=reason, old=old, **base)
    if remote.value is not None:
        old = _show(remote.value, entry.secret, key_fp)
        if remote.value == value:
            return PlanItem(action="unchanged", old=old, **base)
        return PlanItem(action="change", reason="value differs", old=old, **base)
    action, reason, old = _verify_write_only(fp, remote, ledger_entry, moved)
    return PlanItem(action=action, reason=reason, old=old, **base)


def _verify_write_only(
    fp: str, remote: RemoteVar, ledger_entry: LedgerEntry | None, moved: str | None = None
) -> tuple[Action, str, str]:
    """Decide on a secret the platform will not show, from the ledger's memory of it.

    ``moved`` describes a target-wide marker that moved through someone else's action.
    """
    if ledger_entry is None:
        return "change", "not verifiable: write-only and no ledger record", "(write-only)"
    if ledger_entry.fingerprint != fp:
        return "change", "the table's value changed since the last sync", ledger_entry.fingerprint
    if moved is not None:
        return "change", f"changed out of band (cannot tell which): {moved}", "(write-only)"
    if getattr(ledger_entry, "untrusted", False):
        reason = "changed out of band (cannot tell which): its target changed after it was written"
        return "change", reason, "(write-only)"
    if ledger_entry.marker and remote.marker and ledger_entry.marker != remote.marker:
        moved = f"{ledger_entry.marker} -> {remote.marker}"
        return "change", f"changed on the platform since the last sync (marker {moved})", "(write-only)"
    return "unchanged", "matches the ledger", ledger_entry.fingerprint


def plan_target(
    *,
    target: str,
    entries: list[Entry],
    state: ConfigState,
    ledger: Ledger,
    env: str,
    column: Column,
    key_fp: Callable[[str], str],
    prune: bool = False,
    only: Collection[str] = (),
    remove: Collection[str] = (),
) -> TargetPlan:
    """Compare ``state`` with the table's ``entries`` for ``target`` and return the plan.

    ``column`` picks DEV_VALUE or PROD_VALUE; an empty value means "not set here", so the
    key is treated like one absent from the table. ``only`` narrows the plan to those
    keys (extras outside it are not reported). ``remove`` names keys the table does not
    assign to the target that are deleted whoever created them (the plan is narrowed to
    them and ``only``). ``key_fp`` fingerprints values (with the ledger key).
    """
    fold = get_spec(state.platform).fold
    removed = {fold(k) for k in remove}
    wanted = {fold(k) for k in only} | removed
    remotes = {fold(name): var for name, var in state.vars.items()}
    ledger_entries = {fold(k): e for k, e in ledger.entries(env, target).items()}
    recorded = ledger.target_marker(env, target) if hasattr(ledger, "target_marker") else None
    moved: str | None = None
    if state.config_marker and recorded is not None and state.marker != recorded:
        moved = f"{state.resource} is at {state.marker}, deploycheck last wrote {recorded}"
    items: list[PlanItem] = []
    desired: set[str] = set()
    for entry in entries:
        if wanted and fold(entry.key) not in wanted:
            continue
        value = entry.value(column)
        if value is None:
            continue
        desired.add(fold(entry.key))
        items.append(
            _plan_entry(
                entry,
                value,
                remotes.get(fold(entry.key)),
                platform=state.platform,
                ledger_entry=ledger_entries.get(fold(entry.key)),
                key_fp=key_fp,
                moved=moved,
            )
        )
    for folded, remote in sorted(remotes.items()):
        if folded in desired or (wanted and folded not in wanted):
            continue
        owned = ledger_entries.get(folded)
        old = "(write-only)" if remote.value is None else _show(remote.value, remote.secret, key_fp)
        if folded in removed:
            why: str | None = "removed by name (--remove)"
        elif prune and owned is not None and owned.created:
            why = "created by deploycheck (--prune)"
        else:
            why = None
        if why is not None:
            items.append(
                PlanItem(
                    key=remote.name,
                    action="remove",
                    secret=remote.secret,
                    reason=f"absent from the table; {why}",
                    old=old,
                    remote_name=remote.name,
                )
            )
            continue
        reason = "absent from the table; kept"
        reason += " (--prune deletes it)" if owned is not None and owned.created and not prune else ""
        reason += "" if owned is not None and owned.created else " (not created by deploycheck)"
        items.append(PlanItem(key=remote.name, action="extra", secret=remote.secret, reason=reason, old=old))
    return TargetPlan(
        target=target,
        platform=state.platform,
        resource=state.resource,
        env=env,
        column=column,
        items=tuple(items),
        marker=state.marker,
        read_requests=state.requests,
        marker_moved=moved is not None,
    )
