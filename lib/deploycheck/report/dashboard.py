"""The deployment dashboard at the top of the HTML report (pytest-free; the plugin feeds it).

:func:`render_dashboard` builds one self-contained block of HTML, placed by pytest-html's
``pytest_html_results_summary`` hook and moved to the top of the page by its own inline
script: the verdict banner with the counts, the root causes with the checks each took
down, the target x check matrix (a row per target, a cell per check file holding one
coloured chip per check, its message on hover and, on click, in the detail panel), the
warnings, the drift findings of the run, and the outcome filters of the results table (WARN included)
with the same counts as the banner. It loads nothing from the network.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deploycheck.redact import redact
from deploycheck.report.results import CheckRecord
from deploycheck.report.rootcause import Cause, short_id

__all__ = ["DriftRow", "TargetRow", "render_dashboard", "verdict_class"]

#: outcome -> (filter label, order in the banner and the filters)
OUTCOME_LABELS: dict[str, str] = {
    "pass": "passed",
    "warn": "warned",
    "fail": "failed",
    "error": "errors",
    "skip": "skipped",
}
_WORST = ("error", "fail", "warn", "pass", "skip")
#: checks listed under a root cause before "and N more"
SHOWN_CHECKS = 8


@dataclass(frozen=True)
class TargetRow:
    """One row of the matrix: a configured target, its platform and resource, its console page."""

    name: str
    platform: str
    resource: str
    console: tuple[str, str] | None = None


@dataclass(frozen=True)
class DriftRow:
    """One drift finding of the run (from the drift checks): never a secret value."""

    target: str
    key: str
    state: str
    expected: str = ""
    actual: str = ""
    action: str = ""
    outcome: str = "fail"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DriftRow:
        """Build a row from the JSON a drift check recorded."""
        return cls(**{k: str(data.get(k) or "") for k in ("target", "key", "state", "expected",
                                                           "actual", "action", "outcome")})  # fmt: skip


@dataclass
class _Row:
    label: str
    platform: str
    resource: str
    console: tuple[str, str] | None
    cells: dict[str, list[CheckRecord]] = field(default_factory=dict)


def _e(text: object) -> str:
    return html.escape(redact(str(text)), quote=True)


def _href(url: str) -> str:
    """A console URL as character references: its fixed path (``/workers/services/``) may share an
    8-character piece with a secret (a Slack webhook's ``/services/``), which the report's last
    redaction pass would mask; its variable parts were redacted when the row was built."""
    return "".join(f"&#{ord(c)};" for c in url)


def verdict_class(verdict: str) -> str:
    """The CSS class of a verdict: ``passed``, ``warned`` or ``failed``."""
    return {"PASSED": "passed", "PASSED with warnings": "warned"}.get(verdict, "failed")


def _column(check_id: str) -> str:
    path = check_id.split("::", 1)[0]
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    return stem.removeprefix("test_")


def _chip_label(record: CheckRecord, column: str) -> str:
    name = short_id(record.id)
    func, _, param = name.partition("[")
    label = func.removeprefix("test_").removeprefix(f"{column}_").replace("_", " ")
    param = param.rstrip("]")
    for prefix in (record.env, record.target, record.resource):
        if prefix and param.startswith(f"{prefix}-"):
            param = param[len(prefix) + 1 :]
        elif prefix and param == prefix:
            param = ""
    return f"{label}: {param}" if param and param not in (record.target, record.resource) else label


def _worst(records: Sequence[CheckRecord]) -> str:
    outcomes = {r.outcome for r in records}
    return next((o for o in _WORST if o in outcomes), "skip")


def _rows(records: Sequence[CheckRecord], targets: Sequence[TargetRow]) -> list[_Row]:
    rows: dict[str, _Row] = {t.name: _Row(t.name, t.platform, t.resource, t.console) for t in targets}
    for record in records:
        key = record.target
        if not key or key not in rows:
            # a check of no single target (an integration chain): a row named after its parameter
            name = short_id(record.id)
            param = name.partition("[")[2].rstrip("]").removeprefix(f"{record.env}-")
            key = record.target or param or name
            if key not in rows:
                rows[key] = _Row(key, record.platform, record.resource, None)
        rows[key].cells.setdefault(_column(record.id), []).append(record)
    return [row for row in rows.values() if row.cells]


def _banner(env: str, verdict: str, counts: Mapping[str, int], duration_s: float | None) -> str:
    parts = [
        f'<span class="dc-count dc-{key}" data-outcome="{key}">{counts.get(key, 0)} {label}</span>'
        for key, label in OUTCOME_LABELS.items()
    ]
    total = sum(counts.get(k, 0) for k in OUTCOME_LABELS)
    took = f" in {duration_s:.1f} s" if duration_s is not None else ""
    return (
        f'<section id="dc-banner" class="dc-banner dc-banner-{verdict_class(verdict)}" role="status" '
        f'data-verdict="{_e(verdict)}">'
        f'<div class="dc-banner-verdict">Verification {_e(verdict)}</div>'
        f'<div class="dc-banner-meta">environment <b>{_e(env)}</b>: {total} checks{took}</div>'
        f'<div class="dc-banner-counts">{" ".join(parts)}</div></section>'
    )


def _causes(causes: Sequence[Cause]) -> str:
    if not causes:
        return ""
    total = sum(c.count for c in causes)
    items = []
    for number, cause in enumerate(causes, 1):
        listed = [
            f'<li class="dc-cause-check" data-check="{_e(short_id(r.id))}" title="{_e(r.message)}">'
            f'<span class="dc-tag dc-{r.outcome}">{r.outcome.upper()}</span> {_e(short_id(r.id))}'
            f"{' <em>(found it)</em>' if i == 0 and cause.count > 1 else ''}</li>"
            for i, r in enumerate(cause.checks)
        ]
        checks = "".join(listed[:SHOWN_CHECKS])
        if len(listed) > SHOWN_CHECKS:
            checks += (
                f'<li class="dc-cause-more"><details><summary>and {len(listed) - SHOWN_CHECKS} more'
                f'</summary><ul>{"".join(listed[SHOWN_CHECKS:])}</ul></details></li>'
            )
        platforms = ", ".join(cause.platforms)
        items.append(
            f'<li class="dc-cause dc-cause-{cause.kind}" data-kind="{cause.kind}" data-count="{cause.count}">'
            f'<details{" open" if number == 1 else ""}><summary><span class="dc-cause-headline">'
            f'{_e(cause.headline)}</span> <span class="dc-cause-count">{cause.count} '
            f"check{'s' if cause.count != 1 else ''}</span>"
            f"{f' <span class=dc-cause-platforms>{_e(platforms)}</span>' if platforms else ''}</summary>"
            f"{f'<p class=dc-cause-hint>Next step: {_e(cause.hint)}</p>' if cause.hint else ''}"
            f"<ul>{checks}</ul></details></li>"
        )
    plural = "s" if len(causes) != 1 else ""
    return (
        f'<section id="dc-causes"><h2>{len(causes)} root cause{plural} of {total} failed '
        f"check{'s' if total != 1 else ''}</h2><ol>{''.join(items)}</ol></section>"
    )


def _warnings(records: Sequence[CheckRecord]) -> str:
    warned = [r for r in records if r.outcome == "warn"]
    if not warned:
        return ""
    rows = "".join(
        f'<li class="dc-warning" data-check="{_e(short_id(r.id))}"><span class="dc-tag dc-warn">WARN</span> '
        f"<code>{_e(short_id(r.id))}</code>: {_e(r.message)}</li>"
        for r in warned
    )
    title = f"{len(warned)} warning{'s' if len(warned) != 1 else ''}"
    return f'<section id="dc-warnings"><h2>{title}</h2><ul>{rows}</ul></section>'


def _chip(record: CheckRecord, column: str) -> str:
    message = record.message or record.outcome.upper()
    return (
        f'<button type="button" class="dc-chip dc-{record.outcome}" data-outcome="{record.outcome}" '
        f'data-check="{_e(short_id(record.id))}" title="{record.outcome.upper()}: {_e(message)}" '
        f'data-message="{_e(message)}">{_e(_chip_label(record, column))}</button>'
    )


def _matrix(records: Sequence[CheckRecord], targets: Sequence[TargetRow]) -> str:
    rows = _rows(records, targets)
    if not rows:
        return ""
    columns = list(dict.fromkeys(_column(r.id) for r in records))
    head = "".join(f'<th class="dc-col" data-column="{_e(c)}">{_e(c)}</th>' for c in columns)
    body = []
    for row in rows:
        console = (
            f'<a class="dc-console" href="{_href(row.console[1])}" target="_blank" rel="noopener">'
            f"{_e(row.console[0])}</a>"
            if row.console
            else ""
        )
        cells = []
        for column in columns:
            found = row.cells.get(column, [])
            if not found:
                cells.append('<td class="dc-cell dc-none" data-outcome="none">&ndash;</td>')
                continue
            worst = _worst(found)
            tally = Counter(r.outcome for r in found)
            summary = ", ".join(f"{n} {OUTCOME_LABELS[o]}" for o, n in tally.items())
            chips = "".join(_chip(r, column) for r in found)
            cells.append(
                f'<td class="dc-cell dc-{worst}" data-outcome="{worst}" data-column="{_e(column)}" '
                f'title="{_e(summary)}">{chips}</td>'
            )
        body.append(
            f'<tr class="dc-target" data-target="{_e(row.label)}" data-platform="{_e(row.platform)}">'
            f'<th scope="row"><div class="dc-target-name">{_e(row.label)}</div>'
            f'<div class="dc-target-where">{_e(row.platform)}'
            f"{' ' + _e(row.resource) if row.resource else ''}</div>{console}</th>{''.join(cells)}</tr>"
        )
    return (
        '<section id="dc-matrix"><h2>Targets and checks</h2>'
        f'<table class="dc-matrix"><thead><tr><th>Target</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        '<div id="dc-detail" class="dc-detail" hidden><span class="dc-detail-outcome"></span> '
        '<code class="dc-detail-check"></code><p class="dc-detail-message"></p></div></section>'
    )


def _drift(findings: Sequence[DriftRow], records: Sequence[CheckRecord]) -> str:
    checks = [r for r in records if _column(r.id) == "drift"]
    unknown = [r for r in checks if r.outcome in ("fail", "error")]
    if not findings:
        if not checks or all(r.outcome == "skip" for r in checks):
            text = "Drift was not checked in this run."
        elif unknown:
            text = (
                f"Drift unknown: {len(unknown)} drift check{'s' if len(unknown) != 1 else ''} could not "
                "compare (see the root causes above)."
            )
        else:
            text = "No drift: every platform holds the source of truth's values."
        return f'<section id="dc-drift"><h2>Drift</h2><p class="dc-drift-none">{text}</p></section>'
    rows = "".join(
        f'<tr class="dc-{f.outcome}" data-state="{_e(f.state)}"><td>{_e(f.target)}</td><td><code>'
        f"{_e(f.key)}</code></td><td>{_e(f.state)}</td><td>{_e(f.expected)}</td><td>{_e(f.actual)}</td>"
        f"<td><code>{_e(f.action)}</code></td></tr>"
        for f in findings
    )
    return (
        f'<section id="dc-drift"><h2>Drift ({len(findings)})</h2><table class="dc-drift">'
        "<thead><tr><th>Target</th><th>Key</th><th>State</th><th>Expected</th><th>Actual</th>"
        f"<th>Remedy</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _filters(counts: Mapping[str, int]) -> str:
    boxes = "".join(
        f'<label class="dc-filter dc-{key}"><input type="checkbox" checked data-dc-filter="{key}"'
        f"{' disabled' if not counts.get(key, 0) else ''}> {counts.get(key, 0)} {label}</label>"
        for key, label in OUTCOME_LABELS.items()
    )
    return f'<div id="dc-filters" class="dc-filters">Show in the table: {boxes}</div>'


_SCRIPT = """
(function () {
  var board = document.getElementById('dc-dashboard');
  var title = document.getElementById('title');
  if (board && title && title.parentNode) { title.parentNode.insertBefore(board, title.nextSibling); }
  var filters = document.getElementById('dc-filters');
  var table = document.getElementById('results-table');
  if (filters && table && table.parentNode) { table.parentNode.insertBefore(filters, table); }
  var detail = document.getElementById('dc-detail');
  document.addEventListener('click', function (event) {
    var chip = event.target.closest ? event.target.closest('.dc-chip') : null;
    if (!chip || !detail) { return; }
    var outcome = detail.querySelector('.dc-detail-outcome');
    outcome.textContent = chip.dataset.outcome.toUpperCase();
    outcome.className = 'dc-detail-outcome dc-tag dc-' + chip.dataset.outcome;
    detail.querySelector('.dc-detail-check').textContent = chip.dataset.check;
    detail.querySelector('.dc-detail-message').textContent = chip.dataset.message;
    detail.hidden = false;
    document.querySelectorAll('.dc-chip.dc-selected').forEach(function (c) {
      c.classList.remove('dc-selected');
    });
    chip.classList.add('dc-selected');
  });
  document.querySelectorAll('input[data-dc-filter]').forEach(function (box) {
    box.addEventListener('change', function () {
      document.body.classList.toggle('dc-hide-' + box.dataset.dcFilter, !box.checked);
    });
  });
})();
"""


def render_dashboard(
    *,
    env: str,
    verdict: str,
    records: Sequence[CheckRecord],
    targets: Sequence[TargetRow],
    causes: Sequence[Cause],
    drift: Sequence[DriftRow],
    duration_s: float | None = None,
) -> str:
    """The dashboard block: banner, root causes, matrix, drift, filters and their script."""
    counts: Counter[str] = Counter(str(r.outcome) for r in records)
    data = json.dumps({"verdict": verdict, "counts": {k: counts.get(k, 0) for k in OUTCOME_LABELS}})
    return (
        f'<div id="dc-dashboard" data-summary="{_e(data)}">'
        + _banner(env, verdict, counts, duration_s)
        + _causes(causes)
        + _warnings(records)
        + _matrix(records, targets)
        + _drift(drift, records)
        + "</div>"
        + _filters(counts)
        + f"<script>{_SCRIPT}</script>"
    )
