"""What a rollback changed and what it did not, said after it ran.

:func:`config_changes` compares the target's configuration read before and after the
rollback (``read_config``: plain values compared, secrets by binding, values never
shown); :func:`drift_after` compares the target with the source of truth and, when drift
is left, names the one command that fixes it (``sync-env`` for that target, which
rewrites write-only secrets whenever the target moved since deploycheck last wrote it).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deploycheck.config import ProjectConfig
from deploycheck.errors import DeploycheckError
from deploycheck.platforms.base import ConfigState

__all__ = [
    "DriftAfter",
    "KeyChange",
    "config_changes",
    "drift_after",
    "fix_command",
    "read_config",
    "restore_command",
]


def read_config(adapter: Any) -> ConfigState | None:
    """The configuration serving traffic (the platform history's reading, else ``read_config``),
    or None when the adapter has none to read or the read failed."""
    if adapter is None or not hasattr(adapter, "read_config"):
        return None
    from deploycheck.platforms import get_spec

    history = get_spec(adapter.platform).code_history
    try:
        state = history.served_config(adapter) if history is not None else None
        if state is None:
            state = adapter.read_config()
    except DeploycheckError:
        return None
    return state


@dataclass(frozen=True)
class KeyChange:
    """What a rollback did to one key: ``kept``, ``reverted``, ``removed`` or ``returned``."""

    name: str
    secret: bool
    status: str
    text: str

    def __str__(self) -> str:
        return f"{self.name} ({'secret' if self.secret else 'var'}): {self.text}"


def config_changes(
    before: ConfigState | None, after: ConfigState | None, *, mode: str, config_from: str | None = None
) -> list[KeyChange]:
    """What happened to every key held before or after (plain values compared, secret values never).

    A code rollback whose configuration came from ``config_from``, another revision than the
    one serving before (``before.marker``), restores today's configuration instead of keeping it.
    """
    if before is None or after is None:
        return []
    restores = mode == "code" and config_from is not None and before.marker not in (None, config_from)
    out: list[KeyChange] = []
    for name in sorted(before.vars.keys() | after.vars.keys()):
        old, new = before.vars.get(name), after.vars.get(name)
        if old is None:
            assert new is not None
            out.append(KeyChange(name, new.secret, "returned", "returned with the target's configuration"))
        elif new is None:
            out.append(KeyChange(name, old.secret, "removed", "removed: the target's configuration lacks it"))
        elif old.secret != new.secret:
            kind = "secret" if new.secret else "plain"
            out.append(KeyChange(name, new.secret, "reverted", f"reverted: it is a {kind} value again"))
        elif not new.secret:
            if old.value == new.value:
                out.append(KeyChange(name, False, "kept", "kept"))
            elif restores:
                out.append(KeyChange(name, False, "restored", "today's value serves again"))
            else:
                out.append(KeyChange(name, False, "reverted", "reverted (its value differs)"))
        elif restores:
            text = f"today's binding (of version {config_from}) serves again; values are not readable"
            out.append(KeyChange(name, True, "restored", text))
        elif mode == "code":
            out.append(
                KeyChange(name, True, "kept", "kept (the binding in force is carried over, never re-sent)")
            )
        else:
            text = (
                "reverted to the target's binding (its old value if rotated since; values are not readable)"
            )
            out.append(KeyChange(name, True, "reverted", text))
    return out


def restore_command(platform: str, env: str, live: str) -> str:
    """The code rollback that serves today's configuration again under the code ``live`` runs."""
    words = ["deploycheck", "rollback", platform, "--env", env, "--to", live, "--yes"]
    return shlex.join([*words, "--reason", "restore the configuration the rollback reverted"])


def fix_command(config: ProjectConfig, env: str, target: str) -> str:
    """The command that writes ``target`` from the SoT again: ``sync-env`` for that target."""
    from deploycheck.drift import sync_mode

    mode = sync_mode(config, env, local=False)
    words = ["deploycheck", "sync-env", f"--mode={mode}", "--env", env, "--target", target]
    return shlex.join([*words, *(["--yes"] if mode == "deploy-prod" else [])])


@dataclass(frozen=True)
class DriftAfter:
    """The target against the SoT after a rollback: drift lines and the command that fixes them."""

    checked: bool
    lines: tuple[str, ...] = ()
    command: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def is_clean(self) -> bool:
        """True when the target was compared and holds what the SoT says."""
        return self.checked and self.command is None


def drift_after(
    config: ProjectConfig, env: str, target: str, environ: Mapping[str, str] | None = None
) -> DriftAfter:
    """Compare ``target`` with the SoT now (reads only)."""
    from deploycheck.drift import run_drift

    environ = dict(os.environ) if environ is None else environ
    try:
        report = run_drift(config, env, targets=[target], environ=environ)
    except DeploycheckError as exc:
        return DriftAfter(False, (f"not compared with the source of truth: {exc}",))
    if report.errors:
        return DriftAfter(False, tuple(f"not compared: {e.target}: {e.message}" for e in report.errors))
    failing = report.failing
    lines = [
        f"{f.key}: {f.state.replace('_', ' ')}" + (f" ({f.detail})" if f.detail else "") for f in failing
    ]
    lines += [f"note: {n.message}" for n in report.notes if n.target == target]
    facts = {"drift": [{"key": f.key, "state": f.state} for f in failing]}
    if not failing:
        return DriftAfter(True, tuple(lines), None, facts)
    return DriftAfter(True, tuple(lines), fix_command(config, env, target), facts)
