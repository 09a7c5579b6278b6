"""Storage of the GitHub issues emulator: issues, their comments and labels, shown as GitHub shows them.

Everything is made by the account behind the sandbox's token, which stands for a
workflow's ``GITHUB_TOKEN``: ``github-actions[bot]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["API", "WEB", "Comment", "Issue", "Label"]

API = "https://api.github.com"
WEB = "https://github.com"
#: the account behind a workflow's GITHUB_TOKEN
BOT_LOGIN, BOT_ID = "github-actions[bot]", 41898282


def _user() -> dict[str, Any]:
    login = BOT_LOGIN
    url = f"{API}/users/{login}"
    return {
        "login": login, "id": BOT_ID, "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4", "gravatar_id": "",
        "url": url, "html_url": f"{WEB}/apps/github-actions", "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}", "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs", "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}", "received_events_url": f"{url}/received_events",
        "type": "Bot", "site_admin": False,
    }  # fmt: skip


@dataclass
class Label:
    """A repository label."""

    id: int
    name: str
    color: str = "ededed"
    description: str | None = None

    def as_api(self, repo: str) -> dict[str, Any]:
        """The label as GitHub shows it inside an issue."""
        return {
            "id": self.id, "node_id": f"LA_{self.id}", "url": f"{API}/repos/{repo}/labels/{self.name}",
            "name": self.name, "description": self.description, "color": self.color, "default": False,
        }  # fmt: skip


@dataclass
class Comment:
    """One comment of an issue."""

    id: int
    issue_number: int
    body: str
    created_at: str
    updated_at: str

    def as_api(self, repo: str) -> dict[str, Any]:
        """The comment as GitHub shows it."""
        return {
            "id": self.id,
            "node_id": f"IC_{self.id}",
            "url": f"{API}/repos/{repo}/issues/comments/{self.id}",
            "html_url": f"{WEB}/{repo}/issues/{self.issue_number}#issuecomment-{self.id}",
            "body": self.body,
            "user": _user(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "issue_url": f"{API}/repos/{repo}/issues/{self.issue_number}",
            "author_association": "NONE",
        }


@dataclass
class Issue:
    """One issue and its comments."""

    id: int
    number: int
    title: str
    body: str | None
    labels: list[Label]
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None
    comments: list[Comment] = field(default_factory=list)

    def as_api(self, repo: str) -> dict[str, Any]:
        """The issue as GitHub shows it."""
        url = f"{API}/repos/{repo}/issues/{self.number}"
        return {
            "id": self.id,
            "node_id": f"I_{self.id}",
            "url": url,
            "repository_url": f"{API}/repos/{repo}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{WEB}/{repo}/issues/{self.number}",
            "number": self.number,
            "state": self.state,
            "state_reason": self.state_reason,
            "title": self.title,
            "body": self.body,
            "user": _user(),
            "labels": [label.as_api(repo) for label in self.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(self.comments),
            "closed_at": self.closed_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "closed_by": _user() if self.state == "closed" else None,
            "author_association": "NONE",
            "timeline_url": f"{url}/timeline",
        }

    def stored(self) -> dict[str, Any]:
        """Everything about the issue, for the admin ``/state``."""
        return {
            "title": self.title,
            "body": self.body,
            "state": self.state,
            "state_reason": self.state_reason,
            "labels": [label.name for label in self.labels],
            "comments": [comment.body for comment in self.comments],
            "updated_at": self.updated_at,
        }
