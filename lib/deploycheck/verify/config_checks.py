"""Configuration checks: what a platform holds against the source-of-truth table.

Every message names the platform, the target, the key and the next step, and shows
values only as fingerprints: a value is never printed, not even a plain one, so a key
marked plain by mistake cannot leak through a check.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from deploycheck.config import Environment, ProjectConfig, Target
from deploycheck.platforms import get_spec
from deploycheck.platforms.base import ConfigState, RemoteVar
from deploycheck.redact import fingerprint
from deploycheck.sot import Entry
from deploycheck.verify.checkers import Verdict

__all__ = [
    "ConfigSubject",
    "config_matches_sot",
    "dev_markers",
    "no_dev_values",
    "required_keys",
    "sync_command",
]

_LOCAL_HOSTS = re.compile(r"(?i)\b(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])\b")
_DEV_KEY = re.compile(r"^dev:[\w-]+\|")


@dataclass(frozen=True)
class ConfigSubject:
    """The target a configuration check is about, for its messages."""

    env: Environment
    target: Target
    resource: str

    @property
    def label(self) -> str:
        """``cloudflare-pages app-web (NEXTJS)``."""
        return f"{self.target.platform} {self.resource} ({self.target.name})"

    @property
    def mode(self) -> str:
        """The sync-env mode that writes this environment's values."""
        if not get_spec(self.target.platform).remote:
            return "local"
        return "deploy-prod" if self.env.values == "prod" else "deploy-dev"


def _sync_words(subject: ConfigSubject) -> list[str]:
    words = ["deploycheck", "sync-env", f"--mode={subject.mode}", "--env", subject.env.name]
    return [*words, "--target", subject.target.name]


def _confirmed(subject: ConfigSubject) -> list[str]:
    """``--yes`` where sync-env refuses to apply without it off a terminal (deploy-prod)."""
    return ["--yes"] if subject.mode == "deploy-prod" else []


def sync_command(subject: ConfigSubject, keys: Iterable[str]) -> str:
    """The command that writes ``keys`` of the subject's target from the source of truth,
    runnable as printed."""
    only = [word for key in keys for word in ("--only", key)]
    return shlex.join([*_sync_words(subject), *only, *_confirmed(subject)])


def remove_command(subject: ConfigSubject, keys: Iterable[str]) -> str:
    """The command that deletes ``keys``, which the source of truth does not assign to the
    subject's target, from the platform, runnable as printed."""
    remove = [word for key in keys for word in ("--remove", key)]
    return shlex.join([*_sync_words(subject), *remove, *_confirmed(subject)])


def _present(state: ConfigState, key: str) -> RemoteVar | None:
    return state.vars.get(key)


def config_matches_sot(subject: ConfigSubject, entries: Sequence[Entry], state: ConfigState) -> Verdict:
    """Every key the SoT assigns to the target is on the platform; readable values match by fingerprint."""
    column = subject.env.values
    missing: list[str] = []
    differ: list[str] = []
    checked = 0
    for entry in entries:
        expected = entry.value(column)
        if expected is None:
            continue
        checked += 1
        var = _present(state, entry.key)
        if var is None:
            missing.append(entry.key)
        elif var.value is not None and fingerprint(var.value) != fingerprint(expected):
            differ.append(
                f"{entry.key} differs (platform {fingerprint(var.value)}, "
                f"source of truth {fingerprint(expected)})"
            )
    if not missing and not differ:
        return Verdict("pass", f"{subject.label}: {checked} key(s) present and matching the source of truth")
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    problems += differ
    keys = missing + [d.split(" ", 1)[0] for d in differ]
    return Verdict(
        "fail", f"{subject.label}: {'; '.join(problems)}. Next step: run {sync_command(subject, keys)}"
    )


def dev_markers(config: ProjectConfig) -> tuple[str, ...]:
    """Deployment names of the development environments (e.g. Convex ``dev-...`` deployments)."""
    names: list[str] = []
    for target in config.targets.values():
        for env_name, params in target.environments.items():
            env = config.environments.get(env_name)
            if env is None or env.values != "dev":
                continue
            value = params.get("deployment")
            if isinstance(value, str) and value:
                names.append(value)
    return tuple(dict.fromkeys(names))


def _dev_reason(var: RemoteVar, entry: Entry | None, markers: Sequence[str]) -> str | None:
    value = var.value
    if value is None:
        return None
    dev = entry.dev if entry is not None and entry.dev != entry.prod else None
    if dev is not None and fingerprint(value) == fingerprint(dev):
        return f"{var.name} holds its DEV_VALUE ({fingerprint(value)})"
    if _LOCAL_HOSTS.search(value):
        return f"{var.name} holds a localhost / 127.0.0.1 address ({fingerprint(value)})"
    if _DEV_KEY.match(value):
        return f"{var.name} holds a development deploy key ({fingerprint(value)})"
    for marker in markers:
        if marker in value:
            return f"{var.name} names the development deployment {marker}"
    return None


def no_dev_values(
    subject: ConfigSubject, entries: Sequence[Entry], state: ConfigState, markers: Sequence[str]
) -> Verdict:
    """A production-valued environment holds no DEV_VALUE, localhost address or dev deployment name."""
    if subject.env.values != "prod":
        return Verdict("skip", f"environment {subject.env.name!r} takes development values")
    by_key: Mapping[str, Entry] = {e.key: e for e in entries}
    found = []
    for var in state.vars.values():
        reason = _dev_reason(var, by_key.get(var.name), markers)
        if reason is not None:
            found.append((var.name, reason))
    if not found:
        readable = sum(1 for v in state.vars.values() if v.value is not None)
        return Verdict(
            "pass", f"{subject.label}: none of {readable} readable value(s) is a development value"
        )
    reasons = "; ".join(reason for _, reason in found)
    keys = [key for key, _ in found if key in by_key]
    strays = [key for key, _ in found if key not in by_key]
    steps = [f"run {sync_command(subject, keys)}"] if keys else []
    if strays:
        steps.append(
            f"remove {', '.join(strays)} (not in the source of truth for {subject.target.name}): "
            f"{remove_command(subject, strays)}, or add them to the source of truth and sync"
        )
    step = "; ".join(steps)
    return Verdict(
        "fail", f"{subject.label} in {subject.env.name}: development value(s): {reasons}. Next step: {step}"
    )


def required_keys(subject: ConfigSubject, state: ConfigState, sot_keys: Iterable[str]) -> Verdict:
    """Every key listed in ``targets.<TARGET>.required`` is present on the platform."""
    required = subject.target.required
    if not required:
        return Verdict("skip", f"targets.{subject.target.name}.required lists no keys")
    missing = [key for key in required if _present(state, key) is None]
    if not missing:
        return Verdict("pass", f"{subject.label}: required {', '.join(required)} present")
    known = set(sot_keys)
    in_sot = [k for k in missing if k in known]
    not_in_sot = [k for k in missing if k not in known]
    steps = []
    if in_sot:
        steps.append(f"run {sync_command(subject, in_sot)}")
    if not_in_sot:
        steps.append(
            f"add {', '.join(not_in_sot)} to the source of truth for {subject.target.name}, then sync"
        )
    return Verdict(
        "fail",
        f"{subject.label}: required key(s) {', '.join(missing)} missing. Next step: {'; '.join(steps)}",
    )
