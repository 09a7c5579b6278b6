"""The state steps of a rollback, configured per target in ``rollback.steps.<TARGET>``.

The seed's Worker procedure does more than redeploy code: Durable Object state persists
across deployments, so the state version the target code expects is checked against the
one stored, and cleanups (``DELETE /logs/clear``, a state reset endpoint) may follow::

    rollback:
      steps:
        CLOUDFLARE_WORKER:
          state_check:
            policy: warn            # refuse | warn | off
            url_setting: WORKER_URL # where the running code's /health reports the stored state
            health_path: /health
            pattern: 'EXPECTED_STATE_VERSION\\s*=\\s*(\\d+)'   # read in the target's code
          after:
            - name: clear-logs
              description: drop the log entries the newer code wrote (else their TTL expires)
              method: DELETE
              url: ${WORKER_URL}/logs/clear
              expect_status: [200, 204]
              default: skip         # run | skip, without --action/--skip-action

The state check runs before the rollback (reads only: ``/health`` and the target's code)
and after it. ``refuse`` refuses a rollback whose target code expects an older state
version than the one stored (``--force --reason`` overrides); ``warn`` prints a WARNING.
Each ``after`` action is shown in the plan and by ``--dry-run``, asked for at a terminal,
run with ``--yes`` when its default is ``run`` (``--action NAME`` runs one, ``--skip-action
NAME`` skips one), and audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from deploycheck.config import ProjectConfig
from deploycheck.errors import ConfigError, Problem
from deploycheck.redact import redact

__all__ = [
    "Action",
    "StateCheck",
    "StateReading",
    "TargetSteps",
    "expected_version",
    "load_steps",
    "read_state",
    "run_action",
]

POLICIES = ("refuse", "warn", "off")
DEFAULT_PATTERN = r"EXPECTED_STATE_VERSION\s*=\s*(\d+)"
_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class StateCheck:
    """How to read the stored state version and the one a code expects."""

    policy: str = "warn"
    url_setting: str = "WORKER_URL"
    health_path: str = "/health"
    pattern: str = DEFAULT_PATTERN


@dataclass(frozen=True)
class Action:
    """One post-rollback HTTP action (``url`` may name settings as ``${NAME}``)."""

    name: str
    method: str
    url: str
    description: str = ""
    expect_status: tuple[int, ...] = (200, 202, 204)
    default: str = "run"


@dataclass(frozen=True)
class TargetSteps:
    """The state check and the post-rollback actions of one target."""

    state_check: StateCheck | None = None
    after: tuple[Action, ...] = ()


@dataclass(frozen=True)
class StateReading:
    """The state versions around a rollback; ``problem`` when the target code cannot read the state."""

    stored: int | None
    running_expects: int | None
    target_expects: int | None
    line: str
    problem: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


def _fail(config: ProjectConfig, path: str, message: str) -> ConfigError:
    return ConfigError([Problem(str(config.path), message, path=path)])


def load_steps(config: ProjectConfig, target: str) -> TargetSteps:
    """``rollback.steps.<target>`` of deploycheck.yaml (empty when absent); ConfigError when wrong."""
    steps = (config.rollback.get("steps") or {}).get(target) or {}
    where = f"rollback.steps.{target}"
    check: StateCheck | None = None
    raw = steps.get("state_check")
    if raw is not None:
        raw = {"policy": raw} if isinstance(raw, str) else dict(raw)
        policy = str(raw.get("policy", "warn"))
        if policy not in POLICIES:
            raise _fail(
                config,
                f"{where}.state_check.policy",
                f"unknown policy {policy!r}; valid: {', '.join(POLICIES)}.",
            )
        pattern = str(raw.get("pattern", DEFAULT_PATTERN))
        try:
            if re.compile(pattern).groups < 1:
                raise _fail(
                    config, f"{where}.state_check.pattern", "the pattern needs one group: the version"
                )
        except re.error as exc:
            raise _fail(config, f"{where}.state_check.pattern", f"not a regular expression: {exc}") from None
        check = StateCheck(
            policy=policy,
            url_setting=str(raw.get("url_setting", "WORKER_URL")),
            health_path=str(raw.get("health_path", "/health")),
            pattern=pattern,
        )
    actions: list[Action] = []
    for index, item in enumerate(steps.get("after") or []):
        path = f"{where}.after[{index}]"
        if not isinstance(item, Mapping) or not item.get("name") or not item.get("url"):
            raise _fail(config, path, "an action needs a name and a url")
        default = str(item.get("default", "run"))
        if default not in ("run", "skip"):
            raise _fail(config, f"{path}.default", f"default must be run or skip, not {default!r}")
        expect = item.get("expect_status", [200, 202, 204])
        actions.append(
            Action(
                name=str(item["name"]),
                method=str(item.get("method", "POST")).upper(),
                url=str(item["url"]),
                description=str(item.get("description", "")),
                expect_status=tuple(int(s) for s in (expect if isinstance(expect, list) else [expect])),
                default=default,
            )
        )
    names = [a.name for a in actions]
    if len(set(names)) != len(names):
        raise _fail(config, f"{where}.after", f"action names must be unique: {', '.join(names)}")
    return TargetSteps(state_check=check, after=tuple(actions))


def expected_version(files: Mapping[str, bytes], pattern: str) -> int | None:
    """The highest state version ``pattern`` finds in ``files`` (None when it finds none)."""
    regex = re.compile(pattern.encode())
    found = [int(m.group(1)) for text in files.values() for m in regex.finditer(text)]
    return max(found) if found else None


def read_state(url: str | None, check: StateCheck, target_expects: int | None, *, when: str) -> StateReading:
    """The stored state version (the running code's ``/health``) against what ``target_expects``.

    ``when`` is ``before`` or ``after`` the rollback; the problem is set when the target
    code expects an older state version than the one stored.
    """
    if not url:
        return StateReading(None, None, target_expects, f"not checked: {check.url_setting} has no value")
    from deploycheck.verify import read_health

    health = read_health(url, check.health_path)
    if health.error:
        return StateReading(None, None, target_expects, f"{health.url} did not answer: {health.error}")
    stored, running = health.state_version, health.expected_state_version
    expects = target_expects if when == "before" else running
    who = "the target code" if when == "before" else "the code now running"
    line = f"stored state version {stored}; {who} expects {expects}"
    if when == "before":
        line += f" (the code running now expects {running})"
    facts = {"stored": stored, "running_expects": running, "target_expects": target_expects, "when": when}
    problem = ""
    if stored is None or expects is None:
        line += ": cannot compare (the state version or the code's expectation is unknown)"
    elif stored > expects:
        problem = (
            f"{who} expects state version {expects}, but the stored state is version {stored}, written "
            "by newer code; Durable Object state is never rolled back, so that code must read state it "
            "does not know (handle it in code, or reset the state)"
        )
    elif stored < expects:
        line += ": the code migrates the state forward"
    return StateReading(stored, running, target_expects, line, problem, facts)


def action_url(action: Action, value: Callable[[str], str | None]) -> str:
    """``action.url`` with each ``${NAME}`` replaced by setting ``NAME`` (ConfigError when unset)."""

    def one(match: re.Match[str]) -> str:
        found = value(match.group(1))
        if not found:
            msg = f"action {action.name!r}: setting {match.group(1)} has no value in this environment"
            raise ConfigError([Problem("rollback.steps", msg)])
        return found.rstrip("/")

    return _VARIABLE.sub(one, action.url)


def chosen(action: Action, *, run: Sequence[str], skip: Sequence[str]) -> bool:
    """Whether ``action`` runs without asking: named by --action, not by --skip-action, else its default."""
    if action.name in skip:
        return False
    return action.name in run or action.default == "run"


def run_action(action: Action, url: str, timeout: float = 30.0) -> tuple[bool, str]:
    """Send the action's request once (never retried); return (ok, a line for people)."""
    try:
        response = requests.request(action.method, url, timeout=timeout)
    except requests.RequestException as exc:
        return False, redact(f"{action.method} {url} failed: {type(exc).__name__}: {exc}")[:300]
    ok = response.status_code in action.expect_status
    expected = "/".join(str(s) for s in action.expect_status)
    return ok, redact(
        f"{action.method} {url} -> {response.status_code}" + ("" if ok else f" (expected {expected})")
    )
