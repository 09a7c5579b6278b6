"""Check outcomes (PASS / WARN / FAIL / SKIP / ERROR), ``results.json`` and run summaries.

Nothing here imports pytest: :meth:`Results.add_report` reads the few attributes every
pytest report has, so the plugin on the controller and the ``verify`` command share it.
A warned check keeps the pytest outcome ``passed`` and carries the user property
``("deploycheck_outcome", "warn")`` with its message in ``("deploycheck_message", ...)``;
those survive xdist, JUnit and every other consumer of reports.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from deploycheck.redact import redact

__all__ = [
    "ENV_PROPERTY",
    "MESSAGE_PROPERTY",
    "OUTCOME_PROPERTY",
    "PLATFORM_PROPERTY",
    "RESOURCE_PROPERTY",
    "TARGET_PROPERTY",
    "CheckRecord",
    "Outcome",
    "Results",
    "holds_secret",
    "load_results",
    "redact_tree",
    "render_markdown",
    "summary_lines",
    "verdict",
    "warn_message",
]

Outcome = Literal["pass", "warn", "fail", "skip", "error"]
OUTCOME_PROPERTY = "deploycheck_outcome"
MESSAGE_PROPERTY = "deploycheck_message"
PLATFORM_PROPERTY = "deploycheck_platform"
ENV_PROPERTY = "deploycheck_env"
TARGET_PROPERTY = "deploycheck_target"
RESOURCE_PROPERTY = "deploycheck_resource"
#: which outcome of a phase outranks which when folding setup/call/teardown into one record
_RANK: dict[str, int] = {"pass": 0, "skip": 1, "warn": 2, "fail": 3, "error": 4}
_SYMBOL = {"PASSED": "✅", "PASSED with warnings": "⚠️ ", "FAILED": "❌"}


def holds_secret(text: str) -> bool:
    """True when ``text`` contains a registered secret or an 8-character piece of one."""
    # the redactor also folds "******" into "***"; asterisks never start a match we care about
    probe = text.replace("*", "\x00")
    return redact(probe) != probe


def redact_tree(value: Any) -> Any:
    """Return ``value`` with every string inside it (dicts, lists, tuples) passed through the redactor."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_tree(k): redact_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_tree(v) for v in value)
    return value


def _property(report: Any, name: str) -> str | None:
    for key, value in getattr(report, "user_properties", None) or ():
        if key == name:
            return str(value)
    return None


def warn_message(report: Any) -> str | None:
    """The WARN message of a report marked warned, else None."""
    if _property(report, OUTCOME_PROPERTY) != "warn":
        return None
    return _property(report, MESSAGE_PROPERTY) or "warning"


def _failure_message(report: Any) -> str:
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        # pytest.fail(msg) reads "Failed: msg"; the outcome already says it failed
        return str(crash.message).removeprefix("Failed: ")
    text = str(getattr(report, "longreprtext", "") or "").strip()
    return text.splitlines()[-1] if text else ""


def _phase(report: Any) -> tuple[Outcome, str]:
    when, outcome = getattr(report, "when", "call"), report.outcome
    if hasattr(report, "wasxfail"):
        reason = str(report.wasxfail)
        return ("skip", f"xfail: {reason}".strip()) if outcome == "skipped" else ("pass", f"xpass: {reason}")
    if outcome == "skipped":
        return "skip", _failure_message(report)
    if outcome == "failed":
        return ("fail" if when == "call" else "error"), _failure_message(report)
    message = warn_message(report)
    if message is not None and when == "call":
        return "warn", message
    return "pass", ""


@dataclass
class CheckRecord:
    """One check in ``results.json``."""

    id: str
    env: str
    platform: str
    outcome: Outcome
    duration: float
    message: str
    #: the configured target (NEXTJS, ...) and its platform resource, when the check has one
    target: str = ""
    resource: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data, its message redacted."""
        data = asdict(self)
        data["duration"] = round(self.duration, 4)
        data["message"] = redact(self.message)
        return data


class Results:
    """Folds the reports of a run into one :class:`CheckRecord` per check, in arrival order."""

    def __init__(self, env: str) -> None:
        self.env = env
        self._records: dict[str, CheckRecord] = {}

    def add_report(self, report: Any) -> None:
        """Fold one pytest report (a test phase or a failed collection) into its check's record."""
        nodeid = str(report.nodeid)
        outcome, message = _phase(report)
        if getattr(report, "when", None) in (None, "collect"):
            if report.outcome != "failed":
                return
            outcome = "error"
        record = self._records.get(nodeid)
        if record is None:
            record = CheckRecord(
                id=nodeid,
                env=_property(report, ENV_PROPERTY) or self.env,
                platform=_property(report, PLATFORM_PROPERTY) or "",
                outcome=outcome,
                duration=0.0,
                message=message,
                target=_property(report, TARGET_PROPERTY) or "",
                resource=_property(report, RESOURCE_PROPERTY) or "",
            )
            self._records[nodeid] = record
        elif _RANK[outcome] > _RANK[record.outcome]:
            record.outcome, record.message = outcome, message
        record.platform = record.platform or _property(report, PLATFORM_PROPERTY) or ""
        record.duration += float(getattr(report, "duration", 0.0) or 0.0)

    @property
    def records(self) -> list[CheckRecord]:
        """Every check's record."""
        return list(self._records.values())

    def counts(self) -> Counter[str]:
        """How many checks ended with each outcome."""
        return Counter(r.outcome for r in self._records.values())

    def warned(self) -> list[CheckRecord]:
        """The checks that reported WARN."""
        return [r for r in self._records.values() if r.outcome == "warn"]

    def to_dict(self, **meta: Any) -> dict[str, Any]:
        """The whole ``results.json`` document."""
        counts = self.counts()
        return {
            "env": self.env,
            **redact_tree(meta),
            "verdict": verdict(counts),
            "counts": {k: counts.get(k, 0) for k in _RANK},
            "checks": [r.to_dict() for r in self._records.values()],
        }

    def write(self, path: Path, **meta: Any) -> Path:
        """Write ``results.json`` to ``path`` (folders created) and return the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(**meta), indent=2, ensure_ascii=False)
        path.write_text(redact(text) + "\n", encoding="utf-8")
        return path


def verdict(counts: Mapping[str, int], *, fail_on_warn: bool = False) -> str:
    """``FAILED`` when a check failed or errored (or warned, with ``fail_on_warn``),
    ``PASSED with warnings`` when one warned, else ``PASSED``."""
    if counts.get("fail", 0) or counts.get("error", 0) or (fail_on_warn and counts.get("warn", 0)):
        return "FAILED"
    if counts.get("warn", 0):
        return "PASSED with warnings"
    return "PASSED"


def summary_lines(counts: Mapping[str, int], env: str = "", *, fail_on_warn: bool = False) -> list[str]:
    """The closing summary of a verification: counts, then the verdict line."""
    where = f" ({env})" if env else ""
    parts = [
        f"{counts.get('pass', 0)} passed",
        f"{counts.get('warn', 0)} warned",
        f"{counts.get('fail', 0)} failed",
    ]
    for extra, label in (("error", "errors"), ("skip", "skipped")):
        if counts.get(extra, 0):
            parts.append(f"{counts[extra]} {label}")
    result = verdict(counts, fail_on_warn=fail_on_warn)
    return [f"Checks{where}: {', '.join(parts)}", f"{_SYMBOL[result]} Verification {result}"]


def load_results(path: Path) -> dict[str, Any]:
    """Read a ``results.json``; raise UsageError when it is missing or not one."""
    from deploycheck.errors import Problem, UsageError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            [Problem(source=str(path), message=f"cannot read: {exc.strerror}.", hint="Run the checks first.")]
        ) from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            [Problem(source=str(path), line=exc.lineno, message=f"not JSON: {exc.msg}.")]
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise UsageError(
            [Problem(source=str(path), message="not a deploycheck results.json (no 'checks' list).")]
        )
    return data


def _cell(text: object) -> str:
    return redact(str(text)).replace("|", "\\|").replace("\n", " ")


def render_markdown(data: Mapping[str, Any], limit: int = 50) -> str:
    """A short Markdown summary of a ``results.json`` (for ``$GITHUB_STEP_SUMMARY``)."""
    checks: Iterable[Mapping[str, Any]] = data.get("checks", [])
    counts: Counter[str] = Counter(str(c.get("outcome")) for c in checks)
    head, verdict_line = summary_lines(counts, str(data.get("env", "")))
    lines = [
        f"## Deployment verification: {_cell(data.get('env', '?'))}",
        "",
        f"**{verdict_line}**",
        "",
        head,
        "",
    ]
    notable = [c for c in data.get("checks", []) if c.get("outcome") not in ("pass",)]
    if notable:
        lines += ["| Outcome | Check | Platform | Message |", "| --- | --- | --- | --- |"]
        for check in notable[:limit]:
            lines.append(
                f"| {str(check.get('outcome', '')).upper()} | `{_cell(check.get('id', ''))}` "
                f"| {_cell(check.get('platform', ''))} | {_cell(check.get('message', ''))} |"
            )
        if len(notable) > limit:
            lines.append(f"| … | {len(notable) - limit} more in results.json | | |")
    return "\n".join(lines) + "\n"
