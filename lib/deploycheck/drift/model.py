"""Drift detection: the source of truth against what every platform holds now.

For one environment, every key the SoT assigns to each target (with a value in the
environment's column) is compared with the target's current state, read with list
endpoints (the cost does not grow with the number of keys) and concurrently across
targets. A local environment (``remote: false``) compares the targets' ``.env.local``
files, as ``sync-env --mode=local`` writes them; ``--remote`` compares its platforms.
Running: :mod:`deploycheck.drift.run`; rules per key: :mod:`deploycheck.drift.compare`;
output: :mod:`deploycheck.drift.render`. Each (target, key) gets one state:

``in_sync``
    readable value with the SoT's fingerprint; or a write-only secret that is present,
    whose ledger fingerprint (what the last sync wrote) is the SoT's, and whose change
    markers show no change since that sync.
``missing``
    the platform does not hold the key at all.
``value_differs``
    a readable value (Convex env var, Worker/Pages ``plain_text``, GitHub variable,
    ``.env.local`` line) whose fingerprint is not the SoT's, and the platform does not
    hold what the last sync wrote either (someone changed it, or it was never synced);
    also a key stored as plain where the SoT says secret, or the reverse, on platforms
    that keep the two apart (Worker, Pages, GitHub).
``pending``
    the SoT changed since the last sync: a readable value still equal to what the ledger
    says was last written, or a write-only secret whose ledger fingerprint is not the
    SoT's current one. A sync fixes it.
``changed_out_of_band``
    a write-only secret changed on the platform after the last sync. Detected by markers:

    - per-key markers where the platform has them (GitHub secrets' ``updated_at``): the
      key's current marker differs from the one the ledger recorded after the write;
    - the Worker has only a Worker-wide marker, its active version id, which changes on
      *every* write (secret, var or code deploy, deploycheck's own sync included). The
      ledger records the version id after the sync's own write; the newest such id of the
      target is compared with the active one. When they differ, the binding lists of the
      recorded and the active version are compared (adapter ``get_version(id)``): only
      keys whose binding changed (appeared, or changed type) are ``changed_out_of_band``.
      Without version details, one target-level note is reported instead of per-key
      findings. Secret bindings carry no value, so a secret overwritten under the same
      name is visible only as that note; re-sync to be sure.
    - other target-wide markers (the Pages active deployment id, which changes on code
      deploys, not on configuration writes) are not used.
``unexpected``
    the platform holds a key the SoT does not assign to that target (when the ledger says
    deploycheck created it, the remediation is ``sync-env --prune``).
``unverifiable``
    a write-only secret that is present but has no ledger entry: its value cannot be
    read, so nothing says whether it is the SoT's. Run a sync once to record it.

``missing``, ``value_differs``, ``pending``, ``changed_out_of_band`` and ``unexpected``
are drift and fail; ``unverifiable`` is reported as a warning and does not fail. A
finding acknowledged in the baseline file (:mod:`deploycheck.drift.baseline`) is reported but
does not fail until its entry expires. Secret values never leave this module: secrets
are shown as fingerprints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    import datetime

    from deploycheck.drift.baseline import Baseline, BaselineEntry
    from deploycheck.platforms.base import ConfigState

__all__ = [
    "DRIFT_STATES",
    "DriftReport",
    "DriftState",
    "ExpectedVar",
    "Finding",
    "LedgerRecord",
    "LedgerView",
    "Note",
    "TargetError",
    "TargetReading",
    "TargetSummary",
]

DriftState = Literal[
    "in_sync", "missing", "value_differs", "pending", "changed_out_of_band", "unexpected", "unverifiable"
]
DRIFT_STATES: tuple[str, ...] = (
    "missing",
    "value_differs",
    "pending",
    "changed_out_of_band",
    "unexpected",
    "unverifiable",
)
#: states that are drift but do not fail: the value cannot be checked yet
WARN_STATES: frozenset[str] = frozenset({"unverifiable"})


class LedgerRecord(Protocol):
    """What the sync ledger recorded for one (env, target, key) after writing it."""

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the value written."""
        ...

    @property
    def written_at(self) -> str:
        """When it was written (ISO 8601)."""
        ...

    @property
    def marker(self) -> str | None:
        """The platform's change marker after the write (per-key or target-wide)."""
        ...


class LedgerView(Protocol):
    """Read access to the sync ledger (``deploycheck.state.ledger.Ledger`` meets it)."""

    def entry(self, env: str, target: str, key: str) -> LedgerRecord | None:
        """The record of the last sync of ``key`` to ``target`` in ``env``, or None."""
        ...


@dataclass(frozen=True)
class ExpectedVar:
    """One key the SoT assigns to a target in an environment, with its value there."""

    key: str
    value: str = field(repr=False)
    secret: bool
    where: str = ""


@dataclass(frozen=True)
class TargetReading:
    """A target's state as read from its platform, plus Worker version bindings when fetched.

    ``recorded_bindings`` / ``active_bindings`` map binding name -> type for the version
    recorded at the last sync and the active one; None when not fetched or not available.
    """

    target: str
    platform: str
    resource: str
    state: ConfigState
    requests: int = 0
    recorded_marker: str | None = None
    recorded_bindings: Mapping[str, str] | None = None
    active_bindings: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Finding:
    """The comparison of one key on one target: its state, what was expected and found.

    ``expected`` and ``actual`` are display strings: plain values as they are, secrets as
    fingerprints, never a secret value. ``command`` is the exact remediation command
    (deploycheck's own, runnable as printed); ``vendor_command``, when set, is the same fix
    with the vendor's CLI (``npx wrangler secret delete ...``), runnable as printed where that
    CLI is installed and the vendor's variables select the resource deploycheck read.
    """

    env: str
    target: str
    platform: str
    resource: str
    key: str
    state: DriftState
    secret: bool
    expected: str | None
    actual: str | None
    detail: str = ""
    action: str = ""
    command: str | None = None
    acknowledged: BaselineEntry | None = None
    vendor_command: str | None = None
    expired: bool = False

    @property
    def is_drift(self) -> bool:
        """True for every state but ``in_sync``."""
        return self.state != "in_sync"

    @property
    def is_acknowledged(self) -> bool:
        """True when a baseline entry that has not expired covers this finding."""
        return self.acknowledged is not None and not self.expired

    @property
    def fails(self) -> bool:
        """True when this finding fails the run (drift, not a warning, not acknowledged)."""
        return self.is_drift and self.state not in WARN_STATES and not self.is_acknowledged


@dataclass(frozen=True)
class Note:
    """Something about a whole target worth saying that is not a per-key finding."""

    target: str
    platform: str
    message: str


@dataclass(frozen=True)
class TargetError:
    """A target whose state could not be read: which, and why."""

    target: str
    platform: str
    resource: str
    message: str
    kind: str = "PlatformError"
    exit_code: int = 3


@dataclass(frozen=True)
class TargetSummary:
    """Per-target counts: keys expected, keys held, requests made, the marker read."""

    target: str
    platform: str
    resource: str
    expected: int
    held: int
    requests: int
    marker: str | None = None


@dataclass
class DriftReport:
    """Everything one drift run found, in a form every renderer and the checks share."""

    env: str
    project: str
    sot: str
    mode: str
    results: list[Finding] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    errors: list[TargetError] = field(default_factory=list)
    targets: list[TargetSummary] = field(default_factory=list)
    baseline: str | None = None
    unused_baseline: list[BaselineEntry] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """Every result that is not ``in_sync``."""
        return [r for r in self.results if r.is_drift]

    @property
    def failing(self) -> list[Finding]:
        """The findings that fail the run."""
        return [r for r in self.results if r.fails]

    @property
    def exit_code(self) -> int:
        """2 bad input, 3 a platform could not be read, 1 drift found, 0 no drift."""
        if any(e.exit_code == 2 for e in self.errors):
            return 2
        if self.errors:
            return 3
        return 1 if self.failing else 0

    def result(self, target: str, key: str) -> Finding | None:
        """The result for ``key`` on ``target``, or None when it was not compared."""
        for r in self.results:
            if r.target == target and r.key == key:
                return r
        return None

    def error_for(self, target: str) -> TargetError | None:
        """The read error of ``target``, or None when it was read."""
        return next((e for e in self.errors if e.target == target), None)

    def apply_baseline(self, baseline: Baseline, today: datetime.date) -> None:
        """Mark findings the baseline acknowledges (and whether the entry expired)."""
        self.baseline = str(baseline.path)
        used: set[int] = set()
        results = []
        for result in self.results:
            entry = baseline.match(result) if result.is_drift else None
            if entry is not None:
                used.add(id(entry))
                result = replace(result, acknowledged=entry, expired=entry.is_expired(today))  # noqa: PLW2901
            results.append(result)
        self.results = results
        self.unused_baseline = [e for e in baseline.entries if id(e) not in used]
