"""The drift issue of a scheduled drift run: one open GitHub issue per environment, kept current.

:func:`sync_drift_issue` reads a ``drift.json`` (``deploycheck drift --format json``) and,
with the workflow's token through the GitHub REST API:

- drift and no open issue: opens one (label ``deploycheck-drift``) listing the findings;
- drift and an open issue: when the findings changed, rewrites its body and comments
  with what changed; when they did not, leaves it alone (a daily cron would otherwise
  comment every day);
- no drift: comments and closes the open issue (``state_reason: completed``);
- a platform that could not be read: the run cannot say drift is clean, so an open issue
  stays open (and gets the findings it could read), and the result says so.

The issue of an environment is found by its label and a marker comment in its body
(``<!-- deploycheck-drift env=production digest=... -->``), so environments never share
one. Findings carry fingerprints of secrets only, never values; every text is redacted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from deploycheck.errors import Problem, UsageError
from deploycheck.http import HttpClient, HttpSettings
from deploycheck.redact import redact, register_secret

__all__ = ["DEFAULT_LABEL", "IssueResult", "drift_issue_body", "load_drift", "sync_drift_issue"]

DEFAULT_LABEL = "deploycheck-drift"
Action = Literal["opened", "updated", "unchanged", "closed", "nothing", "kept-open"]
_MARKER_RE = re.compile(r"<!-- deploycheck-drift env=(?P<env>\S+) digest=(?P<digest>[0-9a-f]+) -->")
_MAX_ROWS = 100


@dataclass(frozen=True)
class IssueResult:
    """What the drift issue flow did: the action, the issue number and URL, and why."""

    action: Action
    number: int | None
    url: str | None
    message: str
    #: 0 done, 3 the drift run could not read a platform (so "clean" could not be said)
    exit_code: int = 0


def load_drift(path: Any) -> dict[str, Any]:
    """Read a ``drift.json``; UsageError (exit 2) naming the file when it is missing or not one."""
    from pathlib import Path

    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        hint = "Run `deploycheck drift --format json > FILE` (or `deploycheck ci run drift`) first."
        raise UsageError(
            [Problem(source=str(source), message=f"cannot read: {exc.strerror}.", hint=hint)]
        ) from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            [Problem(source=str(source), line=exc.lineno, message=f"not JSON: {exc.msg}.")]
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list) or "env" not in data:
        msg = "not a deploycheck drift report (no 'env' and 'findings')."
        raise UsageError(
            [Problem(source=str(source), message=msg, hint="Use deploycheck drift --format json.")]
        )
    return data


def _failing(drift: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for f in drift["findings"] if f.get("fails", True)]


def _digest(findings: Sequence[Mapping[str, Any]]) -> str:
    rows = sorted(
        json.dumps([f.get(k) for k in ("target", "key", "state", "expected", "actual")], default=str)
        for f in findings
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def _cell(value: Any) -> str:
    return redact(str(value if value is not None else "")).replace("|", "\\|").replace("\n", " ")


def drift_issue_body(drift: Mapping[str, Any], run_url: str | None) -> str:
    """The issue body: the counts, one table row per failing finding, the run, and the marker."""
    findings = _failing(drift)
    env = str(drift["env"])
    lines = [
        f"`deploycheck drift --env {env}` found **{len(findings)}** finding(s) that differ from the "
        "source of truth.",
        "",
    ]
    if run_url:
        lines += [f"Latest run: {run_url}", ""]
    lines += ["| Target | Key | State | Expected | Actual | Fix |", "| --- | --- | --- | --- | --- | --- |"]
    for f in findings[:_MAX_ROWS]:
        fix = f"`{_cell(f.get('command'))}`" if f.get("command") else _cell(f.get("action"))
        lines.append(
            f"| {_cell(f.get('target'))} | `{_cell(f.get('key'))}` | {_cell(f.get('state'))} "
            f"| {_cell(f.get('expected'))} | {_cell(f.get('actual'))} | {fix} |"
        )
    if len(findings) > _MAX_ROWS:
        lines.append(f"| … | {len(findings) - _MAX_ROWS} more in the run's drift.json | | | | |")
    errors = drift.get("errors") or []
    if errors:
        lines += ["", "Not read (their drift is unknown):", ""]
        lines += [
            f"- {_cell(e.get('target'))} ({_cell(e.get('platform'))}): {_cell(e.get('message'))}"
            for e in errors
        ]
    lines += ["", "This issue is closed by the drift workflow once drift is clean.", ""]
    lines.append(f"<!-- deploycheck-drift env={env} digest={_digest(findings)} -->")
    return redact("\n".join(lines)) + "\n"


def _changes(drift: Mapping[str, Any], run: str) -> str:
    """The comment of an update: how many findings there are now, and which."""
    failing = _failing(drift)
    names = [f"{_cell(f.get('target'))} `{_cell(f.get('key'))}` ({_cell(f.get('state'))})" for f in failing]
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return redact(f"Drift changed{run}: {len(failing)} finding(s) now: {shown}.")


class DriftIssues:
    """The issues API calls of the flow, through :class:`~deploycheck.http.HttpClient` (retries, errors)."""

    def __init__(self, client: HttpClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self.base = f"/repos/{repository}/issues"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], repository: str | None = None) -> DriftIssues:
        """The client GitHub Actions gives a step: GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY."""
        repo = repository or environ.get("GITHUB_REPOSITORY") or ""
        token = environ.get("GITHUB_TOKEN") or ""
        problems = []
        if not token:
            hint = "Pass the workflow token: env: GITHUB_TOKEN: ${{ github.token }}"
            problems.append(Problem(source="environment", message="GITHUB_TOKEN is not set.", hint=hint))
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            message = f"GITHUB_REPOSITORY {repo!r} is not OWNER/REPO."
            hint = "Run inside GitHub Actions or pass --repository OWNER/REPO."
            problems.append(Problem(source="environment", message=message, hint=hint))
        if problems:
            raise UsageError(problems)
        register_secret(token)
        client = HttpClient(
            platform="github",
            base_url=environ.get("GITHUB_API_URL") or "https://api.github.com",
            base_url_variable="GITHUB_API_URL",
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Authorization": f"Bearer {token}",
            },
            settings=HttpSettings.from_environ(dict(environ)),
        )
        return cls(client, repo)

    def open_issues(self, label: str) -> list[dict[str, Any]]:
        """Every open issue with ``label``, oldest first (all pages)."""
        operation = f"list open issues labelled {label} in {self.repository}"
        params = {"labels": label, "state": "open", "per_page": 100, "sort": "created", "direction": "asc"}
        issues: list[dict[str, Any]] = []
        for page in self.client.pages(self.base, operation=operation, params=params, max_pages=20):
            body = self.client.json(page, operation)
            if not isinstance(body, list):
                raise self.client.malformed(operation, "a JSON array of issues")
            issues += [i for i in body if isinstance(i, dict) and "pull_request" not in i]
        return issues

    def create(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        """Open an issue."""
        operation = f"create an issue in {self.repository}"
        payload = {"title": title, "body": body, "labels": labels}
        result: dict[str, Any] = self.client.json(
            self.client.request("POST", self.base, operation=operation, json=payload), operation
        )
        return result

    def update(self, number: int, **fields: Any) -> dict[str, Any]:
        """Change an issue (title, body, state, state_reason)."""
        operation = f"update issue #{number} in {self.repository}"
        response = self.client.request("PATCH", f"{self.base}/{number}", operation=operation, json=fields,
                                       idempotent=True)  # fmt: skip
        result: dict[str, Any] = self.client.json(response, operation)
        return result

    def comment(self, number: int, body: str) -> None:
        """Add a comment to an issue."""
        operation = f"comment on issue #{number} in {self.repository}"
        self.client.request(
            "POST", f"{self.base}/{number}/comments", operation=operation, json={"body": body}
        )


def _env_issue(issues: list[dict[str, Any]], env: str) -> dict[str, Any] | None:
    for issue in issues:
        match = _MARKER_RE.search(str(issue.get("body") or ""))
        if match and match["env"] == env:
            return issue
    return None


def sync_drift_issue(
    drift: Mapping[str, Any], api: DriftIssues, *, label: str = DEFAULT_LABEL, run_url: str | None = None
) -> IssueResult:
    """Open, update or close the environment's drift issue to match ``drift``; see the module docstring."""
    issue = _env_issue(api.open_issues(label), str(drift["env"]))
    run = f" ({run_url})" if run_url else ""
    if _failing(drift):
        result = _report_drift(drift, api, issue, label, run_url)
        return result if not drift.get("errors") else _unsure(result)
    if drift.get("errors"):
        return _unread(drift, api, issue, run)
    env = drift["env"]
    if issue is None:
        return IssueResult("nothing", None, None, f"no drift in {env} and no open drift issue")
    api.comment(issue["number"], f"Drift in {env} is clean{run}: closing.")
    api.update(issue["number"], state="closed", state_reason="completed")
    message = f"closed issue #{issue['number']}: drift is clean"
    return IssueResult("closed", issue["number"], issue.get("html_url"), message)


def _report_drift(
    drift: Mapping[str, Any], api: DriftIssues, issue: dict[str, Any] | None, label: str, run_url: str | None
) -> IssueResult:
    failing = _failing(drift)
    title = f"Configuration drift in {drift['env']}: {len(failing)} finding(s)"
    body = drift_issue_body(drift, run_url)
    if issue is None:
        made = api.create(title, body, [label])
        return IssueResult(
            "opened", made["number"], made.get("html_url"), f"opened issue #{made['number']}: {title}"
        )
    number, url = issue["number"], issue.get("html_url")
    match = _MARKER_RE.search(str(issue.get("body") or ""))
    if match and match["digest"] == _digest(failing):
        return IssueResult("unchanged", number, url, f"issue #{number} already lists these findings")
    api.update(number, title=title, body=body)
    api.comment(number, _changes(drift, f" ({run_url})" if run_url else ""))
    return IssueResult("updated", number, url, f"updated issue #{number}: {title}")


def _unsure(result: IssueResult) -> IssueResult:
    message = f"{result.message}; some platforms could not be read, so more drift may exist"
    return IssueResult(result.action, result.number, result.url, message, 3)


def _unread(
    drift: Mapping[str, Any], api: DriftIssues, issue: dict[str, Any] | None, run: str
) -> IssueResult:
    names = ", ".join(str(e.get("target")) for e in drift.get("errors") or [])
    message = f"no drift found, but {names} could not be read: drift is not known to be clean"
    if issue is None:
        return IssueResult("nothing", None, None, message, 3)
    api.comment(issue["number"], redact(f"Could not confirm drift is clean: {names} could not be read{run}."))
    return IssueResult("kept-open", issue["number"], issue.get("html_url"), f"{message}; issue stays open", 3)
