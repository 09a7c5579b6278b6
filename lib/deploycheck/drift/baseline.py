"""The drift baseline: drift the team has acknowledged, each entry with an owner and an expiry.

A YAML file, by default ``.deploycheck-baseline.yaml`` beside ``deploycheck.yaml``::

    acknowledged:
      - key: LEGACY_WEBHOOK_URL
        target: CONVEX
        reason: removed in the next release; the old backend still reads it
        owner: platform-team
        expires: 2025-09-30
        env: production            # optional: only in this environment
        state: unexpected          # optional: only this drift state

A finding matching an entry (same key and target, and env/state when given) is reported
but does not fail the run until the day after ``expires``; from then on it fails again
and says the acknowledgement expired. Every problem in the file is reported at once with
its file:line (:class:`~deploycheck.errors.BaselineError`, exit code 2).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from deploycheck.config import parse_yaml
from deploycheck.errors import BaselineError, Problem


class Finding(Protocol):
    """What a baseline entry matches on: a drift finding's place and state."""

    @property
    def env(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def state(self) -> str: ...

__all__ = ["BASELINE_NAME", "Baseline", "BaselineEntry", "default_baseline_path", "load_baseline"]

BASELINE_NAME = ".deploycheck-baseline.yaml"
_TOP = "acknowledged"
_REQUIRED = ("key", "target", "reason", "owner", "expires")
_OPTIONAL = ("env", "state")
_STATES = ("missing", "value_differs", "pending", "changed_out_of_band", "unexpected", "unverifiable")
_EXAMPLE = "acknowledged: [{key: K, target: T, reason: why, owner: who, expires: 2025-12-31}]"


@dataclass(frozen=True)
class BaselineEntry:
    """One acknowledged drift: which key on which target, why, who owns it, until when."""

    key: str
    target: str
    reason: str
    owner: str
    expires: datetime.date
    line: int
    env: str | None = None
    state: str | None = None

    def is_expired(self, today: datetime.date) -> bool:
        """True once ``today`` is past ``expires`` (the expiry day itself still counts)."""
        return today > self.expires

    def matches(self, finding: Finding) -> bool:
        """True when this entry covers ``finding``."""
        return (
            self.key == finding.key
            and self.target == finding.target
            and (self.env is None or self.env == finding.env)
            and (self.state is None or self.state == finding.state)
        )


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline file."""

    path: Path
    entries: tuple[BaselineEntry, ...]

    def match(self, finding: Finding) -> BaselineEntry | None:
        """The first entry covering ``finding``, or None."""
        return next((e for e in self.entries if e.matches(finding)), None)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as text, so an impossible date is a problem, not a crash."""


def _timestamp_as_text(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def default_baseline_path(config_path: Path) -> Path:
    """Where the baseline lives by default: beside deploycheck.yaml."""
    return config_path.parent / BASELINE_NAME


def _lines(node: yaml.Node | None) -> dict[tuple[int, str], int]:
    """(entry index, field) -> line; field "" is the entry itself."""
    out: dict[tuple[int, str], int] = {}
    if not isinstance(node, yaml.MappingNode):
        return out
    for key_node, value in node.value:
        if key_node.value != _TOP or not isinstance(value, yaml.SequenceNode):
            continue
        for index, item in enumerate(value.value):
            out[(index, "")] = item.start_mark.line + 1
            if isinstance(item, yaml.MappingNode):
                for field_node, _ in item.value:
                    out[(index, str(field_node.value))] = field_node.start_mark.line + 1
    return out


def _parse_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _entry(
    index: int, item: Any, source: str, lines: dict[tuple[int, str], int]
) -> tuple[BaselineEntry | None, list[Problem]]:
    where = f"{_TOP}[{index}]"
    line = lines.get((index, ""))
    if not isinstance(item, dict):
        message = f"expected a mapping with {', '.join(_REQUIRED)}, got {type(item).__name__}."
        return None, [Problem(source, message, line, where, f"Write it as: {_EXAMPLE}")]
    problems: list[Problem] = []

    def field_problem(name: object, message: str, hint: str) -> None:
        at = lines.get((index, str(name)), line)
        problems.append(Problem(source, message, at, f"{where}.{name}", hint))

    for name in item:
        if str(name) not in _REQUIRED + _OPTIONAL:
            valid = ", ".join(_REQUIRED + _OPTIONAL)
            field_problem(name, f"unknown field {name!r}; valid: {valid}.", "Remove it or fix its spelling.")
    for name in _REQUIRED:
        value = item.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(
                Problem(
                    source, f"missing required field {name!r}.", line, where, f"Add {name}: ... to the entry."
                )
            )
        elif name != "expires" and not isinstance(value, str):
            field_problem(name, f"{name} must be text, got {value!r}.", "Quote the value.")
    expires = _parse_date(item.get("expires")) if item.get("expires") is not None else None
    if item.get("expires") is not None and expires is None:
        message = f"expires must be a date (YYYY-MM-DD), got {item.get('expires')!r}."
        field_problem("expires", message, "Write it as 2025-12-31.")
    state = item.get("state")
    if state is not None and state not in _STATES:
        message = f"unknown drift state {state!r}; valid: {', '.join(_STATES)}."
        field_problem("state", message, "Use one of the valid states or drop the field.")
    env = item.get("env")
    if problems or expires is None:
        return None, problems
    entry = BaselineEntry(
        key=str(item["key"]).strip(),
        target=str(item["target"]).strip(),
        reason=str(item["reason"]).strip(),
        owner=str(item["owner"]).strip(),
        expires=expires,
        line=line or 0,
        env=str(env) if env is not None else None,
        state=str(state) if state is not None else None,
    )
    return entry, []


def load_baseline(path: Path) -> Baseline:
    """Load and validate a baseline file; raise BaselineError listing every problem with file:line."""
    source = str(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise BaselineError(
            [Problem(source, f"cannot read the file: {exc.strerror}.", hint="Check the --baseline path.")]
        ) from None
    try:
        node, data = parse_yaml(text, _Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise BaselineError(
            [Problem(source, f"not valid YAML: {problem}.", line, hint="Fix the syntax.")]
        ) from None
    if data is None:
        return Baseline(path=path, entries=())
    if not isinstance(data, dict) or not isinstance(data.get(_TOP, []), list):
        raise BaselineError(
            [Problem(source, f"expected a mapping with an {_TOP!r} list.", 1, hint=f"Write: {_EXAMPLE}")]
        )
    problems = [
        Problem(source, f"unknown top-level key {k!r}; valid: {_TOP}.", 1, str(k), "Remove it.")
        for k in data
        if k != _TOP
    ]
    lines = _lines(node)
    entries: list[BaselineEntry] = []
    seen: dict[tuple[str, str, str | None, str | None], int] = {}
    for index, item in enumerate(data.get(_TOP) or []):
        entry, found = _entry(index, item, source, lines)
        problems += found
        if entry is None:
            continue
        ident = (entry.key, entry.target, entry.env, entry.state)
        if ident in seen:
            problems.append(
                Problem(
                    source,
                    f"duplicate entry for {entry.key} on {entry.target} (first at line {seen[ident]}).",
                    entry.line,
                    f"{_TOP}[{index}]",
                    "Keep one entry per key and target.",
                )
            )
            continue
        seen[ident] = entry.line
        entries.append(entry)
    if problems:
        raise BaselineError(problems, title=f"invalid drift baseline in {source}")
    return Baseline(path=path, entries=tuple(entries))
