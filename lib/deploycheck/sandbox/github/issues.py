"""The issues part of the GitHub REST API emulator: list by label, create, get, update, comment.

The six operations the drift workflow uses (``fixtures/vendor-api/github-issues-openapi-subset.json``):

- ``GET /repos/{owner}/{repo}/issues`` with ``state`` (``open``, ``closed``, ``all``),
  ``labels`` (comma-separated, every one must match), ``sort``, ``direction``, ``since``,
  ``per_page``/``page`` and a ``Link`` header keeping the other parameters;
- ``POST /repos/{owner}/{repo}/issues`` (201 and ``Location``; unknown labels are created);
- ``GET`` / ``PATCH /repos/{owner}/{repo}/issues/{issue_number}`` (close with
  ``state: closed`` and a ``state_reason``, reopen, retitle, relabel);
- ``GET`` / ``POST /repos/{owner}/{repo}/issues/{issue_number}/comments``.

Issues are made by the account the token belongs to; the sandbox's token stands for the
workflow token, so that is ``github-actions[bot]``, as on GitHub. Authentication, rate
limits and API versions are checked by :class:`~deploycheck.sandbox.github.api.GithubEmulator`
before a request reaches :meth:`IssuesApi.handle`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from deploycheck.sandbox.core import Request, Response, json_response
from deploycheck.sandbox.github.issue_store import API, Comment, Issue, Label
from deploycheck.sandbox.github.replies import error as _error
from deploycheck.sandbox.github.replies import object_body as _object_body
from deploycheck.sandbox.github.store import LogicalClock, link_header, page_slice

__all__ = ["IssuesApi", "is_issues_path"]

_DOCS = "https://docs.github.com/rest/issues"
_DOCS_OF = {
    "list": f"{_DOCS}/issues#list-repository-issues",
    "create": f"{_DOCS}/issues#create-an-issue",
    "get": f"{_DOCS}/issues#get-an-issue",
    "update": f"{_DOCS}/issues#update-an-issue",
    "list-comments": f"{_DOCS}/comments#list-issue-comments",
    "create-comment": f"{_DOCS}/comments#create-an-issue-comment",
}
_STATES = ("open", "closed", "all")
_REASONS = ("completed", "not_planned", "duplicate", "reopened")
_MAX_TITLE = 256
_MAX_BODY = 65536


def is_issues_path(path: str) -> bool:
    """Whether ``path`` is under ``/repos/{owner}/{repo}/issues``."""
    parts = path.strip("/").split("/")
    return len(parts) >= 4 and parts[0] == "repos" and parts[3] == "issues"


def _invalid(docs: str, field_name: str, code: str = "invalid", value: Any = None) -> Response:
    error: dict[str, Any] = {"resource": "Issue", "code": code, "field": field_name}
    if code == "invalid":
        error["value"] = value
    return _error(422, "Validation Failed", docs, errors=[error])


@dataclass
class _Tracker:
    full_name: str
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)


class IssuesApi:
    """The issues and comments of the emulated repositories.

    Example::

        api = IssuesApi(["example/app"])
        api.handle(Request("POST", "/repos/example/app/issues", body=b'{"title": "Drift"}'))
    """

    def __init__(self, repositories: Iterable[str], now: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self._names = list(repositories)
        self._clock = LogicalClock(now)
        self._ids = itertools.count(1_000_000_001)
        self._repos: dict[str, _Tracker] = {}
        self.reset()

    def reset(self) -> None:
        """Forget every issue, comment and label."""
        with self.lock:
            self._repos = {name.lower(): _Tracker(name) for name in self._names}

    def snapshot(self) -> dict[str, Any]:
        """Every issue of every repository, by number."""
        with self.lock:
            return {
                tracker.full_name: {str(n): issue.stored() for n, issue in sorted(tracker.issues.items())}
                for tracker in self._repos.values()
            }

    def handle(self, request: Request) -> Response:
        """Answer one authenticated request under ``/repos/{owner}/{repo}/issues``."""
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        rest, method = parts[4:], request.method.upper()
        operation = self._operation(method, rest)
        if operation is None:
            return _error(404, "Not Found", "https://docs.github.com/rest")
        with self.lock:
            tracker = self._repos.get(f"{parts[1]}/{parts[2]}".lower())
            if tracker is None:
                return _error(404, "Not Found", _DOCS_OF[operation])
            if operation in ("list", "create"):
                handler = self._list if operation == "list" else self._create
                return handler(request, tracker)
            issue = tracker.issues.get(int(rest[0])) if rest[0].isdigit() else None
            if issue is None:
                return _error(404, "Not Found", _DOCS_OF[operation])
            handlers = {
                "get": self._get,
                "update": self._update,
                "list-comments": self._list_comments,
                "create-comment": self._create_comment,
            }
            return handlers[operation](request, tracker, issue)

    @staticmethod
    def _operation(method: str, rest: list[str]) -> str | None:
        if not rest:
            return {"GET": "list", "POST": "create"}.get(method)
        if len(rest) == 1:
            return {"GET": "get", "PATCH": "update"}.get(method)
        if len(rest) == 2 and rest[1] == "comments":
            return {"GET": "list-comments", "POST": "create-comment"}.get(method)
        return None

    # -- operations -----------------------------------------------------------------------------

    def _list(self, request: Request, tracker: _Tracker) -> Response:
        docs = _DOCS_OF["list"]
        state = request.arg("state", "open") or "open"
        if state not in _STATES:
            return _invalid(docs, "state", value=state)
        sort = request.arg("sort", "created") or "created"
        if sort not in ("created", "updated", "comments"):
            return _invalid(docs, "sort", value=sort)
        direction = request.arg("direction", "desc") or "desc"
        if direction not in ("asc", "desc"):
            return _invalid(docs, "direction", value=direction)
        wanted = {name.strip().lower() for name in (request.arg("labels") or "").split(",") if name.strip()}
        since = request.arg("since")
        chosen = [
            issue
            for issue in tracker.issues.values()
            if state in ("all", issue.state)
            and wanted <= {label.name.lower() for label in issue.labels}
            and (since is None or issue.updated_at >= since)
        ]

        def order(issue: Issue) -> tuple[Any, int]:
            key = {"created": issue.created_at, "updated": issue.updated_at, "comments": len(issue.comments)}
            return key[sort], issue.number

        chosen.sort(key=order, reverse=direction == "desc")
        page, per_page = page_slice(request.arg("page"), request.arg("per_page"), 30, 100)
        shown = chosen[(page - 1) * per_page : page * per_page]
        link = _link(request, page, per_page, len(chosen))
        return json_response(
            200, [i.as_api(tracker.full_name) for i in shown], {"link": link} if link else None
        )

    def _create(self, request: Request, tracker: _Tracker) -> Response:
        docs = _DOCS_OF["create"]
        body = _object_body(request, docs)
        if isinstance(body, Response):
            return body
        if "title" not in body or body["title"] is None:
            return _error(422, 'Invalid request.\n\n"title" wasn\'t supplied.', docs)
        problem = _text_problem(body, docs)
        if problem is not None:
            return problem
        labels = self._labels(tracker, body.get("labels", []), docs)
        if isinstance(labels, Response):
            return labels
        stamp = self._clock.tick()
        number = max(tracker.issues, default=0) + 1
        issue = Issue(
            id=next(self._ids),
            number=number,
            title=str(body["title"]),
            body=body.get("body"),
            labels=labels,
            created_at=stamp,
            updated_at=stamp,
        )
        tracker.issues[number] = issue
        data = issue.as_api(tracker.full_name)
        return json_response(201, data, {"location": data["url"]})

    def _get(self, request: Request, tracker: _Tracker, issue: Issue) -> Response:
        return json_response(200, issue.as_api(tracker.full_name))

    def _update(self, request: Request, tracker: _Tracker, issue: Issue) -> Response:
        docs = _DOCS_OF["update"]
        body = _object_body(request, docs)
        if isinstance(body, Response):
            return body
        problem = _update_problem(body, docs)
        if problem is not None:
            return problem
        state, reason = body.get("state", issue.state), body.get("state_reason")
        labels = self._labels(tracker, body["labels"], docs) if "labels" in body else issue.labels
        if isinstance(labels, Response):
            return labels
        stamp = self._clock.tick(issue.updated_at)
        if state != issue.state:
            # "state_reason ... Ignored unless state is changed" (the operation's description)
            if state == "closed":
                issue.closed_at, issue.state_reason = (
                    stamp,
                    reason if reason not in (None, "reopened") else "completed",
                )
            else:
                issue.closed_at, issue.state_reason = None, "reopened"
            issue.state = state
        if "title" in body:
            issue.title = str(body["title"])
        if "body" in body:
            issue.body = body["body"]
        issue.labels = labels
        issue.updated_at = stamp
        return json_response(200, issue.as_api(tracker.full_name))

    def _list_comments(self, request: Request, tracker: _Tracker, issue: Issue) -> Response:
        page, per_page = page_slice(request.arg("page"), request.arg("per_page"), 30, 100)
        since = request.arg("since")
        chosen = [c for c in issue.comments if since is None or c.updated_at >= since]
        shown = chosen[(page - 1) * per_page : page * per_page]
        link = _link(request, page, per_page, len(chosen))
        body = [c.as_api(tracker.full_name) for c in shown]
        return json_response(200, body, {"link": link} if link else None)

    def _create_comment(self, request: Request, tracker: _Tracker, issue: Issue) -> Response:
        docs = _DOCS_OF["create-comment"]
        body = _object_body(request, docs)
        if isinstance(body, Response):
            return body
        text = body.get("body")
        if text is None:
            return _error(422, 'Invalid request.\n\n"body" wasn\'t supplied.', docs)
        if not isinstance(text, str):
            return _error(422, f"Invalid request.\n\nFor 'properties/body', {text!r} is not a string.", docs)
        if not text.strip():
            return _error(422, "Validation Failed", docs, errors=[
                {"resource": "IssueComment", "code": "missing_field", "field": "body"}])  # fmt: skip
        if len(text) > _MAX_BODY:
            return _error(422, "Validation Failed", docs, errors=[
                {"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": f"body is too long (maximum is {_MAX_BODY} characters)"}])  # fmt: skip
        stamp = self._clock.tick(issue.updated_at)
        comment = Comment(next(self._ids), issue.number, text, stamp, stamp)
        issue.comments.append(comment)
        issue.updated_at = stamp
        data = comment.as_api(tracker.full_name)
        return json_response(201, data, {"location": data["url"]})

    # -- helpers --------------------------------------------------------------------------------

    def _labels(self, tracker: _Tracker, raw: Any, docs: str) -> list[Label] | Response:
        """The labels a body names (strings or ``{"name": ...}``), created when new, as GitHub does."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            return _error(422, f"Invalid request.\n\nFor 'properties/labels', {raw!r} is not an array.", docs)
        labels: list[Label] = []
        for item in raw:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str) or not name.strip():
                return _invalid(docs, "labels", value=item)
            label = tracker.labels.get(name.lower())
            if label is None:
                label = tracker.labels[name.lower()] = Label(next(self._ids), name)
            if label not in labels:
                labels.append(label)
        return labels




def _update_problem(body: dict[str, Any], docs: str) -> Response | None:
    """What is wrong with an update body, or None."""
    if "title" in body and body["title"] is None:
        return _invalid(docs, "title", "missing_field")
    if body.get("state", "open") not in ("open", "closed"):
        return _invalid(docs, "state", value=body["state"])
    reason = body.get("state_reason")
    if reason is not None and reason not in _REASONS:
        return _invalid(docs, "state_reason", value=reason)
    return _text_problem(body, docs)


def _text_problem(body: dict[str, Any], docs: str) -> Response | None:
    title, text = body.get("title"), body.get("body")
    if title is not None and not isinstance(title, str | int):
        return _error(
            422, f"Invalid request.\n\nFor 'properties/title', {title!r} is not a string or integer.", docs
        )
    if text is not None and not isinstance(text, str):
        return _error(422, f"Invalid request.\n\nFor 'properties/body', {text!r} is not a string.", docs)
    if title is not None and len(str(title)) > _MAX_TITLE:
        return _error(422, "Validation Failed", docs, errors=[
            {"resource": "Issue", "code": "custom", "field": "title",
             "message": f"title is too long (maximum is {_MAX_TITLE} characters)"}])  # fmt: skip
    if text is not None and len(text) > _MAX_BODY:
        return _error(422, "Validation Failed", docs, errors=[
            {"resource": "Issue", "code": "custom", "field": "body",
             "message": f"body is too long (maximum is {_MAX_BODY} characters)"}])  # fmt: skip
    return None


def _link(request: Request, page: int, per_page: int, total: int) -> str | None:
    """GitHub's ``Link`` header for one page, keeping the request's other query parameters."""
    host = request.header("host")
    base = f"http://{host}{request.path}" if host else f"{API}{request.path}"
    kept = {k: v[0] for k, v in request.query.items() if k not in ("page", "per_page") and v}
    return link_header(base, page, per_page, total, kept)
