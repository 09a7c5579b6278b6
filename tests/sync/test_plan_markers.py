"""How the plan decides on a write-only secret from the ledger and the markers: what the user reads.

The platform never shows a write-only secret's value, so the plan rewrites it unless the
ledger vouches for it: no record, a changed table value, a target changed by someone else,
a record marked untrusted, or a moved per-key marker each mean "change", with the reason
the plan prints and the old side it shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deploycheck.platforms.base import ConfigState, RemoteVar
from deploycheck.redact import fingerprint
from deploycheck.sot import Entry
from deploycheck.state import Ledger, LedgerEntry
from deploycheck.sync import plan_target

SECRET = "AXq8Lx2vN5bR7tY1wE4uI6oP3aZkQ2xvdWRm"
KNOWN = LedgerEntry(fingerprint(SECRET), "2026-01-01T00:00:00Z", "u1", secret=True)
OOB = "changed out of band (cannot tell which)"


def _plan(record: LedgerEntry | None, remote_marker: str | None, *, recorded_target: str | None = None,
          config_marker: bool = False) -> tuple[str, str, str]:  # fmt: skip
    ledger = Ledger(Path("/nonexistent"))
    if record is not None:
        ledger.record("production", "T", "S", record)
    if recorded_target is not None:
        ledger.set_target_marker("production", "T", recorded_target)
    state = ConfigState("github-actions", "res", {"S": RemoteVar("S", None, True, remote_marker)}, "m0",
                        config_marker=config_marker)  # fmt: skip
    entry = Entry(targets=("T",), group="g", key="S", dev="d", prod=SECRET, secret=True, line=1,
                  source=Path("/tmp/app.env"))  # fmt: skip
    plan = plan_target(target="T", entries=[entry], state=state, ledger=ledger, env="production",
                       column="prod", key_fp=fingerprint)  # fmt: skip
    item = plan.item("S")
    assert item is not None
    return item.action, item.reason, item.old


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"record": None, "remote_marker": "u1"},
                     ("change", "not verifiable: write-only and no ledger record", "(write-only)"), id="no record"),
        pytest.param({"record": LedgerEntry(fingerprint("older"), "2026-01-01T00:00:00Z", "u1", secret=True),
                      "remote_marker": "u1"},
                     ("change", "the table's value changed since the last sync", fingerprint("older")),
                     id="table value changed"),
        pytest.param({"record": KNOWN, "remote_marker": "u1", "recorded_target": "m-1", "config_marker": True},
                     ("change", f"{OOB}: res is at m0, deploycheck last wrote m-1", "(write-only)"),
                     id="target changed by someone else"),
        pytest.param({"record": LedgerEntry(fingerprint(SECRET), "2026-01-01T00:00:00Z", "u1", secret=True,
                                            untrusted=True), "remote_marker": "u1"},
                     ("change", f"{OOB}: its target changed after it was written", "(write-only)"),
                     id="record untrusted"),
        pytest.param({"record": KNOWN, "remote_marker": "u2"},
                     ("change", "changed on the platform since the last sync (marker u1 -> u2)", "(write-only)"),
                     id="per-key marker moved"),
        pytest.param({"record": KNOWN, "remote_marker": "u1"},
                     ("unchanged", "matches the ledger", fingerprint(SECRET)), id="vouched for"),
        pytest.param({"record": KNOWN, "remote_marker": "u1", "recorded_target": "m0", "config_marker": True},
                     ("unchanged", "matches the ledger", fingerprint(SECRET)), id="target marker where it was left"),
    ],
)  # fmt: skip
def test_write_only_secret_decision(kwargs: dict[str, object], expected: tuple[str, str, str]) -> None:
    """Each reason to rewrite a write-only secret gives "change" with its own printed reason and old side (the
    ledger's fingerprint when the table's value changed, "(write-only)" otherwise); a record the ledger vouches
    for, with no marker moved, is unchanged."""
    assert _plan(**kwargs) == expected  # type: ignore[arg-type]
