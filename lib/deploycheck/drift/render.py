"""Rendering a :class:`~deploycheck.drift.model.DriftReport` as text, Markdown or JSON.

Every renderer shows only what the report holds: plain values, fingerprints of secrets,
never a secret value; the output is passed through the redactor all the same.

JSON shape (``render_json``)::

    {"env", "project", "sot", "mode", "baseline", "exit_code", "drift": bool,
     "summary": {"compared", "in_sync", "findings", "failing", "acknowledged", "errors",
                 "by_state": {state: count}},
     "findings": [{"key", "target", "platform", "resource", "state", "secret", "expected",
                   "actual", "detail", "action", "command", "vendor_command", "fails",
                   "acknowledged": null | {"reason", "owner", "expires", "expired", "line"}}],
     "notes": [{"target", "platform", "message"}],
     "errors": [{"target", "platform", "resource", "kind", "message"}],
     "targets": [{"target", "platform", "resource", "expected", "held", "requests", "marker"}],
     "unused_baseline": [{"key", "target", "line", "expires"}]}
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from deploycheck.drift.model import DriftReport, Finding
from deploycheck.redact import redact

__all__ = ["FORMATS", "render", "render_json", "render_markdown", "render_text", "report_dict"]

FORMATS: tuple[str, ...] = ("text", "markdown", "json")
_LABEL = {
    "missing": "MISSING",
    "value_differs": "VALUE DIFFERS",
    "pending": "PENDING SYNC",
    "changed_out_of_band": "CHANGED OUT OF BAND",
    "unexpected": "UNEXPECTED",
    "unverifiable": "UNVERIFIABLE",
    "in_sync": "IN SYNC",
}


def _ack(f: Finding) -> dict[str, Any] | None:
    if f.acknowledged is None:
        return None
    a = f.acknowledged
    return {
        "reason": a.reason,
        "owner": a.owner,
        "expires": a.expires.isoformat(),
        "expired": f.expired,
        "line": a.line,
    }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "key": f.key,
        "target": f.target,
        "platform": f.platform,
        "resource": f.resource,
        "state": f.state,
        "secret": f.secret,
        "expected": f.expected,
        "actual": f.actual,
        "detail": f.detail,
        "action": f.action,
        "command": f.command,
        "vendor_command": f.vendor_command,
        "fails": f.fails,
        "acknowledged": _ack(f),
    }


def report_dict(report: DriftReport) -> dict[str, Any]:
    """The report as the JSON document described in the module docstring."""
    from deploycheck.output import FORMAT_VERSION

    findings = report.findings
    return {
        "format_version": FORMAT_VERSION,
        "env": report.env,
        "project": report.project,
        "sot": report.sot,
        "mode": report.mode,
        "baseline": report.baseline,
        "exit_code": report.exit_code,
        "drift": bool(report.failing),
        "summary": {
            "compared": len(report.results),
            "in_sync": len(report.results) - len(findings),
            "findings": len(findings),
            "failing": len(report.failing),
            "acknowledged": sum(1 for f in findings if f.is_acknowledged),
            "errors": len(report.errors),
            "by_state": dict(sorted(Counter(f.state for f in findings).items())),
        },
        "findings": [_finding(f) for f in findings],
        "notes": [{"target": n.target, "platform": n.platform, "message": n.message} for n in report.notes],
        "errors": [
            {
                "target": e.target,
                "platform": e.platform,
                "resource": e.resource,
                "kind": e.kind,
                "message": e.message,
            }
            for e in report.errors
        ],
        "targets": [
            {
                "target": t.target,
                "platform": t.platform,
                "resource": t.resource,
                "expected": t.expected,
                "held": t.held,
                "requests": t.requests,
                "marker": t.marker,
            }
            for t in report.targets
        ],
        "unused_baseline": [
            {"key": e.key, "target": e.target, "line": e.line, "expires": e.expires.isoformat()}
            for e in report.unused_baseline
        ],
    }


def render_json(report: DriftReport) -> str:
    """The report as indented JSON."""
    return redact(json.dumps(report_dict(report), indent=2, sort_keys=False)) + "\n"


def _status(f: Finding) -> str:
    if f.acknowledged is not None and f.expired:
        return "FAIL (acknowledgement expired)"
    if f.is_acknowledged:
        return "ACKNOWLEDGED"
    return "FAIL" if f.fails else "WARN"


def _ack_text(f: Finding) -> str | None:
    a = f.acknowledged
    if a is None:
        return None
    verb = "expired" if f.expired else "expires"
    return f"acknowledged by {a.owner} ({a.reason}); {verb} {a.expires.isoformat()} (baseline line {a.line})"


def _headline(report: DriftReport) -> str:
    findings = report.findings
    if report.errors:
        verdict = f"{len(report.errors)} target(s) could not be read"
    elif report.failing:
        verdict = f"drift found: {len(report.failing)} failing finding(s)"
    else:
        verdict = "no drift"
    return (
        f"deploycheck drift --env {report.env}: {verdict} "
        f"({len(report.results)} compared, {len(findings)} finding(s), exit {report.exit_code})"
    )


def render_text(report: DriftReport) -> str:
    """A terminal-friendly report: one block per finding, then notes, errors and a summary."""
    lines = [_headline(report), ""]
    for f in report.findings:
        lines.append(f"[{_status(f)}] {f.target} ({f.platform} {f.resource}) {f.key}: {_LABEL[f.state]}")
        lines.append(f"    expected: {f.expected}")
        lines.append(f"    actual:   {f.actual}")
        if f.detail:
            lines.append(f"    why:      {f.detail}")
        if f.action:
            lines.append(f"    action:   {f.action}")
        if (ack := _ack_text(f)) is not None:
            lines.append(f"    baseline: {ack}")
        lines.append("")
    for n in report.notes:
        lines += [f"[NOTE] {n.target} ({n.platform}): {n.message}", ""]
    for e in report.errors:
        lines += [f"[ERROR] {e.target} ({e.platform}) could not be read: {e.message}", ""]
    for b in report.unused_baseline:
        lines += [f"[NOTE] baseline line {b.line}: {b.key} on {b.target} matches no finding; remove it.", ""]
    lines.append(
        "targets: "
        + ", ".join(
            f"{t.target}={t.held} held/{t.expected} expected/{t.requests} req" for t in report.targets
        )
    )
    return redact("\n".join(lines).rstrip() + "\n")


def _cell(value: str | None) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DriftReport) -> str:
    """A Markdown report (for ``$GITHUB_STEP_SUMMARY``): a findings table, then notes and errors."""
    icon = "✅" if report.exit_code == 0 else ("⚠️" if report.errors else "❌")
    lines = [f"## {icon} Configuration drift: `{report.env}`", "", _headline(report), ""]
    if report.findings:
        lines += [
            "| Status | Target | Platform | Key | State | Expected | Actual | Action |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f in report.findings:
            action = f"`{f.command}`" if f.command else f.action
            if (ack := _ack_text(f)) is not None:
                action += f"<br>{ack}"
            cells = [
                _status(f),
                f.target,
                f.platform,
                f"`{f.key}`",
                _LABEL[f.state],
                f.expected,
                f.actual,
                action,
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    if report.errors:
        lines += ["### Targets that could not be read", ""]
        lines += [f"- **{e.target}** ({e.platform}): {_cell(e.message)}" for e in report.errors]
        lines.append("")
    if report.notes or report.unused_baseline:
        lines += ["### Notes", ""]
        lines += [f"- **{n.target}**: {_cell(n.message)}" for n in report.notes]
        lines += [
            f"- baseline line {b.line}: `{b.key}` on {b.target} matches no finding; remove it."
            for b in report.unused_baseline
        ]
        lines.append("")
    return redact("\n".join(lines).rstrip() + "\n")


def render(report: DriftReport, fmt: str) -> str:
    """Render in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report)
